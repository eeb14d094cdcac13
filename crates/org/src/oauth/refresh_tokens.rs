//! OAuth refresh tokens: minting (administrator pre-authorisation of a user for an app),
//! redeeming (the `refresh_token` grant), revoking, and the per-app policy of whether
//! they survive a password change. Tokens look like Salesforce's (`5Aep861` + random
//! alphanumerics, 87 characters in all) and are stored as SHA-256 digests.

use std::net::IpAddr;

use latchkey_core::ids::OrgId;
use latchkey_core::secret::SecretDigest;
use latchkey_store::app_authorizations;
use latchkey_store::apps::{self, ConnectedApp, Policies, Switch};
use latchkey_store::refresh_tokens::{self, Redeemed};
use secrecy::{ExposeSecret, SecretString};

use latchkey_core::status::LoginStatus;

use crate::accounts::admin::Admin;
use crate::login::Admitted;
use crate::oauth::authorization_codes::new_refresh_token;
use crate::{AccountError, Services};

/// What a redeemed refresh token came to.
#[derive(Debug)]
pub enum Refreshed {
    /// Admitted, with the digest of the refresh token the new access token hangs from,
    /// and — for an app that rotates them — the refresh token that replaces the one
    /// presented.
    Admitted(Box<Admitted>, SecretDigest, Option<SecretString>),
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

    /// The `refresh_token` grant for an authenticated `app`: the token's user logs in
    /// through the same decision as the client-credentials grant. An app that rotates
    /// its tokens gets a new one; a replaced token presented again revokes its family.
    pub async fn redeem_refresh_token(
        &self,
        app: &ConnectedApp,
        token: &SecretString,
        ip: IpAddr,
    ) -> Result<Refreshed, AccountError> {
        let digest = SecretDigest::of(token.expose_secret());
        let found = match self.find_refresh_token(app, &digest).await? {
            None => return Ok(Refreshed::Expired),
            Some(Redeemed::Replaced { family }) => {
                self.revoke_family(&family).await?;
                return Ok(Refreshed::Expired);
            }
            Some(Redeemed::Live(found)) => found,
        };
        // "Expire refresh token after N minutes" (counted from its issue).
        if let Some(minutes) = app.refresh_token_minutes {
            if found.created_at + chrono::Duration::minutes(minutes) <= self.clock.now() {
                self.revoke_family(&found.family).await?;
                return Ok(Refreshed::Expired);
            }
        }
        let admitted = match self.login_without_password(&found.user_id, app, ip).await? {
            Ok(admitted) => admitted,
            Err(status) => return Ok(Refreshed::Refused(status)),
        };
        if !app.rotate_refresh_tokens {
            return Ok(Refreshed::Admitted(Box::new(admitted), digest, None));
        }
        let (next, next_digest) = new_refresh_token();
        let mut tx = self.store.begin().await?;
        let replaced = refresh_tokens::replace(&mut tx, &digest, &next_digest, self.clock.now()).await?;
        latchkey_store::commit(tx).await?;
        if !replaced {
            // A concurrent refresh with the same token: one of the two is not the app.
            self.revoke_family(&found.family).await?;
            return Ok(Refreshed::Expired);
        }
        Ok(Refreshed::Admitted(Box::new(admitted), next_digest, Some(next)))
    }

    /// The token with this digest issued to `app`, marked used. Live tokens of apps
    /// that do not rotate them come from the decision cache after their first use
    /// (revoking one moves the change epoch); a rotating app's token is used once, so
    /// it is always read.
    async fn find_refresh_token(
        &self,
        app: &ConnectedApp,
        digest: &SecretDigest,
    ) -> Result<Option<Redeemed>, AccountError> {
        let now = self.clock.now();
        let cache = &self.caches.decisions;
        if !app.rotate_refresh_tokens {
            self.poll_decisions().await?;
            if let Some(token) = cache
                .refresh_token(digest.as_bytes())
                .filter(|t| t.client_id == app.client_id)
            {
                if token.due_for_touch(now) {
                    let mut conn = self.store.conn().await?;
                    refresh_tokens::touch(&mut conn, digest, now).await?;
                    cache.forget_refresh_token(digest.as_bytes());
                }
                return Ok(Some(Redeemed::Live(token)));
            }
        }
        let generation = cache.generation();
        let mut conn = self.store.conn().await?;
        let found = refresh_tokens::redeem(&mut conn, digest, &app.client_id, now).await?;
        if let (Some(Redeemed::Live(token)), false) = (&found, app.rotate_refresh_tokens) {
            // A token `redeem` just marked used is read again next time, fresh.
            if !token.due_for_touch(now) {
                cache.remember_refresh_token(generation, digest.as_bytes(), token.clone());
            }
        }
        Ok(found)
    }

