-- One counter that moves whenever an input of a login decision changes: a user's state
-- or credentials, an org's policy, a profile, an IP range, a connected app. Servers
-- keep those inputs in memory and poll this one row to learn, within a few tens of
-- milliseconds, that another server (or the CLI) changed one of them. Triggers keep it,
-- so no code path can forget to.

CREATE TABLE change_epoch (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO change_epoch (id, value) VALUES (1, 0);

CREATE TRIGGER users_decision_changed AFTER UPDATE ON users
WHEN OLD.active IS NOT NEW.active OR OLD.frozen IS NOT NEW.frozen
  OR OLD.locked_until IS NOT NEW.locked_until OR OLD.password_hash IS NOT NEW.password_hash
  OR OLD.token_digest IS NOT NEW.token_digest OR OLD.password_expires_at IS NOT NEW.password_expires_at
  OR OLD.profile_id IS NOT NEW.profile_id OR OLD.username IS NOT NEW.username
BEGIN UPDATE change_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER users_deleted AFTER DELETE ON users
BEGIN UPDATE change_epoch SET value = value + 1 WHERE id = 1; END;

CREATE TRIGGER orgs_changed AFTER UPDATE ON orgs
BEGIN UPDATE change_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER profiles_changed AFTER UPDATE ON profiles
BEGIN UPDATE change_epoch SET value = value + 1 WHERE id = 1; END;

CREATE TRIGGER login_ranges_added AFTER INSERT ON profile_login_ranges
BEGIN UPDATE change_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER login_ranges_removed AFTER DELETE ON profile_login_ranges
BEGIN UPDATE change_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER trusted_ranges_added AFTER INSERT ON trusted_ranges
BEGIN UPDATE change_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER trusted_ranges_removed AFTER DELETE ON trusted_ranges
BEGIN UPDATE change_epoch SET value = value + 1 WHERE id = 1; END;

CREATE TRIGGER apps_changed AFTER UPDATE ON connected_apps
BEGIN UPDATE change_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER apps_deleted AFTER DELETE ON connected_apps
BEGIN UPDATE change_epoch SET value = value + 1 WHERE id = 1; END;
