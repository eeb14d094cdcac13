//! Generated secrets (security tokens, session ids, verification links) and how they
//! are kept: SHA-256 digests compared in constant time. A generated secret has 128 bits
//! or more of entropy, so a slow hash would only burn CPU (see `DESIGN.md`).
//!
//! Secret values travel as [`SecretString`], whose `Debug` never shows the value.

use hmac::{Hmac, Mac};
use rand::distributions::{Alphanumeric, DistString};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Length of a security token: 24 alphanumerics (about 143 bits).
pub const SECURITY_TOKEN_LEN: usize = 24;

/// A SHA-256 digest of a generated secret; what the store keeps instead of the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretDigest([u8; 32]);

impl SecretDigest {
    /// Digests `secret`.
    pub fn of(secret: &str) -> Self {
        Self(Sha256::digest(secret.as_bytes()).into())
    }

    /// A digest that sorts by `order`: its first 8 bytes are `order` (big-endian), the
    /// other 24 the start of SHA-256 of `secret` (192 bits, still far beyond guessing).
    /// Keys made from a time append to the end of their index instead of landing on a
    /// random page of it. [`Self::matches`] does not apply to it.
    pub fn ordered(order: u64, secret: &str) -> Self {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&order.to_be_bytes());
        bytes[8..].copy_from_slice(&Sha256::digest(secret.as_bytes())[..24]);
        Self(bytes)
    }

    /// Rebuilds a digest read back from storage; `None` when it has the wrong length.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    /// The raw digest, for storage.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Whether `candidate` is the secret behind this digest, in constant time.
    pub fn matches(&self, candidate: &str) -> bool {
        let other = Sha256::digest(candidate.as_bytes());
        self.0.ct_eq(other.as_slice()).into()
    }
}

impl std::fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretDigest(***)")
    }
}

/// A fresh security token: 24 random alphanumerics.
pub fn generate_security_token() -> SecretString {
    random_alphanumeric(SECURITY_TOKEN_LEN)
}

/// A fresh random alphanumeric secret of `len` characters (at least 22 for 128 bits).
pub fn random_alphanumeric(len: usize) -> SecretString {
    SecretString::from(Alphanumeric.sample_string(&mut rand::thread_rng(), len))
}

/// The PKCE S256 challenge of a verifier: `BASE64URL(SHA-256(verifier))` (RFC 7636 §4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        Sha256::digest(verifier.as_bytes()),
    )
}

/// A new PKCE verifier (64 random alphanumerics: 380 bits) and its S256 challenge.
pub fn pkce_pair() -> (SecretString, String) {
    let verifier = random_alphanumeric(64);
    let challenge = pkce_challenge(verifier.expose_secret());
    (verifier, challenge)
}

/// A secret presented at login, split into the password part and, when the last
/// [`SECURITY_TOKEN_LEN`] characters are the user's token, the token part.
#[derive(Debug)]
pub struct PresentedSecret<'a> {
    /// What must match the password hash.
    pub password: &'a str,
    /// Whether the user's current security token was appended.
    pub token_appended: bool,
}

/// Splits `presented` (`password` or `password + token`) against the user's token digest.
pub fn split_token<'a>(presented: &'a str, token: Option<&SecretDigest>) -> PresentedSecret<'a> {
    let whole = PresentedSecret {
        password: presented,
        token_appended: false,
    };
    let Some(token) = token else { return whole };
    let Some(cut) = presented.len().checked_sub(SECURITY_TOKEN_LEN) else {
        return whole;
    };
    if cut == 0 || !presented.is_char_boundary(cut) {
        return whole;
    }
    if token.matches(&presented[cut..]) {
        PresentedSecret {
            password: &presented[..cut],
            token_appended: true,
        }
    } else {
        whole
    }
}

/// A server-side key for keyed fingerprints; never leaves the process.
#[derive(Clone)]
pub struct FingerprintKey([u8; 32]);

impl FingerprintKey {
    /// Wraps raw key material.
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Derives a key from a longer server secret with a purpose label, so one
    /// configured secret can serve several unrelated uses.
    pub fn derive(server_secret: &SecretString, purpose: &str) -> Self {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(server_secret.expose_secret().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(purpose.as_bytes());
        Self(mac.finalize().into_bytes().into())
    }

    /// A keyed fingerprint of a failed secret for one user: equal inputs give equal
    /// fingerprints, and nothing about the secret can be learned without the key.
    pub fn fingerprint(&self, user_id: &str, secret: &str) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(user_id.as_bytes());
        mac.update(&[0]);
        mac.update(secret.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

impl std::fmt::Debug for FingerprintKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FingerprintKey(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_24_alphanumerics_and_distinct() {
        let a = generate_security_token();
        let b = generate_security_token();
        assert_eq!(a.expose_secret().len(), 24);
        assert!(a.expose_secret().chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a.expose_secret(), b.expose_secret());
    }

    #[test]
    fn secrets_never_print() {
        let token = generate_security_token();
        let digest = SecretDigest::of(token.expose_secret());
        let key = FingerprintKey::new([7; 32]);
        for printed in [format!("{token:?}"), format!("{digest:?}"), format!("{key:?}")] {
            assert!(!printed.contains(token.expose_secret()), "{printed}");
            assert!(printed.contains("REDACTED") || printed.contains("***"), "{printed}");
        }
    }

    #[test]
    fn digest_matches_only_its_secret() {
        let d = SecretDigest::of("abc");
        assert!(d.matches("abc"));
        assert!(!d.matches("abd"));
        assert_eq!(SecretDigest::from_bytes(d.as_bytes()), Some(d));
        assert_eq!(SecretDigest::from_bytes(b"short"), None);
    }

    #[test]
    fn ordered_digests_sort_by_their_order_and_differ_by_secret() {
        let (a, b) = (SecretDigest::ordered(1, "x"), SecretDigest::ordered(2, "x"));
        assert!(a.as_bytes() < b.as_bytes());
        assert_eq!(a.as_bytes()[8..], b.as_bytes()[8..]);
        assert_ne!(SecretDigest::ordered(1, "x"), SecretDigest::ordered(1, "y"));
        assert_eq!(SecretDigest::ordered(7, "x"), SecretDigest::ordered(7, "x"));
    }

    #[test]
    fn split_finds_an_appended_token() {
        let token = "ABCDEFGHIJKLMNOPQRSTUVWX";
        let digest = SecretDigest::of(token);
        let with = format!("pässword{token}");
        let s = split_token(&with, Some(&digest));
        assert_eq!((s.password, s.token_appended), ("pässword", true));
        let s = split_token("pässword", Some(&digest));
        assert_eq!((s.password, s.token_appended), ("pässword", false));
        let s = split_token(token, Some(&digest));
        assert_eq!(
            (s.password, s.token_appended),
            (token, false),
            "a bare token is no password"
        );
        let wrong = format!("password{}", "X".repeat(24));
        assert!(!split_token(&wrong, Some(&digest)).token_appended);
        assert!(!split_token(&with, None).token_appended);
    }

    #[test]
    fn fingerprints_are_keyed_and_per_user() {
        let k1 = FingerprintKey::new([1; 32]);
        let k2 = FingerprintKey::new([2; 32]);
        assert_eq!(k1.fingerprint("u", "s"), k1.fingerprint("u", "s"));
        assert_ne!(k1.fingerprint("u", "s"), k2.fingerprint("u", "s"));
        assert_ne!(k1.fingerprint("u", "s"), k1.fingerprint("v", "s"));
        assert_ne!(k1.fingerprint("u", "s"), k1.fingerprint("u", "t"));
    }
}
