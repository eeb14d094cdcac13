//! The client's directory: `settings.toml` (login URL, username, where the secrets
//! are — never the secrets), `client.key` (the key that seals the secrets file and
//! keys fingerprints) and `rejected.json` (fingerprints of secrets the org refused).
//! Every file is readable only by its owner.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use latchkey_core::clock::{Clock, SystemClock};
use latchkey_core::vault::Vault;
use serde::{Deserialize, Serialize};

use crate::files::{private_dir, write_private};
use latchkey_sfclient::Credentials;

use crate::DesktopError;

/// How many refused fingerprints are remembered.
const REMEMBERED_REJECTIONS: usize = 8;

/// What the client logs in with, but for the secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// The org's login URL (`https://host[:port]`).
    pub login_url: String,
    /// The username.
    pub username: String,
    /// A CA certificate to trust for the login URL (for example the demo CA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// The connected app's client id, when the client connects by OAuth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Where the password and security token are.
    pub storage: Storage,
    /// When these settings (and so the security token) were saved.
    pub saved_at: DateTime<Utc>,
}

/// Where the secrets are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Storage {
    /// The operating system's keyring.
    Keyring,
    /// `secrets.sealed` beside `client.key`.
    File,
}

/// Secrets the org refused: their keyed fingerprint, never the secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// HMAC-SHA256 (hex) of login URL, username, password and token under the local key.
    pub fingerprint: String,
    /// The org's code (`INVALID_LOGIN`, `LOGIN_MUST_USE_SECURITY_TOKEN` …).
    pub code: String,
    /// The org's message.
    pub message: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// The client's directory, and the clock it stamps its files with.
#[derive(Clone)]
pub struct Profile {
    dir: PathBuf,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile").field("dir", &self.dir).finish()
    }
}

fn local(what: &str, path: &Path, e: impl std::fmt::Display) -> DesktopError {
    DesktopError::Local(format!("{what} {}: {e}", path.display()))
}

