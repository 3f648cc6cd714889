-- +goose Up
-- Keyword rules, posts held for review, and the review state of reports (see store/review.go).
-- Times are timestamptz; NULL means "not yet".

-- A room's keyword rules. Rules are added and removed, never edited, each change audited.
-- created_by has no foreign key: like the audit log it names the actor and must not stop a
-- user row from going.
CREATE TABLE rules (
    id         text PRIMARY KEY,
    room_id    text NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    kind       text NOT NULL CHECK (kind IN ('word', 'wildcard', 'regex')),
    pattern    text NOT NULL,
    action     text NOT NULL CHECK (action IN ('block', 'hold', 'alert')),
    reason     text NOT NULL DEFAULT '',
    created_by text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL
);
CREATE INDEX rules_room ON rules (room_id, created_at);

-- Posts kept out of their room until a moderator decides. rule_id has no foreign key: the
-- rule may be removed later and the record keeps naming it ('' when no rule held the post).
-- seq is set on approval, to the seq the post was published with.
CREATE TABLE held_messages (
    id            text PRIMARY KEY,
    room_id       text NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    author_id     text NOT NULL REFERENCES users (id),
    client_msg_id text NOT NULL DEFAULT '',
    text          text NOT NULL,
    reason        text NOT NULL DEFAULT '',
    rule_id       text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_by    text NOT NULL DEFAULT '',
    decided_at    timestamptz,
    seq           bigint,
    FOREIGN KEY (room_id, seq) REFERENCES messages (room_id, seq)
);
-- A resend of a held post finds the first hold instead of holding it twice.
CREATE UNIQUE INDEX held_messages_client_id ON held_messages (room_id, author_id, client_msg_id)
    WHERE client_msg_id <> '';
-- A room's queue: pending posts, oldest first (and the other statuses for the record).
CREATE INDEX held_messages_room_status ON held_messages (room_id, status, created_at);

-- Reports gain a category, the reported message's author (for moderators acting on it) and
-- a review status.
ALTER TABLE reports
    ADD COLUMN category    text NOT NULL DEFAULT 'other',
    ADD COLUMN author_id   text NOT NULL DEFAULT '',
    ADD COLUMN status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'dismissed', 'actioned')),
    ADD COLUMN resolved_by text NOT NULL DEFAULT '',
    ADD COLUMN resolved_at timestamptz;
UPDATE reports SET author_id = m.author_id
    FROM messages m WHERE m.room_id = reports.room_id AND m.seq = reports.seq;
-- A room's open reports, oldest first.
CREATE INDEX reports_room_status ON reports (room_id, status, created_at);

-- +goose Down
DROP INDEX reports_room_status;
ALTER TABLE reports
    DROP COLUMN resolved_at,
    DROP COLUMN resolved_by,
    DROP COLUMN status,
    DROP COLUMN author_id,
    DROP COLUMN category;
DROP TABLE held_messages;
DROP TABLE rules;