    /// Revokes a refresh token and the access tokens issued from it; `true` when it
    /// is live.
    pub async fn revoke_refresh_token(&self, token: &str) -> Result<bool, AccountError> {
        let digest = SecretDigest::of(token);
        let mut tx = self.store.begin().await?;
        let owner = refresh_tokens::delete(&mut tx, &digest).await?;
        latchkey_store::commit(tx).await?;
        // Its access tokens are gone from the store; forget them on this node at once.
        if let Some(user) = &owner {
            self.forget_tokens(user);
        }
        Ok(owner.is_some())
    }
}

impl Admin {
    /// Administrator pre-authorisation: issues a refresh token of the org's app
    /// `app_name` for `username` (shown once). Integrations that hold it never need
    /// the user's password.
    pub async fn authorize_app(
        &self,
        org: &OrgId,
        app_name: &str,
        username: &str,
    ) -> Result<(ConnectedApp, SecretString), AccountError> {
        self.check(org)?;
        let app = self.services.app_named(org, app_name).await?;
        let user = self.member(username).await?;
        if &user.org_id != org {
            return Err(AccountError::Invalid(format!("user {username:?} is not in this org")));
        }
        let (token, digest) = new_refresh_token();
        let now = self.services.clock.now();
        let mut tx = self.services.store.begin().await?;
        refresh_tokens::insert(&mut tx, &digest, &app.client_id, &user.id, org, now).await?;
        app_authorizations::grant(&mut tx, &app.client_id, &user.id, true, now).await?;
        latchkey_store::commit(tx).await?;
        tracing::info!(client = %app.name, user_id = %user.id, "refresh token issued");
        Ok((app, token))
    }

    /// Sets the org's app `app_name`'s OAuth policies: permitted users, refresh-token
    /// lifetime, IP relaxation and scopes.
    pub async fn set_app_policies(
        &self,
        org: &OrgId,
        app_name: &str,
        policies: Policies,
    ) -> Result<ConnectedApp, AccountError> {
        self.check(org)?;
        let mut scopes: Vec<&str> = Vec::new();
        for s in policies.scopes.split_whitespace() {
            if !crate::oauth::authorization_codes::SCOPES
                .iter()
                .any(|(name, _)| *name == s)
            {
                return Err(AccountError::Invalid(format!(
                    "unknown scope {s:?}: use api, refresh_token, offline_access, full, openid, id, profile, email, web"
                )));
            }
            if !scopes.contains(&s) {
                scopes.push(s);
            }
        }
        if scopes.is_empty() {
            return Err(AccountError::Invalid("an app needs at least one scope".into()));
        }
        if policies
            .refresh_token_minutes
            .is_some_and(|m| !(0..=5_256_000).contains(&m))
        {
            return Err(AccountError::Invalid(
                "refresh tokens expire after 0 to 5,256,000 minutes (ten years)".into(),
            ));
        }
        let policies = Policies {
            scopes: scopes.join(" "),
            ..policies
        };
        let mut app = self.services.app_named(org, app_name).await?;
        let mut conn = self.services.store.conn().await?;
        apps::set_policies(&mut conn, &app.client_id, &policies).await?;
        app.admin_approved_only = policies.admin_approved_only;
        app.refresh_token_minutes = policies.refresh_token_minutes;
        app.relax_ip = policies.relax_ip;
        app.scopes = policies.scopes;
        self.services.decisions_changed();
        tracing::info!(client = %app.name, "connected app OAuth policies set");
        Ok(app)
    }

    /// Turns one of the org's app `app_name`'s switches on or off (refresh tokens
    /// surviving password changes, rotating refresh tokens, public client).
    pub async fn set_app_switch(
        &self,
        org: &OrgId,
        app_name: &str,
        switch: Switch,
        on: bool,
    ) -> Result<ConnectedApp, AccountError> {
        self.check(org)?;
        let mut app = self.services.app_named(org, app_name).await?;
        let mut conn = self.services.store.conn().await?;
        apps::set_switch(&mut conn, &app.client_id, switch, on).await?;
        match switch {
            Switch::RefreshSurvivesPasswordChange => app.refresh_survives_password_change = on,
            Switch::RotateRefreshTokens => app.rotate_refresh_tokens = on,
            Switch::PublicClient => app.public_client = on,
        }
        self.services.decisions_changed();
        tracing::info!(client = %app.name, ?switch, on, "connected app policy set");
        Ok(app)
    }
}
