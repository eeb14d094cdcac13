-- The authorization-code ("web server") flow. Codes are kept as SHA-256 digests, live
-- 15 minutes and work once; a code presented again revokes the refresh-token family it
-- issued. Refresh tokens belong to a family (the grant they descend from): with
-- rotation, each refresh replaces the token, and a replaced token presented again
-- revokes the whole family. Public apps (no secret at the token endpoint) must use PKCE.

ALTER TABLE connected_apps ADD COLUMN public_client INTEGER NOT NULL DEFAULT 0;
ALTER TABLE connected_apps ADD COLUMN rotate_refresh_tokens INTEGER NOT NULL DEFAULT 0;

CREATE TABLE authorization_codes (
    code_digest    BLOB PRIMARY KEY,
    client_id      TEXT NOT NULL REFERENCES connected_apps (client_id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    scope          TEXT NOT NULL,
    code_challenge TEXT,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    used_at        INTEGER,
    family         BLOB
);

ALTER TABLE refresh_tokens ADD COLUMN family BLOB;
ALTER TABLE refresh_tokens ADD COLUMN replaced_at INTEGER;
UPDATE refresh_tokens SET family = id_digest;
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
