//! Hub users: the people of a workspace, owners or members, who log in to the hub
//! (argon2id passwords). Owners are told when the guard suspends a connector.
//! A login is a server-side session: its random id goes in the browser's cookie and
//! only its digest in the store, so Log Out, a password change and an owner end it.
//! Passwords are checked on the bounded [`crate::hashing`] threads; an unknown user
//! costs the same hash as a wrong password, and after [`LOCK_AFTER`] failures in a row
//! an account pauses its logins, for a minute and then twice as long after each
//! further failure (at most [`LONGEST_PAUSE_MINUTES`]); the right password ends the
//! count.

use chrono::{DateTime, Duration, Utc};
use latchkey_core::secret::{random_alphanumeric, SecretDigest};
use latchkey_store::hub::sessions as hub_sessions;
use latchkey_store::hub::{self, HubUser, NewHubUser};
use secrecy::{ExposeSecret, SecretString};

use crate::{Hub, HubError};

/// Hub user roles.
pub const ROLES: [&str; 2] = ["owner", "member"];

/// Failed logins in a row after which an account pauses its logins.
pub const LOCK_AFTER: i64 = 5;

/// The longest pause of an account's logins.
pub const LONGEST_PAUSE_MINUTES: i64 = 60;

/// How long logins pause after the `failures`-th failure in a row: none before
/// [`LOCK_AFTER`], then 1 minute, doubling with each further failure up to
/// [`LONGEST_PAUSE_MINUTES`].
pub fn pause_after(failures: i64) -> Option<Duration> {
    let beyond = failures.checked_sub(LOCK_AFTER).filter(|b| *b >= 0)?;
    let minutes = 1_i64
        .checked_shl(u32::try_from(beyond.min(16)).unwrap_or(16))
        .unwrap_or(LONGEST_PAUSE_MINUTES);
    Some(Duration::minutes(minutes.min(LONGEST_PAUSE_MINUTES)))
}

impl Hub {
    /// Creates a user of `workspace`; returns the user's id.
    pub async fn create_user(
        &self,
        workspace: &str,
        email: &str,
        role: &str,
        password: &SecretString,
    ) -> Result<String, HubError> {
        let ws = self.workspace(workspace).await?;
        let email = email.trim().to_lowercase();
        if !email.contains('@') || email.len() > 254 {
            return Err(HubError::Invalid(format!("{email:?} is not an e-mail address")));
        }
        if !ROLES.contains(&role) {
            return Err(HubError::Invalid("role must be owner or member".into()));
        }
        let phc = self.hash_password(password).await?;
        let id = latchkey_core::ids::generate("0Hu");
        let mut conn = self.store.conn().await?;
        let user = NewHubUser {
            id: &id,
            workspace_id: &ws.id,
            email: &email,
            role,
            password_hash: &phc,
        };
        hub::insert_user(&mut conn, &user, self.clock.now()).await?;
        tracing::info!(workspace = %ws.name, user = %id, role, "hub user created");
        Ok(id)
    }

    /// An argon2id PHC string of `password`, which must have at least 10 characters.
    async fn hash_password(&self, password: &SecretString) -> Result<String, HubError> {
        if password.expose_secret().chars().count() < 10 {
            return Err(HubError::Invalid(
                "the password must have at least 10 characters".into(),
            ));
        }
        self.hashing.slot().await?.hash(password).await
    }

    /// The user of `workspace` with this e-mail address, or `NotFound`.
    async fn user_of(&self, workspace: &str, email: &str) -> Result<HubUser, HubError> {
        let ws = self.workspace(workspace).await?;
        let mut conn = self.store.conn().await?;
        hub::user_by_email(&mut conn, &ws.id, email)
            .await?
            .ok_or_else(|| HubError::NotFound(format!("no hub user {email} in {workspace}")))
    }

    /// Sets a hub user's password and ends every session of the user (a stolen
    /// cookie dies with the old password); returns how many sessions ended.
    pub async fn set_user_password(
        &self,
        workspace: &str,
        email: &str,
        password: &SecretString,
    ) -> Result<u64, HubError> {
        let user = self.user_of(workspace, email).await?;
        let phc = self.hash_password(password).await?;
        let mut tx = self.store.begin().await?;
        hub::set_user_password(&mut tx, &user.id, &phc).await?;
        let ended = hub_sessions::delete_for_user(&mut tx, &user.id).await?;
        latchkey_store::commit(tx).await?;
        tracing::info!(user = %user.id, sessions_ended = ended, "hub user's password changed");
        Ok(ended)
    }

