-- Smart lockout: failures from sources that never logged a user in count toward a
-- second lock that shuts out unfamiliar sources only. A familiar source is an
-- address a user logged in from successfully; the org chooses the scope.

ALTER TABLE orgs ADD COLUMN lockout_scope TEXT NOT NULL DEFAULT 'smart';

ALTER TABLE users ADD COLUMN unfamiliar_failed_attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN unfamiliar_locked_until BIGINT;

CREATE TABLE familiar_sources (
    user_id    TEXT NOT NULL,
    address    TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL,
    PRIMARY KEY (user_id, address)
);

DROP INDEX login_challenges_user;
CREATE INDEX login_challenges_user ON login_challenges (user_id, created_at);
