-- People who use a hub workspace: owners (who are told when the guard suspends a
-- connector) and members. Passwords are argon2id PHC strings.

CREATE TABLE hub_users (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES hub_workspaces (id) ON DELETE CASCADE,
    email         TEXT NOT NULL,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    UNIQUE (workspace_id, email)
);
