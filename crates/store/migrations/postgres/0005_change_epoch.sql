-- One counter that moves whenever an input of a login decision changes: a user's state
-- or credentials, an org's policy, a profile, an IP range, a connected app. Servers
-- keep those inputs in memory and poll this one row to learn, within a few tens of
-- milliseconds, that another server (or the CLI) changed one of them. Triggers keep it,
-- so no code path can forget to.

CREATE TABLE change_epoch (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);
INSERT INTO change_epoch (id, value) VALUES (1, 0);

CREATE FUNCTION bump_change_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE change_epoch SET value = value + 1 WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_decision_changed AFTER UPDATE ON users FOR EACH ROW
WHEN (OLD.active IS DISTINCT FROM NEW.active OR OLD.frozen IS DISTINCT FROM NEW.frozen
  OR OLD.locked_until IS DISTINCT FROM NEW.locked_until OR OLD.password_hash IS DISTINCT FROM NEW.password_hash
  OR OLD.token_digest IS DISTINCT FROM NEW.token_digest
  OR OLD.password_expires_at IS DISTINCT FROM NEW.password_expires_at
  OR OLD.profile_id IS DISTINCT FROM NEW.profile_id OR OLD.username IS DISTINCT FROM NEW.username)
EXECUTE FUNCTION bump_change_epoch();
CREATE TRIGGER users_deleted AFTER DELETE ON users FOR EACH STATEMENT EXECUTE FUNCTION bump_change_epoch();

CREATE TRIGGER orgs_changed AFTER UPDATE ON orgs FOR EACH STATEMENT EXECUTE FUNCTION bump_change_epoch();
CREATE TRIGGER profiles_changed AFTER UPDATE ON profiles FOR EACH STATEMENT EXECUTE FUNCTION bump_change_epoch();

CREATE TRIGGER login_ranges_changed AFTER INSERT OR DELETE ON profile_login_ranges
FOR EACH STATEMENT EXECUTE FUNCTION bump_change_epoch();
CREATE TRIGGER trusted_ranges_changed AFTER INSERT OR DELETE ON trusted_ranges
FOR EACH STATEMENT EXECUTE FUNCTION bump_change_epoch();

CREATE TRIGGER apps_changed AFTER UPDATE OR DELETE ON connected_apps
FOR EACH STATEMENT EXECUTE FUNCTION bump_change_epoch();
