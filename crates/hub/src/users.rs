//! Hub users: the people of a workspace, owners or members, who log in to the hub
//! (argon2id passwords). Owners are told when the guard suspends a connector.
//! A login is a server-side session: its random id goes in the browser's cookie and
//! only its digest in the store, so Log Out, a password change and an owner end it.

use chrono::Duration;
use latchkey_core::password::PasswordHasher;
use latchkey_core::secret::{random_alphanumeric, SecretDigest};
use latchkey_store::hub::{self, HubUser, NewHubUser};
use latchkey_store::hub_sessions;
use secrecy::{ExposeSecret, SecretString};

use crate::{Hub, HubError};

/// Hub user roles.
pub const ROLES: [&str; 2] = ["owner", "member"];

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
        let hasher = PasswordHasher::new(self.password_params).map_err(|e| HubError::Invalid(e.to_string()))?;
        let secret = password.clone();
        tokio::task::spawn_blocking(move || hasher.hash(secret.expose_secret()))
            .await
            .map_err(|_| HubError::Invalid("password hashing was interrupted".into()))?
            .map_err(|e| HubError::Invalid(e.to_string()))
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
    /// one (an unknown address costs the same hash as a wrong password).
    pub async fn authenticate(
        &self,
        workspace: &str,
        email: &str,
        password: &SecretString,
    ) -> Result<Option<HubUser>, HubError> {
        let user = match self.workspace(workspace).await {
            Ok(ws) => {
                let mut conn = self.store.conn().await?;
                hub::user_by_email(&mut conn, &ws.id, email).await?
            }
            Err(HubError::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        let hasher = PasswordHasher::new(self.password_params).map_err(|e| HubError::Invalid(e.to_string()))?;
        let secret = password.clone();
        let phc = user.as_ref().map(|u| u.password_hash.clone());
        let matched = tokio::task::spawn_blocking(move || match phc {
            Some(phc) => hasher
                .verify(secret.expose_secret(), &phc)
                .map(|v| v.matched())
                .unwrap_or(false),
            None => {
                hasher.dummy_verify(secret.expose_secret());
                false
            }
        })
        .await
        .map_err(|_| HubError::Invalid("password checking was interrupted".into()))?;
        Ok(user.filter(|_| matched))
    }
}
