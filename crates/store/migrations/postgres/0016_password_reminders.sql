-- "Your password expires in N days" reminders sent, one row per user, expiry and
-- threshold (7 or 1 days), so that any number of instances send each once.

CREATE TABLE password_reminders (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL,
    days       BIGINT NOT NULL,
    sent_at    BIGINT NOT NULL,
    PRIMARY KEY (user_id, expires_at, days)
);
CREATE INDEX users_password_expires ON users (password_expires_at);
