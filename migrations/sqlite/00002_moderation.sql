-- +goose Up
-- The audit log: one hash chain across the deployment (see store.AuditHash). There are no
-- foreign keys on purpose: entries must outlive the rooms and users they mention, and a
-- cascading delete would be refused by the triggers below anyway.
--
-- detail is kept as the exact text written, because the hash covers its bytes.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    room_id    TEXT NOT NULL DEFAULT '',
    actor_id   TEXT NOT NULL,
    target_id  TEXT NOT NULL DEFAULT '',
    action     TEXT NOT NULL,
    reason     TEXT NOT NULL DEFAULT '',
    detail     TEXT NOT NULL DEFAULT '',
    at         TEXT NOT NULL,
    expires_at TEXT,
    prev_hash  BLOB NOT NULL,
    hash       BLOB NOT NULL
);
CREATE INDEX audit_log_room ON audit_log (room_id, id);

-- Append-only is enforced by the database, not just by the code: a stray UPDATE or DELETE
-- (a script, a console session) fails instead of silently breaking the chain.
-- +goose StatementBegin
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd

-- Finds a member's recent messages for DeleteSince.
CREATE INDEX messages_room_author_created ON messages (room_id, author_id, created_at);

-- +goose Down
DROP INDEX messages_room_author_created;
DROP TRIGGER audit_log_no_delete;
DROP TRIGGER audit_log_no_update;
DROP TABLE audit_log;
