-- +goose Up
-- Times are timestamptz (microsecond precision); NULL means "never".
CREATE TABLE users (
    id               text PRIMARY KEY,
    email            text NOT NULL UNIQUE,
    display_name     text NOT NULL,
    display_name_key text NOT NULL UNIQUE,
    password_hash    text NOT NULL,
    role             text NOT NULL DEFAULT 'member',
    verified         boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL
);
CREATE INDEX users_role ON users (role);

CREATE TABLE sessions (
    id         text PRIMARY KEY,
    token_hash bytea NOT NULL UNIQUE,
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE rooms (
    id                 text PRIMARY KEY,
    slug               text NOT NULL UNIQUE,
    name               text NOT NULL,
    condition          text NOT NULL DEFAULT '',
    kind               text NOT NULL DEFAULT 'chat',
    visibility         text NOT NULL DEFAULT 'public',
    guidelines         text NOT NULL DEFAULT '',
    guidelines_version integer NOT NULL DEFAULT 1,
    slow_mode_s        integer NOT NULL DEFAULT 0,
    locked             boolean NOT NULL DEFAULT false,
    sponsor            text NOT NULL DEFAULT '',
    last_seq           bigint NOT NULL DEFAULT 0,
    created_at         timestamptz NOT NULL
);

CREATE TABLE memberships (
    room_id          text NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id          text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role             text NOT NULL DEFAULT 'member',
    accepted_version integer NOT NULL DEFAULT 0,
    accepted_at timestamptz,
    muted_until timestamptz,
    banned           boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE messages (
    room_id       text NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    seq           bigint NOT NULL,
    id            text NOT NULL UNIQUE,
    author_id     text NOT NULL REFERENCES users (id),
    client_msg_id text NOT NULL DEFAULT '',
    text          text NOT NULL,
    created_at timestamptz NOT NULL,
    deleted_at timestamptz,
    deleted_by    text NOT NULL DEFAULT '',
    PRIMARY KEY (room_id, seq)
);
-- Makes a resend idempotent; messages without a client id are never deduplicated.
CREATE UNIQUE INDEX messages_client_id ON messages (room_id, author_id, client_msg_id)
    WHERE client_msg_id <> '';
CREATE INDEX messages_author ON messages (author_id);

CREATE TABLE reports (
    id          text PRIMARY KEY,
    room_id     text NOT NULL,
    seq         bigint NOT NULL,
    reporter_id text NOT NULL REFERENCES users (id),
    reason      text NOT NULL,
    snapshot    text NOT NULL,
    created_at timestamptz NOT NULL,
    FOREIGN KEY (room_id, seq) REFERENCES messages (room_id, seq) ON DELETE CASCADE
);
CREATE INDEX reports_message ON reports (room_id, seq);

-- +goose Down
DROP TABLE reports CASCADE;
DROP TABLE messages CASCADE;
DROP TABLE memberships CASCADE;
DROP TABLE rooms CASCADE;
DROP TABLE sessions CASCADE;
DROP TABLE users CASCADE;
