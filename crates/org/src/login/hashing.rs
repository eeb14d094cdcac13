//! Password hashing on dedicated threads: argon2id is CPU-bound, so it never runs on
//! an async worker, and at most one hash per core runs at a time. Excess work waits
//! on the semaphore.
//!
//! The threads are the pool's own, one per slot, each keeping its argon2 memory
//! between hashes. Tokio's blocking pool would do the work too, but it wakes a thread
//! per job and its threads take turns, so a core sits idle between hashes now and then;
//! dedicated threads pulling from one queue keep every core hashing.
//!
//! **Reading ahead.** There are several slots per thread: while one attempt hashes, the
//! next has read its user and waits in the threads' queue, so a thread that finishes
//! a hash starts the next at once instead of idling while the next attempt is woken,
//! reads its user and sends its job. A login attempt's job ([`HashSlot::attempt`])
//! carries the reading it is made on, and the thread takes it only if that reading
//! cannot have been overtaken in this process: nothing the login decision depends on
//! changed since (the caller's `current` check), and no failed verification of the
//! same user is *unsettled*, hashed but not yet recorded, which could be the one that
//! locks them. Otherwise the job comes back unhashed ([`Attempted::Stale`]), and the
//! attempt waits for the user's failures to settle and reads them again. So, as if
//! each attempt read its user under a slot of its own, the attempts hashed for a user
//! beyond the one whose failure locks them are those that are hashing beside it,
//! at most one per other thread; no attempt in this process hashes after it.
//!
//! **Results in batches.** While the queue holds a job for every thread, a finished
//! job's result waits for the next ones, up to [`BATCH_PER_THREAD`] per thread, and
//! they are sent together; with fewer waiting, whatever waits is sent at once. A result
//! sent alone wakes the runtime on a core whose caches the last hash emptied, and the
//! rest of its login (the commit, the answer, the next request, the next attempt's
//! reading) runs there one step at a time; sent together, the logins' steps share the
//! wake-ups and their commits one statement. Only a saturated pool batches: its
//! callers already wait in its queue for longer than the few hashes' time a result may
//! wait, and the threads never wait for it.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use latchkey_core::password::{HashParams, PasswordHasher, PhcString, Verification};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{watch, Semaphore};

use crate::AccountError;

/// What the pool's thread names start with (`argon2-0`, `argon2-1`, …), so that a
/// profiler or the bench can tell hashing from the rest of the process.
pub const THREAD_NAME_PREFIX: &str = "argon2-";

/// Most results per hashing thread sent together (see the module docs).
const BATCH_PER_THREAD: usize = 3;

/// Slots per hashing thread: the attempt hashing, those whose results wait for their
/// batch, and one per thread read ahead, below which results are not held back.
const SLOTS_PER_THREAD: usize = BATCH_PER_THREAD + 2;

/// Failed verifications not yet settled, by the key of their user.
type UnsettledFailures = watch::Sender<HashMap<String, usize>>;

/// The shared hashing pool.
#[derive(Clone, Debug)]
pub struct HashPool {
    permits: Arc<Semaphore>,
    counts: Arc<Counts>,
    jobs: mpsc::Sender<Job>,
    queue: Arc<Queue>,
    unsettled: Arc<UnsettledFailures>,
}

/// A hash to compute on one of the pool's threads; it returns the sending of its result.
type Job = Box<dyn FnOnce(&PasswordHasher) -> Delivery + Send>;

/// The sending of one job's result to its caller.
type Delivery = Box<dyn FnOnce() + Send>;

/// The pool's queue of jobs and the results waiting to be sent (see the module docs).
struct Queue {
    jobs: Mutex<mpsc::Receiver<Job>>,
    /// Jobs sent and not yet taken by a thread.
    waiting: AtomicUsize,
    /// Results computed and not yet sent.
    results: Mutex<Vec<Delivery>>,
    /// How many results are sent together at most.
    batch: usize,
    /// How many threads take jobs.
    threads: usize,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("waiting", &self.waiting.load(Ordering::Relaxed))
            .field("batch", &self.batch)
            .field("threads", &self.threads)
            .finish_non_exhaustive()
    }
}

impl Queue {
    /// Runs jobs until every sender is dropped. A job that panics loses its answer
    /// (its caller sees [`AccountError::Hash`]), not its thread.
    fn serve(&self, hasher: &PasswordHasher) {
        loop {
            let next = match self.jobs.lock() {
                Ok(jobs) => jobs.recv(),
                Err(_) => return,
            };
            let Ok(job) = next else { return };
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            let result = std::panic::catch_unwind(AssertUnwindSafe(|| job(hasher))).ok();
            for delivery in self.finished(result) {
                delivery();
            }
        }
    }

