-- Who authorised which connected app: a user's consent in the web-server flow, or an
-- administrator's pre-authorisation. The JWT bearer flow admits only these users, and
-- My Settings lists them with Revoke. An app may register a certificate (or public
-- key) whose private key signs its JWT assertions.

ALTER TABLE connected_apps ADD COLUMN jwt_public_key TEXT;

CREATE TABLE app_authorizations (
    client_id  TEXT NOT NULL REFERENCES connected_apps (client_id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    by_admin   BIGINT NOT NULL,
    PRIMARY KEY (client_id, user_id)
);
CREATE INDEX app_authorizations_user ON app_authorizations (user_id);
