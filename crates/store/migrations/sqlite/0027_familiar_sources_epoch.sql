-- Servers keep, beside the other login-decision inputs, whether an address is familiar
-- to a user (smart lockout): a newly familiar or forgotten address must move the change
-- epoch so that every server reads it again within one poll.

CREATE TRIGGER familiar_sources_added AFTER INSERT ON familiar_sources
BEGIN UPDATE change_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER familiar_sources_dropped AFTER DELETE ON familiar_sources
BEGIN UPDATE change_epoch SET value = value + 1 WHERE id = 1; END;
