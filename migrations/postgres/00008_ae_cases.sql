-- +goose Up
-- Adverse-event cases, crisis alerts and follow-up threads (see store/adverse.go).
-- Times are timestamptz; NULL means "not yet". Matched terms are JSON arrays in text, as in
-- the SQLite schema.
--
-- author_id has no foreign key on purpose: a case is a legal-hold record and must survive
-- the erasure of its author's account, so nothing may cascade from users or block the
-- account's deletion. room_id does refer to rooms, without a cascade: a room with a case
-- cannot be deleted.
CREATE TABLE ae_cases (
    id                    text PRIMARY KEY,
    room_id               text NOT NULL REFERENCES rooms (id),
    message_id            text NOT NULL DEFAULT '',
    message_seq           bigint NOT NULL DEFAULT 0,
    held_id               text NOT NULL DEFAULT '',
    author_id             text NOT NULL,
    text                  text NOT NULL,
    products              text NOT NULL DEFAULT '[]',
    reactions             text NOT NULL DEFAULT '[]',
    terms                 text NOT NULL DEFAULT '[]',
    aware_at              timestamptz NOT NULL,
    forward_due_at        timestamptz NOT NULL,
    regulatory_due_at     timestamptz NOT NULL,
    status                text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'forwarded', 'closed')),
    closed_reason         text NOT NULL DEFAULT '',
    closed_by             text NOT NULL DEFAULT '',
    closed_at             timestamptz,
    forwarded_by          text NOT NULL DEFAULT '',
    forwarded_at          timestamptz,
    forward_alerted_at    timestamptz,
    regulatory_alerted_at timestamptz,
    created_at            timestamptz NOT NULL
);
CREATE INDEX ae_cases_status ON ae_cases (status, aware_at, id);
CREATE INDEX ae_cases_room ON ae_cases (room_id, aware_at, id);

-- The snapshot is immutable and a case is never deleted, whatever code runs against the
-- database: the pharmacovigilance record must stay as it was received.
-- +goose StatementBegin
CREATE FUNCTION ae_cases_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'TRUNCATE') THEN
        RAISE EXCEPTION 'ae_cases: a case cannot be deleted' USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.id IS DISTINCT FROM OLD.id OR NEW.room_id IS DISTINCT FROM OLD.room_id
        OR NEW.message_id IS DISTINCT FROM OLD.message_id OR NEW.message_seq IS DISTINCT FROM OLD.message_seq
        OR NEW.held_id IS DISTINCT FROM OLD.held_id OR NEW.author_id IS DISTINCT FROM OLD.author_id
        OR NEW.text IS DISTINCT FROM OLD.text OR NEW.products IS DISTINCT FROM OLD.products
        OR NEW.reactions IS DISTINCT FROM OLD.reactions OR NEW.terms IS DISTINCT FROM OLD.terms
        OR NEW.aware_at IS DISTINCT FROM OLD.aware_at OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
        RAISE EXCEPTION 'ae_cases: the case snapshot is immutable' USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER ae_cases_guard BEFORE UPDATE OR DELETE ON ae_cases
    FOR EACH ROW EXECUTE FUNCTION ae_cases_guard();
-- TRUNCATE skips row triggers; refuse it too.
CREATE TRIGGER ae_cases_no_truncate BEFORE TRUNCATE ON ae_cases
    FOR EACH STATEMENT EXECUTE FUNCTION ae_cases_guard();

-- A case's private thread between a reviewer and the author. No foreign keys to users:
-- the thread belongs to the case's record.
CREATE TABLE ae_followups (
    id        text PRIMARY KEY,
    case_id   text NOT NULL REFERENCES ae_cases (id),
    from_user text NOT NULL,
    to_user   text NOT NULL,
    text      text NOT NULL,
    at        timestamptz NOT NULL
);
CREATE INDEX ae_followups_case ON ae_followups (case_id, at);
CREATE INDEX ae_followups_to ON ae_followups (to_user, at);
CREATE INDEX ae_followups_from ON ae_followups (from_user, at);

-- Crisis findings, kept so that the safety console shows them to moderators who were
-- offline when the live alert went out. Like cases, they survive the author's erasure.
CREATE TABLE crisis_alerts (
    id              text PRIMARY KEY,
    room_id         text NOT NULL REFERENCES rooms (id),
    seq             bigint NOT NULL DEFAULT 0,
    held_id         text NOT NULL DEFAULT '',
    author_id       text NOT NULL,
    text            text NOT NULL,
    method          boolean NOT NULL DEFAULT false,
    terms           text NOT NULL DEFAULT '[]',
    at              timestamptz NOT NULL,
    acknowledged_by text NOT NULL DEFAULT '',
    acknowledged_at timestamptz
);
CREATE INDEX crisis_alerts_at ON crisis_alerts (at, id);
CREATE INDEX crisis_alerts_room ON crisis_alerts (room_id, at, id);

-- +goose Down
DROP TABLE crisis_alerts;
DROP TABLE ae_followups;
DROP TABLE ae_cases;
DROP FUNCTION ae_cases_guard();
