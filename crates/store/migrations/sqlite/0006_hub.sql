-- The hub: workspaces and their CRM credential records (one per CRM org login URL).
-- Secrets are sealed (AEAD) by the hub before they reach the store; `key_id` names
-- the vault key that sealed them.

CREATE TABLE hub_workspaces (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE hub_credentials (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES hub_workspaces (id) ON DELETE CASCADE,
    login_url    TEXT NOT NULL,
    username     TEXT NOT NULL,
    client_id    TEXT,
    sealed       BLOB NOT NULL,
    key_id       TEXT NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (workspace_id, login_url)
);
