-- Identity verification for browser logins from untrusted networks: a 6-digit code
-- e-mailed to the user (only its keyed digest is kept), valid for a few minutes and for a
-- few attempts, used at most once.

CREATE TABLE login_challenges (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_digest BLOB NOT NULL,
    source_ip   TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    used_at     INTEGER
);
CREATE INDEX login_challenges_user ON login_challenges (user_id);
