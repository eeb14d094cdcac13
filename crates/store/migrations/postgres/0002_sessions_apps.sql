-- Sessions (SOAP sessionId / OAuth access tokens) and connected apps. Secrets are
-- kept as SHA-256 digests only.

CREATE TABLE connected_apps (
    client_id      TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    secret_digest  BYTEA NOT NULL,
    run_as_user_id TEXT REFERENCES users (id) ON DELETE SET NULL,
    callback_url   TEXT,
    created_at     BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE sessions (
    id_digest    BYTEA PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    org_id       TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    client_id    TEXT REFERENCES connected_apps (client_id) ON DELETE CASCADE,
    restricted   BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
