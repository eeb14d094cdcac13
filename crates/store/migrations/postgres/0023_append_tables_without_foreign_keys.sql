-- Login history and sessions get a row on every login and token grant, and each row's
-- foreign keys to users, orgs and connected apps made PostgreSQL lock the referenced
-- rows (FOR KEY SHARE) in every group commit: a write to the user's, the org's and the
-- app's row on each commit, and a multixact whenever that row was locked or updated by
-- another transaction at the same time. That held client-credentials and refresh grants
-- at 6-10k/s; without the constraints, 13-18k/s on the same machine (BENCHMARKS.md).
--
-- Nothing depends on the cascades: users, orgs and connected apps are never deleted
-- (users are deactivated or frozen, which ends their sessions in code). Login history
-- is an audit trail and must outlive what it names anyway (it keeps the username for
-- that). A session is inserted only for the user and app its login has just read, and
-- ends by expiry, logout or revocation, as sessions of a revoked refresh token already
-- did without a constraint. Whatever deletes a user, org or app in the future must end
-- their sessions itself.

ALTER TABLE login_history
    DROP CONSTRAINT login_history_org_id_fkey,
    DROP CONSTRAINT login_history_user_id_fkey;
ALTER TABLE sessions
    DROP CONSTRAINT sessions_user_id_fkey,
    DROP CONSTRAINT sessions_org_id_fkey,
    DROP CONSTRAINT sessions_client_id_fkey;
