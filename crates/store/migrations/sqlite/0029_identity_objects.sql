-- The standard objects beyond Account, Contact and Lead. Opportunity records live in
-- the records table (its own columns below). User, Organization, Profile, LoginHistory
-- and UserLogin are the org's identity data: each is a view of the identity tables
-- with one column per field (the names the schema gives them), plus the columns every
-- query and replication feed reads (org_id, object, is_deleted, deleted_at,
-- system_modstamp). They are changed only through the account services, never
-- through these views.

ALTER TABLE records ADD COLUMN stage_name TEXT;
ALTER TABLE records ADD COLUMN close_date TEXT;
ALTER TABLE records ADD COLUMN amount REAL;
ALTER TABLE records ADD COLUMN probability REAL;
ALTER TABLE records ADD COLUMN opportunity_type TEXT;
ALTER TABLE records ADD COLUMN next_step TEXT;

-- When a user's details, profile, activation or freeze last changed (User's
-- LastModifiedDate and SystemModstamp, so replication sees those changes).
ALTER TABLE users ADD COLUMN modified_at BIGINT;
UPDATE users SET modified_at = created_at;

CREATE VIEW user_records AS
SELECT u.id, u.org_id, 'User' AS object, CAST(0 AS BIGINT) AS is_deleted, CAST(NULL AS BIGINT) AS deleted_at,
       u.username, u.last_name, u.first_name,
       TRIM(COALESCE(u.first_name, '') || ' ' || u.last_name) AS name,
       u.email,
       LOWER(SUBSTR(COALESCE(u.first_name, ''), 1, 1) || SUBSTR(u.last_name, 1, 4)) AS alias,
       u.active AS is_active, u.profile_id,
       'Standard' AS user_type, 'GMT' AS time_zone_sid_key, 'en_US' AS locale_sid_key,
       'en_US' AS language_locale_key, 'UTF-8' AS email_encoding_key,
       u.last_login_at,
       u.created_at, CAST(NULL AS TEXT) AS created_by,
       COALESCE(u.modified_at, u.created_at) AS last_modified_at, CAST(NULL AS TEXT) AS last_modified_by,
       COALESCE(u.modified_at, u.created_at) AS system_modstamp
FROM users u;

CREATE VIEW organization_records AS
SELECT o.id, o.id AS org_id, 'Organization' AS object, CAST(0 AS BIGINT) AS is_deleted, CAST(NULL AS BIGINT) AS deleted_at,
       o.name, CAST(NULL AS TEXT) AS country, 'Enterprise Edition' AS organization_type,
       'LK1' AS instance_name, CAST(0 AS BIGINT) AS is_sandbox, CAST(0 AS BIGINT) AS is_read_only,
       CAST(NULL AS TEXT) AS namespace_prefix, CAST(NULL AS BIGINT) AS trial_expiration_date,
       'en_US' AS language_locale_key, 'en_US' AS default_locale_sid_key, 'GMT' AS time_zone_sid_key,
       o.created_at, CAST(NULL AS TEXT) AS created_by,
       o.created_at AS last_modified_at, CAST(NULL AS TEXT) AS last_modified_by,
       o.created_at AS system_modstamp
FROM orgs o;

CREATE VIEW profile_records AS
SELECT p.id, p.org_id, 'Profile' AS object, CAST(0 AS BIGINT) AS is_deleted, CAST(NULL AS BIGINT) AS deleted_at,
       p.name, 'Standard' AS user_type, CAST(NULL AS TEXT) AS description,
       p.api_enabled AS permissions_api_enabled, p.api_only AS permissions_api_user_only,
       p.is_admin AS permissions_modify_all_data, p.is_admin AS permissions_view_all_data,
       o.created_at, CAST(NULL AS TEXT) AS created_by,
       o.created_at AS last_modified_at, CAST(NULL AS TEXT) AS last_modified_by,
       o.created_at AS system_modstamp
FROM profiles p JOIN orgs o ON o.id = p.org_id;

CREATE VIEW login_history_records AS
SELECT h.id, h.org_id, 'LoginHistory' AS object, CAST(0 AS BIGINT) AS is_deleted, CAST(NULL AS BIGINT) AS deleted_at,
       h.user_id, h.login_time, h.login_type, h.source_ip, h.status, h.application,
       h.api_type, h.api_version, 'Unknown' AS browser, 'Unknown' AS platform,
       CAST(NULL AS TEXT) AS login_url, 'POST' AS http_method,
       h.login_time AS system_modstamp
FROM login_history h
WHERE h.org_id IS NOT NULL AND h.user_id IS NOT NULL;

CREATE VIEW user_login_records AS
SELECT '060' || SUBSTR(u.id, 4) AS id, u.org_id, 'UserLogin' AS object, CAST(0 AS BIGINT) AS is_deleted,
       CAST(NULL AS BIGINT) AS deleted_at,
       u.id AS user_id, u.frozen AS is_frozen,
       CASE WHEN (u.locked_until IS NOT NULL AND u.locked_until > CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
              OR (u.unfamiliar_locked_until IS NOT NULL AND u.unfamiliar_locked_until > CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
            THEN CAST(1 AS BIGINT) ELSE CAST(0 AS BIGINT) END AS is_password_locked,
       COALESCE(u.modified_at, u.created_at) AS last_modified_at, CAST(NULL AS TEXT) AS last_modified_by,
       COALESCE(u.modified_at, u.created_at) AS system_modstamp
FROM users u;