    /// Ends every session of a hub user (an owner's or operator's action); how many.
    pub async fn end_user_sessions(&self, workspace: &str, email: &str) -> Result<u64, HubError> {
        let user = self.user_of(workspace, email).await?;
        let mut conn = self.store.conn().await?;
        let ended = hub_sessions::delete_for_user(&mut conn, &user.id).await?;
        tracing::info!(user = %user.id, sessions_ended = ended, "hub user's sessions ended");
        Ok(ended)
    }

    /// Starts a session of `user` lasting `length`; returns its id, for the cookie.
    pub async fn start_session(&self, user: &HubUser, length: Duration) -> Result<SecretString, HubError> {
        let id = random_alphanumeric(32);
        let now = self.clock.now();
        let mut conn = self.store.conn().await?;
        hub_sessions::purge(&mut conn, now).await?;
        hub_sessions::insert(
            &mut conn,
            &SecretDigest::of(id.expose_secret()),
            &user.id,
            now,
            now + length,
        )
        .await?;
        Ok(id)
    }

    /// The user of the live session `id`.
    pub async fn session_user(&self, id: &str) -> Result<Option<HubUser>, HubError> {
        let mut conn = self.store.conn().await?;
        Ok(hub_sessions::user(&mut conn, &SecretDigest::of(id), self.clock.now()).await?)
    }

    /// Ends the session `id` (Log Out).
    pub async fn end_session(&self, id: &str) -> Result<(), HubError> {
        let mut conn = self.store.conn().await?;
        hub_sessions::delete(&mut conn, &SecretDigest::of(id)).await?;
        Ok(())
    }

    /// The user of `workspace` with this e-mail address and password, if there is
    /// one and its logins are not paused (see the module docs). The user is read
    /// under a hashing slot, so an attempt that waited sees a pause placed meanwhile
    /// and spends no hash, and a burst of attempts holds no more database connections
    /// than there are slots.
    pub async fn authenticate(
        &self,
        workspace: &str,
        email: &str,
        password: &SecretString,
    ) -> Result<Option<HubUser>, HubError> {
        let slot = self.hashing.slot().await?;
        let ws = match self.workspace(workspace).await {
            Ok(ws) => Some(ws),
            Err(HubError::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        let now = self.clock.now();
        let user = match &ws {
            Some(ws) => hub::user_by_email(&mut *self.store.conn().await?, &ws.id, email).await?,
            None => None,
        };
        if let Some(until) = user.as_ref().and_then(|u| paused_until(u, now)) {
            tracing::warn!(user = %user.as_ref().map_or("", |u| u.id.as_str()), %until, "hub login refused: the account's logins are paused");
            return Ok(None);
        }
        let matched = slot
            .verify(password, user.as_ref().map(|u| u.password_hash.clone()))
            .await?;
        drop(slot);
        let Some(user) = user else {
            return Ok(None);
        };
        let mut conn = self.store.conn().await?;
        if matched {
            if user.failed_logins > 0 {
                hub::clear_user_failures(&mut conn, &user.id).await?;
            }
            return Ok(Some(user));
        }
        let failures = hub::count_user_failure(&mut conn, &user.id).await?;
        if let Some(pause) = pause_after(failures) {
            hub::lock_user(&mut conn, &user.id, now + pause).await?;
            tracing::warn!(user = %user.id, failures, pause_minutes = pause.num_minutes(), "hub account's logins paused");
        }
        Ok(None)
    }
}

/// Until when the user's logins are paused, if they are at `now`.
fn paused_until(user: &HubUser, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    user.locked_until
        .and_then(DateTime::from_timestamp_millis)
        .filter(|until| *until > now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_start_at_the_fifth_failure_and_double_up_to_an_hour() {
        let minutes: Vec<Option<i64>> = (1..=13).map(|n| pause_after(n).map(|d| d.num_minutes())).collect();
        assert_eq!(
            minutes,
            [
                None,
                None,
                None,
                None,
                Some(1),
                Some(2),
                Some(4),
                Some(8),
                Some(16),
                Some(32),
                Some(60),
                Some(60),
                Some(60)
            ]
        );
        assert_eq!(pause_after(i64::MAX).map(|d| d.num_minutes()), Some(60));
    }
}
