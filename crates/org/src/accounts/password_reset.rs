//! "Forgot Your Password?": a one-time link mailed to the user. The link's token is
//! random (only its SHA-256 is stored), expires after [`LINK_VALID_MINUTES`], works
//! once, and dies when the password changes any other way. Setting the password
//! through it enforces the policy, resets the security token (mailed) and lifts a lock.

use chrono::Duration;
use latchkey_core::secret::{random_alphanumeric, SecretDigest};
use latchkey_store::password_resets;
use latchkey_store::users::{self, User};
use secrecy::{ExposeSecret, SecretString};

use crate::mail::templates;
use crate::{AccountError, Services};

/// How long a link works.
pub const LINK_VALID_MINUTES: i64 = 60;

impl Services {
    /// Mails a reset link for `username`, pointing under `base_url`, when it names an
    /// active, unfrozen user; otherwise does nothing. Callers answer the same either
    /// way, so the page cannot tell who exists.
    pub async fn send_password_reset(&self, username: &str, base_url: &str) -> Result<(), AccountError> {
        let user = match self.user(username).await {
            Ok(u) if u.active && !u.frozen => u,
            Ok(_) | Err(AccountError::NotFound(_)) => {
                tracing::info!("password reset asked for an unknown or unusable user");
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let now = self.clock.now();
        let token = random_alphanumeric(43);
        let link = format!("{}/reset/{}", base_url.trim_end_matches('/'), token.expose_secret());
        let mail = templates::password_reset_link(&self.mail, &user.email, &user.username, &link, LINK_VALID_MINUTES);
        let mut tx = self.store.begin().await?;
        password_resets::purge(&mut tx, now - Duration::days(1)).await?;
        // Only the newest link works.
        password_resets::void_for_user(&mut tx, &user.id, now).await?;
        password_resets::insert(
            &mut tx,
            &SecretDigest::of(token.expose_secret()),
            &user.id,
            now,
            now + Duration::minutes(LINK_VALID_MINUTES),
        )
        .await?;
        crate::mail::enqueue(&mut tx, &mail, now).await?;
        latchkey_store::commit(tx).await?;
        tracing::info!(user_id = %user.id, "password reset link sent");
        Ok(())
    }

    /// The user a usable link belongs to.
    pub async fn reset_link_user(&self, token: &str) -> Result<Option<User>, AccountError> {
        let mut conn = self.store.conn().await?;
        match password_resets::usable(&mut conn, &SecretDigest::of(token), self.clock.now()).await? {
            Some(id) => Ok(Some(users::get(&mut conn, &id).await?)),
            None => Ok(None),
        }
    }

    /// Sets a new password through the link `token`: `Ok(None)` when the link is
    /// unknown, used or expired; a policy rejection leaves the link usable.
    pub async fn reset_password_by_link(
        &self,
        token: &str,
        password: &SecretString,
    ) -> Result<Option<User>, AccountError> {
        let Some(user) = self.reset_link_user(token).await? else {
            return Ok(None);
        };
        if user.frozen || !user.active {
            return Ok(None);
        }
        // The policy first: a rejected password leaves the link usable. Then the link
        // is spent atomically, so two submissions of it cannot both change the password.
        let org = self.org_of(&user).await?;
        self.check_new_password(&user, &org.policy, password).await?;
        let mut conn = self.store.conn().await?;
        if !password_resets::spend(&mut conn, &SecretDigest::of(token), self.clock.now()).await? {
            return Ok(None);
        }
        drop(conn);
        let user = self.change_password(&user, password).await?;
        self.lift_lock(&user).await?;
        tracing::info!(user_id = %user.id, "password reset through an e-mailed link");
        Ok(Some(user))
    }
}
