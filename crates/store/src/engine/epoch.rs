//! The change epoch: a counter the database moves (by trigger) whenever an input of a
//! login decision changes — a user's state or credentials, an org's policy, a profile,
//! an IP range, a connected app. Servers that keep those inputs in memory poll it.

use crate::{Conn, StoreError};

/// Moves the epoch by hand, for a change no trigger sees (sessions revoked: servers
/// that cache checked sessions then forget them).
pub async fn advance(conn: &mut Conn) -> Result<(), StoreError> {
    sqlx::query("UPDATE change_epoch SET value = value + 1 WHERE id = 1")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The current epoch.
pub async fn current(conn: &mut Conn) -> Result<i64, StoreError> {
    let (value,): (i64,) = sqlx::query_as("SELECT value FROM change_epoch WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?;
    Ok(value)
}
