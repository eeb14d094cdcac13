-- OAuth refresh tokens (digests only) and the per-app switch for whether they outlive a
-- password change. An access token (session) remembers the refresh token it came from,
-- so revoking the refresh token ends its access tokens too.

ALTER TABLE connected_apps ADD COLUMN refresh_survives_password_change INTEGER NOT NULL DEFAULT 1;

CREATE TABLE refresh_tokens (
    id_digest    BLOB PRIMARY KEY,
    client_id    TEXT NOT NULL REFERENCES connected_apps (client_id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    org_id       TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL
);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

ALTER TABLE sessions ADD COLUMN refresh_digest BLOB;
CREATE INDEX sessions_refresh ON sessions (refresh_digest);
