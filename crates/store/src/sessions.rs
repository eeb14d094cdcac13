//! Sessions: what a SOAP `sessionId` or an OAuth access token stands for. Only the
//! SHA-256 digest of the id is stored; sessions expire after the org's idle timeout.

use chrono::{DateTime, Duration, Utc};
use latchkey_core::ids::{OrgId, UserId};
use latchkey_core::secret::SecretDigest;
use sqlx::FromRow;

use crate::engine::batch::{self, json_rows as to_json, JsonColumn};
use crate::time::{flag, from_millis};
use crate::{Backend, Conn, StoreError};

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Whose.
    pub user_id: UserId,
    /// In which org.
    pub org_id: OrgId,
    /// The connected app it was issued to (OAuth), if any.
    pub client_id: Option<String>,
    /// Only a password change is allowed (expired password).
    pub restricted: bool,
    /// Issued at.
    pub created_at: DateTime<Utc>,
    /// Expires at unless used again.
    pub expires_at: DateTime<Utc>,
}

#[derive(FromRow)]
struct Row {
    user_id: String,
    org_id: String,
    client_id: Option<String>,
    restricted: i64,
    created_at: i64,
    expires_at: i64,
}

/// A session to store (owned, so that it can wait in the group-commit queue: see
/// [`crate::Store::write`]).
#[derive(Debug, Clone)]
pub struct NewSession {
    /// Digest of the session id.
    pub digest: SecretDigest,
    /// Whose.
    pub user_id: UserId,
    /// Org.
    pub org_id: OrgId,
    /// Connected app, if any.
    pub client_id: Option<String>,
    /// Expired-password session.
    pub restricted: bool,
    /// Idle timeout.
    pub idle: Duration,
    /// Digest of the refresh token it was issued from (refresh-token grant), if any.
    pub refresh: Option<SecretDigest>,
    /// Issued at.
    pub now: DateTime<Utc>,
}

/// How each column of a sessions INSERT travels (see [`json_rows`]).
const JSON_COLUMNS: [JsonColumn; 9] = {
    use JsonColumn::{Hex, Integer, Text};
    [Hex, Text, Text, Text, Integer, Integer, Integer, Integer, Hex]
};

/// An INSERT of the sessions in the JSON array `rows` (from [`json_rows`]; see
/// [`batch::insert_from_json`]).
pub(crate) fn insert_from_json(backend: Backend, rows: &str) -> String {
    batch::insert_from_json(
        backend,
        "sessions (id_digest, user_id, org_id, client_id, restricted, created_at, last_used_at, expires_at, \
         refresh_digest)",
        rows,
        &JSON_COLUMNS,
    )
}

/// `new` as the JSON an [`insert_from_json`] statement reads.
pub(crate) fn json_rows(new: &[&NewSession]) -> Result<String, StoreError> {
    let rows: Vec<_> = new
        .iter()
        .map(|s| {
            (
                hex::encode(s.digest.as_bytes()),
                s.user_id.as_str(),
                s.org_id.as_str(),
                s.client_id.as_deref(),
                i64::from(s.restricted),
                s.now.timestamp_millis(),
                s.now.timestamp_millis(),
                (s.now + s.idle).timestamp_millis(),
                s.refresh.as_ref().map(|d| hex::encode(d.as_bytes())),
            )
        })
        .collect();
    to_json(&rows)
}

/// The live session with this digest, its idle expiry pushed to `now + idle`.
pub async fn touch(
    conn: &mut Conn,
    digest: &SecretDigest,
    now: DateTime<Utc>,
    idle: Duration,
) -> Result<Option<Session>, StoreError> {
    let row: Option<Row> = sqlx::query_as(
        "UPDATE sessions SET last_used_at = $2, expires_at = $3 WHERE id_digest = $1 AND expires_at > $2 \
         RETURNING user_id, org_id, client_id, restricted, created_at, expires_at",
    )
    .bind(digest.as_bytes().as_slice())
    .bind(now.timestamp_millis())
    .bind((now + idle).timestamp_millis())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(Session {
            user_id: r.user_id.parse().map_err(|_| StoreError::Corrupt("session user"))?,
            org_id: r.org_id.parse().map_err(|_| StoreError::Corrupt("session org"))?,
            client_id: r.client_id,
            restricted: flag(r.restricted),
            created_at: from_millis(r.created_at, "session created_at")?,
            expires_at: from_millis(r.expires_at, "session expires_at")?,
        })
    })
    .transpose()
}

/// Ends one session; `true` when it existed.
pub async fn delete(conn: &mut Conn, digest: &SecretDigest) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM sessions WHERE id_digest = $1")
        .bind(digest.as_bytes().as_slice())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Deletes up to `limit` sessions that expired at or before `now`; returns how many.
pub async fn delete_expired(conn: &mut Conn, now: DateTime<Utc>, limit: i64) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "DELETE FROM sessions WHERE id_digest IN \
         (SELECT id_digest FROM sessions WHERE expires_at <= $1 LIMIT $2)",
    )
    .bind(now.timestamp_millis())
    .bind(limit)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Ends every session of a user; returns how many.
pub async fn delete_for_user(conn: &mut Conn, user: &UserId) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

/// A live session as its owner sees it in My Settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The digest of its id: names it for "revoke" without revealing it.
    pub digest: SecretDigest,
    /// The connected app it was issued to (OAuth), if any.
    pub client_id: Option<String>,
    /// Issued at.
    pub created_at: DateTime<Utc>,
    /// Last used at.
    pub last_used_at: DateTime<Utc>,
    /// Expires at unless used again.
    pub expires_at: DateTime<Utc>,
}

#[derive(FromRow)]
struct ListedRow {
    id_digest: Vec<u8>,
    client_id: Option<String>,
    created_at: i64,
    last_used_at: i64,
    expires_at: i64,
}

/// The user's live sessions at `now`, most recently used first.
pub async fn for_user(conn: &mut Conn, user: &UserId, now: DateTime<Utc>) -> Result<Vec<Listed>, StoreError> {
    let rows: Vec<ListedRow> = sqlx::query_as(
        "SELECT id_digest, client_id, created_at, last_used_at, expires_at FROM sessions \
         WHERE user_id = $1 AND expires_at > $2 ORDER BY last_used_at DESC",
    )
    .bind(user.as_str())
    .bind(now.timestamp_millis())
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(Listed {
                digest: SecretDigest::from_bytes(&r.id_digest).ok_or(StoreError::Corrupt("session digest"))?,
                client_id: r.client_id,
                created_at: from_millis(r.created_at, "session created_at")?,
                last_used_at: from_millis(r.last_used_at, "session last_used_at")?,
                expires_at: from_millis(r.expires_at, "session expires_at")?,
            })
        })
        .collect()
}

/// Ends the user's session with this digest; `true` when it is theirs and live.
pub async fn delete_for_user_by_digest(
    conn: &mut Conn,
    user: &UserId,
    digest: &SecretDigest,
) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM sessions WHERE id_digest = $1 AND user_id = $2")
        .bind(digest.as_bytes().as_slice())
        .bind(user.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}
