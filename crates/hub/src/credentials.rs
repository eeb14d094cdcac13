//! Workspaces and their CRM credential records. A record's secrets (password, security
//! token, client secret, refresh token) are sealed together, bound to the record's id,
//! workspace, login URL, username and client id: editing any of those in the database
//! (say, pointing the login URL at another server) makes the record fail to open
//! rather than send the secrets somewhere new.

use latchkey_sfclient::Credentials;
use latchkey_store::hub::{self, SealedCredential, Workspace};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::{Hub, HubError};

/// A credential record to save. Leaving a secret out clears it.
#[derive(Debug)]
pub struct CredentialInput {
    /// The CRM org's login URL (`https://login.salesforce.com`, a Latchkey org server…).
    pub login_url: String,
    /// CRM username.
    pub username: String,
    /// Password.
    pub password: Option<SecretString>,
    /// Security token (not needed from the org's trusted networks).
    pub security_token: Option<SecretString>,
    /// Connected-app client id (OAuth).
    pub client_id: Option<String>,
    /// Connected-app client secret (OAuth).
    pub client_secret: Option<SecretString>,
    /// OAuth refresh token (then no password is needed at all).
    pub refresh_token: Option<SecretString>,
    /// The private key (PEM) of the connected app's JWT certificate: the record logs in
    /// by JWT bearer and holds no password or token at all.
    pub jwt_private_key: Option<SecretString>,
}

/// A record as shown to people: which secrets are set, never their values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CredentialView {
    /// Id.
    pub id: String,
    /// Login URL.
    pub login_url: String,
    /// Username.
    pub username: String,
    /// Client id, if any.
    pub client_id: Option<String>,
    /// How it logs in: `oauth-jwt`, `oauth-refresh-token`, `oauth-password` or `soap`.
    pub method: &'static str,
    /// A password is stored.
    pub password_set: bool,
    /// A security token is stored.
    pub security_token_set: bool,
    /// A client secret is stored.
    pub client_secret_set: bool,
    /// A refresh token is stored.
    pub refresh_token_set: bool,
    /// A JWT private key is stored.
    pub jwt_private_key_set: bool,
    /// The org's webhook signing secret is stored: its announcements suspend the
    /// record before any login fails.
    pub webhook_secret_set: bool,
    /// The org's announcement that suspended the record, while it holds
    /// (`user.locked`, `user.frozen`, `password.changed`…).
    pub suspended_by: Option<String>,
    /// Last changed (RFC 3339).
    pub updated_at: String,
}

/// A saved record, and which of the typed secrets had surrounding whitespace removed
/// (a pasted token often carries a space or a line break).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    /// The record as people may see it.
    pub view: CredentialView,
    /// Names of the trimmed secrets (`password`, `security token`, …).
    pub trimmed: Vec<&'static str>,
}

impl Saved {
    /// What to tell the person about the trimming, when there is any.
    pub fn trimmed_note(&self) -> Option<String> {
        match self.trimmed.as_slice() {
            [] => None,
            names => Some(format!(
                "Removed the spaces or line breaks around the {} you typed.",
                names.join(" and ")
            )),
        }
    }
}

/// The sealed part of a record.
#[derive(Default, Serialize, Deserialize)]
struct Secrets {
    password: Option<String>,
    security_token: Option<String>,
    client_secret: Option<String>,
    refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    jwt_private_key: Option<String>,
    /// The org's webhook signing secret (`whsec_…`); not a login secret, so it is left
    /// out of the fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    webhook_secret: Option<String>,
}

impl Secrets {
    /// What the CRM sees at login, serialised as records without a webhook secret
    /// always were: the input of the rejection fingerprint.
    fn login_part(&self) -> Result<Zeroizing<Vec<u8>>, HubError> {
        let login = Secrets {
            password: self.password.clone(),
            security_token: self.security_token.clone(),
            client_secret: self.client_secret.clone(),
            refresh_token: self.refresh_token.clone(),
            jwt_private_key: self.jwt_private_key.clone(),
            webhook_secret: None,
        };
        serde_json::to_vec(&login)
            .map(Zeroizing::new)
            .map_err(|_| HubError::Invalid("secrets".into()))
    }
}

