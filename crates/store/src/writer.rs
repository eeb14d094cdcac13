//! Group commit for small, independent writes that every login and token grant makes:
//! a login-history row and a new session. Requests queue their write and wait; one
//! task commits whatever has queued in a single transaction (one multi-row INSERT per
//! table) and then answers each.
//! Nothing is acknowledged before it is committed, so durability is unchanged; what
//! changes is that a burst of logins costs one commit (and, on SQLite, one round of
//! page-cache invalidation in the other pooled connections) instead of one each.

use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};

use crate::login_history::{self, NewLogin};
use crate::sessions::{self, NewSession};
use crate::{Backend, StoreError};

/// Most writes committed together.
const MAX_BATCH: usize = 256;

/// Most rows per multi-row INSERT (keeps the bound parameters under SQLite's old
/// limit of 999).
pub(crate) const ROWS_PER_INSERT: usize = 64;

/// The type of a statement being bound.
pub(crate) type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// `VALUES ($1, …, $c), ($c+1, …)` for `rows` rows of `columns` columns: multi-row
/// INSERTs with the `$n` placeholders both backends accept through `sqlx::Any`.
pub(crate) fn values_clause(rows: usize, columns: usize) -> String {
    values_clause_from(1, rows, columns)
}

/// [`values_clause`] with placeholders numbered from `first`.
pub(crate) fn values_clause_from(first: usize, rows: usize, columns: usize) -> String {
    let mut sql = String::from("VALUES ");
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..columns {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", first + r * columns + c));
        }
        sql.push(')');
    }
    sql
}

/// A write that may share a transaction with unrelated others.
#[derive(Debug, Clone)]
pub enum Write {
    /// Append a login-history row.
    Login(NewLogin),
    /// Store a new session.
    Session(NewSession),
}

/// A queued write and who waits for it.
#[derive(Debug)]
pub(crate) struct Job {
    writes: Vec<Write>,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// The queue's sending end.
#[derive(Debug, Clone)]
pub(crate) struct Writer(mpsc::UnboundedSender<Job>);

impl Writer {
    /// Starts the committing task on the current runtime; it ends when every
    /// [`Writer`] is dropped.
    pub(crate) fn spawn(pool: AnyPool, backend: Backend) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(pool, backend, rx));
        Self(tx)
    }

    /// Queues `writes` and waits until they are committed (together).
    pub(crate) async fn write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let (done, answer) = oneshot::channel();
        self.0.send(Job { writes, done }).map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

async fn run(pool: AnyPool, backend: Backend, mut rx: mpsc::UnboundedReceiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        match commit_all(&pool, backend, batch.iter().flat_map(|j| &j.writes)).await {
            Ok(()) => {
                for job in batch.drain(..) {
                    let _ = job.done.send(Ok(()));
                }
            }
            // One bad write must not fail the others: retry each on its own.
            Err(_) => {
                for job in batch.drain(..) {
                    let result = commit_all(&pool, backend, job.writes.iter()).await;
                    let _ = job.done.send(result);
                }
            }
        }
    }
}

async fn commit_all<'a>(
    pool: &AnyPool,
    backend: Backend,
    writes: impl Iterator<Item = &'a Write>,
) -> Result<(), StoreError> {
    let (mut logins, mut sessions) = (Vec::new(), Vec::new());
    for write in writes {
        match write {
            Write::Login(row) => logins.push(row),
            Write::Session(session) => sessions.push(session),
        }
    }
    if backend == Backend::Postgres {
        return commit_in_one_statement(pool, &logins, &sessions).await;
    }
    let mut tx = pool.begin().await?;
    login_history::insert_many(&mut tx, &logins).await?;
    sessions::insert_many(&mut tx, &sessions).await?;
    tx.commit().await?;
    Ok(())
}

/// PostgreSQL: the whole batch as one auto-committed statement (the login-history
/// INSERT in a `WITH` clause of the sessions INSERT), so one round trip instead of
/// four (BEGIN, two INSERTs, COMMIT). The committing task was the queue's bottleneck
/// and spent about half its time waiting for its turn between those round trips.
async fn commit_in_one_statement(
    pool: &AnyPool,
    logins: &[&NewLogin],
    sessions: &[&NewSession],
) -> Result<(), StoreError> {
    let history = (!logins.is_empty()).then(|| login_history::insert_statement(1, logins.len()));
    let first = 1 + logins.len() * login_history::COLUMNS;
    let session = (!sessions.is_empty()).then(|| sessions::insert_statement(first, sessions.len()));
    let sql = match (history, session) {
        (Some(h), Some(s)) => format!("WITH logins AS ({h}) {s}"),
        (Some(one), None) | (None, Some(one)) => one,
        (None, None) => return Ok(()),
    };
    let q = sessions::bind(login_history::bind(sqlx::query(&sql), logins), sessions);
    q.execute(pool).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_clauses_number_placeholders_row_by_row() {
        assert_eq!(super::values_clause(1, 2), "VALUES ($1, $2)");
        assert_eq!(super::values_clause(2, 3), "VALUES ($1, $2, $3), ($4, $5, $6)");
        assert_eq!(super::values_clause_from(4, 1, 2), "VALUES ($4, $5)");
    }
}
