//! "Forgot Your Password?" links, by the digest of their token.

use chrono::{DateTime, Utc};
use latchkey_core::ids::UserId;
use latchkey_core::secret::SecretDigest;

use crate::{Conn, StoreError};

/// Stores a link's token digest for `user`, valid until `expires_at`.
pub async fn insert(
    conn: &mut Conn,
    digest: &SecretDigest,
    user: &UserId,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO password_resets (token_digest, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(digest.as_bytes().as_slice())
        .bind(user.as_str())
        .bind(now.timestamp_millis())
        .bind(expires_at.timestamp_millis())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The user of a link that is unused and unexpired at `now`.
pub async fn usable(conn: &mut Conn, digest: &SecretDigest, now: DateTime<Utc>) -> Result<Option<UserId>, StoreError> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT user_id FROM password_resets WHERE token_digest = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(digest.as_bytes().as_slice())
    .bind(now.timestamp_millis())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|(id,)| id.parse().map_err(|_| StoreError::Corrupt("password reset user id")))
        .transpose()
}

/// Spends a link; `false` when it was already used or expired (a replay or a race).
pub async fn spend(conn: &mut Conn, digest: &SecretDigest, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE password_resets SET used_at = $2 WHERE token_digest = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(digest.as_bytes().as_slice())
    .bind(now.timestamp_millis())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends every unused link of `user` (a newer one was sent, or the password changed).
pub async fn void_for_user(conn: &mut Conn, user: &UserId, now: DateTime<Utc>) -> Result<u64, StoreError> {
    let done = sqlx::query("UPDATE password_resets SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL")
        .bind(user.as_str())
        .bind(now.timestamp_millis())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

/// Deletes links that expired before `before`.
pub async fn purge(conn: &mut Conn, before: DateTime<Utc>) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM password_resets WHERE expires_at < $1")
        .bind(before.timestamp_millis())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}