/// An opened record: how to log in, the fingerprint the guard compares, and the
/// webhook signing key, if the org announces changes to this record's user.
pub(crate) struct Opened {
    pub(crate) credentials: Credentials,
    pub(crate) fingerprint: Vec<u8>,
    pub(crate) webhook_key: Option<Zeroizing<Vec<u8>>>,
    /// What the CRM sees at login, username included: the input of the pair
    /// fingerprints of [`Hub::pair_fingerprint`].
    pair: Zeroizing<Vec<u8>>,
}

impl Drop for Secrets {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        for s in [
            &mut self.password,
            &mut self.security_token,
            &mut self.client_secret,
            &mut self.refresh_token,
            &mut self.jwt_private_key,
            &mut self.webhook_secret,
        ]
        .into_iter()
        .flatten()
        {
            s.zeroize();
        }
    }
}

fn context(id: &str, workspace_id: &str, login_url: &str, username: &str, client_id: Option<&str>) -> Vec<u8> {
    format!(
        "latchkey-hub-credential-v1\0{id}\0{workspace_id}\0{login_url}\0{username}\0{}",
        client_id.unwrap_or_default()
    )
    .into_bytes()
}

fn context_of(c: &SealedCredential) -> Vec<u8> {
    context(
        &c.id,
        &c.workspace_id,
        &c.login_url,
        &c.username,
        c.client_id.as_deref(),
    )
}

fn method(s: &Secrets, client_id: Option<&str>) -> &'static str {
    if s.jwt_private_key.is_some() && client_id.is_some() {
        return "oauth-jwt";
    }
    match (&s.refresh_token, client_id, &s.client_secret) {
        (Some(_), Some(_), _) => "oauth-refresh-token",
        (None, Some(_), Some(_)) => "oauth-password",
        _ => "soap",
    }
}

impl Hub {
    /// Creates a workspace.
    pub async fn create_workspace(&self, name: &str) -> Result<Workspace, HubError> {
        let name = name.trim();
        if name.is_empty() || name.len() > 80 {
            return Err(HubError::Invalid("workspace name must be 1 to 80 characters".into()));
        }
        let mut conn = self.store.conn().await?;
        let id = latchkey_core::ids::generate("0Hw");
        Ok(hub::create_workspace(&mut conn, &id, name, self.clock.now()).await?)
    }

    /// The workspace named `name`.
    pub async fn workspace(&self, name: &str) -> Result<Workspace, HubError> {
        let mut conn = self.store.conn().await?;
        hub::workspace_by_name(&mut conn, name.trim())
            .await?
            .ok_or_else(|| HubError::NotFound(format!("workspace {name:?}")))
    }

    pub(crate) async fn workspace_by_id(&self, id: &str) -> Result<Workspace, HubError> {
        self.workspaces()
            .await?
            .into_iter()
            .find(|w| w.id == id)
            .ok_or_else(|| HubError::NotFound(format!("workspace {id}")))
    }

    /// Every workspace.
    pub async fn workspaces(&self) -> Result<Vec<Workspace>, HubError> {
        let mut conn = self.store.conn().await?;
        Ok(hub::workspaces(&mut conn).await?)
    }

