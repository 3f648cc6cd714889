-- +goose Up
-- Consent, erasure and retention (see store/privacy.go).

-- Every consent a member granted, kept as the record of what they agreed to and when.
-- At most one row per (user, kind) is in force (withdrawn_at NULL); withdrawing or granting
-- another version ends it.
CREATE TABLE user_consents (
    id           bigserial PRIMARY KEY,
    user_id      text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         text NOT NULL,
    version      integer NOT NULL CHECK (version > 0),
    granted_at   timestamptz NOT NULL,
    withdrawn_at timestamptz
);
CREATE UNIQUE INDEX user_consents_active ON user_consents (user_id, kind) WHERE withdrawn_at IS NULL;
CREATE INDEX user_consents_user ON user_consents (user_id, granted_at);

-- An erased account keeps its row as a tombstone (messages, reports and legal-hold records
-- reference it); erased_at says it is one.
ALTER TABLE users ADD COLUMN erased_at timestamptz;

-- Days a room keeps its messages; 0 keeps them forever.
ALTER TABLE rooms ADD COLUMN retention_days integer NOT NULL DEFAULT 0 CHECK (retention_days >= 0);

-- +goose Down
ALTER TABLE rooms DROP COLUMN retention_days;
ALTER TABLE users DROP COLUMN erased_at;
DROP TABLE user_consents;
