//! OAuth refresh tokens: minting (administrator pre-authorisation of a user for an app),
//! redeeming (the `refresh_token` grant), revoking, and the per-app policy of whether
//! they survive a password change. Tokens look like Salesforce's (`5Aep861` + random
//! alphanumerics, 87 characters in all) and are stored as SHA-256 digests.

use std::net::IpAddr;

use latchkey_core::ids::OrgId;
use latchkey_core::secret::{random_alphanumeric, SecretDigest};
use latchkey_store::apps::{self, ConnectedApp};
use latchkey_store::refresh_tokens;
use secrecy::{ExposeSecret, SecretString};

use latchkey_core::status::LoginStatus;

use crate::login::Admitted;
use crate::{AccountError, Services};

/// What a redeemed refresh token came to.
#[derive(Debug)]
pub enum Refreshed {
    /// Admitted, with the token's digest for the new access token.
    Admitted(Box<Admitted>, SecretDigest),
    /// The token is live but its user is refused (frozen, locked, inactive,
    /// restricted IP).
    Refused(LoginStatus),
    /// No live token with that value for this app: revoked, never issued, or another
    /// app's (OAuth's `expired access/refresh token`).
    Expired,
}

impl Services {
    async fn app_named(&self, org: &OrgId, name: &str) -> Result<ConnectedApp, AccountError> {
        let mut conn = self.store.conn().await?;
        apps::find_by_name(&mut conn, org, name)
            .await?
            .ok_or_else(|| AccountError::NotFound(format!("connected app {name:?}")))
    }

    /// Administrator pre-authorisation: issues a refresh token of the org's app
    /// `app_name` for `username` (shown once). Integrations that hold it never need
    /// the user's password.
    pub async fn authorize_app(
        &self,
        org: &OrgId,
        app_name: &str,
        username: &str,
    ) -> Result<(ConnectedApp, SecretString), AccountError> {
        let app = self.app_named(org, app_name).await?;
        let user = self.user(username).await?;
        if &user.org_id != org {
            return Err(AccountError::Invalid(format!("user {username:?} is not in this org")));
        }
        let token = SecretString::from(format!("5Aep861{}", random_alphanumeric(80).expose_secret()));
        let mut conn = self.store.conn().await?;
        let digest = SecretDigest::of(token.expose_secret());
        refresh_tokens::insert(&mut conn, &digest, &app.client_id, &user.id, org, self.clock.now()).await?;
        tracing::info!(client = %app.name, user_id = %user.id, "refresh token issued");
        Ok((app, token))
    }

    /// The `refresh_token` grant for an authenticated `app`: the token's user logs in
    /// through the same decision as the client-credentials grant.
    pub async fn redeem_refresh_token(
        &self,
        app: &ConnectedApp,
        token: &SecretString,
        ip: IpAddr,
    ) -> Result<Refreshed, AccountError> {
        let digest = SecretDigest::of(token.expose_secret());
        let mut conn = self.store.conn().await?;
        let found = refresh_tokens::redeem(&mut conn, &digest, &app.client_id, self.clock.now()).await?;
        drop(conn);
        let Some(found) = found else {
            return Ok(Refreshed::Expired);
        };
        Ok(
            match self.login_without_password(&found.user_id, &app.name, ip).await? {
                Ok(admitted) => Refreshed::Admitted(Box::new(admitted), digest),
                Err(status) => Refreshed::Refused(status),
            },
        )
    }

    /// Revokes a refresh token and the access tokens issued from it; `true` when it
    /// was live.
    pub async fn revoke_refresh_token(&self, token: &str) -> Result<bool, AccountError> {
        let digest = SecretDigest::of(token);
        let mut tx = self.store.begin().await?;
        let owner = refresh_tokens::delete(&mut tx, &digest).await?;
        latchkey_store::commit(tx).await?;
        // Its access tokens are gone from the store; forget them on this node at once.
        if let Some(user) = &owner {
            self.caches.sessions.forget_user(user);
        }
        Ok(owner.is_some())
    }

    /// Sets whether the org's app `app_name` keeps its refresh tokens across password
    /// changes and resets.
    pub async fn set_refresh_survives_password_change(
        &self,
        org: &OrgId,
        app_name: &str,
        survives: bool,
    ) -> Result<ConnectedApp, AccountError> {
        let mut app = self.app_named(org, app_name).await?;
        let mut conn = self.store.conn().await?;
        apps::set_refresh_survives_password_change(&mut conn, &app.client_id, survives).await?;
        app.refresh_survives_password_change = survives;
        self.decisions_changed();
        tracing::info!(client = %app.name, survives, "refresh token policy set");
        Ok(app)
    }
}
