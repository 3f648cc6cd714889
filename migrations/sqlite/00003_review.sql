-- +goose Up
-- Keyword rules, posts held for review, and the review state of reports (see store/review.go).
-- Times are TEXT in UTC as in 00001_init.sql; NULL means "not yet".

-- A room's keyword rules. Rules are added and removed, never edited, each change audited.
-- created_by has no foreign key: like the audit log it names the actor and must not stop a
-- user row from going.
CREATE TABLE rules (
    id         TEXT PRIMARY KEY,
    room_id    TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('word', 'wildcard', 'regex')),
    pattern    TEXT NOT NULL,
    action     TEXT NOT NULL CHECK (action IN ('block', 'hold', 'alert')),
    reason     TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX rules_room ON rules (room_id, created_at);

-- Posts kept out of their room until a moderator decides. rule_id has no foreign key: the
-- rule may be removed later and the record keeps naming it ('' when no rule held the post).
-- seq is set on approval, to the seq the post was published with.
CREATE TABLE held_messages (
    id            TEXT PRIMARY KEY,
    room_id       TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    author_id     TEXT NOT NULL REFERENCES users (id),
    client_msg_id TEXT NOT NULL DEFAULT '',
    text          TEXT NOT NULL,
    reason        TEXT NOT NULL DEFAULT '',
    rule_id       TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_by    TEXT NOT NULL DEFAULT '',
    decided_at    TEXT,
    seq           INTEGER,
    FOREIGN KEY (room_id, seq) REFERENCES messages (room_id, seq)
);
-- A resend of a held post finds the first hold instead of holding it twice.
CREATE UNIQUE INDEX held_messages_client_id ON held_messages (room_id, author_id, client_msg_id)
    WHERE client_msg_id <> '';
-- A room's queue: pending posts, oldest first (and the other statuses for the record).
CREATE INDEX held_messages_room_status ON held_messages (room_id, status, created_at);

-- Reports gain a category, the reported message's author (for moderators acting on it) and
-- a review status.
ALTER TABLE reports ADD COLUMN category TEXT NOT NULL DEFAULT 'other';
ALTER TABLE reports ADD COLUMN author_id TEXT NOT NULL DEFAULT '';
ALTER TABLE reports ADD COLUMN status TEXT NOT NULL DEFAULT 'open'
    CHECK (status IN ('open', 'dismissed', 'actioned'));
ALTER TABLE reports ADD COLUMN resolved_by TEXT NOT NULL DEFAULT '';
ALTER TABLE reports ADD COLUMN resolved_at TEXT;
UPDATE reports SET author_id = coalesce(
    (SELECT m.author_id FROM messages m WHERE m.room_id = reports.room_id AND m.seq = reports.seq), '');
-- A room's open reports, oldest first.
CREATE INDEX reports_room_status ON reports (room_id, status, created_at);

-- +goose Down
DROP INDEX reports_room_status;
ALTER TABLE reports DROP COLUMN resolved_at;
ALTER TABLE reports DROP COLUMN resolved_by;
ALTER TABLE reports DROP COLUMN status;
ALTER TABLE reports DROP COLUMN author_id;
ALTER TABLE reports DROP COLUMN category;
DROP TABLE held_messages;
DROP TABLE rules;
