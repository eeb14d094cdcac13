//! Secrets at rest: XChaCha20-Poly1305 under 256-bit keys. A vault holds the current
//! key (which seals) and any older ones (which only open), each named by an id derived
//! from the key, so a record says which key sealed it and rotation can proceed row by
//! row without ever leaving a record unreadable.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

const NONCE_LEN: usize = 24;

/// Why the vault could not be built or could not open a record. Never contains key
/// material or plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// No key was given.
    #[error("no hub key: set LATCHKEY_HUB_KEY or create the key file")]
    NoKey,
    /// A key is not 32 bytes of base64.
    #[error("hub key number {0} is not 32 bytes of base64")]
    BadKey(usize),
    /// The record was sealed by a key this vault does not hold.
    #[error("the record was sealed with hub key {0}, which is not configured")]
    UnknownKey(String),
    /// Authentication failed: the record was altered, or belongs to another row.
    #[error("a sealed record failed authentication (altered, or moved between rows)")]
    Tampered,
}

/// A sealed value and the id of the key that sealed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// `nonce ‖ ciphertext ‖ tag`.
    pub bytes: Vec<u8>,
    /// The sealing key's id.
    pub key_id: String,
}

struct VaultKey {
    id: String,
    cipher: XChaCha20Poly1305,
    /// Keys the fingerprints of secrets sealed under this key.
    fingerprint_key: Zeroizing<[u8; 32]>,
}

/// The hub's keys; the first seals.
pub struct Vault {
    keys: Vec<VaultKey>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("Vault").field("key_ids", &ids).finish()
    }
}

fn key_id(key: &[u8]) -> String {
    let digest = Sha256::new()
        .chain_update(b"latchkey hub key id v1\0")
        .chain_update(key)
        .finalize();
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

impl Vault {
    /// A fresh random key, base64-encoded (for a key file or `LATCHKEY_HUB_KEY`).
    pub fn generate_key() -> Zeroizing<String> {
        let mut key = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(key.as_mut());
        Zeroizing::new(STANDARD.encode(key.as_ref()))
    }

    /// Builds a vault from base64 keys separated by commas or line breaks; the first
    /// is the current (sealing) key.
    pub fn from_encoded(list: &str) -> Result<Self, VaultError> {
        let mut keys = Vec::new();
        for (n, text) in list
            .split([',', '\n'])
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .enumerate()
        {
            let raw = Zeroizing::new(STANDARD.decode(text).map_err(|_| VaultError::BadKey(n + 1))?);
            if raw.len() != 32 {
                return Err(VaultError::BadKey(n + 1));
            }
            let cipher = XChaCha20Poly1305::new_from_slice(&raw).map_err(|_| VaultError::BadKey(n + 1))?;
            let fingerprint_key = Zeroizing::new(
                Sha256::new()
                    .chain_update(b"latchkey hub fingerprint key v1\0")
                    .chain_update(raw.as_slice())
                    .finalize()
                    .into(),
            );
            keys.push(VaultKey {
                id: key_id(&raw),
                cipher,
                fingerprint_key,
            });
        }
        if keys.is_empty() {
            return Err(VaultError::NoKey);
        }
        Ok(Self { keys })
    }

    /// The id of the sealing key.
    pub fn current_id(&self) -> &str {
        &self.keys[0].id
    }

    /// Seals `plaintext`, bound to `context` (the record's identity): a sealed value
    /// moved to another record does not open.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Sealed {
        let key = &self.keys[0];
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ciphertext = key
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            .unwrap_or_else(|_| unreachable!("XChaCha20-Poly1305 encrypts any length a record has"));
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&ciphertext);
        Sealed {
            bytes,
            key_id: key.id.clone(),
        }
    }

    /// A keyed fingerprint (HMAC-SHA256) of secrets sealed under key `key_id`: equal
    /// secrets give equal fingerprints, and without the key nobody can test a guess.
    pub fn fingerprint(&self, key_id: &str, secrets: &[u8]) -> Result<Vec<u8>, VaultError> {
        let key = self.key(key_id)?;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.fingerprint_key.as_ref())
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(secrets);
        Ok(mac.finalize().into_bytes().to_vec())
    }

    fn key(&self, key_id: &str) -> Result<&VaultKey, VaultError> {
        self.keys
            .iter()
            .find(|k| k.id == key_id)
            .ok_or_else(|| VaultError::UnknownKey(key_id.to_owned()))
    }

    /// Opens a value sealed by key `key_id` for `context`.
    pub fn open(&self, bytes: &[u8], key_id: &str, context: &[u8]) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        let key = self.key(key_id)?;
        if bytes.len() < NONCE_LEN {
            return Err(VaultError::Tampered);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        key.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| VaultError::Tampered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_bound_to_context_and_key() {
        let old_key = Vault::generate_key();
        let new_key = Vault::generate_key();
        let old = Vault::from_encoded(&old_key).unwrap();
        let sealed = old.seal(b"violet-kettle-42", b"cred-1");
        assert!(!sealed.bytes.windows(6).any(|w| w == b"violet"), "no plaintext");
        assert_eq!(
            &*old.open(&sealed.bytes, &sealed.key_id, b"cred-1").unwrap(),
            b"violet-kettle-42"
        );
        assert_eq!(
            old.open(&sealed.bytes, &sealed.key_id, b"cred-2"),
            Err(VaultError::Tampered),
            "moved to another record"
        );
        let mut altered = sealed.bytes.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert_eq!(old.open(&altered, &sealed.key_id, b"cred-1"), Err(VaultError::Tampered));

        let rotated = Vault::from_encoded(&format!("{},{}", *new_key, *old_key)).unwrap();
        assert_ne!(rotated.current_id(), sealed.key_id, "the first key seals");
        assert!(
            rotated.open(&sealed.bytes, &sealed.key_id, b"cred-1").is_ok(),
            "older keys still open"
        );
        let only_new = Vault::from_encoded(&new_key).unwrap();
        assert_eq!(
            only_new.open(&sealed.bytes, &sealed.key_id, b"cred-1"),
            Err(VaultError::UnknownKey(sealed.key_id.clone()))
        );
        assert!(matches!(Vault::from_encoded(" , "), Err(VaultError::NoKey)));
        assert!(matches!(Vault::from_encoded("c2hvcnQ="), Err(VaultError::BadKey(1))));
        assert!(!format!("{rotated:?}").contains(old_key.as_str()), "no key in Debug");

        let fp = old.fingerprint(&sealed.key_id, b"secrets").unwrap();
        assert_eq!(
            fp,
            rotated.fingerprint(&sealed.key_id, b"secrets").unwrap(),
            "same key, same fingerprint"
        );
        assert_ne!(fp, old.fingerprint(&sealed.key_id, b"other secrets").unwrap());
        assert_ne!(
            fp,
            rotated.fingerprint(rotated.current_id(), b"secrets").unwrap(),
            "keyed"
        );
    }
}
