//! Login history: one row per attempt, with Salesforce's status strings.

use chrono::{DateTime, Utc};
use latchkey_core::ids::{LoginHistoryId, OrgId, UserId};
use serde::Serialize;
use sqlx::FromRow;

use crate::engine::batch::{self, json_rows as to_json, JsonColumn};
use crate::time::from_millis;
use crate::{Backend, Conn, Store, StoreError};

/// One login attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoginRecord {
    /// Row id (`0Ya…`).
    pub id: String,
    /// The org, when the user is known.
    pub org_id: Option<String>,
    /// The user, when known.
    pub user_id: Option<String>,
    /// The username as presented (lower case).
    pub username: String,
    /// When.
    pub login_time: DateTime<Utc>,
    /// From where.
    pub source_ip: String,
    /// `LoginType`: Application, Other Apex API, Remote Access 2.0.
    pub login_type: String,
    /// Status text.
    pub status: String,
    /// Client or connected-app name.
    pub application: String,
    /// API type, e.g. "SOAP Partner", or "N/A".
    pub api_type: String,
    /// API version, e.g. "59.0", or "N/A".
    pub api_version: String,
}

#[derive(FromRow)]
struct Row {
    id: String,
    org_id: Option<String>,
    user_id: Option<String>,
    username: String,
    login_time: i64,
    source_ip: String,
    login_type: String,
    status: String,
    application: String,
    api_type: String,
    api_version: String,
}

/// A row to write (owned, so that it can wait in the group-commit queue: see
/// [`crate::Store::write`]).
#[derive(Debug, Clone)]
pub struct NewLogin {
    /// The org, when the user is known.
    pub org_id: Option<OrgId>,
    /// The user, when known.
    pub user_id: Option<UserId>,
    /// The username as presented.
    pub username: String,
    /// When.
    pub login_time: DateTime<Utc>,
    /// From where.
    pub source_ip: String,
    /// `LoginType`.
    pub login_type: &'static str,
    /// Status text.
    pub status: &'static str,
    /// Client or app name.
    pub application: String,
    /// API type or "N/A".
    pub api_type: String,
    /// API version or "N/A".
    pub api_version: String,
}

/// How each column of a login-history INSERT travels (see [`json_rows`]).
const JSON_COLUMNS: [JsonColumn; 11] = {
    use JsonColumn::{Integer, Text};
    [Text, Text, Text, Text, Integer, Text, Text, Text, Text, Text, Text]
};

/// An INSERT of the rows in the JSON array `rows` (from [`json_rows`]; see
/// [`batch::insert_from_json`]).
pub(crate) fn insert_from_json(backend: Backend, rows: &str) -> String {
    batch::insert_from_json(
        backend,
        "login_history (id, org_id, user_id, username, login_time, source_ip, login_type, status, application, \
         api_type, api_version)",
        rows,
        &JSON_COLUMNS,
    )
}

/// `rows`, each with a new id, as the JSON an [`insert_from_json`] statement reads.
pub(crate) fn json_rows(rows: &[&NewLogin]) -> Result<String, StoreError> {
    let rows: Vec<_> = rows
        .iter()
        .map(|row| {
            (
                LoginHistoryId::generate().as_str().to_owned(),
                row.org_id.as_ref().map(OrgId::as_str),
                row.user_id.as_ref().map(UserId::as_str),
                crate::text::recordable(&row.username.trim().to_lowercase()).into_owned(),
                row.login_time.timestamp_millis(),
                &row.source_ip,
                row.login_type,
                row.status,
                crate::text::recordable(&row.application),
                crate::text::recordable(&row.api_type),
                crate::text::recordable(&row.api_version),
            )
        })
        .collect();
    to_json(&rows)
}

/// Appends one row.
pub async fn insert(conn: &mut Conn, row: &NewLogin) -> Result<(), StoreError> {
    sqlx::query(&insert_from_json(Backend::of_connection(conn), "$1"))
        .bind(json_rows(&[row])?)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Which rows to read.
#[derive(Debug, Clone, Default)]
pub struct Filter<'a> {
    /// Only this org's users.
    pub org_id: Option<&'a OrgId>,
    /// Only this user.
    pub user_id: Option<&'a UserId>,
    /// At most this many (newest first).
    pub limit: i64,
}

