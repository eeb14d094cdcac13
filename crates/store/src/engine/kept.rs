//! Connections kept out of the pool for the two paths every login takes: the
//! committing task's group commits and the fresh read of a user under a hashing slot.
//!
//! sqlx pings every connection it takes back into its pool, in a task it spawns for
//! that: on SQLite a command to the connection's thread and back, on PostgreSQL a
//! network round trip. For a login that was one extra round trip per query, on cores
//! that are busy hashing. A kept connection is taken out of the pool once (the pool
//! opens a replacement), handed from one user to the next without a ping, and closed
//! when its user saw it fail. On SQLite it also keeps its page cache between uses
//! until another connection writes.
//!
//! At most [`MAX_KEPT`] are out at a time; a caller beyond that waits for one. Their
//! users are few by construction (one committing task, one hash per core).
//!
//! A connection that sat unused for longer than [`PING_AFTER_IDLE`] is pinged before
//! its next use, kept or pooled alike ([`ping_if_idle`]): PostgreSQL may have been
//! restarted, or its backend ended by an administrator, while nobody used it, and the
//! first request after that must not be the one to find out. A busy server uses its
//! connections faster than that and sends no pings; an idle one has the time for them.

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::{AnyPool, Connection, Executor};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{Conn, StoreError};

/// Most kept connections open at a time.
pub const MAX_KEPT: usize = 8;

/// How long a connection may sit unused before it is pinged ahead of its next use.
pub const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// Pings `conn` if it has been unused for longer than [`PING_AFTER_IDLE`]; an error
/// means it is broken and must be closed rather than used.
pub(crate) async fn ping_if_idle(conn: &mut Conn, idle_for: Duration) -> Result<(), sqlx::Error> {
    if idle_for > PING_AFTER_IDLE {
        conn.ping().await?;
    }
    Ok(())
}

/// The kept connections not in use (each with when it was returned), and the permits
/// that bound how many exist.
#[derive(Debug)]
pub(crate) struct KeptConns {
    pool: AnyPool,
    /// Statements each connection runs once, when it is taken out of the pool.
    setup: Option<String>,
    free: Mutex<Vec<(Conn, Instant)>>,
    permits: Arc<Semaphore>,
}

impl KeptConns {
    /// Kept connections out of `pool`, each running `setup` once when it is taken out.
    pub(crate) fn new(pool: AnyPool, setup: Option<String>) -> Arc<Self> {
        Arc::new(Self {
            pool,
            setup,
            free: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(MAX_KEPT)),
        })
    }

    /// A connection taken out of the pool for good, set up.
    async fn detach(&self) -> Result<Conn, StoreError> {
        let mut conn = self.pool.acquire().await?.detach();
        if let Some(setup) = &self.setup {
            conn.execute(setup.as_str()).await?;
        }
        Ok(conn)
    }

    /// The most recently returned kept connection, or a new one taken out of the pool.
    pub(crate) async fn take(self: &Arc<Self>) -> Result<Kept, StoreError> {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Closed)?;
        let free = self.free.lock().ok().and_then(|mut free| free.pop());
        let (conn, last_use) = match free {
            Some(free) => free,
            None => (self.detach().await?, Instant::now()),
        };
        let mut kept = Kept {
            conn: Some(conn),
            last_use,
            home: Arc::clone(self),
            _permit: permit,
        };
        kept.ready().await?;
        Ok(kept)
    }
}

/// A kept connection in use; dropping it hands it to the next user as it is.
#[derive(Debug)]
pub struct Kept {
    conn: Option<Conn>,
    /// When its last use began.
    last_use: Instant,
    home: Arc<KeptConns>,
    _permit: OwnedSemaphorePermit,
}

impl Kept {
    /// Readies the connection for a use: one unused for longer than [`PING_AFTER_IDLE`]
    /// is pinged, and replaced by a connection from the pool if the ping fails. A user
    /// that holds a kept connection between uses (the committing task) calls this
    /// before each. After an error the connection is gone: drop this `Kept`.
    pub(crate) async fn ready(&mut self) -> Result<(), StoreError> {
        let idle_for = self.last_use.elapsed();
        if let Some(conn) = self.conn.as_mut() {
            if let Err(error) = ping_if_idle(conn, idle_for).await {
                tracing::info!(%error, "a kept connection failed its ping; it is closed and replaced");
                self.conn = None;
                self.conn = Some(self.home.detach().await?);
            }
        }
        self.last_use = Instant::now();
        Ok(())
    }

    /// Closes the connection instead of keeping it: its user saw it fail, and a
    /// connection in an unknown state (a broken socket, an open transaction) must not
    /// serve the next one.
    pub fn discard(mut self) {
        self.conn = None;
    }
}

impl Deref for Kept {
    type Target = Conn;

    fn deref(&self) -> &Conn {
        // Only `discard` and `drop` take the connection, and both consume `self`; a
        // failed `ready` leaves none, and its callers drop the `Kept` then.
        self.conn
            .as_ref()
            .unwrap_or_else(|| unreachable!("a kept connection is present until dropped"))
    }
}

impl DerefMut for Kept {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn
            .as_mut()
            .unwrap_or_else(|| unreachable!("a kept connection is present until dropped"))
    }
}

impl Drop for Kept {
    fn drop(&mut self) {
        if let (Some(conn), Ok(mut free)) = (self.conn.take(), self.home.free.lock()) {
            free.push((conn, Instant::now()));
        }
    }
}
