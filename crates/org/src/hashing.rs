//! Password hashing on dedicated threads: argon2id is CPU-bound, so it never runs on
//! an async worker, and at most one hash per core runs at a time. Excess work waits
//! on the semaphore.
//!
//! The threads are the pool's own, one per slot, each keeping its argon2 memory
//! between hashes. Tokio's blocking pool would do the work too, but measured on two
//! cores it left a core idle about one time in seven between hashes (a blocking
//! thread is woken per job and the pool's threads take turns), which cost a tenth of
//! the password-login throughput (BENCHMARKS.md).

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use latchkey_core::password::{HashParams, PasswordHasher, PhcString, Verification};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

use crate::AccountError;

/// The shared hashing pool.
#[derive(Clone, Debug)]
pub struct HashPool {
    permits: Arc<Semaphore>,
    counts: Arc<Counts>,
    jobs: mpsc::Sender<Job>,
}

/// A hash to compute on one of the pool's threads (it sends its own result).
type Job = Box<dyn FnOnce(&PasswordHasher) + Send>;

/// Starts `n` hashing threads taking jobs from one queue; they end when every sender
/// of the returned queue is dropped. A job that panics loses its answer (its caller
/// sees [`AccountError::Hash`]), not its thread.
fn spawn_threads(hasher: PasswordHasher, n: usize) -> Result<mpsc::Sender<Job>, AccountError> {
    let (tx, rx) = mpsc::channel::<Job>();
    let rx = Arc::new(Mutex::new(rx));
    let hasher = Arc::new(hasher);
    for i in 0..n {
        let (rx, hasher) = (Arc::clone(&rx), Arc::clone(&hasher));
        std::thread::Builder::new()
            .name(format!("argon2-{i}"))
            .spawn(move || loop {
                let next = match rx.lock() {
                    Ok(queue) => queue.recv(),
                    Err(_) => return,
                };
                let Ok(job) = next else { return };
                let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&hasher)));
            })
            .map_err(|_| AccountError::Hash)?;
    }
    Ok(tx)
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
            permits: Arc::new(Semaphore::new(n)),
            counts: Arc::default(),
            jobs: spawn_threads(hasher, n)?,
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&PasswordHasher) -> T + Send + 'static,
    ) -> Result<T, AccountError> {
        let _permit = self.permits.acquire().await.map_err(|_| AccountError::Hash)?;
        self.run_holding(f).await
    }

    /// Runs `f` on one of the pool's threads; the caller holds a permit, so a thread
    /// is free for it.
    async fn run_holding<T: Send + 'static>(
        &self,
        f: impl FnOnce(&PasswordHasher) -> T + Send + 'static,
    ) -> Result<T, AccountError> {
        let (answer, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |hasher| {
            let _ = answer.send(f(hasher));
        });
        self.jobs.send(job).map_err(|_| AccountError::Hash)?;
        result.await.map_err(|_| AccountError::Hash)
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
