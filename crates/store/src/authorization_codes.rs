//! Authorization codes of the web-server flow, by the digest of the code. A code works
//! once; spending it twice is reported, so the caller can revoke what the first
//! exchange issued.

use chrono::{DateTime, Utc};
use latchkey_core::ids::UserId;
use latchkey_core::secret::SecretDigest;
use sqlx::FromRow;

use crate::{Conn, StoreError};

/// What a code was issued for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationCode {
    /// The app it was issued to.
    pub client_id: String,
    /// The user who allowed it.
    pub user_id: UserId,
    /// The redirect URI of the authorization request (the exchange must repeat it).
    pub redirect_uri: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// The PKCE S256 challenge, when the request carried one.
    pub code_challenge: Option<String>,
}

#[derive(FromRow)]
struct Row {
    client_id: String,
    user_id: String,
    redirect_uri: String,
    scope: String,
    code_challenge: Option<String>,
    expires_at: i64,
    used_at: Option<i64>,
    family: Option<Vec<u8>>,
}

/// What spending a code found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spent {
    /// A fresh code, now spent.
    Fresh(AuthorizationCode),
    /// Spent before: a replay. `family` names the refresh tokens the first exchange
    /// issued, if any.
    Replayed {
        /// Refresh-token family to revoke.
        family: Option<Vec<u8>>,
    },
    /// Expired, unknown, or another app's.
    Invalid,
}

/// Stores a code valid until `expires_at`.
pub async fn insert(
    conn: &mut Conn,
    digest: &SecretDigest,
    code: &AuthorizationCode,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO authorization_codes (code_digest, client_id, user_id, redirect_uri, scope, code_challenge, \
         created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(digest.as_bytes().as_slice())
    .bind(&code.client_id)
    .bind(code.user_id.as_str())
    .bind(&code.redirect_uri)
    .bind(&code.scope)
    .bind(code.code_challenge.as_deref())
    .bind(now.timestamp_millis())
    .bind(expires_at.timestamp_millis())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Spends the code with this digest presented by `client_id` at `now`.
pub async fn spend(
    conn: &mut Conn,
    digest: &SecretDigest,
    client_id: &str,
    now: DateTime<Utc>,
) -> Result<Spent, StoreError> {
    let Some(row) = sqlx::query_as::<_, Row>(
        "SELECT client_id, user_id, redirect_uri, scope, code_challenge, expires_at, used_at, family \
         FROM authorization_codes WHERE code_digest = $1",
    )
    .bind(digest.as_bytes().as_slice())
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(Spent::Invalid);
    };
    if row.client_id != client_id {
        return Ok(Spent::Invalid);
    }
    if row.used_at.is_some() {
        return Ok(Spent::Replayed { family: row.family });
    }
    if row.expires_at <= now.timestamp_millis() {
        return Ok(Spent::Invalid);
    }
    let done = sqlx::query("UPDATE authorization_codes SET used_at = $2 WHERE code_digest = $1 AND used_at IS NULL")
        .bind(digest.as_bytes().as_slice())
        .bind(now.timestamp_millis())
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() != 1 {
        // Another exchange spent it a moment ago.
        return Ok(Spent::Replayed { family: None });
    }
    Ok(Spent::Fresh(AuthorizationCode {
        client_id: row.client_id,
        user_id: row
            .user_id
            .parse()
            .map_err(|_| StoreError::Corrupt("authorization code user"))?,
        redirect_uri: row.redirect_uri,
        scope: row.scope,
        code_challenge: row.code_challenge,
    }))
}

/// Records the refresh-token family a spent code issued (revoked if it is replayed).
pub async fn set_family(conn: &mut Conn, digest: &SecretDigest, family: &[u8]) -> Result<(), StoreError> {
    sqlx::query("UPDATE authorization_codes SET family = $2 WHERE code_digest = $1")
        .bind(digest.as_bytes().as_slice())
        .bind(family)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Deletes codes that expired before `before`.
pub async fn purge(conn: &mut Conn, before: DateTime<Utc>) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM authorization_codes WHERE expires_at < $1")
        .bind(before.timestamp_millis())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}
