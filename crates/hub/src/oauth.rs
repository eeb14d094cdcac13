//! "Connect with OAuth": the web-server flow (with PKCE) from the hub's pages to the
//! CRM org and back. The hub then holds a refresh token the org issued for it instead
//! of the user's password and security token — so a password reset cannot break the
//! connectors. A password-based record is migrated in place: the same record, its
//! password and token dropped once the refresh token works.
//!
//! While the person is at the org, what the hub must remember (state, PKCE verifier,
//! the app's client secret) travels in a cookie sealed by the hub's vault: nothing is
//! stored, and nothing in the cookie can be read or changed by the browser.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Duration;
use latchkey_core::secret::{pkce_pair, random_alphanumeric};
use latchkey_sfclient::{exchange_code, http_client, Client, CodeExchange, Credentials};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::credentials::{CredentialInput, CredentialView};
use crate::{Hub, HubError};

/// Where the org sends the browser back, on the hub's listener.
pub const CALLBACK_PATH: &str = "/oauth/callback";

/// How long a person may take at the org.
const PENDING_MINUTES: i64 = 15;

/// What the sealing of a pending connection is bound to.
const PENDING_CONTEXT: &[u8] = b"latchkey hub oauth pending v1";

/// A connection under way (sealed into the browser's cookie).
#[derive(Serialize, Deserialize)]
struct Pending {
    workspace: String,
    login_url: String,
    client_id: String,
    client_secret: String,
    state: String,
    verifier: String,
    redirect_uri: String,
    expires_at: i64,
}

impl Drop for Pending {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.client_secret.zeroize();
        self.verifier.zeroize();
    }
}

/// A connection started: where to send the browser, and the sealed cookie value.
#[derive(Debug)]
pub struct Started {
    /// The org's authorization URL.
    pub authorize_url: String,
    /// The sealed pending connection, for a short-lived cookie.
    pub cookie: String,
}

/// What the person entered to connect.
#[derive(Debug)]
pub struct ConnectRequest<'a> {
    /// The workspace.
    pub workspace: &'a str,
    /// The org's login URL.
    pub login_url: &'a str,
    /// The connected app's client id.
    pub client_id: &'a str,
    /// Its secret; `None` keeps the record's.
    pub client_secret: Option<SecretString>,
    /// This hub's callback URL (registered as the app's callback).
    pub redirect_uri: &'a str,
}

impl Hub {
    /// Starts connecting a workspace's record by OAuth.
    pub async fn begin_oauth(&self, req: ConnectRequest<'_>) -> Result<Started, HubError> {
        let ws = self.workspace(req.workspace).await?;
        let login_url = req.login_url.trim().trim_end_matches('/');
        if !(login_url.starts_with("https://") || login_url.starts_with("http://")) {
            return Err(HubError::Invalid(
                "the login URL must start with https:// (or http://)".into(),
            ));
        }
        let client_id = req.client_id.trim();
        if client_id.is_empty() {
            return Err(HubError::Invalid("enter the connected app's client id".into()));
        }
        let client_secret = match req.client_secret {
            Some(s) => s,
            None => {
                let kept = match self.record(&ws, Some(login_url)).await {
                    Ok(record) if record.client_id.as_deref() == Some(client_id) => self.client_secret_of(&record)?,
                    _ => None,
                };
                kept.ok_or_else(|| HubError::Invalid("enter the connected app's client secret".into()))?
            }
        };
        let state = random_alphanumeric(32).expose_secret().to_owned();
        let (verifier, challenge) = pkce_pair();
        let pending = Pending {
            workspace: ws.name.clone(),
            login_url: login_url.to_owned(),
            client_id: client_id.to_owned(),
            client_secret: client_secret.expose_secret().to_owned(),
            state: state.clone(),
            verifier: verifier.expose_secret().to_owned(),
            redirect_uri: req.redirect_uri.to_owned(),
            expires_at: (self.clock.now() + Duration::minutes(PENDING_MINUTES)).timestamp(),
        };
        let plain = Zeroizing::new(serde_json::to_vec(&pending).map_err(|_| HubError::Invalid("pending".into()))?);
        let sealed = self.vault.seal(&plain, PENDING_CONTEXT);
        let cookie = format!("{}.{}", sealed.key_id, URL_SAFE_NO_PAD.encode(&sealed.bytes));
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", req.redirect_uri)
            .append_pair("scope", "api refresh_token")
            .append_pair("state", &state)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256")
            .finish();
        Ok(Started {
            authorize_url: format!("{login_url}/services/oauth2/authorize?{query}"),
            cookie,
        })
    }

    fn open_pending(&self, cookie: &str) -> Result<Pending, HubError> {
        let expired = || HubError::Invalid("the connection took too long or was not started here; start again".into());
        let (key_id, encoded) = cookie.split_once('.').ok_or_else(expired)?;
        let bytes = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| expired())?;
        let plain = self
            .vault
            .open(&bytes, key_id, PENDING_CONTEXT)
            .map_err(|_| expired())?;
        let pending: Pending = serde_json::from_slice(&plain).map_err(|_| expired())?;
        if pending.expires_at < self.clock.now().timestamp() {
            return Err(expired());
        }
        Ok(pending)
    }

    /// Finishes a connection: checks the state, exchanges the code, learns the user,
    /// and saves the record with the refresh token (dropping any password and token).
    /// Returns the workspace's name and the record.
    pub async fn finish_oauth(
        &self,
        cookie: &str,
        state: &str,
        code: &SecretString,
        ca: Option<&[u8]>,
    ) -> Result<(String, CredentialView), HubError> {
        let pending = self.open_pending(cookie)?;
        if !bool::from(pending.state.as_bytes().ct_eq(state.as_bytes())) {
            return Err(HubError::Invalid(
                "this answer does not belong to the connection started here; start again".into(),
            ));
        }
        let refused = |e: latchkey_sfclient::Error| HubError::Invalid(format!("the CRM did not connect the hub: {e}"));
        let http = http_client(ca).map_err(refused)?;
        let client_secret = SecretString::from(pending.client_secret.clone());
        let verifier = SecretString::from(pending.verifier.clone());
        let granted = exchange_code(
            &http,
            &pending.login_url,
            &CodeExchange {
                client_id: &pending.client_id,
                client_secret: Some(&client_secret),
                code,
                redirect_uri: &pending.redirect_uri,
                verifier: &verifier,
            },
        )
        .await
        .map_err(refused)?;
        let refresh_token = granted.refresh_token.ok_or_else(|| {
            HubError::Invalid("the CRM granted no refresh token: give the connected app the refresh_token scope".into())
        })?;
        let client = Client::new(
            &pending.login_url,
            Credentials::OAuthRefresh {
                refresh_token: refresh_token.clone(),
                client_id: pending.client_id.clone(),
                client_secret: client_secret.clone(),
            },
            ca,
        )
        .map_err(refused)?;
        let me = client.userinfo().await.map_err(refused)?;
        let view = self
            .set_credential(
                &pending.workspace,
                CredentialInput {
                    login_url: pending.login_url.clone(),
                    username: me.username,
                    password: None,
                    security_token: None,
                    client_id: Some(pending.client_id.clone()),
                    client_secret: Some(client_secret),
                    refresh_token: Some(refresh_token),
                    jwt_private_key: None,
                },
            )
            .await?
            .view;
        tracing::info!(workspace = %pending.workspace, credential = %view.id, "credential record connected by OAuth");
        Ok((pending.workspace.clone(), view))
    }
}
