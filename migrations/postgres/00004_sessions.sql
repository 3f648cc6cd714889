-- +goose Up
-- Live sessions (webinars and support sessions) in a room, their Q&A and their polls (see
-- store/sessions.go). Times are timestamptz; NULL means "not yet".
-- Vote counts are never stored: they are counted from the vote rows, whose primary keys make
-- a member's vote count once.

-- created_by has no foreign key: like the audit log it names the actor.
CREATE TABLE room_sessions (
    id         text PRIMARY KEY,
    room_id    text NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    kind       text NOT NULL CHECK (kind IN ('webinar', 'support')),
    title      text NOT NULL,
    host_id    text NOT NULL REFERENCES users (id),
    starts_at  timestamptz NOT NULL,
    sponsor    text NOT NULL DEFAULT '',
    state      text NOT NULL DEFAULT 'scheduled' CHECK (state IN ('scheduled', 'live', 'ended')),
    started_at timestamptz,
    ended_at   timestamptz,
    created_by text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL
);
-- A room's upcoming and live sessions, soonest first.
CREATE INDEX room_sessions_room ON room_sessions (room_id, state, starts_at);

-- rule_id has no foreign key: the rule may be removed and the record keeps naming it.
CREATE TABLE session_questions (
    id         text PRIMARY KEY,
    session_id text NOT NULL REFERENCES room_sessions (id) ON DELETE CASCADE,
    room_id    text NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    author_id  text NOT NULL REFERENCES users (id),
    text       text NOT NULL,
    status     text NOT NULL CHECK (status IN ('held', 'open', 'answered', 'dismissed')),
    reason     text NOT NULL DEFAULT '',
    rule_id    text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    decided_by text NOT NULL DEFAULT '',
    decided_at timestamptz
);
CREATE INDEX session_questions_session ON session_questions (session_id, created_at);

-- One upvote per member and question.
CREATE TABLE question_votes (
    question_id text NOT NULL REFERENCES session_questions (id) ON DELETE CASCADE,
    user_id     text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (question_id, user_id)
);

-- options is a JSON array of 2-6 strings; option_count is its length, for the vote check.
CREATE TABLE session_polls (
    id           text PRIMARY KEY,
    session_id   text NOT NULL REFERENCES room_sessions (id) ON DELETE CASCADE,
    room_id      text NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    question     text NOT NULL,
    options      text NOT NULL,
    option_count integer NOT NULL CHECK (option_count BETWEEN 2 AND 6),
    state        text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed')),
    created_by   text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    closed_by    text NOT NULL DEFAULT '',
    closed_at    timestamptz
);
CREATE INDEX session_polls_session ON session_polls (session_id, created_at);

-- One vote per member and poll.
CREATE TABLE poll_votes (
    poll_id    text NOT NULL REFERENCES session_polls (id) ON DELETE CASCADE,
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    choice     integer NOT NULL CHECK (choice >= 0),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (poll_id, user_id)
);
-- Counting a poll's results reads only this index.
CREATE INDEX poll_votes_option ON poll_votes (poll_id, choice);

-- +goose Down
DROP TABLE poll_votes;
DROP TABLE session_polls;
DROP TABLE question_votes;
DROP TABLE session_questions;
DROP TABLE room_sessions;
