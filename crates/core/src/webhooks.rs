//! Credential-change webhooks: the events the org server announces and how a delivery
//! is signed, following the Standard Webhooks scheme (<https://www.standardwebhooks.com>)
//! so receivers can use any of its libraries.
//!
//! Each delivery is an HTTP `POST` of the event as JSON with three headers:
//!
//! * `webhook-id` — the event id (`evt_…`), the same on every retry and every endpoint:
//!   receivers drop ids they have seen (delivery is at least once);
//! * `webhook-timestamp` — when this attempt was signed, in Unix seconds;
//! * `webhook-signature` — `v1,` then Base64( HMAC-SHA256( key, id "." timestamp "." body ) ),
//!   where the key is the Base64 after `whsec_` in the endpoint's secret.
//!
//! Receivers refuse a timestamp more than [`TOLERANCE_SECS`] away from their clock
//! (so a captured delivery cannot be replayed later) and compare the signature in
//! constant time ([`verify`]).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Header carrying the event id.
pub const HEADER_ID: &str = "webhook-id";
/// Header carrying the signing time (Unix seconds).
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
/// Header carrying the signature(s).
pub const HEADER_SIGNATURE: &str = "webhook-signature";
/// How far a delivery's timestamp may be from the receiver's clock.
pub const TOLERANCE_SECS: i64 = 5 * 60;
/// Prefix of an endpoint secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// What happened to a user's credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventType {
    /// The password changed (by the user, or reset by an administrator).
    #[serde(rename = "password.changed")]
    PasswordChanged,
    /// The security token was reset (also on every password change).
    #[serde(rename = "security_token.reset")]
    SecurityTokenReset,
    /// Too many failed logins locked the user out.
    #[serde(rename = "user.locked")]
    UserLocked,
    /// An administrator lifted a lock.
    #[serde(rename = "user.unlocked")]
    UserUnlocked,
    /// An administrator froze the user: no login works.
    #[serde(rename = "user.frozen")]
    UserFrozen,
    /// An administrator unfroze the user.
    #[serde(rename = "user.unfrozen")]
    UserUnfrozen,
}

impl EventType {
    /// Every event type.
    pub const ALL: [Self; 6] = [
        Self::PasswordChanged,
        Self::SecurityTokenReset,
        Self::UserLocked,
        Self::UserUnlocked,
        Self::UserFrozen,
        Self::UserUnfrozen,
    ];

    /// The wire name (`password.changed`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PasswordChanged => "password.changed",
            Self::SecurityTokenReset => "security_token.reset",
            Self::UserLocked => "user.locked",
            Self::UserUnlocked => "user.unlocked",
            Self::UserFrozen => "user.frozen",
            Self::UserUnfrozen => "user.unfrozen",
        }
    }

    /// Whether secrets held for this user stop working (until the user acts or an
    /// administrator lifts the lock or freeze).
    pub fn ends_logins(self) -> bool {
        matches!(
            self,
            Self::PasswordChanged | Self::SecurityTokenReset | Self::UserLocked | Self::UserFrozen
        )
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EventType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|t| t.as_str() == s.trim()).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|t| t.as_str()).collect();
            format!("unknown event type {s:?} (known: {})", names.join(", "))
        })
    }
}

/// The body of a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Event id (`evt_…`), stable across retries.
    pub id: String,
    /// What happened.
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// When it happened (RFC 3339, UTC, milliseconds).
    pub occurred_at: String,
    /// The org.
    pub org_id: String,
    /// The user whose credentials changed.
    pub user: EventUser,
}

/// Who an event is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventUser {
    /// User id.
    pub id: String,
    /// Login name.
    pub username: String,
}

/// Why a delivery was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// A header is missing or not text.
    #[error("missing or unreadable header {0}")]
    Header(&'static str),
    /// The timestamp is not a number.
    #[error("webhook-timestamp is not a Unix time")]
    Timestamp,
    /// The timestamp is outside the tolerance (a replay, or a wrong clock).
    #[error("webhook-timestamp is more than {TOLERANCE_SECS} s away from now")]
    Stale,
    /// No `v1` signature matches.
    #[error("no signature matches")]
    Mismatch,
}

