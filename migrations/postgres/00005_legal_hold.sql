-- +goose Up
-- A message under legal hold (it is the subject of an adverse-event case) is kept by
-- retention and erasure, flagged as such, whatever the room's or the member's policy.
ALTER TABLE messages ADD COLUMN legal_hold BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE messages DROP COLUMN legal_hold;