    /// Saves the workspace's credential record for `input.login_url` (one per CRM org),
    /// sealing its secrets with surrounding whitespace removed.
    pub async fn set_credential(&self, workspace: &str, input: CredentialInput) -> Result<Saved, HubError> {
        let ws = self.workspace(workspace).await?;
        let login_url = input.login_url.trim().trim_end_matches('/').to_owned();
        if !(login_url.starts_with("https://") || login_url.starts_with("http://")) {
            return Err(HubError::Invalid(
                "the login URL must start with https:// (or http://)".into(),
            ));
        }
        let username = input.username.trim().to_owned();
        if username.is_empty() {
            return Err(HubError::Invalid("a username is required".into()));
        }
        let client_id = input.client_id.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
        let mut trimmed = Vec::new();
        let mut expose = |s: &Option<SecretString>, name: &'static str| {
            let typed = s.as_ref()?.expose_secret();
            let kept = typed.trim();
            if kept.len() != typed.len() && !kept.is_empty() {
                trimmed.push(name);
            }
            Some(kept.to_owned()).filter(|v| !v.is_empty())
        };
        let mut secrets = Secrets {
            password: expose(&input.password, "password"),
            security_token: expose(&input.security_token, "security token"),
            client_secret: expose(&input.client_secret, "client secret"),
            refresh_token: expose(&input.refresh_token, "refresh token"),
            jwt_private_key: expose(&input.jwt_private_key, "JWT private key"),
            webhook_secret: None,
        };
        check_secrets(&secrets, client_id.as_deref())?;
        let mut tx = self.store.begin().await?;
        let existing = hub::credentials(&mut tx, &ws.id)
            .await?
            .into_iter()
            .find(|c| c.login_url == login_url);
        // The org's webhook secret stays when the login secrets change.
        if let Some(old) = &existing {
            secrets.webhook_secret = self.open(old)?.webhook_secret.clone();
        }
        let id = existing.map_or_else(|| latchkey_core::ids::generate("0Hc"), |c| c.id);
        let plaintext = Zeroizing::new(serde_json::to_vec(&secrets).map_err(|_| HubError::Invalid("secrets".into()))?);
        let sealed = self.vault.seal(
            &plaintext,
            &context(&id, &ws.id, &login_url, &username, client_id.as_deref()),
        );
        let record = SealedCredential {
            id,
            workspace_id: ws.id.clone(),
            login_url,
            username,
            client_id,
            sealed: sealed.bytes,
            key_id: sealed.key_id,
            updated_at: self.clock.now(),
            rejected_fingerprint: None,
            rejected_reason: None,
            rejected_by: None,
            rejected_at: None,
            accepted_at: None,
        };
        hub::put_credential(&mut tx, &record).await?;
        latchkey_store::commit(tx).await?;
        tracing::info!(workspace = %ws.name, credential = %record.id, trimmed = ?trimmed, "credential record saved");
        Ok(Saved {
            view: view(&record, &secrets),
            trimmed,
        })
    }

    /// The client secret a record holds (to start an OAuth connection without typing
    /// it again).
    pub(crate) fn client_secret_of(&self, record: &SealedCredential) -> Result<Option<SecretString>, HubError> {
        Ok(self.open(record)?.client_secret.clone().map(SecretString::from))
    }

    fn open(&self, record: &SealedCredential) -> Result<Secrets, HubError> {
        let plaintext = self.vault.open(&record.sealed, &record.key_id, &context_of(record))?;
        serde_json::from_slice(&plaintext).map_err(|_| HubError::Invalid("a sealed record is not a credential".into()))
    }

    /// The workspace's credential records, as people may see them.
    pub async fn credential_views(&self, workspace: &str) -> Result<Vec<CredentialView>, HubError> {
        let ws = self.workspace(workspace).await?;
        let mut conn = self.store.conn().await?;
        hub::credentials(&mut conn, &ws.id)
            .await?
            .iter()
            .map(|r| Ok(view(r, &self.open(r)?)))
            .collect()
    }

    /// The workspace's record for `login_url` (the only record when `None`).
    pub(crate) async fn record(&self, ws: &Workspace, login_url: Option<&str>) -> Result<SealedCredential, HubError> {
        let mut conn = self.store.conn().await?;
        let records = hub::credentials(&mut conn, &ws.id).await?;
        let record = match login_url {
            Some(url) => records
                .into_iter()
                .find(|r| r.login_url == url.trim().trim_end_matches('/')),
            None if records.len() > 1 => {
                return Err(HubError::Invalid(
                    "the workspace has several credential records: name the login URL".into(),
                ))
            }
            None => records.into_iter().next(),
        };
        record.ok_or_else(|| HubError::NotFound(format!("credential record in workspace {:?}", ws.name)))
    }

    /// Opens a record: the client credentials to log in with, the keyed fingerprint
    /// of its login secrets (what the guard remembers when the CRM rejects them) and
    /// its webhook key.
    pub(crate) fn unseal(&self, record: &SealedCredential) -> Result<Opened, HubError> {
        let s = self.open(record)?;
        let login = s.login_part()?;
        let fingerprint = self.vault.fingerprint(&record.key_id, &login)?;
        let secret = |v: &Option<String>| SecretString::from(v.clone().unwrap_or_default());
        let credentials = match (method(&s, record.client_id.as_deref()), record.client_id.clone()) {
            ("oauth-jwt", Some(client_id)) => Credentials::JwtBearer {
                username: record.username.clone(),
                client_id,
                private_key_pem: secret(&s.jwt_private_key),
            },
            ("oauth-refresh-token", Some(client_id)) => Credentials::OAuthRefresh {
                refresh_token: secret(&s.refresh_token),
                client_id,
                client_secret: secret(&s.client_secret),
            },
            ("oauth-password", Some(client_id)) => Credentials::OAuthPassword {
                username: record.username.clone(),
                password: secret(&s.password),
                security_token: secret(&s.security_token),
                client_id,
                client_secret: secret(&s.client_secret),
            },
            _ => Credentials::Soap {
                username: record.username.clone(),
                password: secret(&s.password),
                security_token: secret(&s.security_token),
            },
        };
        let pair = credentials.pair(&record.login_url);
        let webhook_key = s
            .webhook_secret
            .as_deref()
            .and_then(latchkey_core::webhooks::secret_key)
            .map(Zeroizing::new);
        Ok(Opened {
            credentials,
            fingerprint,
            webhook_key,
            pair,
        })
    }

    /// The keyed fingerprint, under vault key `key_id`, of what the opened record sends
    /// the CRM: its login URL, username, client id and login secrets. `None` when the
    /// vault lacks that key.
    pub(crate) fn pair_fingerprint(&self, opened: &Opened, key_id: &str) -> Option<Vec<u8>> {
        self.vault.fingerprint(key_id, &opened.pair).ok()
    }

    /// Stores (or, with `None`, removes) the org's webhook signing secret in the
    /// workspace's record for `login_url` (the only one when `None`); returns the
    /// record's id, which names its endpoint (`/webhooks/{id}`). The login secrets, and
    /// any remembered rejection of them, stay as they are.
    pub async fn set_webhook_secret(
        &self,
        workspace: &str,
        login_url: Option<&str>,
        secret: Option<&SecretString>,
    ) -> Result<String, HubError> {
        let secret = match secret
            .map(|s| s.expose_secret().trim().to_owned())
            .filter(|s| !s.is_empty())
        {
            Some(s) if latchkey_core::webhooks::secret_key(&s).is_none() => {
                return Err(HubError::Invalid(
                    "a webhook secret is whsec_ followed by Base64 (as the org printed it)".into(),
                ))
            }
            other => other,
        };
        let ws = self.workspace(workspace).await?;
        let record = self.record(&ws, login_url).await?;
        let mut secrets = self.open(&record)?;
        secrets.webhook_secret = secret;
        let plaintext = Zeroizing::new(serde_json::to_vec(&secrets).map_err(|_| HubError::Invalid("secrets".into()))?);
        let sealed = self.vault.seal(&plaintext, &context_of(&record));
        // The login secrets did not change: a remembered rejection of them stays.
        let rejected = self.carried_rejection(&record, &secrets.login_part()?, &sealed.key_id)?;
        let mut conn = self.store.conn().await?;
        hub::reseal(
            &mut conn,
            &record.id,
            &sealed.bytes,
            &sealed.key_id,
            rejected.as_deref(),
        )
        .await?;
        tracing::info!(workspace = %ws.name, credential = %record.id, set = secrets.webhook_secret.is_some(), "webhook secret saved");
        Ok(record.id)
    }

    /// The record's remembered rejection, if it is of `login` (its current login
    /// secrets), as fingerprinted under the vault key `new_key_id`.
    fn carried_rejection(
        &self,
        record: &SealedCredential,
        login: &[u8],
        new_key_id: &str,
    ) -> Result<Option<Vec<u8>>, HubError> {
        match &record.rejected_fingerprint {
            Some(fp) if *fp == self.vault.fingerprint(&record.key_id, login)? => {
                Ok(Some(self.vault.fingerprint(new_key_id, login)?))
            }
            _ => Ok(None),
        }
    }

    /// Re-seals every record not sealed by the vault's current key, in one
    /// transaction; returns how many.
    pub async fn reseal_all(&self) -> Result<usize, HubError> {
        let mut tx = self.store.begin().await?;
        let mut n = 0;
        for record in hub::all_credentials(&mut tx).await? {
            if record.key_id == self.vault.current_id() {
                continue;
            }
            let plaintext = self.vault.open(&record.sealed, &record.key_id, &context_of(&record))?;
            let login = self.open(&record)?.login_part()?;
            let sealed = self.vault.seal(&plaintext, &context_of(&record));
            let rejected = self.carried_rejection(&record, &login, &sealed.key_id)?;
            hub::reseal(&mut tx, &record.id, &sealed.bytes, &sealed.key_id, rejected.as_deref()).await?;
            n += 1;
        }
        latchkey_store::commit(tx).await?;
        tracing::info!(records = n, key = %self.vault.current_id(), "credential records re-sealed");
        Ok(n)
    }
}

