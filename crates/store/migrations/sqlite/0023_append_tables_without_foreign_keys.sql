-- Login history and sessions lose their foreign keys, as on PostgreSQL (see its
-- migration 0023: there each constraint locked the referenced rows in every group
-- commit). Users, orgs and connected apps are never deleted, login history is an audit
-- trail that must outlive what it names, and sessions end by expiry, logout or
-- revocation in code. SQLite cannot drop a constraint, so both tables are rebuilt with
-- the same columns and indexes.

CREATE TABLE login_history_unbound (
    id          TEXT NOT NULL,
    org_id      TEXT,
    user_id     TEXT,
    username    TEXT NOT NULL,
    login_time  INTEGER NOT NULL,
    source_ip   TEXT NOT NULL,
    login_type  TEXT NOT NULL,
    status      TEXT NOT NULL,
    application TEXT NOT NULL DEFAULT 'N/A',
    api_type    TEXT NOT NULL DEFAULT 'N/A',
    api_version TEXT NOT NULL DEFAULT 'N/A'
);
INSERT INTO login_history_unbound
    (id, org_id, user_id, username, login_time, source_ip, login_type, status, application, api_type, api_version)
SELECT id, org_id, user_id, username, login_time, source_ip, login_type, status, application, api_type, api_version
FROM login_history ORDER BY rowid;
DROP TABLE login_history;
ALTER TABLE login_history_unbound RENAME TO login_history;
CREATE INDEX login_history_user_time ON login_history (user_id, login_time);
CREATE INDEX login_history_org_time ON login_history (org_id, login_time);

CREATE TABLE sessions_unbound (
    id_digest      BLOB PRIMARY KEY,
    user_id        TEXT NOT NULL,
    org_id         TEXT NOT NULL,
    client_id      TEXT,
    restricted     INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    last_used_at   INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    refresh_digest BLOB
);
INSERT INTO sessions_unbound
    (id_digest, user_id, org_id, client_id, restricted, created_at, last_used_at, expires_at, refresh_digest)
SELECT id_digest, user_id, org_id, client_id, restricted, created_at, last_used_at, expires_at, refresh_digest
FROM sessions ORDER BY rowid;
DROP TABLE sessions;
ALTER TABLE sessions_unbound RENAME TO sessions;
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_refresh ON sessions (refresh_digest);
CREATE INDEX sessions_expiry ON sessions (expires_at);
