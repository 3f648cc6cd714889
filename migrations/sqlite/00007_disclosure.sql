-- +goose Up
-- Badges and sponsorship disclosure (issue 7): the company an account is affiliated with,
-- set by admins only and shown beside the account's name; and a room's disclosure text,
-- shown with its sponsor to everyone who joins.
ALTER TABLE users ADD COLUMN affiliation TEXT NOT NULL DEFAULT '';
ALTER TABLE rooms ADD COLUMN disclosure TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE rooms DROP COLUMN disclosure;
ALTER TABLE users DROP COLUMN affiliation;