fn view(r: &SealedCredential, s: &Secrets) -> CredentialView {
    CredentialView {
        id: r.id.clone(),
        login_url: r.login_url.clone(),
        username: r.username.clone(),
        client_id: r.client_id.clone(),
        method: method(s, r.client_id.as_deref()),
        password_set: s.password.is_some(),
        security_token_set: s.security_token.is_some(),
        client_secret_set: s.client_secret.is_some(),
        refresh_token_set: s.refresh_token.is_some(),
        jwt_private_key_set: s.jwt_private_key.is_some(),
        webhook_secret_set: s.webhook_secret.is_some(),
        suspended_by: r.rejected_by.clone(),
        updated_at: r.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}

/// Whether the secrets make a login: a client secret and a refresh token come with
/// their app, a JWT key is an RSA key of an app, and something logs in.
fn check_secrets(secrets: &Secrets, client_id: Option<&str>) -> Result<(), HubError> {
    if secrets.client_secret.is_some() && client_id.is_none() {
        return Err(HubError::Invalid("a client secret needs its client id".into()));
    }
    if secrets.refresh_token.is_some() && (client_id.is_none() || secrets.client_secret.is_none()) {
        return Err(HubError::Invalid(
            "a refresh token needs the app's client id and secret".into(),
        ));
    }
    if secrets.jwt_private_key.is_some() {
        if client_id.is_none() {
            return Err(HubError::Invalid("a JWT private key needs its app's client id".into()));
        }
        if latchkey_sfclient::login::check_private_key(secrets.jwt_private_key.as_deref().unwrap_or_default()).is_err()
        {
            return Err(HubError::Invalid("the JWT private key is not an RSA key in PEM".into()));
        }
    }
    if secrets.refresh_token.is_none() && secrets.password.is_none() && secrets.jwt_private_key.is_none() {
        return Err(HubError::Invalid(
            "a password (or an OAuth refresh token, or a JWT private key) is required".into(),
        ));
    }
    Ok(())
}
