//! Group commit for small, independent writes that every login and token grant makes:
//! a login-history row and a new session. Requests queue their write and wait; one
//! task commits whatever has queued in a single transaction (one INSERT per table, its
//! rows bound as one JSON array) and then answers each.
//! Nothing is acknowledged before it is committed, so nothing acknowledged is lost;
//! a burst of logins costs one commit (and, on SQLite, one round of
//! page-cache invalidation in the other pooled connections) instead of one each.
//!
//! A write whose caller's answer does not depend on it (a refused attempt's history
//! row) can be *queued* instead: the caller goes on at once, and at most
//! [`MAX_QUEUED`] such writes wait at a time (beyond that, queueing waits, so a flood
//! of refusals slows down rather than grows memory). Readers of what may be queued
//! [`Writer::flush`] first, and the server flushes before it exits.

use std::sync::Arc;

use sqlx::Connection as _;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};

use super::kept::{Kept, KeptConns};
use crate::login_history::{self, NewLogin};
use crate::sessions::{self, NewSession};
use crate::{Backend, StoreError};

/// Most writes committed together.
const MAX_BATCH: usize = 256;

/// Most queued writes (see [`Writer::queue`]) waiting for their commit at a time.
const MAX_QUEUED: usize = 4096;

/// A write that may share a transaction with unrelated others.
#[derive(Debug, Clone)]
pub enum Write {
    /// Append a login-history row.
    Login(NewLogin),
    /// Store a new session.
    Session(NewSession),
}

/// Writes to commit together and what to do once they are.
#[derive(Debug)]
pub(crate) struct Job {
    writes: Vec<Write>,
    reply: Reply,
}

/// Who learns that a job's writes are committed.
#[derive(Debug)]
enum Reply {
    /// A caller waiting for the outcome.
    Waiting(oneshot::Sender<Result<(), StoreError>>),
    /// Nobody waits: the queue slot is given back, a failure is logged.
    Queued(OwnedSemaphorePermit),
}

impl Reply {
    fn send(self, result: Result<(), StoreError>) {
        match self {
            Self::Waiting(done) => {
                let _ = done.send(result);
            }
            Self::Queued(_slot) => {
                if let Err(e) = result {
                    tracing::error!(error = %e, "a queued write (nobody waiting for it) could not be committed");
                }
            }
        }
    }
}

/// The queue's sending end.
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    jobs: mpsc::UnboundedSender<Job>,
    queue_slots: Arc<Semaphore>,
}

impl Writer {
    /// Starts the committing task on the current runtime; it ends when every
    /// [`Writer`] is dropped.
    pub(crate) fn spawn(kept: Arc<KeptConns>, backend: Backend) -> Self {
        let (jobs, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(kept, commit_statement(backend), rx));
        Self {
            jobs,
            queue_slots: Arc::new(Semaphore::new(MAX_QUEUED)),
        }
    }

    /// Sends `writes` to be committed (together) and waits until they are.
    pub(crate) async fn write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let (done, answer) = oneshot::channel();
        self.send(writes, Reply::Waiting(done))?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Sends `writes` to be committed (together) with the next batch, without waiting
    /// for the commit; waits only while [`MAX_QUEUED`] queued writes are pending.
    pub(crate) async fn queue(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let slot = Arc::clone(&self.queue_slots)
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Closed)?;
        self.send(writes, Reply::Queued(slot))
    }

    /// Returns once everything sent before has been committed (or has failed).
    pub(crate) async fn flush(&self) -> Result<(), StoreError> {
        self.write(Vec::new()).await
    }

    fn send(&self, writes: Vec<Write>, reply: Reply) -> Result<(), StoreError> {
        self.jobs.send(Job { writes, reply }).map_err(|_| StoreError::Closed)
    }
}

