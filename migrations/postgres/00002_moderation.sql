-- +goose Up
-- The audit log: one hash chain across the deployment (see store.AuditHash). There are no
-- foreign keys on purpose: entries must outlive the rooms and users they mention, and a
-- cascading delete would be refused by the triggers below anyway.
--
-- detail is text, not jsonb: jsonb rewrites its input (key order, spacing) and the hash
-- covers the exact bytes written.
CREATE TABLE audit_log (
    id         bigint PRIMARY KEY,
    room_id    text NOT NULL DEFAULT '',
    actor_id   text NOT NULL,
    target_id  text NOT NULL DEFAULT '',
    action     text NOT NULL,
    reason     text NOT NULL DEFAULT '',
    detail     text NOT NULL DEFAULT '',
    at         timestamptz NOT NULL,
    expires_at timestamptz,
    prev_hash  bytea NOT NULL,
    hash       bytea NOT NULL
);
CREATE INDEX audit_log_room ON audit_log (room_id, id);

-- One row that every append locks FOR UPDATE, so appends from all nodes take turns and the
-- chain stays linear. A row rather than an advisory lock: its name cannot collide with
-- anyone else's lock key.
CREATE TABLE audit_head (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row)
);
INSERT INTO audit_head DEFAULT VALUES;

-- Append-only is enforced by the database, not just by the code: a stray UPDATE, DELETE or
-- TRUNCATE (a script, a psql session) fails instead of silently breaking the chain.
-- +goose StatementBegin
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Finds a member's recent messages for DeleteSince.
CREATE INDEX messages_room_author_created ON messages (room_id, author_id, created_at);

-- +goose Down
DROP INDEX messages_room_author_created;
DROP TABLE audit_head;
DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only();
