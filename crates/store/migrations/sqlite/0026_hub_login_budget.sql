-- Every failed CRM login the hub caused, per credential record: the keyed fingerprint
-- of the (username, secrets) pair that was refused, so no refused pair is sent again,
-- and when, so the hub causes no more than a few failed logins in any window (only
-- logins that carried a password count toward a CRM lockout: password_sent). A
-- record remembers when the CRM last accepted it, to count failures since then.
-- Hub users count their own failed logins toward a lock with a growing pause.

CREATE TABLE hub_login_failures (
    credential_id TEXT NOT NULL REFERENCES hub_credentials (id) ON DELETE CASCADE,
    at            BIGINT NOT NULL,
    key_id        TEXT NOT NULL,
    fingerprint   BLOB NOT NULL,
    reason        TEXT NOT NULL,
    password_sent BIGINT NOT NULL
);
CREATE INDEX hub_login_failures_credential ON hub_login_failures (credential_id, at);

ALTER TABLE hub_credentials ADD COLUMN accepted_at BIGINT;

ALTER TABLE hub_users ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE hub_users ADD COLUMN locked_until BIGINT;
