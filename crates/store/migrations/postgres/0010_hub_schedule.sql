-- When each connector runs next, and how many runs in a row failed transiently (the
-- exponent of its backoff). NULL next_run_at: due now. Set only by the scheduler
-- after a run, so two hub instances agree through the database.

ALTER TABLE hub_connectors ADD COLUMN next_run_at BIGINT;
ALTER TABLE hub_connectors ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
CREATE INDEX hub_connectors_due ON hub_connectors (next_run_at);
