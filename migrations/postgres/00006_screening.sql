-- +goose Up
-- Each room's personal-information policy (warn, redact or hold; '' follows the deployment's
-- default; see "Safety screening" in docs/PROTOCOL.md), and the earlier texts of edited
-- messages, kept for moderators.
ALTER TABLE rooms ADD COLUMN pii_policy TEXT NOT NULL DEFAULT '';

CREATE TABLE message_edits (
    room_id   TEXT        NOT NULL,
    seq       BIGINT      NOT NULL,
    prev_text TEXT        NOT NULL,
    edited_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (room_id, seq, edited_at),
    -- An erased or expired message takes its history with it.
    FOREIGN KEY (room_id, seq) REFERENCES messages (room_id, seq) ON DELETE CASCADE
);

-- +goose Down
DROP TABLE message_edits;
ALTER TABLE rooms DROP COLUMN pii_policy;