    /// Adds a finished job's result (if it has one) to those waiting; returns those to
    /// send now: all of them once a batch has gathered or when fewer jobs wait than
    /// there are threads, else none. Results held back are callers not yet sending
    /// their next job: only with a job waiting for every thread can no thread run out
    /// of work before the held-back callers' next jobs come in.
    fn finished(&self, result: Option<Delivery>) -> Vec<Delivery> {
        // Nothing panics while the lock is held; if it is poisoned all the same, the results in it
        // are still whole, and must still be sent.
        let mut results = self.results.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        results.extend(result);
        if results.len() >= self.batch || self.waiting.load(Ordering::SeqCst) < self.threads {
            std::mem::take(&mut *results)
        } else {
            Vec::new()
        }
    }
}

/// Starts `n` hashing threads taking jobs from one queue; they end when every sender
/// of the returned queue is dropped.
fn spawn_threads(
    hasher: PasswordHasher,
    n: usize,
    start: fn(),
) -> Result<(mpsc::Sender<Job>, Arc<Queue>), AccountError> {
    let (tx, rx) = mpsc::channel::<Job>();
    let queue = Arc::new(Queue {
        jobs: Mutex::new(rx),
        waiting: AtomicUsize::new(0),
        results: Mutex::new(Vec::new()),
        batch: BATCH_PER_THREAD * n,
        threads: n,
    });
    let hasher = Arc::new(hasher);
    for i in 0..n {
        let (queue, hasher) = (Arc::clone(&queue), Arc::clone(&hasher));
        std::thread::Builder::new()
            .name(format!("{THREAD_NAME_PREFIX}{i}"))
            .spawn(move || {
                start();
                queue.serve(&hasher);
            })
            .map_err(|_| AccountError::Hash)?;
    }
    Ok((tx, queue))
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
    /// (0: one per available core), and as many attempts read ahead.
    pub fn new(params: HashParams, concurrency: usize) -> Result<Self, AccountError> {
        Self::with_thread_start(params, concurrency, || {})
    }

    /// Like [`HashPool::new`], each of its threads first calling `start` (the binary
    /// gives them back every core there, see its `runtime_cpus` setting).
    pub fn with_thread_start(params: HashParams, concurrency: usize, start: fn()) -> Result<Self, AccountError> {
        let hasher = PasswordHasher::new(params).map_err(|_| AccountError::Hash)?;
        let n = if concurrency == 0 {
            std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
        } else {
            concurrency
        };
        let (jobs, queue) = spawn_threads(hasher, n, start)?;
        Ok(Self {
            permits: Arc::new(Semaphore::new(SLOTS_PER_THREAD * n)),
            counts: Arc::default(),
            jobs,
            queue,
            unsettled: Arc::new(watch::Sender::new(HashMap::new())),
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
    /// is free for it or about to be.
    async fn run_holding<T: Send + 'static>(
        &self,
        f: impl FnOnce(&PasswordHasher) -> T + Send + 'static,
    ) -> Result<T, AccountError> {
        let (answer, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |hasher| {
            let result = f(hasher);
            Box::new(move || {
                let _ = answer.send(result);
            })
        });
        // Counted before it is sent, so that no thread takes it uncounted.
        self.queue.waiting.fetch_add(1, Ordering::SeqCst);
        if self.jobs.send(job).is_err() {
            self.queue.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(AccountError::Hash);
        }
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

    /// Waits for a hashing slot. The login flow takes the slot first, then reads the
    /// user and checks their lock, and hashes with [`HashSlot::attempt`].
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

/// What a login attempt's verification came to ([`HashSlot::attempt`]).
#[derive(Debug)]
pub enum Attempted {
    /// Not computed: the reading of the user it is made on may be out of date. Wait
    /// for [`HashSlot::settled`], read the user again and retry.
    Stale,
    /// Computed. A mismatch stays unsettled until its mark is dropped: drop it once
    /// the failure is recorded.
    Verified(Verification, Option<Unsettled>),
}

/// A failed verification of one user not yet recorded; dropping it settles it.
#[derive(Debug)]
pub struct Unsettled {
    failures: Arc<UnsettledFailures>,
    key: String,
}

impl Unsettled {
    fn mark(failures: Arc<UnsettledFailures>, key: String) -> Self {
        failures.send_modify(|m| *m.entry(key.clone()).or_default() += 1);
        Self { failures, key }
    }
}

impl Drop for Unsettled {
    fn drop(&mut self) {
        self.failures.send_modify(|m| {
            if let Some(n) = m.get_mut(&self.key) {
                *n -= 1;
                if *n == 0 {
                    m.remove(&self.key);
                }
            }
        });
    }
}

impl HashSlot<'_> {
    /// A login attempt's verification of `password` against the user's stored hash
    /// (`None`: the user has none, and one hash's worth of work is spent instead,
    /// a mismatch). `key` names the user; `current` tells, on the hashing thread,
    /// whether what the attempt read is still current (see the module docs). The
    /// thread computes nothing when a failure of the same user is unsettled or
    /// `current` says no.
    pub async fn attempt(
        &self,
        key: &str,
        password: &str,
        phc: Option<&PhcString>,
        current: impl FnOnce() -> bool + Send + 'static,
    ) -> Result<Attempted, AccountError> {
        let (key, password, phc) = (key.to_owned(), SecretString::from(password), phc.cloned());
        let (counts, failures) = (Arc::clone(&self.pool.counts), Arc::clone(&self.pool.unsettled));
        self.pool
            .run_holding(move |h| {
                if failures.borrow().contains_key(&key) || !current() {
                    return Ok(Attempted::Stale);
                }
                let verification = match phc {
                    Some(phc) => {
                        counts.verifications.fetch_add(1, Ordering::Relaxed);
                        h.verify(password.expose_secret(), phc.as_str())
                            .map_err(|_| AccountError::Hash)?
                    }
                    None => {
                        counts.dummies.fetch_add(1, Ordering::Relaxed);
                        h.dummy_verify(password.expose_secret());
                        Verification::Mismatch
                    }
                };
                // Marked before this thread takes its next job, which then sees it. If
                // the attempt is gone, its answer (and the mark) is dropped unsent.
                let mark = (!verification.matched()).then(|| Unsettled::mark(failures, key));
                Ok(Attempted::Verified(verification, mark))
            })
            .await?
    }

    /// Waits until no failed verification of the user `key` is unsettled.
    pub async fn settled(&self, key: &str) -> Result<(), AccountError> {
        self.pool
            .unsettled
            .subscribe()
            .wait_for(|m| !m.contains_key(key))
            .await
            .map(|_| ())
            .map_err(|_| AccountError::Hash)
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::time::Duration;

    use latchkey_core::password::{HashParams, PhcString, Verification};
    use secrecy::SecretString;

    use super::{Attempted, HashPool};

    /// A one-thread pool and the stored hash of the password "right".
    async fn pool_and_hash() -> (HashPool, PhcString) {
        let pool = HashPool::new(HashParams::FAST_INSECURE, 1).unwrap();
        let phc = pool.hash(&SecretString::from("right")).await.unwrap();
        (pool, phc)
    }

    #[tokio::test]
    async fn an_unsettled_failure_holds_back_the_next_attempts_of_its_user_only() {
        let (pool, phc) = pool_and_hash().await;
        let slot = pool.reserve().await.unwrap();
        let Attempted::Verified(Verification::Mismatch, Some(mark)) =
            slot.attempt("jane", "wrong", Some(&phc), || true).await.unwrap()
        else {
            panic!("a mismatch comes with its mark");
        };
        assert!(matches!(
            slot.attempt("jane", "right", Some(&phc), || true).await.unwrap(),
            Attempted::Stale
        ));
        assert!(matches!(
            slot.attempt("john", "right", Some(&phc), || true).await.unwrap(),
            Attempted::Verified(Verification::Match, None)
        ));
        assert!(
            tokio::time::timeout(Duration::from_millis(100), slot.settled("jane"))
                .await
                .is_err(),
            "unsettled until the mark is dropped"
        );
        drop(mark);
        tokio::time::timeout(Duration::from_secs(5), slot.settled("jane"))
            .await
            .expect("settled once the mark is dropped")
            .unwrap();
        assert!(matches!(
            slot.attempt("jane", "right", Some(&phc), || true).await.unwrap(),
            Attempted::Verified(Verification::Match, None)
        ));
        assert_eq!(pool.counts().verifications, 3, "the held-back attempt computed nothing");
    }

    #[tokio::test]
    async fn an_attempt_on_an_out_of_date_reading_is_not_hashed() {
        let (pool, phc) = pool_and_hash().await;
        let slot = pool.reserve().await.unwrap();
        assert!(matches!(
            slot.attempt("jane", "right", Some(&phc), || false).await.unwrap(),
            Attempted::Stale
        ));
        assert!(matches!(
            slot.attempt("jane", "right", None, || false).await.unwrap(),
            Attempted::Stale
        ));
        assert_eq!(pool.counts().total(), 1, "only the stored hash was computed");
        assert!(matches!(
            slot.attempt("jane", "right", None, || true).await.unwrap(),
            Attempted::Verified(Verification::Mismatch, Some(_))
        ));
        assert_eq!(pool.counts().dummies, 1, "no stored hash: a dummy's worth of work");
    }

    #[tokio::test]
    async fn a_failure_whose_attempt_is_gone_settles() {
        let (pool, phc) = pool_and_hash().await;
        let slot = pool.reserve().await.unwrap();
        // The thread is still deciding when the attempt is dropped.
        let slow = || {
            std::thread::sleep(Duration::from_millis(300));
            true
        };
        let gone = tokio::time::timeout(
            Duration::from_millis(50),
            slot.attempt("jane", "wrong", Some(&phc), slow),
        );
        assert!(gone.await.is_err());
        for _ in 0..100 {
            if pool.counts().verifications == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(pool.counts().verifications, 1, "the thread hashed it all the same");
        tokio::time::sleep(Duration::from_millis(100)).await;
        tokio::time::timeout(Duration::from_secs(5), slot.settled("jane"))
            .await
            .expect("the mark of the answer nobody took settles")
            .unwrap();
    }

    /// Returns once the pool's queue holds `n` jobs.
    async fn until_queued(pool: &HashPool, n: usize) {
        while pool.queue.waiting.load(std::sync::atomic::Ordering::SeqCst) != n {
            tokio::task::yield_now().await;
        }
    }

    /// Runs `f` on `pool` in a task of its own, once the pool's queue holds `queued`
    /// jobs (so that jobs are queued in order).
    async fn spawn_job<T: Send + 'static>(
        pool: &HashPool,
        queued: usize,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> tokio::task::JoinHandle<Result<T, crate::AccountError>> {
        until_queued(pool, queued).await;
        let pool = pool.clone();
        tokio::spawn(async move { pool.run(move |_| f()).await })
    }

    /// Runs, in a task of its own, a job that blocks its thread until the returned
    /// sender sends (or is dropped); returns once a thread has taken it.
    async fn start_held_job(
        pool: &HashPool,
    ) -> (
        tokio::task::JoinHandle<Result<u32, crate::AccountError>>,
        std::sync::mpsc::Sender<()>,
    ) {
        let (release, released) = std::sync::mpsc::channel::<()>();
        let (started, has_started) = std::sync::mpsc::channel::<()>();
        let job = spawn_job(pool, 0, move || {
            let _ = started.send(());
            let _ = released.recv();
            1
        })
        .await;
        has_started.recv().unwrap();
        (job, release)
    }

    /// The answer of a job spawned by [`spawn_job`], within 5 s.
    async fn answer<T>(job: tokio::task::JoinHandle<Result<T, crate::AccountError>>) -> Result<T, crate::AccountError> {
        tokio::time::timeout(Duration::from_secs(5), job)
            .await
            .unwrap()
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn results_wait_for_their_batch_while_the_queue_holds_work() {
        let pool = HashPool::new(HashParams::FAST_INSECURE, 1).unwrap();
        let (mut first, release_first) = start_held_job(&pool).await;
        let second = spawn_job(&pool, 0, || 2).await;
        let (release_third, released_third) = std::sync::mpsc::channel::<()>();
        let third = spawn_job(&pool, 1, move || released_third.recv().map_or(0, |()| 3)).await;
        until_queued(&pool, 2).await;
        release_first.send(()).unwrap();
        // The first and second are done, the third runs: two results of a batch of
        // three wait, as a job waited for the one thread each time one finished.
        assert!(
            tokio::time::timeout(Duration::from_millis(300), &mut first)
                .await
                .is_err(),
            "the first result waits for its batch"
        );
        release_third.send(()).unwrap();
        assert_eq!(answer(first).await.unwrap(), 1);
        assert_eq!(answer(second).await.unwrap(), 2);
        assert_eq!(answer(third).await.unwrap(), 3);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn waiting_results_are_sent_when_the_queue_runs_dry_even_past_a_panic() {
        let pool = HashPool::new(HashParams::FAST_INSECURE, 1).unwrap();
        let (first, release_first) = start_held_job(&pool).await;
        let second = spawn_job(&pool, 0, || -> u32 { panic!("a job that panics") }).await;
        until_queued(&pool, 1).await;
        release_first.send(()).unwrap();
        // The first result waited for the second, which left the queue empty and
        // panicked: the first is sent all the same, the second is lost.
        assert_eq!(answer(first).await.unwrap(), 1);
        assert!(answer(second).await.is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn results_go_out_at_once_when_fewer_jobs_wait_than_there_are_threads() {
        let pool = HashPool::new(HashParams::FAST_INSECURE, 2).unwrap();
        let (first, release_first) = start_held_job(&pool).await;
        let (second, release_second) = start_held_job(&pool).await;
        let (release_third, released_third) = std::sync::mpsc::channel::<()>();
        let third = spawn_job(&pool, 0, move || released_third.recv().map_or(0, |()| 3)).await;
        until_queued(&pool, 1).await;
        release_first.send(()).unwrap();
        // One job waits for two threads: the first result is not held back, though
        // the queue is not empty, and the second and third jobs still run.
        assert_eq!(answer(first).await.unwrap(), 1);
        release_second.send(()).unwrap();
        release_third.send(()).unwrap();
        assert_eq!(answer(second).await.unwrap(), 1);
        assert_eq!(answer(third).await.unwrap(), 3);
    }
}
