//! OAuth refresh tokens. Only the SHA-256 digest of a token is stored. A token belongs
//! to one connected app and one user; it lives until revoked (by the user, an
//! administrator, a freeze, or a password change when its app says so), or — for apps
//! that rotate them — until a refresh replaces it. Tokens descending from one grant
//! form a family; a replaced token presented again gives the family away.

use chrono::{DateTime, Duration, Utc};
use latchkey_core::ids::{OrgId, UserId};
use latchkey_core::secret::SecretDigest;
use sqlx::FromRow;

use crate::time::from_millis;
use crate::{Conn, StoreError};

/// A live refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    /// The connected app it was issued to.
    pub client_id: String,
    /// Whose.
    pub user_id: UserId,
    /// In which org.
    pub org_id: OrgId,
    /// Issued at.
    pub created_at: DateTime<Utc>,
    /// Last redeemed at (to the minute: see [`redeem`]).
    pub last_used_at: DateTime<Utc>,
    /// The family: the grant it descends from.
    pub family: Vec<u8>,
}

#[derive(FromRow)]
struct Row {
    client_id: String,
    user_id: String,
    org_id: String,
    created_at: i64,
    last_used_at: i64,
    family: Option<Vec<u8>>,
    replaced_at: Option<i64>,
}

/// What a presented refresh token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redeemed {
    /// Live (and now marked used).
    Live(RefreshToken),
    /// Replaced by rotation: presenting it again means it leaked. Revoke the family.
    Replaced {
        /// Its family.
        family: Vec<u8>,
    },
}

impl TryFrom<Row> for RefreshToken {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<Self, StoreError> {
        Ok(Self {
            client_id: r.client_id,
            user_id: r
                .user_id
                .parse()
                .map_err(|_| StoreError::Corrupt("refresh token user"))?,
            org_id: r.org_id.parse().map_err(|_| StoreError::Corrupt("refresh token org"))?,
            created_at: from_millis(r.created_at, "refresh token created_at")?,
            last_used_at: from_millis(r.last_used_at, "refresh token last_used_at")?,
            family: r.family.unwrap_or_default(),
        })
    }
}

/// Stores a new refresh token for `user` of `org`, issued to the app `client_id`, the
/// first of its family (the family is named by the token's digest).
pub async fn insert(
    conn: &mut Conn,
    digest: &SecretDigest,
    client_id: &str,
    user: &UserId,
    org: &OrgId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO refresh_tokens (id_digest, client_id, user_id, org_id, created_at, last_used_at, family) \
         VALUES ($1, $2, $3, $4, $5, $5, $1)",
    )
    .bind(digest.as_bytes().as_slice())
    .bind(client_id)
    .bind(user.as_str())
    .bind(org.as_str())
    .bind(now.timestamp_millis())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Replaces the live token `old` by `new` (same app, user and family); `false` when
/// `old` was not live (a concurrent refresh replaced it first).
pub async fn replace(
    conn: &mut Conn,
    old: &SecretDigest,
    new: &SecretDigest,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE refresh_tokens SET replaced_at = $2 WHERE id_digest = $1 AND replaced_at IS NULL")
        .bind(old.as_bytes().as_slice())
        .bind(now.timestamp_millis())
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO refresh_tokens (id_digest, client_id, user_id, org_id, created_at, last_used_at, family) \
         SELECT $1, client_id, user_id, org_id, $2, $2, family FROM refresh_tokens WHERE id_digest = $3",
    )
    .bind(new.as_bytes().as_slice())
    .bind(now.timestamp_millis())
    .bind(old.as_bytes().as_slice())
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

/// Revokes every token of a family and the access tokens issued from them; returns
/// whose they were.
pub async fn delete_family(conn: &mut Conn, family: &[u8]) -> Result<Option<UserId>, StoreError> {
    sqlx::query(
        "DELETE FROM sessions WHERE refresh_digest IN (SELECT id_digest FROM refresh_tokens WHERE family = $1)",
    )
    .bind(family)
    .execute(&mut *conn)
    .await?;
    let users: Vec<(String,)> = sqlx::query_as("DELETE FROM refresh_tokens WHERE family = $1 RETURNING user_id")
        .bind(family)
        .fetch_all(&mut *conn)
        .await?;
    users
        .into_iter()
        .next()
        .map(|(u,)| u.parse().map_err(|_| StoreError::Corrupt("refresh token user")))
        .transpose()
}

