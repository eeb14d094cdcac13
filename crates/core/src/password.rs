//! Password hashing with argon2id, stored as PHC strings. Passwords are chosen by people,
//! so they get a hash that is slow on purpose. These calls are CPU-bound: callers run
//! them on a bounded blocking pool, never on an async worker.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use subtle::ConstantTimeEq;

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HashParams {
    /// Memory in KiB (OWASP: 19456).
    pub memory_kib: u32,
    /// Iterations (OWASP: 2).
    pub iterations: u32,
    /// Lanes (OWASP: 1).
    pub parallelism: u32,
}

impl Default for HashParams {
    /// The OWASP recommendation for argon2id: m=19456 KiB, t=2, p=1.
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl HashParams {
    /// Deliberately cheap parameters for tests.
    pub const FAST_INSECURE: Self = Self {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };
}

thread_local! {
    /// argon2 working memory, kept per thread: a verification then costs no 19 MiB
    /// allocation, zeroing and page faults, and the process keeps one block per
    /// hashing thread instead of one per allocator arena.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's argon2 memory, grown to `blocks` if needed.
fn with_memory<T>(blocks: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
    MEMORY.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() < blocks {
            m.resize(blocks, Block::default());
        }
        f(&mut m[..blocks])
    })
}

/// Hashing failed: the parameters are out of range or a stored hash is unreadable.
#[derive(Debug, thiserror::Error)]
#[error("password hashing: {0}")]
pub struct HashError(String);

/// Hashes and verifies passwords at one set of parameters.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    params: HashParams,
    argon: Argon2<'static>,
}

/// The result of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// The password does not match.
    Mismatch,
    /// It matches, and the stored hash uses the current parameters.
    Match,
    /// It matches, but the stored hash should be recomputed at the current parameters.
    MatchNeedsRehash,
}

impl Verification {
    /// Whether the password matched.
    pub fn matched(self) -> bool {
        !matches!(self, Self::Mismatch)
    }
}

impl PasswordHasher {
    /// A hasher for `params`; fails when argon2 rejects them.
    pub fn new(params: HashParams) -> Result<Self, HashError> {
        let p = Params::new(params.memory_kib, params.iterations, params.parallelism, None)
            .map_err(|e| HashError(e.to_string()))?;
        Ok(Self {
            params,
            argon: Argon2::new(Algorithm::Argon2id, Version::V0x13, p),
        })
    }

    /// The parameters new hashes are made with.
    pub fn params(&self) -> HashParams {
        self.params
    }

    /// Hashes `password` with a fresh salt into a PHC string.
    pub fn hash(&self, password: &str) -> Result<String, HashError> {
        let salt = SaltString::generate(&mut OsRng);
        self.argon
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| HashError(e.to_string()))
    }

    /// Checks `password` against a PHC string (made with any argon2 parameters).
    pub fn verify(&self, password: &str, phc: &str) -> Result<Verification, HashError> {
        let parsed = PasswordHash::new(phc).map_err(|e| HashError(e.to_string()))?;
        let algorithm = Algorithm::try_from(parsed.algorithm).map_err(|e| HashError(e.to_string()))?;
        let version = parsed
            .version
            .map(Version::try_from)
            .transpose()
            .map_err(|e| HashError(e.to_string()))?
            .unwrap_or_default();
        let params = Params::try_from(&parsed).map_err(|e| HashError(e.to_string()))?;
        let expected = parsed
            .hash
            .ok_or_else(|| HashError("PHC string without a hash".into()))?;
        let salt = parsed
            .salt
            .ok_or_else(|| HashError("PHC string without a salt".into()))?;
        let mut salt_buf = [0u8; 64];
        let salt = salt.decode_b64(&mut salt_buf).map_err(|e| HashError(e.to_string()))?;
        let argon = Argon2::new(algorithm, version, params.clone());
        let mut out = vec![0u8; expected.len()];
        with_memory(params.block_count(), |memory| {
            argon.hash_password_into_with_memory(password.as_bytes(), salt, &mut out, memory)
        })
        .map_err(|e| HashError(e.to_string()))?;
        if !bool::from(out.as_slice().ct_eq(expected.as_bytes())) {
            return Ok(Verification::Mismatch);
        }
        let current = algorithm == Algorithm::Argon2id
            && params.m_cost() == self.params.memory_kib
            && params.t_cost() == self.params.iterations
            && params.p_cost() == self.params.parallelism;
        Ok(if current {
            Verification::Match
        } else {
            Verification::MatchNeedsRehash
        })
    }

    /// Spends the same work as one verification, for unknown usernames (equal timing).
    pub fn dummy_verify(&self, password: &str) {
        let mut out = [0u8; 32];
        let blocks = self.argon.params().block_count();
        let _ = with_memory(blocks, |memory| {
            self.argon
                .hash_password_into_with_memory(password.as_bytes(), b"latchkey-dummy-salt", &mut out, memory)
        });
    }
}

