//! Hub users' password hashing on a few dedicated threads: argon2id is CPU- and
//! memory-bound, so it never runs on an async worker or on a thread per request. At
//! most one hash per thread runs at a time (one thread per core by default) and
//! further attempts wait, cheaply, for a slot: a burst of logins costs queueing time,
//! never memory or threads. The threads start with the first hash.

use std::sync::{mpsc, Arc, Mutex, OnceLock};

use latchkey_core::password::{HashParams, PasswordHasher};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::HubError;

/// A job for a hashing thread.
type Job = Box<dyn FnOnce(&PasswordHasher) + Send>;

/// The hub's hashing threads and their slots.
#[derive(Clone)]
pub struct HashThreads {
    params: HashParams,
    threads: usize,
    slots: Arc<Semaphore>,
    jobs: Arc<OnceLock<Result<Mutex<mpsc::Sender<Job>>, String>>>,
}

impl std::fmt::Debug for HashThreads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashThreads")
            .field("threads", &self.threads)
            .finish_non_exhaustive()
    }
}

/// A hashing slot: while it is held, one of the threads is the holder's.
pub struct Slot {
    threads: HashThreads,
    _permit: OwnedSemaphorePermit,
}

impl HashThreads {
    /// Threads hashing at `params`, `threads` of them (0: one per available core).
    pub fn new(params: HashParams, threads: usize) -> Self {
        let threads = if threads == 0 {
            std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
        } else {
            threads
        };
        Self {
            params,
            threads,
            slots: Arc::new(Semaphore::new(threads)),
            jobs: Arc::default(),
        }
    }

    /// Waits for a free hashing thread.
    pub async fn slot(&self) -> Result<Slot, HubError> {
        let permit = Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .map_err(|_| HubError::Invalid("password hashing stopped".into()))?;
        Ok(Slot {
            threads: self.clone(),
            _permit: permit,
        })
    }

    fn sender(&self) -> Result<mpsc::Sender<Job>, HubError> {
        let started = self.jobs.get_or_init(|| {
            let hasher = PasswordHasher::new(self.params).map_err(|e| e.to_string())?;
            let (send, receive) = mpsc::channel::<Job>();
            let receive = Arc::new(Mutex::new(receive));
            for n in 0..self.threads {
                let (hasher, receive) = (hasher.clone(), Arc::clone(&receive));
                std::thread::Builder::new()
                    .name(format!("hub-hash-{n}"))
                    .spawn(move || loop {
                        let job = match receive.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(&hasher),
                            Err(_) => return,
                        }
                    })
                    .map_err(|e| e.to_string())?;
            }
            Ok(Mutex::new(send))
        });
        match started {
            Ok(send) => send
                .lock()
                .map(|s| s.clone())
                .map_err(|_| HubError::Invalid("password hashing stopped".into())),
            Err(e) => Err(HubError::Invalid(format!("password hashing could not start: {e}"))),
        }
    }
}

impl Slot {
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&PasswordHasher) -> T + Send + 'static,
    ) -> Result<T, HubError> {
        let (answer, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |hasher| {
            let _ = answer.send(f(hasher));
        });
        self.threads
            .sender()?
            .send(job)
            .map_err(|_| HubError::Invalid("password hashing stopped".into()))?;
        result
            .await
            .map_err(|_| HubError::Invalid("password hashing was interrupted".into()))
    }

    /// An argon2id PHC string of `password`.
    pub async fn hash(&self, password: &SecretString) -> Result<String, HubError> {
        let password = password.clone();
        self.run(move |h| h.hash(password.expose_secret()))
            .await?
            .map_err(|e| HubError::Invalid(e.to_string()))
    }

    /// Whether `password` matches `phc`; with no `phc` (an unknown user), the same
    /// work is spent and the answer is no.
    pub async fn verify(&self, password: &SecretString, phc: Option<String>) -> Result<bool, HubError> {
        let password = password.clone();
        self.run(move |h| match phc {
            Some(phc) => h
                .verify(password.expose_secret(), &phc)
                .is_ok_and(latchkey_core::password::Verification::matched),
            None => {
                h.dummy_verify(password.expose_secret());
                false
            }
        })
        .await
    }
}
