-- Records of the standard objects (Account, Contact, Lead) in one table: the union
-- of their standard fields (each object maps its fields onto these columns), system
-- fields, and the recycle state. Custom fields add columns named cf_{type}_{name}.

CREATE TABLE records (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    object           TEXT NOT NULL,
    owner_id         TEXT,
    name             TEXT,
    first_name       TEXT,
    last_name        TEXT,
    company          TEXT,
    account_id       TEXT,
    email            TEXT,
    phone            TEXT,
    mobile_phone     TEXT,
    title            TEXT,
    department       TEXT,
    status           TEXT,
    lead_source      TEXT,
    industry         TEXT,
    website          TEXT,
    city             TEXT,
    country          TEXT,
    description      TEXT,
    created_at       BIGINT NOT NULL,
    created_by       TEXT,
    last_modified_at BIGINT NOT NULL,
    last_modified_by TEXT,
    system_modstamp  BIGINT NOT NULL,
    is_deleted       BIGINT NOT NULL DEFAULT 0,
    deleted_at       BIGINT
);
CREATE INDEX records_modstamp ON records (org_id, object, system_modstamp);
CREATE INDEX records_deleted ON records (org_id, object, deleted_at) WHERE is_deleted = 1;
CREATE INDEX records_email ON records (org_id, object, lower(email));
CREATE INDEX records_account ON records (account_id);

CREATE TABLE custom_fields (
    org_id      TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    object      TEXT NOT NULL,
    name        TEXT NOT NULL,
    lower_name  TEXT NOT NULL,
    label       TEXT NOT NULL,
    field_type  TEXT NOT NULL,
    length      BIGINT NOT NULL,
    required    BIGINT NOT NULL DEFAULT 0,
    external_id BIGINT NOT NULL DEFAULT 0,
    is_unique   BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (org_id, object, lower_name)
);

-- Daily REST API request counts per org (UTC day number).
CREATE TABLE api_usage (
    org_id   TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    day      BIGINT NOT NULL,
    requests BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, day)
);

ALTER TABLE orgs ADD COLUMN daily_api_requests BIGINT NOT NULL DEFAULT 100000;
