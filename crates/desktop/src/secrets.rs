//! The password and the security token. They go to the operating system's keyring
//! (Secret Service on Linux, Keychain on macOS, Credential Manager on Windows, through
//! the `keyring` crate) where one answers; else to `secrets.sealed`, sealed with
//! XChaCha20-Poly1305 under the key in `client.key` beside it — both readable only by
//! the user. That file protects against a stray copy of one file, not against someone
//! who can read the user's whole directory; the keyring is better, and the client says
//! plainly which one it used.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::files::write_private;
use crate::profile::{Profile, Storage};
use crate::DesktopError;

/// The keyring service name of the client's entries.
const KEYRING_SERVICE: &str = "latchkey-client";

/// How long a keyring may take to answer before the client uses the file instead (a
/// Secret Service that waits for a person to unlock it, say).
const KEYRING_PATIENCE: Duration = Duration::from_secs(10);

/// A user's secrets: password and security token, or an OAuth refresh token (then
/// the client never holds the password). Redacted in `Debug`.
#[derive(Debug, Clone)]
pub struct Secrets {
    /// The password (empty with OAuth).
    pub password: SecretString,
    /// The security token (empty from a trusted network, and with OAuth).
    pub security_token: SecretString,
    /// The OAuth refresh token, when the settings were made with `--oauth`.
    pub refresh_token: Option<SecretString>,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    password: String,
    security_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
}

impl Secrets {
    /// Password and token.
    pub fn password(password: SecretString, security_token: SecretString) -> Self {
        Self {
            password,
            security_token,
            refresh_token: None,
        }
    }

    /// An OAuth refresh token.
    pub fn oauth(refresh_token: SecretString) -> Self {
        Self {
            password: SecretString::from(String::new()),
            security_token: SecretString::from(String::new()),
            refresh_token: Some(refresh_token),
        }
    }

    fn to_json(&self) -> zeroize::Zeroizing<String> {
        let stored = Stored {
            password: self.password.expose_secret().to_owned(),
            security_token: self.security_token.expose_secret().to_owned(),
            refresh_token: self.refresh_token.as_ref().map(|t| t.expose_secret().to_owned()),
        };
        zeroize::Zeroizing::new(serde_json::to_string(&stored).unwrap_or_default())
    }

    fn from_json(text: &str) -> Option<Self> {
        let stored: Stored = serde_json::from_str(text).ok()?;
        Some(Self {
            password: SecretString::from(stored.password),
            security_token: SecretString::from(stored.security_token),
            refresh_token: stored.refresh_token.map(SecretString::from),
        })
    }
}

/// Where the user wants the secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Preference {
    /// The keyring when one answers, else the file.
    #[default]
    Auto,
    /// The keyring, or fail.
    Keyring,
    /// The file.
    File,
}

/// The keyring entry's account name for a login.
fn account(login_url: &str, username: &str) -> String {
    format!("{username} at {login_url}")
}

/// Runs a keyring operation on its own thread, giving up after [`KEYRING_PATIENCE`].
fn with_keyring<T: Send + 'static>(
    op: impl FnOnce(&keyring::Entry) -> keyring::Result<T> + Send + 'static,
    login_url: &str,
    username: &str,
) -> Result<T, String> {
    let name = account(login_url, username);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let result = keyring::Entry::new(KEYRING_SERVICE, &name).and_then(|entry| op(&entry));
        let _ = tx.send(result);
    });
    match rx.recv_timeout(KEYRING_PATIENCE) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {} s", KEYRING_PATIENCE.as_secs())),
    }
}

/// Where the secrets went, in words for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// Which store.
    pub storage: Storage,
    /// One sentence saying where, and why there.
    pub description: String,
}

fn sealing_context(login_url: &str, username: &str) -> Vec<u8> {
    format!("latchkey client secrets\0{login_url}\0{username}").into_bytes()
}

fn write_file(profile: &Profile, login_url: &str, username: &str, secrets: &Secrets) -> Result<(), DesktopError> {
    let vault = profile.vault()?;
    let sealed = vault.seal(secrets.to_json().as_bytes(), &sealing_context(login_url, username));
    let text = format!("{}:{}", sealed.key_id, STANDARD.encode(&sealed.bytes));
    let path = profile.secrets_path();
    write_private(&path, text.as_bytes())
        .map_err(|e| DesktopError::Local(format!("cannot write {}: {e}", path.display())))
}

