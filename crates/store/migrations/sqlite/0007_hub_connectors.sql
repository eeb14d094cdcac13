-- Connectors ("Data Sync") and the guard's memory: the fingerprint of a credential
-- record's secrets that the CRM rejected, so the same secrets are never sent again.

CREATE TABLE hub_connectors (
    id             TEXT PRIMARY KEY,
    workspace_id   TEXT NOT NULL REFERENCES hub_workspaces (id) ON DELETE CASCADE,
    credential_id  TEXT NOT NULL REFERENCES hub_credentials (id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    object         TEXT NOT NULL,
    direction      TEXT NOT NULL,
    interval_secs  INTEGER NOT NULL,
    state          TEXT NOT NULL,
    last_error     TEXT,
    updated_at     INTEGER NOT NULL,
    UNIQUE (workspace_id, name)
);
CREATE INDEX hub_connectors_credential ON hub_connectors (credential_id);

ALTER TABLE hub_credentials ADD COLUMN rejected_fingerprint BLOB;
ALTER TABLE hub_credentials ADD COLUMN rejected_reason TEXT;