impl Profile {
    /// The profile in `dir`, on the system clock.
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Self::with_clock(dir, Arc::new(SystemClock))
    }

    /// The profile in `dir` on `clock`.
    pub fn with_clock(dir: impl Into<PathBuf>, clock: Arc<dyn Clock>) -> Self {
        Self { dir: dir.into(), clock }
    }

    /// The time now.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The profile in the user's configuration directory (`~/.config/latchkey/client`
    /// on Linux).
    pub fn default_dir() -> Option<PathBuf> {
        dirs::config_dir().map(|d| d.join("latchkey").join("client"))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The sealed secrets file (when the secrets are not in a keyring).
    pub fn secrets_path(&self) -> PathBuf {
        self.dir.join("secrets.sealed")
    }

    /// The key file beside it.
    pub fn key_path(&self) -> PathBuf {
        self.dir.join("client.key")
    }

    fn settings_path(&self) -> PathBuf {
        self.dir.join("settings.toml")
    }

    fn rejections_path(&self) -> PathBuf {
        self.dir.join("rejected.json")
    }

    /// The saved settings, if any.
    pub fn settings(&self) -> Result<Option<Settings>, DesktopError> {
        let path = self.settings_path();
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text)
                .map(Some)
                .map_err(|e| local("cannot read", &path, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(local("cannot read", &path, e)),
        }
    }

    /// Saves the settings (mode 0600).
    pub fn save_settings(&self, settings: &Settings) -> Result<(), DesktopError> {
        let path = self.settings_path();
        private_dir(&self.dir).map_err(|e| local("cannot create", &self.dir, e))?;
        let text = toml::to_string(settings).map_err(|e| local("cannot write", &path, e))?;
        write_private(&path, text.as_bytes()).map_err(|e| local("cannot write", &path, e))
    }

    /// The local key (created, mode 0600, on first use).
    pub fn vault(&self) -> Result<Vault, DesktopError> {
        let path = self.key_path();
        let encoded = match std::fs::read_to_string(&path) {
            Ok(text) => zeroize::Zeroizing::new(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                private_dir(&self.dir).map_err(|e| local("cannot create", &self.dir, e))?;
                let key = Vault::generate_key();
                write_private(&path, key.as_bytes()).map_err(|e| local("cannot write", &path, e))?;
                key
            }
            Err(e) => return Err(local("cannot read", &path, e)),
        };
        Vault::from_encoded(&encoded).map_err(|e| local("bad key in", &path, e))
    }

    /// The keyed fingerprint of a login: equal logins, equal fingerprints; without the
    /// local key nobody can test a guess against it.
    pub fn fingerprint(&self, login_url: &str, credentials: &Credentials) -> Result<String, DesktopError> {
        let vault = self.vault()?;
        let digest = vault
            .fingerprint(vault.current_id(), &credentials.pair(login_url))
            .map_err(|e| DesktopError::Local(e.to_string()))?;
        Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
    }

    fn rejections(&self) -> Result<Vec<Rejection>, DesktopError> {
        let path = self.rejections_path();
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| local("cannot read", &path, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(local("cannot read", &path, e)),
        }
    }

    fn save_rejections(&self, list: &[Rejection]) -> Result<(), DesktopError> {
        let path = self.rejections_path();
        private_dir(&self.dir).map_err(|e| local("cannot create", &self.dir, e))?;
        let bytes = serde_json::to_vec_pretty(list).map_err(|e| local("cannot write", &path, e))?;
        write_private(&path, &bytes).map_err(|e| local("cannot write", &path, e))
    }

    /// The org's refusal of the login with this fingerprint, if it refused it.
    pub fn rejection(&self, fingerprint: &str) -> Result<Option<Rejection>, DesktopError> {
        Ok(self.rejections()?.into_iter().find(|r| r.fingerprint == fingerprint))
    }

    /// Remembers that the org refused this login: it is never sent again.
    pub fn remember_rejection(&self, rejection: Rejection) -> Result<(), DesktopError> {
        let mut list = self.rejections()?;
        list.retain(|r| r.fingerprint != rejection.fingerprint);
        list.push(rejection);
        let excess = list.len().saturating_sub(REMEMBERED_REJECTIONS);
        list.drain(..excess);
        self.save_rejections(&list)
    }

    /// Forgets a refusal (the org accepted this login after all, for example after an
    /// admin unlocked the user and the person asked to try again).
    pub fn forget_rejection(&self, fingerprint: &str) -> Result<(), DesktopError> {
        let mut list = self.rejections()?;
        let before = list.len();
        list.retain(|r| r.fingerprint != fingerprint);
        if list.len() == before {
            return Ok(());
        }
        self.save_rejections(&list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn secrets(password: &str, token: &str) -> Credentials {
        Credentials::Soap {
            username: "u@x".into(),
            password: SecretString::from(password.to_owned()),
            security_token: SecretString::from(token.to_owned()),
        }
    }

    #[test]
    fn fingerprints_are_keyed_and_remembered() {
        let dir = tempfile::tempdir().expect("tempdir");
        let profile = Profile::at(dir.path().join("client"));
        let a = profile.fingerprint("https://x", &secrets("pw", "tok")).expect("fp");
        assert_eq!(a, profile.fingerprint("https://x", &secrets("pw", "tok")).expect("fp"));
        assert_ne!(a, profile.fingerprint("https://x", &secrets("pw", "tok2")).expect("fp"));
        assert_ne!(a, profile.fingerprint("https://x", &secrets("pwt", "ok")).expect("fp"));
        let other = Profile::at(dir.path().join("other"));
        assert_ne!(a, other.fingerprint("https://x", &secrets("pw", "tok")).expect("fp"));

        assert_eq!(profile.rejection(&a).expect("read"), None);
        let rejection = Rejection {
            fingerprint: a.clone(),
            code: "INVALID_LOGIN".into(),
            message: "no".into(),
            at: profile.now(),
        };
        profile.remember_rejection(rejection.clone()).expect("remember");
        assert_eq!(profile.rejection(&a).expect("read"), Some(rejection));
        profile.forget_rejection(&a).expect("forget");
        assert_eq!(profile.rejection(&a).expect("read"), None);
    }
}
