-- Hub page sessions, kept server-side so that Log Out, a change of the hub user's
-- password and an owner can end them. Only the SHA-256 digest of the cookie's
-- random id is stored.

CREATE TABLE hub_sessions (
    id_digest  BLOB PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES hub_users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE INDEX hub_sessions_user ON hub_sessions (user_id);
