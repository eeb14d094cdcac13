-- Credential-change webhooks. An endpoint's signing secret is not stored: it is
-- derived from the server secret, the endpoint id and secret_version (rotation bumps
-- it). A delivery row per (event, endpoint) is written in the transaction of the
-- change it announces; workers lease due rows like the mail outbox.

CREATE TABLE webhooks (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    url            TEXT NOT NULL,
    events         TEXT NOT NULL,
    secret_version BIGINT NOT NULL DEFAULT 1,
    created_at     BIGINT NOT NULL
);
CREATE INDEX webhooks_org ON webhooks (org_id);

CREATE TABLE webhook_deliveries (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id      TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    leased_until    BIGINT,
    delivered_at    BIGINT,
    failed_at       BIGINT,
    last_status     BIGINT,
    last_error      TEXT,
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE delivered_at IS NULL AND failed_at IS NULL;
