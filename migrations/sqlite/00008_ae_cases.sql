-- +goose Up
-- Adverse-event cases, crisis alerts and follow-up threads (see store/adverse.go).
-- Times are TEXT in UTC as in 00001_init.sql; NULL means "not yet". JSON arrays are TEXT.
--
-- author_id has no foreign key on purpose: a case is a legal-hold record and must survive
-- the erasure of its author's account, so nothing may cascade from users or block the
-- account's deletion. room_id does refer to rooms, without a cascade: a room with a case
-- cannot be deleted.
CREATE TABLE ae_cases (
    id                    TEXT PRIMARY KEY,
    room_id               TEXT NOT NULL REFERENCES rooms (id),
    message_id            TEXT NOT NULL DEFAULT '',
    message_seq           INTEGER NOT NULL DEFAULT 0,
    held_id               TEXT NOT NULL DEFAULT '',
    author_id             TEXT NOT NULL,
    text                  TEXT NOT NULL,
    products              TEXT NOT NULL DEFAULT '[]',
    reactions             TEXT NOT NULL DEFAULT '[]',
    terms                 TEXT NOT NULL DEFAULT '[]',
    aware_at              TEXT NOT NULL,
    forward_due_at        TEXT NOT NULL,
    regulatory_due_at     TEXT NOT NULL,
    status                TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'forwarded', 'closed')),
    closed_reason         TEXT NOT NULL DEFAULT '',
    closed_by             TEXT NOT NULL DEFAULT '',
    closed_at             TEXT,
    forwarded_by          TEXT NOT NULL DEFAULT '',
    forwarded_at          TEXT,
    forward_alerted_at    TEXT,
    regulatory_alerted_at TEXT,
    created_at            TEXT NOT NULL
);
CREATE INDEX ae_cases_status ON ae_cases (status, aware_at, id);
CREATE INDEX ae_cases_room ON ae_cases (room_id, aware_at, id);

-- The snapshot is immutable and a case is never deleted, whatever code runs against the
-- database: the pharmacovigilance record must stay as it was received.
-- +goose StatementBegin
CREATE TRIGGER ae_cases_no_delete BEFORE DELETE ON ae_cases
BEGIN
    SELECT RAISE(ABORT, 'ae_cases: a case cannot be deleted');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER ae_cases_snapshot_immutable BEFORE UPDATE OF id, room_id, message_id, message_seq, held_id,
    author_id, text, products, reactions, terms, aware_at, created_at ON ae_cases
WHEN NEW.id IS NOT OLD.id OR NEW.room_id IS NOT OLD.room_id OR NEW.message_id IS NOT OLD.message_id
    OR NEW.message_seq IS NOT OLD.message_seq OR NEW.held_id IS NOT OLD.held_id
    OR NEW.author_id IS NOT OLD.author_id OR NEW.text IS NOT OLD.text OR NEW.products IS NOT OLD.products
    OR NEW.reactions IS NOT OLD.reactions OR NEW.terms IS NOT OLD.terms OR NEW.aware_at IS NOT OLD.aware_at
    OR NEW.created_at IS NOT OLD.created_at
BEGIN
    SELECT RAISE(ABORT, 'ae_cases: the case snapshot is immutable');
END;
-- +goose StatementEnd

-- A case's private thread between a reviewer and the author. No foreign keys to users:
-- the thread belongs to the case's record.
CREATE TABLE ae_followups (
    id        TEXT PRIMARY KEY,
    case_id   TEXT NOT NULL REFERENCES ae_cases (id),
    from_user TEXT NOT NULL,
    to_user   TEXT NOT NULL,
    text      TEXT NOT NULL,
    at        TEXT NOT NULL
);
CREATE INDEX ae_followups_case ON ae_followups (case_id, at);
CREATE INDEX ae_followups_to ON ae_followups (to_user, at);
CREATE INDEX ae_followups_from ON ae_followups (from_user, at);

-- Crisis findings, kept so that the safety console shows them to moderators who were
-- offline when the live alert went out. Like cases, they survive the author's erasure.
CREATE TABLE crisis_alerts (
    id              TEXT PRIMARY KEY,
    room_id         TEXT NOT NULL REFERENCES rooms (id),
    seq             INTEGER NOT NULL DEFAULT 0,
    held_id         TEXT NOT NULL DEFAULT '',
    author_id       TEXT NOT NULL,
    text            TEXT NOT NULL,
    method          INTEGER NOT NULL DEFAULT 0,
    terms           TEXT NOT NULL DEFAULT '[]',
    at              TEXT NOT NULL,
    acknowledged_by TEXT NOT NULL DEFAULT '',
    acknowledged_at TEXT
);
CREATE INDEX crisis_alerts_at ON crisis_alerts (at, id);
CREATE INDEX crisis_alerts_room ON crisis_alerts (room_id, at, id);

-- +goose Down
DROP TABLE crisis_alerts;
DROP TABLE ae_followups;
DROP TRIGGER ae_cases_snapshot_immutable;
DROP TRIGGER ae_cases_no_delete;
DROP TABLE ae_cases;
