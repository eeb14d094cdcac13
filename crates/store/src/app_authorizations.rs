//! Which users authorised which connected apps (by consent or an administrator's
//! pre-authorisation), and revoking that: the authorisation and every token the app
//! holds for the user.

use chrono::{DateTime, Utc};
use latchkey_core::ids::UserId;
use sqlx::FromRow;

use crate::time::{flag, from_millis};
use crate::{Conn, StoreError};

/// One authorisation, with its app's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppAuthorization {
    /// The app's consumer key.
    pub client_id: String,
    /// The app's name.
    pub app_name: String,
    /// The user.
    pub user_id: UserId,
    /// The user's username.
    pub username: String,
    /// Since when.
    pub created_at: DateTime<Utc>,
    /// An administrator's pre-authorisation (else the user's consent).
    pub by_admin: bool,
    /// Live refresh tokens the app holds for the user.
    pub refresh_tokens: i64,
}

#[derive(FromRow)]
struct Row {
    client_id: String,
    app_name: String,
    user_id: String,
    username: String,
    created_at: i64,
    by_admin: i64,
    refresh_tokens: i64,
}

impl TryFrom<Row> for AppAuthorization {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<Self, StoreError> {
        Ok(Self {
            client_id: r.client_id,
            app_name: r.app_name,
            user_id: r
                .user_id
                .parse()
                .map_err(|_| StoreError::Corrupt("authorization user"))?,
            username: r.username,
            created_at: from_millis(r.created_at, "authorization created_at")?,
            by_admin: flag(r.by_admin),
            refresh_tokens: r.refresh_tokens,
        })
    }
}

/// Records that `user` authorised the app (kept as first given).
pub async fn grant(
    conn: &mut Conn,
    client_id: &str,
    user: &UserId,
    by_admin: bool,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO app_authorizations (client_id, user_id, created_at, by_admin) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (client_id, user_id) DO NOTHING",
    )
    .bind(client_id)
    .bind(user.as_str())
    .bind(now.timestamp_millis())
    .bind(i64::from(by_admin))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Whether `user` authorised the app: `Some(by an administrator)`, or `None`.
pub async fn find(conn: &mut Conn, client_id: &str, user: &UserId) -> Result<Option<bool>, StoreError> {
    if crate::text::unstorable(client_id) {
        return Ok(None);
    }
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT by_admin FROM app_authorizations WHERE client_id = $1 AND user_id = $2")
            .bind(client_id)
            .bind(user.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row.map(|(by_admin,)| flag(by_admin)))
}

const SELECT: &str = "SELECT a.client_id, c.name AS app_name, a.user_id, u.username, a.created_at, a.by_admin, \
     (SELECT COUNT(*) FROM refresh_tokens r WHERE r.client_id = a.client_id AND r.user_id = a.user_id \
      AND r.replaced_at IS NULL) AS refresh_tokens \
     FROM app_authorizations a JOIN connected_apps c ON c.client_id = a.client_id JOIN users u ON u.id = a.user_id";

/// A user's authorised apps, by name.
pub async fn for_user(conn: &mut Conn, user: &UserId) -> Result<Vec<AppAuthorization>, StoreError> {
    sqlx::query_as::<_, Row>(&format!("{SELECT} WHERE a.user_id = $1 ORDER BY c.name"))
        .bind(user.as_str())
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(AppAuthorization::try_from)
        .collect()
}

/// Every authorisation of an org's apps (the administrators' view of OAuth usage).
pub async fn for_org(conn: &mut Conn, org: &latchkey_core::ids::OrgId) -> Result<Vec<AppAuthorization>, StoreError> {
    sqlx::query_as::<_, Row>(&format!("{SELECT} WHERE c.org_id = $1 ORDER BY c.name, u.username"))
        .bind(org.as_str())
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(AppAuthorization::try_from)
        .collect()
}

/// Revokes `user`'s authorisation of the app: the record, the app's refresh tokens for
/// the user and the access tokens it holds; `true` when there was an authorisation.
pub async fn revoke(conn: &mut Conn, client_id: &str, user: &UserId) -> Result<bool, StoreError> {
    sqlx::query("DELETE FROM sessions WHERE client_id = $1 AND user_id = $2")
        .bind(client_id)
        .bind(user.as_str())
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM refresh_tokens WHERE client_id = $1 AND user_id = $2")
        .bind(client_id)
        .bind(user.as_str())
        .execute(&mut *conn)
        .await?;
    let done = sqlx::query("DELETE FROM app_authorizations WHERE client_id = $1 AND user_id = $2")
        .bind(client_id)
        .bind(user.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}
