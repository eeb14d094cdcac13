//! The desktop client — the "add-in" of the second seed, for a person at a terminal:
//! one user's CRM login kept in the system keyring (or a sealed file when there is
//! none), a guard that never sends secrets the org rejected a second time, and saving
//! and syncing contacts from vCards. It must never send secrets the org rejected
//! before: every login goes through [`connect`].
//!
//! * [`profile`]: where the client keeps its settings, and the key beside them;
//! * [`secrets`]: the password and security token — system keyring or sealed file;
//! * [`connect`]: the only way the client logs in (at most one attempt per command,
//!   none with secrets the org rejected before), and the settings check;
//! * [`explain`]: what a refused login most likely means, in the seed's words;
//! * [`vcard`]: vCard 3.0/4.0 files ⇄ Contact fields, with line-numbered errors;
//! * [`save`] and [`sync`]: "Save & Sync an Individual Contact", and a folder sync.

pub mod connect;
pub mod explain;
pub mod files;
pub mod profile;
pub mod save;
pub mod secrets;
pub mod sync;
pub mod vcard;

/// What went wrong. No variant ever holds a secret.
#[derive(Debug, thiserror::Error)]
pub enum DesktopError {
    /// No settings yet.
    #[error("no settings yet: run `latchkey client settings` first")]
    NoSettings,
    /// The org rejected the credentials just now (one attempt); the text explains.
    #[error("{0}")]
    Rejected(String),
    /// The org rejected these very secrets before: nothing was sent; the text explains.
    #[error("{0}")]
    Refused(String),
    /// The org could not be reached or is busy.
    #[error("the org could not be reached ({0}); nothing was changed — try again later")]
    Transient(String),
    /// The org refused a request (not the login).
    #[error("the org refused the request: {0}")]
    Crm(String),
    /// Bad input, saying what to fix.
    #[error("{0}")]
    Invalid(String),
    /// A local file or the keyring failed.
    #[error("{0}")]
    Local(String),
}

impl DesktopError {
    /// Whether the org refused the credentials (now or before).
    pub fn is_rejection(&self) -> bool {
        matches!(self, Self::Rejected(_) | Self::Refused(_))
    }
}

impl From<latchkey_sfclient::Error> for DesktopError {
    /// A failure after the login: rejections here (an expired password found by a
    /// later call) are still rejections, but carry the org's words only.
    fn from(e: latchkey_sfclient::Error) -> Self {
        use latchkey_sfclient::Error as E;
        match e {
            E::Transient(what) => Self::Transient(what),
            E::CredentialsRejected { code, message } => Self::Rejected(format!("{code}: {message}")),
            other => Self::Crm(other.to_string()),
        }
    }
}
