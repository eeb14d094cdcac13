-- "Forgot Your Password?" links: only the SHA-256 of the link's random token is kept;
-- a link expires, and works once.

CREATE TABLE password_resets (
    token_digest BYTEA PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    used_at      BIGINT
);
CREATE INDEX password_resets_user ON password_resets (user_id);
