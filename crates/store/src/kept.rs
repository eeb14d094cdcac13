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

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex};

use sqlx::AnyPool;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{Conn, StoreError};

/// Most kept connections open at a time.
pub const MAX_KEPT: usize = 8;

/// The kept connections not in use, and the permits that bound how many exist.
#[derive(Debug)]
pub(crate) struct KeptConns {
    pool: AnyPool,
    free: Mutex<Vec<Conn>>,
    permits: Arc<Semaphore>,
}

impl KeptConns {
    pub(crate) fn new(pool: AnyPool) -> Arc<Self> {
        Arc::new(Self {
            pool,
            free: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(MAX_KEPT)),
        })
    }

    /// The most recently returned kept connection, or a new one taken out of the pool.
    pub(crate) async fn take(self: &Arc<Self>) -> Result<Kept, StoreError> {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Closed)?;
        let free = self.free.lock().ok().and_then(|mut free| free.pop());
        let conn = match free {
            Some(conn) => conn,
            None => self.pool.acquire().await?.detach(),
        };
        Ok(Kept {
            conn: Some(conn),
            home: Arc::clone(self),
            _permit: permit,
        })
    }
}

/// A kept connection in use; dropping it hands it to the next user as it is.
#[derive(Debug)]
pub struct Kept {
    conn: Option<Conn>,
    home: Arc<KeptConns>,
    _permit: OwnedSemaphorePermit,
}

impl Kept {
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
        // Only `discard` and `drop` take the connection, and both consume `self`.
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
            free.push(conn);
        }
    }
}
