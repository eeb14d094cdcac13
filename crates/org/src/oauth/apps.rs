//! Connected apps (OAuth clients). The consumer secret is shown once at creation and
//! kept as a digest; authenticating a client is a constant-time digest compare.

use latchkey_core::ids::OrgId;
use latchkey_core::secret::{random_alphanumeric, SecretDigest};
use latchkey_store::apps::{self, ConnectedApp};
use secrecy::{ExposeSecret, SecretString};

use crate::accounts::admin::Admin;
use crate::{AccountError, Services};

/// Why a client was not authenticated (OAuth `invalid_client_id` / `invalid_client`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientRejection {
    /// No app with that consumer key.
    UnknownClient,
    /// The consumer secret is wrong or missing.
    BadSecret,
}

impl Services {
    /// The org's connected apps, by name.
    pub async fn apps(&self, org: &OrgId) -> Result<Vec<ConnectedApp>, AccountError> {
        let mut conn = self.store.conn().await?;
        Ok(apps::for_org(&mut conn, org).await?)
    }

    /// Checks a client's consumer key and secret.
    pub async fn authenticate_client(
        &self,
        client_id: &str,
        secret: Option<&str>,
    ) -> Result<Result<ConnectedApp, ClientRejection>, AccountError> {
        let Some(app) = self.decision_app(client_id).await? else {
            return Ok(Err(ClientRejection::UnknownClient));
        };
        match secret {
            Some(s) if app.secret_digest.matches(s) => Ok(Ok(app)),
            _ => Ok(Err(ClientRejection::BadSecret)),
        }
    }

    /// A public client (no secret) for the grants that allow one: the app must be
    /// marked public, and its codes need PKCE.
    pub async fn public_client(&self, client_id: &str) -> Result<Result<ConnectedApp, ClientRejection>, AccountError> {
        match self.decision_app(client_id).await? {
            None => Ok(Err(ClientRejection::UnknownClient)),
            Some(app) if app.public_client => Ok(Ok(app)),
            Some(_) => Ok(Err(ClientRejection::BadSecret)),
        }
    }
}

impl Admin {
    /// Creates a connected app; returns it and its secret (shown once).
    pub async fn create_app(
        &self,
        org: &OrgId,
        name: &str,
        run_as: Option<&str>,
        callback_url: Option<&str>,
    ) -> Result<(ConnectedApp, SecretString), AccountError> {
        self.check(org)?;
        let name = name.trim();
        if name.is_empty() || name.len() > 80 {
            return Err(AccountError::Invalid("app name must be 1 to 80 characters".into()));
        }
        let run_as = match run_as {
            Some(u) => {
                let user = self.services.user(u).await?;
                if &user.org_id != org {
                    return Err(AccountError::Invalid(format!("user {u:?} is not in this org")));
                }
                Some(user.id)
            }
            None => None,
        };
        let secret = random_alphanumeric(64);
        let app = ConnectedApp {
            client_id: format!("3MVG9{}", random_alphanumeric(80).expose_secret()),
            org_id: org.clone(),
            name: name.to_owned(),
            secret_digest: SecretDigest::of(secret.expose_secret()),
            run_as,
            callback_url: callback_url.map(str::to_owned),
            created_at: self.services.clock.now(),
            refresh_survives_password_change: true,
            rotate_refresh_tokens: false,
            public_client: false,
            jwt_public_key: None,
            admin_approved_only: false,
            refresh_token_minutes: None,
            relax_ip: false,
            scopes: apps::DEFAULT_SCOPES.to_owned(),
        };
        let mut conn = self.services.store.conn().await?;
        apps::insert(&mut conn, &app).await?;
        tracing::info!(client = %app.name, org_id = %org, "connected app created");
        Ok((app, secret))
    }

    /// Issues a new secret for the org's app `name` (the old one stops working);
    /// returns the app and the new secret.
    pub async fn rotate_app_secret(
        &self,
        org: &OrgId,
        name: &str,
    ) -> Result<(ConnectedApp, SecretString), AccountError> {
        self.check(org)?;
        let mut conn = self.services.store.conn().await?;
        let app = apps::find_by_name(&mut conn, org, name)
            .await?
            .ok_or_else(|| AccountError::NotFound(format!("connected app {name:?}")))?;
        let secret = random_alphanumeric(64);
        apps::set_secret(&mut conn, &app.client_id, &SecretDigest::of(secret.expose_secret())).await?;
        self.services.decisions_changed();
        tracing::info!(client = %app.name, "connected app secret rotated");
        Ok((app, secret))
    }
}
