-- Servers keep, beside the other login-decision inputs, whether an address is familiar
-- to a user (smart lockout): a newly familiar or forgotten address must move the change
-- epoch so that every server reads it again within one poll.

CREATE TRIGGER familiar_sources_added AFTER INSERT ON familiar_sources
FOR EACH STATEMENT EXECUTE FUNCTION bump_change_epoch();
CREATE TRIGGER familiar_sources_dropped AFTER DELETE ON familiar_sources
FOR EACH STATEMENT EXECUTE FUNCTION bump_change_epoch();
