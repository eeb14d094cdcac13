-- Login history is appended to on every attempt and never looked up by its id (lists
-- go by user, org and time). The id's uniqueness index put each new row on a random
-- page of that index — one page written per row — and cost a quarter of the grant and
-- rejection throughput. The ids stay random 18-character ids (53 random bits), unique
-- in practice; rows now go in order of their rowid.

CREATE TABLE login_history_appended (
    id          TEXT NOT NULL,
    org_id      TEXT REFERENCES orgs (id) ON DELETE CASCADE,
    user_id     TEXT REFERENCES users (id) ON DELETE CASCADE,
    username    TEXT NOT NULL,
    login_time  INTEGER NOT NULL,
    source_ip   TEXT NOT NULL,
    login_type  TEXT NOT NULL,
    status      TEXT NOT NULL,
    application TEXT NOT NULL DEFAULT 'N/A',
    api_type    TEXT NOT NULL DEFAULT 'N/A',
    api_version TEXT NOT NULL DEFAULT 'N/A'
);
INSERT INTO login_history_appended
    (id, org_id, user_id, username, login_time, source_ip, login_type, status, application, api_type, api_version)
SELECT id, org_id, user_id, username, login_time, source_ip, login_type, status, application, api_type, api_version
FROM login_history ORDER BY login_time, id;
DROP TABLE login_history;
ALTER TABLE login_history_appended RENAME TO login_history;
CREATE INDEX login_history_user_time ON login_history (user_id, login_time);
CREATE INDEX login_history_org_time ON login_history (org_id, login_time);
