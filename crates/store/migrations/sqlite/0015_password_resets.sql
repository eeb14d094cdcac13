-- "Forgot Your Password?" links: only the SHA-256 of the link's random token is kept;
-- a link expires, and works once.

CREATE TABLE password_resets (
    token_digest BLOB PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    used_at      INTEGER
);
CREATE INDEX password_resets_user ON password_resets (user_id);
