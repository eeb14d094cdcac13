//! Hub page sessions: the digest of each browser's random session id, whose user it
//! is and until when. Ending one is deleting its row, so a copied cookie dies with it.

use chrono::{DateTime, Utc};
use latchkey_core::secret::SecretDigest;

use crate::hub::HubUser;
use crate::{Conn, StoreError};

/// Records a session of `user_id` valid until `expires_at`.
pub async fn insert(
    conn: &mut Conn,
    digest: &SecretDigest,
    user_id: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO hub_sessions (id_digest, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(digest.as_bytes().as_slice())
        .bind(user_id)
        .bind(now.timestamp_millis())
        .bind(expires_at.timestamp_millis())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The user of the session with this digest, while it lasts.
pub async fn user(conn: &mut Conn, digest: &SecretDigest, now: DateTime<Utc>) -> Result<Option<HubUser>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT u.id, u.workspace_id, u.email, u.role, u.password_hash, u.failed_logins, u.locked_until FROM hub_sessions s \
         JOIN hub_users u ON u.id = s.user_id WHERE s.id_digest = $1 AND s.expires_at > $2",
    )
    .bind(digest.as_bytes().as_slice())
    .bind(now.timestamp_millis())
    .fetch_optional(&mut *conn)
    .await?)
}

/// Ends one session; whether it existed.
pub async fn delete(conn: &mut Conn, digest: &SecretDigest) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM hub_sessions WHERE id_digest = $1")
        .bind(digest.as_bytes().as_slice())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Ends every session of `user_id`; how many there were.
pub async fn delete_for_user(conn: &mut Conn, user_id: &str) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM hub_sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

/// Deletes sessions that expired before `now`; how many.
pub async fn purge(conn: &mut Conn, now: DateTime<Utc>) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM hub_sessions WHERE expires_at <= $1")
        .bind(now.timestamp_millis())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}
