//! Identity-verification challenges of browser logins from untrusted networks.

use chrono::{DateTime, Utc};
use latchkey_core::ids::UserId;
use sqlx::FromRow;

use crate::time::{from_millis, opt_from_millis};
use crate::{Conn, StoreError};

/// A challenge as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Id (also in the browser's cookie).
    pub id: String,
    /// Whose login it verifies.
    pub user_id: UserId,
    /// Keyed digest of the code.
    pub code_digest: Vec<u8>,
    /// Where the login came from.
    pub source_ip: String,
    /// Valid until.
    pub expires_at: DateTime<Utc>,
    /// Wrong codes entered so far.
    pub attempts: i64,
    /// When it was used (then it is spent).
    pub used_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for Challenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Challenge")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

#[derive(FromRow)]
struct Row {
    id: String,
    user_id: String,
    code_digest: Vec<u8>,
    source_ip: String,
    expires_at: i64,
    attempts: i64,
    used_at: Option<i64>,
}

/// Stores a new challenge.
pub async fn insert(conn: &mut Conn, c: &Challenge, now: DateTime<Utc>) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO login_challenges (id, user_id, code_digest, source_ip, created_at, expires_at, attempts) \
         VALUES ($1, $2, $3, $4, $5, $6, 0)",
    )
    .bind(&c.id)
    .bind(c.user_id.as_str())
    .bind(c.code_digest.as_slice())
    .bind(&c.source_ip)
    .bind(now.timestamp_millis())
    .bind(c.expires_at.timestamp_millis())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The challenge `id`, if it exists.
pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<Challenge>, StoreError> {
    if crate::text::unstorable(id) {
        return Ok(None);
    }
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, user_id, code_digest, source_ip, expires_at, attempts, used_at FROM login_challenges WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(Challenge {
            user_id: r
                .user_id
                .parse()
                .map_err(|_| StoreError::Corrupt("challenge user id"))?,
            expires_at: from_millis(r.expires_at, "challenge expires_at")?,
            used_at: r.used_at.map(|t| from_millis(t, "challenge used_at")).transpose()?,
            id: r.id,
            code_digest: r.code_digest,
            source_ip: r.source_ip,
            attempts: r.attempts,
        })
    })
    .transpose()
}

/// Counts a wrong code; returns the attempts so far.
pub async fn count_attempt(conn: &mut Conn, id: &str) -> Result<i64, StoreError> {
    let (n,): (i64,) =
        sqlx::query_as("UPDATE login_challenges SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts")
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
    Ok(n)
}

/// Spends the challenge; `false` when it was already used (a replay or a race).
pub async fn mark_used(conn: &mut Conn, id: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE login_challenges SET used_at = $2 WHERE id = $1 AND used_at IS NULL")
        .bind(id)
        .bind(now.timestamp_millis())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// How many challenges user `user` has received since `since`, and the time of the
/// oldest of them.
pub async fn sent_since(
    conn: &mut Conn,
    user: &UserId,
    since: DateTime<Utc>,
) -> Result<(i64, Option<DateTime<Utc>>), StoreError> {
    let (n, oldest): (i64, Option<i64>) = sqlx::query_as(
        "SELECT COUNT(*), MIN(created_at) FROM login_challenges WHERE user_id = $1 AND created_at >= $2",
    )
    .bind(user.as_str())
    .bind(since.timestamp_millis())
    .fetch_one(&mut *conn)
    .await?;
    Ok((n, opt_from_millis(oldest, "challenge created_at")?))
}

/// Deletes challenges that expired before `before`; returns how many.
pub async fn purge(conn: &mut Conn, before: DateTime<Utc>) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM login_challenges WHERE expires_at < $1")
        .bind(before.timestamp_millis())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}
