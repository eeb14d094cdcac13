//! The only way the client logs in. Every command makes at most one login attempt;
//! secrets the org refused are remembered by fingerprint and never sent again, so the
//! client can never lock its user out — the next command refuses, explaining, until
//! the settings change (the hub's guard rule, for one person).

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use latchkey_sfclient::{Client, Credentials, UserInfo};

use crate::explain::{self, Context};
use crate::profile::{Profile, Rejection, Settings};
use crate::secrets::{self, Placement, Preference, Secrets};
use crate::DesktopError;

/// A logged-in client.
#[derive(Debug)]
pub struct Connection {
    /// The API client (its session is live).
    pub client: Client,
    /// Who is logged in.
    pub me: UserInfo,
    /// The settings it logged in with.
    pub settings: Settings,
}

/// Settings a person entered.
#[derive(Debug, Clone)]
pub struct NewSettings {
    /// The org's login URL.
    pub login_url: String,
    /// The username.
    pub username: String,
    /// A CA certificate to trust.
    pub ca_file: Option<PathBuf>,
    /// The connected app's client id (with an OAuth refresh token in `secrets`).
    pub client_id: Option<String>,
    /// Password and security token, or the refresh token.
    pub secrets: Secrets,
    /// Where to keep the secrets.
    pub preference: Preference,
}

/// What saving settings did.
#[derive(Debug)]
pub struct Saved {
    /// Who logged in to verify them.
    pub me: UserInfo,
    /// Where the secrets went.
    pub placement: Placement,
}

/// The login to attempt and what the client knows about it.
struct Attempt<'a> {
    login_url: &'a str,
    username: &'a str,
    ca_file: Option<&'a PathBuf>,
    client_id: Option<&'a str>,
    secrets: &'a Secrets,
    worked_at: Option<DateTime<Utc>>,
}

impl Attempt<'_> {
    fn context(&self) -> Context<'_> {
        Context {
            login_url: self.login_url,
            worked_at: self.worked_at,
            had_token: !secrecy::ExposeSecret::expose_secret(&self.secrets.security_token).is_empty(),
            oauth: self.secrets.refresh_token.is_some(),
        }
    }

    fn client(&self) -> Result<Client, DesktopError> {
        let ca = match self.ca_file {
            Some(path) => Some(
                std::fs::read(path)
                    .map_err(|e| DesktopError::Local(format!("cannot read the CA file {}: {e}", path.display())))?,
            ),
            None => None,
        };
        Client::new(self.login_url, self.credentials(), ca.as_deref()).map_err(DesktopError::from)
    }

    /// What this attempt sends the org.
    fn credentials(&self) -> Credentials {
        match (&self.secrets.refresh_token, self.client_id) {
            // A public client: no secret (the org's app is marked public).
            (Some(refresh_token), Some(client_id)) => Credentials::OAuthRefresh {
                refresh_token: refresh_token.clone(),
                client_id: client_id.to_owned(),
                client_secret: secrecy::SecretString::from(String::new()),
            },
            _ => Credentials::Soap {
                username: self.username.to_owned(),
                password: self.secrets.password.clone(),
                security_token: self.secrets.security_token.clone(),
            },
        }
    }

    /// One login (and a `userinfo` call), unless the org refused these secrets before.
    async fn run(&self, profile: &Profile) -> Result<(Client, UserInfo), DesktopError> {
        let fingerprint = profile.fingerprint(self.login_url, &self.credentials())?;
        if let Some(before) = profile.rejection(&fingerprint)? {
            return Err(DesktopError::Refused(explain::refused(
                &before.code,
                before.at,
                &self.context(),
            )));
        }
        let client = self.client()?;
        match client.userinfo().await {
            Ok(me) => Ok((client, me)),
            Err(latchkey_sfclient::Error::CredentialsRejected { code, message }) => {
                profile.remember_rejection(Rejection {
                    fingerprint,
                    code: code.clone(),
                    message: message.clone(),
                    at: profile.now(),
                })?;
                Err(DesktopError::Rejected(explain::rejected(
                    &code,
                    &message,
                    &self.context(),
                )))
            }
            Err(latchkey_sfclient::Error::LoginUnavailable { code, message }) => {
                Err(DesktopError::Crm(explain::unavailable(&code, &message)))
            }
            Err(other) => Err(other.into()),
        }
    }
}

fn check_url(login_url: &str) -> Result<String, DesktopError> {
    let trimmed = login_url.trim().trim_end_matches('/');
    let (scheme, rest) = trimmed.split_once("://").unwrap_or_default();
    if !matches!(scheme, "http" | "https") || rest.is_empty() || rest.contains(char::is_whitespace) {
        return Err(DesktopError::Invalid(format!(
            "{login_url:?} is not a login URL: give https://host[:port]"
        )));
    }
    Ok(trimmed.to_owned())
}

/// Logs in with the saved settings.
pub async fn connect(profile: &Profile) -> Result<Connection, DesktopError> {
    let settings = profile.settings()?.ok_or(DesktopError::NoSettings)?;
    let secrets = secrets::load(profile, settings.storage, &settings.login_url, &settings.username)?;
    let (client, me) = Attempt {
        login_url: &settings.login_url,
        username: &settings.username,
        ca_file: settings.ca_file.as_ref(),
        client_id: settings.client_id.as_deref(),
        secrets: &secrets,
        worked_at: Some(settings.saved_at),
    }
    .run(profile)
    .await?;
    Ok(Connection { client, me, settings })
}

/// Verifies new settings with one login and saves them; the old secrets are removed.
/// Refused settings are not saved (and not sent again if entered again).
pub async fn save_settings(profile: &Profile, new: NewSettings) -> Result<Saved, DesktopError> {
    let login_url = check_url(&new.login_url)?;
    let oauth = new.secrets.refresh_token.is_some();
    if oauth && new.client_id.is_none() {
        return Err(DesktopError::Invalid(
            "an OAuth refresh token needs its app's client id".into(),
        ));
    }
    if !oauth && new.username.trim().is_empty() {
        return Err(DesktopError::Invalid("the username is empty".into()));
    }
    if !oauth && secrecy::ExposeSecret::expose_secret(&new.secrets.password).is_empty() {
        return Err(DesktopError::Invalid("the password is empty".into()));
    }
    let (_, me) = Attempt {
        login_url: &login_url,
        username: new.username.trim(),
        ca_file: new.ca_file.as_ref(),
        client_id: new.client_id.as_deref(),
        secrets: &new.secrets,
        worked_at: None,
    }
    .run(profile)
    .await?;
    // With OAuth the org says who the user is.
    let username = if oauth {
        me.username.as_str()
    } else {
        new.username.trim()
    };
    let old = profile.settings()?;
    let placement = secrets::store(profile, &login_url, username, &new.secrets, new.preference)?;
    if let Some(old) = old {
        let same_place = old.storage == placement.storage
            && (old.storage == crate::profile::Storage::File
                || (old.login_url == login_url && old.username == username));
        if !same_place {
            secrets::forget(profile, old.storage, &old.login_url, &old.username);
        }
    }
    profile.save_settings(&Settings {
        login_url,
        username: username.to_owned(),
        ca_file: new.ca_file,
        client_id: new.client_id,
        storage: placement.storage,
        saved_at: profile.now(),
    })?;
    Ok(Saved { me, placement })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_urls_are_checked() {
        assert_eq!(check_url(" https://org:8443/ ").expect("ok"), "https://org:8443");
        assert!(check_url("org.example").is_err());
        assert!(check_url("ftp://org").is_err());
        assert!(check_url("https://").is_err());
    }
}
