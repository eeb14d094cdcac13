//! Hub users: the people of a workspace, owners or members, who log in to the hub
//! (argon2id passwords). Owners are told when the guard suspends a connector.

use latchkey_core::password::PasswordHasher;
use latchkey_store::hub::{self, HubUser, NewHubUser};
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
        if password.expose_secret().chars().count() < 10 {
            return Err(HubError::Invalid(
                "the password must have at least 10 characters".into(),
            ));
        }
        let hasher = PasswordHasher::new(self.password_params).map_err(|e| HubError::Invalid(e.to_string()))?;
        let secret = password.clone();
        let phc = tokio::task::spawn_blocking(move || hasher.hash(secret.expose_secret()))
            .await
            .map_err(|_| HubError::Invalid("password hashing was interrupted".into()))?
            .map_err(|e| HubError::Invalid(e.to_string()))?;
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

    /// The hub user `id`, if it still exists.
    pub async fn user_by_id(&self, id: &str) -> Result<Option<HubUser>, HubError> {
        let mut conn = self.store.conn().await?;
        Ok(hub::user(&mut conn, id).await?)
    }
}