/// A connection to read the history with, once every queued row is committed
/// (refusals' rows are queued, [`Store::queue`]).
async fn settled(store: &Store) -> Result<sqlx::pool::PoolConnection<sqlx::Any>, StoreError> {
    store.flush().await?;
    store.conn().await
}

/// The newest rows matching `filter`, queued ones included.
pub async fn list(store: &Store, filter: &Filter<'_>) -> Result<Vec<LoginRecord>, StoreError> {
    let mut conn = settled(store).await?;
    let rows = sqlx::query_as::<_, Row>(
        "SELECT id, org_id, user_id, username, login_time, source_ip, login_type, status, application, \
         api_type, api_version FROM login_history \
         WHERE ($1 IS NULL OR org_id = $1) AND ($2 IS NULL OR user_id = $2) \
         ORDER BY login_time DESC, id DESC LIMIT $3",
    )
    .bind(filter.org_id.map(OrgId::as_str))
    .bind(filter.user_id.map(UserId::as_str))
    .bind(filter.limit.max(1))
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(record).collect()
}

fn record(r: Row) -> Result<LoginRecord, StoreError> {
    Ok(LoginRecord {
        login_time: from_millis(r.login_time, "login_time")?,
        id: r.id,
        org_id: r.org_id,
        user_id: r.user_id,
        username: r.username,
        source_ip: r.source_ip,
        login_type: r.login_type,
        status: r.status,
        application: r.application,
        api_type: r.api_type,
        api_version: r.api_version,
    })
}

/// Which attempts a search keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// All of them.
    Any,
    /// Successful logins.
    Succeeded,
    /// Everything else.
    Failed,
}

impl Outcome {
    fn code(self) -> &'static str {
        match self {
            Self::Any => "any",
            Self::Succeeded => "ok",
            Self::Failed => "failed",
        }
    }
}

/// An administrator's search of the org's login history.
#[derive(Debug, Clone, Copy)]
pub struct Search<'a> {
    /// The org.
    pub org_id: &'a OrgId,
    /// Only this username (as typed at login, any case).
    pub username: Option<&'a str>,
    /// Only these outcomes.
    pub outcome: Outcome,
    /// Only attempts at or after this time.
    pub since: DateTime<Utc>,
    /// At most this many (newest first).
    pub limit: i64,
}

/// The newest rows matching `search`, queued ones included.
pub async fn search(store: &Store, search: &Search<'_>) -> Result<Vec<LoginRecord>, StoreError> {
    let mut conn = settled(store).await?;
    let rows = sqlx::query_as::<_, Row>(
        "SELECT id, org_id, user_id, username, login_time, source_ip, login_type, status, application, \
         api_type, api_version FROM login_history \
         WHERE org_id = $1 AND ($2 IS NULL OR username = $2) AND login_time >= $3 \
           AND ($4 = 'any' OR ($4 = 'ok' AND status = 'Success') OR ($4 = 'failed' AND status <> 'Success')) \
         ORDER BY login_time DESC, id DESC LIMIT $5",
    )
    .bind(search.org_id.as_str())
    .bind(search.username.map(|u| u.trim().to_lowercase()))
    .bind(search.since.timestamp_millis())
    .bind(search.outcome.code())
    .bind(search.limit.max(1))
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(record).collect()
}

/// Successful and failed logins in one hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HourCount {
    /// The hour's start.
    pub hour: DateTime<Utc>,
    /// Successful logins.
    pub succeeded: i64,
    /// Failed ones.
    pub failed: i64,
}

/// The org's logins per hour since `since`, hours without logins left out, queued
/// ones included.
pub async fn hourly(store: &Store, org_id: &OrgId, since: DateTime<Utc>) -> Result<Vec<HourCount>, StoreError> {
    let mut conn = settled(store).await?;
    let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT login_time / 3600000, SUM(CASE WHEN status = 'Success' THEN 1 ELSE 0 END), \
         SUM(CASE WHEN status = 'Success' THEN 0 ELSE 1 END) FROM login_history \
         WHERE org_id = $1 AND login_time >= $2 GROUP BY login_time / 3600000 ORDER BY 1",
    )
    .bind(org_id.as_str())
    .bind(since.timestamp_millis())
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|(hour, succeeded, failed)| {
            Ok(HourCount {
                hour: from_millis(hour * 3_600_000, "login hour")?,
                succeeded,
                failed,
            })
        })
        .collect()
}
