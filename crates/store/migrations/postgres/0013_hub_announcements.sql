-- A credential record may hold the signing secret of the org's webhooks (sealed with
-- its other secrets). A rejection the org announced before any login failed records
-- the event (rejected_by) and when it happened, so a later "unlocked" or "unfrozen"
-- lifts only the suspension its own lock or freeze caused.

ALTER TABLE hub_credentials ADD COLUMN rejected_by TEXT;
ALTER TABLE hub_credentials ADD COLUMN rejected_at BIGINT;