fn read_file(profile: &Profile, login_url: &str, username: &str) -> Result<Secrets, DesktopError> {
    let path = profile.secrets_path();
    let unreadable = |why: &str| {
        DesktopError::Local(format!(
            "cannot read the secrets in {}: {why}; run `latchkey client settings` again",
            path.display()
        ))
    };
    let text = std::fs::read_to_string(&path).map_err(|e| unreadable(&e.to_string()))?;
    let (key_id, encoded) = text
        .trim()
        .split_once(':')
        .ok_or_else(|| unreadable("not a sealed file"))?;
    let bytes = STANDARD.decode(encoded).map_err(|_| unreadable("not a sealed file"))?;
    let plain = profile
        .vault()?
        .open(&bytes, key_id, &sealing_context(login_url, username))
        .map_err(|e| unreadable(&e.to_string()))?;
    let text = std::str::from_utf8(&plain).map_err(|_| unreadable("not a sealed file"))?;
    Secrets::from_json(text).ok_or_else(|| unreadable("not a sealed file"))
}

fn remove_file(path: &Path) {
    let _ = std::fs::remove_file(path);
}

/// Stores the secrets of a login where `preference` says, and says where.
pub fn store(
    profile: &Profile,
    login_url: &str,
    username: &str,
    secrets: &Secrets,
    preference: Preference,
) -> Result<Placement, DesktopError> {
    let keyring_refusal = if preference == Preference::File {
        None
    } else {
        let json = secrets.to_json();
        let written = with_keyring(
            move |entry| {
                entry.set_password(&json)?;
                entry.get_password().map(zeroize::Zeroizing::new)
            },
            login_url,
            username,
        );
        match written {
            Ok(read_back) if Secrets::from_json(&read_back).is_some() => {
                remove_file(&profile.secrets_path());
                return Ok(Placement {
                    storage: Storage::Keyring,
                    description: format!(
                        "The password and security token are in the system keyring \
                         (service \"{KEYRING_SERVICE}\", account \"{}\").",
                        account(login_url, username)
                    ),
                });
            }
            Ok(_) => Some("the keyring gave back something else".to_owned()),
            Err(why) => Some(why),
        }
    };
    if let (Preference::Keyring, Some(why)) = (preference, &keyring_refusal) {
        return Err(DesktopError::Local(format!("no system keyring answered: {why}")));
    }
    write_file(profile, login_url, username, secrets)?;
    let reason = match keyring_refusal {
        Some(why) => format!(" No system keyring answered ({why}), so"),
        None => " As asked,".to_owned(),
    };
    Ok(Placement {
        storage: Storage::File,
        description: format!(
            "The password and security token are in {}, encrypted with the key in {} \
             (both readable only by you).{reason} they are not in a system keyring: anyone who \
             can read both files can read them.",
            profile.secrets_path().display(),
            profile.key_path().display()
        ),
    })
}

/// Reads the secrets of the saved login.
pub fn load(profile: &Profile, storage: Storage, login_url: &str, username: &str) -> Result<Secrets, DesktopError> {
    match storage {
        Storage::File => read_file(profile, login_url, username),
        Storage::Keyring => {
            let text = with_keyring(
                |entry| entry.get_password().map(zeroize::Zeroizing::new),
                login_url,
                username,
            )
            .map_err(|why| {
                DesktopError::Local(format!(
                    "cannot read the secrets from the system keyring ({why}); unlock it, or run \
                     `latchkey client settings` again"
                ))
            })?;
            Secrets::from_json(&text).ok_or_else(|| {
                DesktopError::Local(
                    "the keyring entry is not the client's; run `latchkey client settings` again".into(),
                )
            })
        }
    }
}

/// Removes the secrets of an old login (after new settings replaced it).
pub fn forget(profile: &Profile, storage: Storage, login_url: &str, username: &str) {
    match storage {
        Storage::File => remove_file(&profile.secrets_path()),
        Storage::Keyring => {
            let _ = with_keyring(|entry| entry.delete_credential(), login_url, username);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sealed_file_round_trips_and_holds_no_plain_secret() {
        let dir = tempfile::tempdir().expect("tempdir");
        let profile = Profile::at(dir.path());
        let secrets = Secrets::password(
            SecretString::from("Pa55word-vivid".to_owned()),
            SecretString::from("TOKENabcdefghij".to_owned()),
        );
        let stored = store(&profile, "https://org", "u@x", &secrets, Preference::File).expect("store");
        assert_eq!(stored.storage, Storage::File);
        assert!(stored.description.contains("secrets.sealed"));
        let raw = std::fs::read_to_string(profile.secrets_path()).expect("read");
        assert!(!raw.contains("Pa55word") && !raw.contains("TOKENabc"));
        let back = load(&profile, Storage::File, "https://org", "u@x").expect("load");
        assert_eq!(back.password.expose_secret(), "Pa55word-vivid");
        assert_eq!(back.security_token.expose_secret(), "TOKENabcdefghij");
        // Sealed for this login: the same file does not open for another username.
        assert!(load(&profile, Storage::File, "https://org", "v@x").is_err());
    }
}
