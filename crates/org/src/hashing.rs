//! Password hashing on a bounded blocking pool: argon2id is CPU-bound, so it never
//! runs on an async worker, and at most one hash per core runs at a time. Excess
//! work waits on the semaphore instead of piling threads onto the blocking pool.

use std::sync::Arc;

use latchkey_core::password::{HashParams, PasswordHasher, PhcString, Verification};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

use crate::AccountError;

/// The shared hashing pool.
#[derive(Clone, Debug)]
pub struct HashPool {
    hasher: Arc<PasswordHasher>,
    permits: Arc<Semaphore>,
}

impl HashPool {
    /// A pool hashing at `params` with at most `concurrency` hashes at once
    /// (0: one per available core).
    pub fn new(params: HashParams, concurrency: usize) -> Result<Self, AccountError> {
        let hasher = PasswordHasher::new(params).map_err(|_| AccountError::Hash)?;
        let n = if concurrency == 0 {
            std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
        } else {
            concurrency
        };
        Ok(Self {
            hasher: Arc::new(hasher),
            permits: Arc::new(Semaphore::new(n)),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&PasswordHasher) -> T + Send + 'static,
    ) -> Result<T, AccountError> {
        let _permit = self.permits.acquire().await.map_err(|_| AccountError::Hash)?;
        let hasher = Arc::clone(&self.hasher);
        tokio::task::spawn_blocking(move || f(&hasher))
            .await
            .map_err(|_| AccountError::Hash)
    }

    /// Hashes a password.
    pub async fn hash(&self, password: &SecretString) -> Result<PhcString, AccountError> {
        let password = password.clone();
        self.run(move |h| h.hash(password.expose_secret()))
            .await?
            .map(PhcString::new)
            .map_err(|_| AccountError::Hash)
    }

    /// Verifies `password` against a stored hash.
    pub async fn verify(&self, password: &str, phc: &PhcString) -> Result<Verification, AccountError> {
        let password = SecretString::from(password);
        let phc = phc.clone();
        self.run(move |h| h.verify(password.expose_secret(), phc.as_str()))
            .await?
            .map_err(|_| AccountError::Hash)
    }

    /// Spends one hash's worth of work (unknown usernames).
    pub async fn dummy_verify(&self, password: &str) -> Result<(), AccountError> {
        let password = SecretString::from(password);
        self.run(move |h| h.dummy_verify(password.expose_secret())).await
    }
}
