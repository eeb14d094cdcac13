//! Password hashing on a bounded blocking pool: argon2id is CPU-bound, so it never
//! runs on an async worker, and at most one hash per core runs at a time. Excess
//! work waits on the semaphore instead of piling threads onto the blocking pool.

use std::sync::atomic::{AtomicU64, Ordering};
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
    counts: Arc<Counts>,
}

/// How much argon2 work the pool has done (exported on `/metrics`).
#[derive(Debug, Default)]
struct Counts {
    hashes: AtomicU64,
    verifications: AtomicU64,
    dummies: AtomicU64,
}

/// A snapshot of the pool's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HashCounts {
    /// New hashes computed.
    pub hashes: u64,
    /// Verifications against a stored hash.
    pub verifications: u64,
    /// Dummy verifications for unknown usernames.
    pub dummies: u64,
}

impl HashCounts {
    /// All argon2 computations.
    pub fn total(&self) -> u64 {
        self.hashes + self.verifications + self.dummies
    }
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
            counts: Arc::default(),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&PasswordHasher) -> T + Send + 'static,
    ) -> Result<T, AccountError> {
        let _permit = self.permits.acquire().await.map_err(|_| AccountError::Hash)?;
        self.run_holding(f).await
    }

    /// Runs `f` on the blocking pool; the caller holds a permit.
    async fn run_holding<T: Send + 'static>(
        &self,
        f: impl FnOnce(&PasswordHasher) -> T + Send + 'static,
    ) -> Result<T, AccountError> {
        let hasher = Arc::clone(&self.hasher);
        tokio::task::spawn_blocking(move || f(&hasher))
            .await
            .map_err(|_| AccountError::Hash)
    }

    /// The counters so far.
    pub fn counts(&self) -> HashCounts {
        HashCounts {
            hashes: self.counts.hashes.load(Ordering::Relaxed),
            verifications: self.counts.verifications.load(Ordering::Relaxed),
            dummies: self.counts.dummies.load(Ordering::Relaxed),
        }
    }

    /// Hashes a password.
    pub async fn hash(&self, password: &SecretString) -> Result<PhcString, AccountError> {
        self.counts.hashes.fetch_add(1, Ordering::Relaxed);
        let password = password.clone();
        self.run(move |h| h.hash(password.expose_secret()))
            .await?
            .map(PhcString::new)
            .map_err(|_| AccountError::Hash)
    }

    /// Verifies `password` against a stored hash.
    pub async fn verify(&self, password: &str, phc: &PhcString) -> Result<Verification, AccountError> {
        self.reserve().await?.verify(password, phc).await
    }

    /// Waits for a hashing slot. The login flow takes the slot first and re-checks the
    /// user's lock while holding it, so no attempt hashes after a lock is in place.
    pub async fn reserve(&self) -> Result<HashSlot<'_>, AccountError> {
        let permit = self.permits.acquire().await.map_err(|_| AccountError::Hash)?;
        Ok(HashSlot {
            pool: self,
            _permit: permit,
        })
    }

    /// Spends one hash's worth of work (unknown usernames).
    pub async fn dummy_verify(&self, password: &str) -> Result<(), AccountError> {
        self.counts.dummies.fetch_add(1, Ordering::Relaxed);
        let password = SecretString::from(password);
        self.run(move |h| h.dummy_verify(password.expose_secret())).await
    }
}

/// A reserved hashing slot (one of the pool's permits).
#[derive(Debug)]
pub struct HashSlot<'a> {
    pool: &'a HashPool,
    _permit: tokio::sync::SemaphorePermit<'a>,
}

impl HashSlot<'_> {
    /// Spends one hash's worth of work in this slot (unknown usernames, users without
    /// a password).
    pub async fn dummy_verify(&self, password: &str) -> Result<(), AccountError> {
        self.pool.counts.dummies.fetch_add(1, Ordering::Relaxed);
        let password = SecretString::from(password);
        self.pool
            .run_holding(move |h| h.dummy_verify(password.expose_secret()))
            .await
    }

    /// Verifies `password` against a stored hash in this slot.
    pub async fn verify(&self, password: &str, phc: &PhcString) -> Result<Verification, AccountError> {
        self.pool.counts.verifications.fetch_add(1, Ordering::Relaxed);
        let password = SecretString::from(password);
        let phc = phc.clone();
        self.pool
            .run_holding(move |h| h.verify(password.expose_secret(), phc.as_str()))
            .await?
            .map_err(|_| AccountError::Hash)
    }
}
