-- +goose Up
-- Times are TEXT in UTC, fixed-width RFC 3339 with microseconds ("2006-01-02T15:04:05.000000Z"),
-- so they compare correctly as strings. NULL means "never" (not revoked, not deleted, ...).
CREATE TABLE users (
    id               TEXT PRIMARY KEY,
    email            TEXT NOT NULL UNIQUE,
    display_name     TEXT NOT NULL,
    display_name_key TEXT NOT NULL UNIQUE,
    password_hash    TEXT NOT NULL,
    role             TEXT NOT NULL DEFAULT 'member',
    verified         INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL
);
CREATE INDEX users_role ON users (role);

CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    token_hash BLOB NOT NULL UNIQUE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE rooms (
    id                 TEXT PRIMARY KEY,
    slug               TEXT NOT NULL UNIQUE,
    name               TEXT NOT NULL,
    condition          TEXT NOT NULL DEFAULT '',
    kind               TEXT NOT NULL DEFAULT 'chat',
    visibility         TEXT NOT NULL DEFAULT 'public',
    guidelines         TEXT NOT NULL DEFAULT '',
    guidelines_version INTEGER NOT NULL DEFAULT 1,
    slow_mode_s        INTEGER NOT NULL DEFAULT 0,
    locked             INTEGER NOT NULL DEFAULT 0,
    sponsor            TEXT NOT NULL DEFAULT '',
    last_seq           INTEGER NOT NULL DEFAULT 0,
    created_at         TEXT NOT NULL
);

CREATE TABLE memberships (
    room_id          TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role             TEXT NOT NULL DEFAULT 'member',
    accepted_version INTEGER NOT NULL DEFAULT 0,
    accepted_at      TEXT,
    muted_until      TEXT,
    banned           INTEGER NOT NULL DEFAULT 0,
    updated_at       TEXT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE messages (
    room_id       TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    id            TEXT NOT NULL UNIQUE,
    author_id     TEXT NOT NULL REFERENCES users (id),
    client_msg_id TEXT NOT NULL DEFAULT '',
    text          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    deleted_at    TEXT,
    deleted_by    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (room_id, seq)
);
-- Makes a resend idempotent; messages without a client id are never deduplicated.
CREATE UNIQUE INDEX messages_client_id ON messages (room_id, author_id, client_msg_id)
    WHERE client_msg_id <> '';
CREATE INDEX messages_author ON messages (author_id);

CREATE TABLE reports (
    id          TEXT PRIMARY KEY,
    room_id     TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    reporter_id TEXT NOT NULL REFERENCES users (id),
    reason      TEXT NOT NULL,
    snapshot    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    FOREIGN KEY (room_id, seq) REFERENCES messages (room_id, seq) ON DELETE CASCADE
);
CREATE INDEX reports_message ON reports (room_id, seq);

-- +goose Down
DROP TABLE reports;
DROP TABLE messages;
DROP TABLE memberships;
DROP TABLE rooms;
DROP TABLE sessions;
DROP TABLE users;
