-- A user's alias and locale settings, as provisioning tools write them through the
-- User object (NULL: the defaults the view shows). The view reads them from here.

ALTER TABLE users ADD COLUMN alias TEXT;
ALTER TABLE users ADD COLUMN time_zone_sid_key TEXT;
ALTER TABLE users ADD COLUMN locale_sid_key TEXT;
ALTER TABLE users ADD COLUMN language_locale_key TEXT;
ALTER TABLE users ADD COLUMN email_encoding_key TEXT;

DROP VIEW user_records;

CREATE VIEW user_records AS
SELECT u.id, u.org_id, 'User' AS object, CAST(0 AS BIGINT) AS is_deleted, CAST(NULL AS BIGINT) AS deleted_at,
       u.username, u.last_name, u.first_name,
       TRIM(COALESCE(u.first_name, '') || ' ' || u.last_name) AS name,
       u.email,
       COALESCE(u.alias, LOWER(SUBSTR(COALESCE(u.first_name, ''), 1, 1) || SUBSTR(u.last_name, 1, 4))) AS alias,
       u.active AS is_active, u.profile_id,
       'Standard' AS user_type,
       COALESCE(u.time_zone_sid_key, 'GMT') AS time_zone_sid_key,
       COALESCE(u.locale_sid_key, 'en_US') AS locale_sid_key,
       COALESCE(u.language_locale_key, 'en_US') AS language_locale_key,
       COALESCE(u.email_encoding_key, 'UTF-8') AS email_encoding_key,
       u.last_login_at,
       u.created_at, CAST(NULL AS TEXT) AS created_by,
       COALESCE(u.modified_at, u.created_at) AS last_modified_at, CAST(NULL AS TEXT) AS last_modified_by,
       COALESCE(u.modified_at, u.created_at) AS system_modstamp
FROM users u;
