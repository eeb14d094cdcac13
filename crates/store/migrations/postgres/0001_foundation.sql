-- Foundation: orgs with their password policy, profiles, network ranges, users,
-- password history, failed-secret fingerprints, login history, mail outbox.
-- Times are epoch milliseconds (BIGINT); flags are BIGINT 0/1 so both backends
-- decode them alike.

CREATE TABLE orgs (
    id                      TEXT PRIMARY KEY,
    name                    TEXT NOT NULL,
    created_at              BIGINT NOT NULL,
    pw_expiry_days          BIGINT NOT NULL DEFAULT 90,
    pw_history              BIGINT NOT NULL DEFAULT 3,
    pw_min_length           BIGINT NOT NULL DEFAULT 8,
    pw_complexity           TEXT NOT NULL DEFAULT 'alpha-numeric',
    max_invalid_attempts    BIGINT NOT NULL DEFAULT 10,
    lockout_minutes         BIGINT NOT NULL DEFAULT 15,
    session_timeout_minutes BIGINT NOT NULL DEFAULT 120
);

CREATE TABLE profiles (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    is_admin    BIGINT NOT NULL DEFAULT 0,
    api_enabled BIGINT NOT NULL DEFAULT 1,
    api_only    BIGINT NOT NULL DEFAULT 0,
    UNIQUE (org_id, name)
);

CREATE TABLE profile_login_ranges (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    profile_id  TEXT NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    start_ip    TEXT NOT NULL,
    end_ip      TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT ''
);

CREATE TABLE trusted_ranges (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    start_ip    TEXT NOT NULL,
    end_ip      TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    UNIQUE (org_id, start_ip, end_ip)
);

CREATE TABLE users (
    id                  TEXT PRIMARY KEY,
    org_id              TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    profile_id          TEXT NOT NULL REFERENCES profiles (id),
    username            TEXT NOT NULL UNIQUE,
    email               TEXT NOT NULL,
    first_name          TEXT,
    last_name           TEXT NOT NULL,
    active              BIGINT NOT NULL DEFAULT 1,
    frozen              BIGINT NOT NULL DEFAULT 0,
    password_hash       TEXT,
    password_set_at     BIGINT,
    password_expires_at BIGINT,
    token_digest        BYTEA,
    failed_attempts     BIGINT NOT NULL DEFAULT 0,
    locked_until        BIGINT,
    last_login_at       BIGINT,
    created_at          BIGINT NOT NULL
);
CREATE INDEX users_org ON users (org_id);

CREATE TABLE password_history (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX password_history_user ON password_history (user_id, id);

CREATE TABLE failed_secrets (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    fingerprint BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (user_id, fingerprint)
);

CREATE TABLE login_history (
    id          TEXT PRIMARY KEY,
    org_id      TEXT REFERENCES orgs (id) ON DELETE CASCADE,
    user_id     TEXT REFERENCES users (id) ON DELETE CASCADE,
    username    TEXT NOT NULL,
    login_time  BIGINT NOT NULL,
    source_ip   TEXT NOT NULL,
    login_type  TEXT NOT NULL,
    status      TEXT NOT NULL,
    application TEXT NOT NULL DEFAULT 'N/A',
    api_type    TEXT NOT NULL DEFAULT 'N/A',
    api_version TEXT NOT NULL DEFAULT 'N/A'
);
CREATE INDEX login_history_user_time ON login_history (user_id, login_time);
CREATE INDEX login_history_org_time ON login_history (org_id, login_time);

CREATE TABLE mail_outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    to_addr         TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body_text       TEXT NOT NULL,
    body_html       TEXT,
    created_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    leased_until    BIGINT,
    sent_at         BIGINT,
    failed_at       BIGINT,
    last_error      TEXT
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
