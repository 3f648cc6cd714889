-- +goose Up
-- Each room's personal-information policy (warn, redact or hold; '' follows the deployment's
-- default; see "Safety screening" in docs/PROTOCOL.md), and the earlier texts of edited
-- messages, kept for moderators.
ALTER TABLE rooms ADD COLUMN pii_policy TEXT NOT NULL DEFAULT '';

CREATE TABLE message_edits (
    room_id   TEXT    NOT NULL,
    seq       INTEGER NOT NULL,
    prev_text TEXT    NOT NULL,
    edited_at TEXT    NOT NULL,
    PRIMARY KEY (room_id, seq, edited_at),
    -- An erased or expired message takes its history with it.
    FOREIGN KEY (room_id, seq) REFERENCES messages (room_id, seq) ON DELETE CASCADE
);

-- A message whose text is blanked (retention, erasure) takes its earlier texts with it: the
-- edit history must not outlive what members could read. Moderator deletions keep the text,
-- and an edit never blanks it, so neither fires this.
-- +goose StatementBegin
CREATE TRIGGER message_edits_forget AFTER UPDATE OF text ON messages
WHEN NEW.text = '' AND NEW.deleted_at IS NOT NULL
BEGIN
    DELETE FROM message_edits WHERE room_id = NEW.room_id AND seq = NEW.seq;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER message_edits_forget;
DROP TABLE message_edits;
ALTER TABLE rooms DROP COLUMN pii_policy;