/// The one statement (text) that commits a batch: the login-history rows bound as `$1`,
/// the sessions as `$2`, each a JSON array (possibly empty), atomically and in one
/// round trip to the database.
///
/// On PostgreSQL the history INSERT is a `WITH` clause of the sessions INSERT (an
/// auto-committed statement). On SQLite, which has no INSERT in a `WITH`, both are
/// the trigger of an INSERT into the view of [`kept_setup`]: one statement,
/// atomic as every SQLite statement is. One statement is one answer from the
/// connection's thread, so the committing task is woken once per commit, not once per
/// statement of a transaction.
fn commit_statement(backend: Backend) -> String {
    match backend {
        Backend::Postgres => format!(
            "WITH logins AS ({}) {}",
            login_history::insert_from_json(backend, "$1"),
            sessions::insert_from_json(backend, "$2")
        ),
        Backend::Sqlite => "INSERT INTO group_commit (logins, sessions) VALUES ($1, $2)".to_owned(),
    }
}

/// What each kept connection runs once, when it is taken out of the pool: on SQLite,
/// the view a group commit inserts its batch into (see [`commit_statement`]). A TEMP
/// view and trigger are the connection's own and need no migration. Only kept
/// connections have them, and those never go back to the pool, whose connections run
/// the migrations: a connection with a trigger on `login_history` fails a migration
/// that rebuilds the table.
pub(crate) fn kept_setup(backend: Backend) -> Option<String> {
    (backend == Backend::Sqlite).then(|| {
        format!(
            "CREATE TEMP VIEW IF NOT EXISTS group_commit (logins, sessions) AS SELECT NULL, NULL; \
             CREATE TEMP TRIGGER IF NOT EXISTS group_commit_rows INSTEAD OF INSERT ON group_commit BEGIN {}; {}; END;",
            login_history::insert_from_json(backend, "NEW.logins"),
            sessions::insert_from_json(backend, "NEW.sessions")
        )
    })
}

/// The committing task's connection, a [`Kept`] one held from one commit to the next.
/// SQLite empties a connection's page cache when another connection has written since
/// its last transaction, so the connection that made the last commit still holds the
/// pages the next one changes (the last leaf of each table and index); a connection
/// taken from the pool in turn held none of them and read each back. And no commit
/// pays for the ping sqlx sends every connection returned to its pool.
struct Held {
    kept: Arc<KeptConns>,
    conn: Option<Kept>,
}

impl Held {
    /// The held connection, readied for a commit (see [`Kept::ready`]), or a kept one.
    async fn conn(&mut self) -> Result<&mut Kept, StoreError> {
        let conn = match self.conn.take() {
            Some(mut conn) => {
                conn.ready().await?;
                conn
            }
            None => self.kept.take().await?,
        };
        Ok(self.conn.insert(conn))
    }
}

async fn run(kept: Arc<KeptConns>, sql: String, mut rx: mpsc::UnboundedReceiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut held = Held { kept, conn: None };
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        match commit_all(&mut held, &sql, batch.iter().flat_map(|j| &j.writes)).await {
            Ok(()) => {
                for job in batch.drain(..) {
                    job.reply.send(Ok(()));
                }
            }
            // One bad write must not fail the others: retry each on its own.
            Err(_) => {
                for job in batch.drain(..) {
                    let result = commit_all(&mut held, &sql, job.writes.iter()).await;
                    job.reply.send(result);
                }
            }
        }
    }
}

async fn commit_all<'a>(held: &mut Held, sql: &str, writes: impl Iterator<Item = &'a Write>) -> Result<(), StoreError> {
    let (mut logins, mut sessions) = (Vec::new(), Vec::new());
    for write in writes {
        match write {
            Write::Login(row) => logins.push(row),
            Write::Session(session) => sessions.push(session),
        }
    }
    // Flushes alone have nothing to commit.
    if logins.is_empty() && sessions.is_empty() {
        return Ok(());
    }
    let query = sqlx::query(sql)
        .bind(login_history::json_rows(&logins)?)
        .bind(sessions::json_rows(&sessions)?);
    let conn = held.conn().await?;
    if let Err(e) = query.execute(&mut **conn).await {
        // The statement left nothing open; but if the connection itself broke, the
        // retries must not be made on it.
        if conn.ping().await.is_err() {
            if let Some(conn) = held.conn.take() {
                conn.discard();
            }
        }
        return Err(e.into());
    }
    Ok(())
}
