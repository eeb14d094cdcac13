-- The hub's own contacts (per workspace) and what two-way sync needs.
--
-- A contact's local changes not yet in the CRM are in `pending`: a JSON object of
-- field name -> local edit time (epoch ms); NULL when there are none. Pulled values
-- never become pending, so they are never pushed back (no echo). Field by field, the
-- later of a local edit and the CRM's SystemModstamp wins.
--
-- A connector's pull checkpoint is the highest CRM SystemModstamp whose page is
-- committed, written in the same transaction as the contacts of that page. A sync run
-- holds its connector's lease, so two hub instances never run the same connector.

CREATE TABLE hub_contacts (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES hub_workspaces (id) ON DELETE CASCADE,
    crm_id       TEXT,
    first_name   TEXT,
    last_name    TEXT NOT NULL,
    email        TEXT,
    crm_modstamp BIGINT,
    pending      TEXT,
    updated_at   BIGINT NOT NULL,
    UNIQUE (workspace_id, crm_id)
);
CREATE INDEX hub_contacts_pending ON hub_contacts (workspace_id, id) WHERE pending IS NOT NULL;

CREATE TABLE hub_pull_checkpoints (
    connector_id   TEXT PRIMARY KEY REFERENCES hub_connectors (id) ON DELETE CASCADE,
    pulled_through BIGINT NOT NULL
);

CREATE TABLE hub_sync_leases (
    connector_id TEXT PRIMARY KEY REFERENCES hub_connectors (id) ON DELETE CASCADE,
    holder       TEXT NOT NULL,
    expires_at   BIGINT NOT NULL
);

-- Each sync run, for the connector's history (last run, records in and out).
CREATE TABLE hub_sync_runs (
    id           TEXT PRIMARY KEY,
    connector_id TEXT NOT NULL REFERENCES hub_connectors (id) ON DELETE CASCADE,
    started_at   BIGINT NOT NULL,
    finished_at  BIGINT NOT NULL,
    records_in   BIGINT NOT NULL,
    records_out  BIGINT NOT NULL,
    outcome      TEXT NOT NULL,
    error        TEXT
);
CREATE INDEX hub_sync_runs_connector ON hub_sync_runs (connector_id, started_at);

-- Pushing new contacts upserts them by this CRM external-id field, whose value is the
-- hub's contact id, so a push replayed after a crash creates nothing twice.
ALTER TABLE hub_connectors ADD COLUMN external_id_field TEXT;
