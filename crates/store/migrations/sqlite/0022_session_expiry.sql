-- Expired sessions are refused already; the housekeeping sweep deletes them, oldest
-- first, so that the table holds what can still be used.

CREATE INDEX sessions_expiry ON sessions (expires_at);