/// A stored argon2id PHC string. Not a secret in itself, but it never belongs in a log
/// or an output, so its `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct PhcString(String);

impl PhcString {
    /// Wraps a PHC string.
    pub fn new(phc: String) -> Self {
        Self(phc)
    }

    /// The PHC string, for storage and verification.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PhcString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PhcString(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_phc_and_verify() {
        let h = PasswordHasher::new(HashParams::FAST_INSECURE).unwrap();
        let phc = h.hash("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");
        assert_eq!(h.verify("correct horse", &phc).unwrap(), Verification::Match);
        assert_eq!(h.verify("wrong horse", &phc).unwrap(), Verification::Mismatch);
        assert_ne!(phc, h.hash("correct horse").unwrap(), "salted");
    }

    #[test]
    fn agrees_with_the_argon2_crates_own_verifier() {
        use argon2::password_hash::PasswordVerifier;
        let ours = PasswordHasher::new(HashParams::FAST_INSECURE).unwrap();
        for (params, password) in [
            (HashParams::FAST_INSECURE, "pw"),
            (
                HashParams {
                    memory_kib: 256,
                    iterations: 3,
                    parallelism: 2,
                },
                "pässwörd",
            ),
        ] {
            let h = PasswordHasher::new(params).unwrap();
            let phc = h.hash(password).unwrap();
            let parsed = PasswordHash::new(&phc).unwrap();
            for candidate in [password, "other", ""] {
                let reference = Argon2::default().verify_password(candidate.as_bytes(), &parsed).is_ok();
                assert_eq!(
                    ours.verify(candidate, &phc).unwrap().matched(),
                    reference,
                    "{phc} / {candidate:?}"
                );
            }
        }
        let argon2i = "$argon2i$v=19$m=64,t=1,p=1$c29tZXNhbHQ$fPnWYa8tjYT5yZuKmjrnEw";
        assert!(ours.verify("x", argon2i).is_ok(), "other argon2 variants parse");
        assert!(ours.verify("x", "$pbkdf2$nope").is_err());
    }

    #[test]
    fn changed_parameters_ask_for_a_rehash() {
        let old = PasswordHasher::new(HashParams::FAST_INSECURE).unwrap();
        let phc = old.hash("pw").unwrap();
        let new = PasswordHasher::new(HashParams {
            memory_kib: 128,
            ..HashParams::FAST_INSECURE
        })
        .unwrap();
        assert_eq!(new.verify("pw", &phc).unwrap(), Verification::MatchNeedsRehash);
        assert_eq!(new.verify("nope", &phc).unwrap(), Verification::Mismatch);
    }

    #[test]
    fn default_is_owasp() {
        assert_eq!(
            HashParams::default(),
            HashParams {
                memory_kib: 19_456,
                iterations: 2,
                parallelism: 1
            }
        );
        assert!(PasswordHasher::new(HashParams {
            memory_kib: 1,
            iterations: 0,
            parallelism: 1
        })
        .is_err());
    }
}