/// The key bytes of a `whsec_…` secret, or `None` when it is not one.
pub fn secret_key(secret: &str) -> Option<Vec<u8>> {
    let key = STANDARD.decode(secret.trim().strip_prefix(SECRET_PREFIX)?).ok()?;
    (key.len() >= 16).then_some(key)
}

/// A `whsec_…` secret holding `key`.
pub fn secret_of(key: &[u8]) -> String {
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

fn mac(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `webhook-signature` value for a delivery.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    format!(
        "v1,{}",
        STANDARD.encode(mac(key, id, timestamp, body).finalize().into_bytes())
    )
}

/// Checks a delivery's headers against `key` at `now` (Unix seconds). Any one of
/// several space-separated `v1` signatures may match (senders list two while they
/// rotate secrets); the comparison is constant-time and checks the length.
pub fn verify(
    key: &[u8],
    id: Option<&str>,
    timestamp: Option<&str>,
    signatures: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    let id = id.ok_or(SignatureError::Header(HEADER_ID))?;
    let timestamp = timestamp.ok_or(SignatureError::Header(HEADER_TIMESTAMP))?;
    let signatures = signatures.ok_or(SignatureError::Header(HEADER_SIGNATURE))?;
    let timestamp: i64 = timestamp.trim().parse().map_err(|_| SignatureError::Timestamp)?;
    if (now - timestamp).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    let expected = mac(key, id, timestamp, body);
    let matches = signatures
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|s| STANDARD.decode(s).ok())
        .any(|given| expected.clone().verify_slice(&given).is_ok());
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks reference libraries.
    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const TS: i64 = 1_649_367_553;
    const BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;

    fn key() -> Vec<u8> {
        secret_key(SECRET).unwrap_or_default()
    }

    #[test]
    fn signs_as_the_standard_webhooks_libraries_do() {
        assert_eq!(
            sign(&key(), ID, TS, BODY),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
        assert_eq!(secret_of(&key()), SECRET);
    }

    #[test]
    fn verifies_a_signature_among_several_and_refuses_everything_else() {
        let good = sign(&key(), ID, TS, BODY);
        let check =
            |sig: &str, ts: &str, body: &[u8], now: i64| verify(&key(), Some(ID), Some(ts), Some(sig), body, now);
        let ts = TS.to_string();
        assert_eq!(check(&good, &ts, BODY, TS + 10), Ok(()));
        let several = format!("v1,tFtCZ5RDCPxzWQRWXWPgrCgE2frDBe9gjpbWQxnVfsQ= {good}");
        assert_eq!(check(&several, &ts, BODY, TS), Ok(()));
        // A prefix of the signature, or none at all, is not a signature.
        assert_eq!(check("v1,", &ts, BODY, TS), Err(SignatureError::Mismatch));
        assert_eq!(check(&good[..20], &ts, BODY, TS), Err(SignatureError::Mismatch));
        assert_eq!(
            check(&good.replace("v1,", "v2,"), &ts, BODY, TS),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(check(&good, &ts, b"{}", TS), Err(SignatureError::Mismatch));
        assert_eq!(
            check(&good, &(TS + 1).to_string(), BODY, TS),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check(&good, &ts, BODY, TS + TOLERANCE_SECS + 1),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            check(&good, &ts, BODY, TS - TOLERANCE_SECS - 1),
            Err(SignatureError::Stale)
        );
        assert_eq!(check(&good, "yesterday", BODY, TS), Err(SignatureError::Timestamp));
        assert_eq!(
            verify(&key(), None, Some(&ts), Some(&good), BODY, TS),
            Err(SignatureError::Header(HEADER_ID))
        );
        assert_eq!(
            verify(&[1; 24], Some(ID), Some(&ts), Some(&good), BODY, TS),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn event_types_round_trip_by_their_wire_names() {
        for t in EventType::ALL {
            assert_eq!(t.as_str().parse::<EventType>(), Ok(t));
            assert_eq!(serde_json::to_string(&t).unwrap_or_default(), format!("\"{t}\""));
        }
        assert!("password.reset".parse::<EventType>().is_err());
        assert!(secret_key("whsec_short").is_none());
        assert!(secret_key("C2FVsBQIhrscChlQIMV+b5sSYspob7oD").is_none());
    }
}
