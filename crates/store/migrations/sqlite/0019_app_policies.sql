-- Connected-app OAuth policies (Setup → Connected Apps, `latchkey org app policy`):
-- who may use the app (everyone who allows it, or only users an administrator
-- pre-authorised), how long refresh tokens live (until revoked, N minutes, or none are
-- issued), whether the app's OAuth logins relax the profiles' login IP ranges, and the
-- scopes it may be granted.

ALTER TABLE connected_apps ADD COLUMN admin_approved_only INTEGER NOT NULL DEFAULT 0;
ALTER TABLE connected_apps ADD COLUMN refresh_token_minutes INTEGER;
ALTER TABLE connected_apps ADD COLUMN relax_ip INTEGER NOT NULL DEFAULT 0;
ALTER TABLE connected_apps ADD COLUMN scopes TEXT NOT NULL DEFAULT 'api refresh_token';
