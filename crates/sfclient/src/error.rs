//! What can go wrong talking to an org, sorted by what the caller must do about it.

/// A failed call. The variants say what to do next; no variant ever holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The org refused the credentials (wrong password or token, locked, frozen,
    /// expired password, API disabled). Retrying with the same secret can only burn
    /// the lockout counter: hand this to the guard and stop.
    #[error("credentials rejected: {code}: {message}")]
    CredentialsRejected {
        /// `INVALID_LOGIN`, `invalid_grant`, `LOGIN_MUST_USE_SECURITY_TOKEN`, `PASSWORD_EXPIRED` …
        code: String,
        /// The org's message.
        message: String,
    },
    /// The org does not take this way of logging in — SOAP `login()` switched off in
    /// the org, or absent from the API version — so the org checks no password and
    /// nothing counts towards a lock. The same secret works by another way (OAuth);
    /// a person must choose it, or switch the way on at the org.
    #[error("login unavailable: {code}: {message}")]
    LoginUnavailable {
        /// `INVALID_OPERATION`.
        code: String,
        /// The org's message.
        message: String,
    },
    /// The network, a timeout, 5xx, 429 or the daily API limit: try again later.
    #[error("temporary failure: {0}")]
    Transient(String),
    /// The request itself was refused (bad field, malformed query, not found …).
    #[error("request refused ({status}): {code}: {message}")]
    Request {
        /// HTTP status.
        status: u16,
        /// `errorCode`.
        code: String,
        /// The org's message.
        message: String,
    },
    /// The org answered something this client cannot read.
    #[error("unexpected response: {0}")]
    Protocol(String),
    /// The org ended the session and this client was built not to log in again by
    /// itself ([`crate::Client::without_relogin`]).
    #[error("the org ended the session")]
    SessionEnded,
}

impl Error {
    /// Whether the credentials were refused.
    pub fn is_rejection(&self) -> bool {
        matches!(self, Self::CredentialsRejected { .. })
    }

    pub(crate) fn rejected(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::CredentialsRejected {
            code: code.into(),
            message: message.into(),
        }
    }

    /// A reqwest failure: always transient (connect, timeout, body), never with the URL's
    /// query string (it could carry a token).
    pub(crate) fn network(e: &reqwest::Error) -> Self {
        let what = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "could not connect"
        } else {
            "connection failed"
        };
        Self::Transient(what.to_owned())
    }
}

/// REST error codes that mean the credentials or the user cannot work until a person acts.
const REJECTING_CODES: [&str; 3] = [
    "INVALID_OPERATION_WITH_EXPIRED_PASSWORD",
    "API_DISABLED_FOR_ORG",
    "API_CURRENTLY_DISABLED",
];

/// Sorts a REST error response.
pub(crate) fn classify_rest(status: u16, code: &str, message: &str) -> Error {
    if status == 429 || status >= 500 || code == "REQUEST_LIMIT_EXCEEDED" || code == "SERVER_UNAVAILABLE" {
        return Error::Transient(format!("{status} {code}"));
    }
    if REJECTING_CODES.contains(&code) {
        return Error::rejected(code, message);
    }
    Error::Request {
        status,
        code: code.to_owned(),
        message: message.to_owned(),
    }
}