/// How stale `last_used_at` may get before a redemption writes it again: a hot
/// integration refreshing every few seconds should not turn each refresh into a write.
const LAST_USED_RESOLUTION: Duration = Duration::minutes(1);

/// The token with this digest issued to `client_id`: live, or replaced by rotation.
pub async fn find(conn: &mut Conn, digest: &SecretDigest, client_id: &str) -> Result<Option<Redeemed>, StoreError> {
    if crate::text::unstorable(client_id) {
        return Ok(None);
    }
    let Some(row) = sqlx::query_as::<_, Row>(
        "SELECT client_id, user_id, org_id, created_at, last_used_at, family, replaced_at FROM refresh_tokens \
         WHERE id_digest = $1 AND client_id = $2",
    )
    .bind(digest.as_bytes().as_slice())
    .bind(client_id)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    if row.replaced_at.is_some() {
        return Ok(Some(Redeemed::Replaced {
            family: row.family.unwrap_or_default(),
        }));
    }
    Ok(Some(Redeemed::Live(RefreshToken::try_from(row)?)))
}

impl RefreshToken {
    /// Whether a use at `now` should be written (see [`LAST_USED_RESOLUTION`]).
    pub fn due_for_touch(&self, now: DateTime<Utc>) -> bool {
        now - self.last_used_at >= LAST_USED_RESOLUTION
    }
}

/// Marks the token with this digest used at `now`.
pub async fn touch(conn: &mut Conn, digest: &SecretDigest, now: DateTime<Utc>) -> Result<(), StoreError> {
    sqlx::query("UPDATE refresh_tokens SET last_used_at = $2 WHERE id_digest = $1")
        .bind(digest.as_bytes().as_slice())
        .bind(now.timestamp_millis())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The token with this digest issued to `client_id`, if it is live (marked used when
/// due, see [`LAST_USED_RESOLUTION`]), or the news that rotation replaced it.
pub async fn redeem(
    conn: &mut Conn,
    digest: &SecretDigest,
    client_id: &str,
    now: DateTime<Utc>,
) -> Result<Option<Redeemed>, StoreError> {
    let found = find(conn, digest, client_id).await?;
    if let Some(Redeemed::Live(token)) = &found {
        if token.due_for_touch(now) {
            touch(conn, digest, now).await?;
        }
    }
    Ok(found)
}

/// Revokes one token and every access token issued from it; returns whose it was.
pub async fn delete(conn: &mut Conn, digest: &SecretDigest) -> Result<Option<UserId>, StoreError> {
    sqlx::query("DELETE FROM sessions WHERE refresh_digest = $1")
        .bind(digest.as_bytes().as_slice())
        .execute(&mut *conn)
        .await?;
    let user: Option<(String,)> = sqlx::query_as("DELETE FROM refresh_tokens WHERE id_digest = $1 RETURNING user_id")
        .bind(digest.as_bytes().as_slice())
        .fetch_optional(&mut *conn)
        .await?;
    user.map(|(u,)| u.parse().map_err(|_| StoreError::Corrupt("refresh token user")))
        .transpose()
}

/// Which of a user's refresh tokens an event revokes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// All of them (freeze, deactivation, administrator revocation).
    All,
    /// Those of apps whose tokens do not survive a password change.
    PasswordChanged,
}

/// Revokes a user's refresh tokens as `which` says; returns how many.
pub async fn delete_for_user(conn: &mut Conn, user: &UserId, which: Revocation) -> Result<u64, StoreError> {
    let sql = match which {
        Revocation::All => "DELETE FROM refresh_tokens WHERE user_id = $1",
        Revocation::PasswordChanged => {
            "DELETE FROM refresh_tokens WHERE user_id = $1 AND client_id IN \
             (SELECT client_id FROM connected_apps WHERE refresh_survives_password_change = 0)"
        }
    };
    let done = sqlx::query(sql).bind(user.as_str()).execute(&mut *conn).await?;
    Ok(done.rows_affected())
}
