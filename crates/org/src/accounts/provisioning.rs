//! Users as provisioning tools manage them through the User object: found by id, and
//! any of a user's details, settings and activation changed in one transaction. The
//! rules are those of the pages and the command line (policy, mail, tokens, sessions).

use latchkey_core::ids::{ProfileId, UserId};
use latchkey_store::commit;
use latchkey_store::orgs::{self, Profile};
use latchkey_store::refresh_tokens::{self, Revocation};
use latchkey_store::sessions;
use latchkey_store::users::{self, User, UserSettings};

use super::admin::Admin;
use super::valid_username;
use crate::AccountError;

/// A change to a user: each `Some` (and each setting given) changes, the rest stay.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    /// Where mail goes.
    pub email: Option<String>,
    /// Given name (`Some(None)` clears it).
    pub first_name: Option<Option<String>>,
    /// Family name.
    pub last_name: Option<String>,
    /// Profile.
    pub profile: Option<ProfileId>,
    /// Activation (deactivation ends the user's sessions and refresh tokens).
    pub active: Option<bool>,
    /// Alias and locale settings.
    pub settings: UserSettings,
}

fn no_user(id: &UserId) -> AccountError {
    AccountError::NotFound(format!("user {:?}", id.as_str()))
}

impl Admin {
    /// The user `id` of an org in scope; any other is not found.
    pub async fn user_by_id(&self, id: &UserId) -> Result<User, AccountError> {
        let mut conn = self.services.store.conn().await?;
        users::find(&mut conn, id)
            .await?
            .filter(|u| self.holds(&u.org_id))
            .ok_or_else(|| no_user(id))
    }

    /// The profile `id` of an org in scope; any other is not found.
    pub async fn profile_by_id(&self, id: &ProfileId) -> Result<Profile, AccountError> {
        let mut conn = self.services.store.conn().await?;
        let missing = || AccountError::NotFound(format!("profile {:?}", id.as_str()));
        let profile = orgs::profile(&mut conn, id).await.map_err(|_| missing())?;
        if self.holds(&profile.org_id) {
            Ok(profile)
        } else {
            Err(missing())
        }
    }

    /// Applies `change` to the user `id` in one transaction.
    pub async fn change_user(&self, id: &UserId, change: &UserChange) -> Result<User, AccountError> {
        let user = self.user_by_id(id).await?;
        let email = change.email.as_deref().map_or(user.email.as_str(), str::trim);
        if !valid_username(email) {
            return Err(AccountError::Invalid(format!("e-mail address {email:?} is not valid")));
        }
        let last_name = change.last_name.as_deref().map_or(user.last_name.as_str(), str::trim);
        if last_name.is_empty() {
            return Err(AccountError::Invalid("a last name is required".into()));
        }
        let first_name = match &change.first_name {
            Some(given) => given.as_deref().map(str::trim).filter(|n| !n.is_empty()),
            None => user.first_name.as_deref(),
        };
        let profile = match &change.profile {
            Some(p) => self.profile_by_id(p).await?,
            None => self.services.profile_of(&user).await?,
        };
        if profile.org_id != user.org_id {
            return Err(AccountError::NotFound(format!("profile {:?}", profile.id.as_str())));
        }
        let now = self.services.clock.now();
        let mut tx = self.services.store.begin().await?;
        users::update_details(&mut tx, &user.id, email, first_name, last_name, &profile.id, now).await?;
        if change.settings != UserSettings::default() {
            users::set_settings(&mut tx, &user.id, &change.settings, now).await?;
        }
        if let Some(active) = change.active {
            users::set_active(&mut tx, &user.id, active, now).await?;
            if !active {
                sessions::delete_for_user(&mut tx, &user.id).await?;
                refresh_tokens::delete_for_user(&mut tx, &user.id, Revocation::All).await?;
            }
        }
        commit(tx).await?;
        self.services.decisions_changed();
        self.services.forget_tokens(&user.id);
        tracing::info!(user_id = %user.id, profile = %profile.name, "user changed through the API");
        self.user_by_id(id).await
    }
}
