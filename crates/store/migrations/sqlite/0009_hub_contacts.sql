-- The hub's own contacts (per workspace) and each connector's pull checkpoint: the
-- highest CRM SystemModstamp whose page is committed, written in the same transaction
-- as the contacts of that page.

CREATE TABLE hub_contacts (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES hub_workspaces (id) ON DELETE CASCADE,
    crm_id       TEXT,
    first_name   TEXT,
    last_name    TEXT NOT NULL,
    email        TEXT,
    crm_modstamp INTEGER,
    updated_at   INTEGER NOT NULL,
    UNIQUE (workspace_id, crm_id)
);

CREATE TABLE hub_pull_checkpoints (
    connector_id   TEXT PRIMARY KEY REFERENCES hub_connectors (id) ON DELETE CASCADE,
    pulled_through INTEGER NOT NULL
);
