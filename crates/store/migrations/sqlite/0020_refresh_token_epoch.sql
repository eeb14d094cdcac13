-- Servers keep live refresh tokens of apps that do not rotate them in memory, beside
-- the other login-decision inputs: a revoked token (by the user, an administrator, a
-- freeze, a password change, a reused rotated token) must move the change epoch so
-- that every server forgets it within one poll.

CREATE TRIGGER refresh_tokens_revoked AFTER DELETE ON refresh_tokens
BEGIN UPDATE change_epoch SET value = value + 1 WHERE id = 1; END;
