//! The hub's tables: workspaces and their CRM credential records. Secrets arrive here
//! already sealed by the hub's vault; the store never sees them in the clear.

pub mod sessions;
pub mod sync;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use latchkey_core::connectors::{ConnectorState, Direction};
use sqlx::FromRow;

use crate::time::from_millis;
use crate::{Conn, StoreError};

/// A hub workspace (one customer account of the integration platform).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    /// Id.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Created at.
    pub created_at: DateTime<Utc>,
}

/// A CRM credential record as stored: its secrets sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedCredential {
    /// Id.
    pub id: String,
    /// Workspace.
    pub workspace_id: String,
    /// The CRM org's login URL.
    pub login_url: String,
    /// CRM username.
    pub username: String,
    /// Connected-app client id, if OAuth is used.
    pub client_id: Option<String>,
    /// The sealed secrets (nonce ‖ ciphertext).
    pub sealed: Vec<u8>,
    /// The vault key that sealed them.
    pub key_id: String,
    /// Last changed at.
    pub updated_at: DateTime<Utc>,
    /// Fingerprint of the secrets the CRM rejected, if it did.
    pub rejected_fingerprint: Option<Vec<u8>>,
    /// What the CRM said then.
    pub rejected_reason: Option<String>,
    /// The org's webhook event that announced the rejection before any login failed
    /// (`None`: a login failed).
    pub rejected_by: Option<String>,
    /// When the rejection happened (or the announced event did).
    pub rejected_at: Option<DateTime<Utc>>,
    /// When the CRM last accepted a login with this record.
    pub accepted_at: Option<DateTime<Utc>>,
}

#[derive(FromRow)]
struct WorkspaceRow {
    id: String,
    name: String,
    created_at: i64,
}

#[derive(FromRow)]
struct CredentialRow {
    id: String,
    workspace_id: String,
    login_url: String,
    username: String,
    client_id: Option<String>,
    sealed: Vec<u8>,
    key_id: String,
    updated_at: i64,
    rejected_fingerprint: Option<Vec<u8>>,
    rejected_reason: Option<String>,
    rejected_by: Option<String>,
    rejected_at: Option<i64>,
    accepted_at: Option<i64>,
}

impl TryFrom<CredentialRow> for SealedCredential {
    type Error = StoreError;
    fn try_from(r: CredentialRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: r.id,
            workspace_id: r.workspace_id,
            login_url: r.login_url,
            username: r.username,
            client_id: r.client_id,
            sealed: r.sealed,
            key_id: r.key_id,
            updated_at: from_millis(r.updated_at, "credential updated_at")?,
            rejected_fingerprint: r.rejected_fingerprint,
            rejected_reason: r.rejected_reason,
            rejected_by: r.rejected_by,
            rejected_at: r
                .rejected_at
                .map(|t| from_millis(t, "credential rejected_at"))
                .transpose()?,
            accepted_at: r
                .accepted_at
                .map(|t| from_millis(t, "credential accepted_at"))
                .transpose()?,
        })
    }
}

/// Creates a workspace.
pub async fn create_workspace(
    conn: &mut Conn,
    id: &str,
    name: &str,
    now: DateTime<Utc>,
) -> Result<Workspace, StoreError> {
    sqlx::query("INSERT INTO hub_workspaces (id, name, created_at) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(name)
        .bind(now.timestamp_millis())
        .execute(&mut *conn)
        .await
        .map_err(StoreError::duplicate_as("workspace"))?;
    Ok(Workspace {
        id: id.to_owned(),
        name: name.to_owned(),
        created_at: now,
    })
}

/// The workspace named `name`.
pub async fn workspace_by_name(conn: &mut Conn, name: &str) -> Result<Option<Workspace>, StoreError> {
    let row: Option<WorkspaceRow> = sqlx::query_as("SELECT id, name, created_at FROM hub_workspaces WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| {
        Ok(Workspace {
            created_at: from_millis(r.created_at, "workspace created_at")?,
            id: r.id,
            name: r.name,
        })
    })
    .transpose()
}

/// Every workspace, by name.
pub async fn workspaces(conn: &mut Conn) -> Result<Vec<Workspace>, StoreError> {
    let rows: Vec<WorkspaceRow> = sqlx::query_as("SELECT id, name, created_at FROM hub_workspaces ORDER BY name")
        .fetch_all(&mut *conn)
        .await?;
    rows.into_iter()
        .map(|r| {
            Ok(Workspace {
                created_at: from_millis(r.created_at, "workspace created_at")?,
                id: r.id,
                name: r.name,
            })
        })
        .collect()
}

const CREDENTIAL_COLUMNS: &str =
    "id, workspace_id, login_url, username, client_id, sealed, key_id, updated_at, rejected_fingerprint, rejected_reason, \
     rejected_by, rejected_at, accepted_at";

/// Stores a credential record, replacing the workspace's record for the same login URL.
pub async fn put_credential(conn: &mut Conn, c: &SealedCredential) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO hub_credentials (id, workspace_id, login_url, username, client_id, sealed, key_id, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (workspace_id, login_url) DO UPDATE SET username = excluded.username, \
         client_id = excluded.client_id, sealed = excluded.sealed, key_id = excluded.key_id, \
         updated_at = excluded.updated_at",
    )
    .bind(&c.id)
    .bind(&c.workspace_id)
    .bind(&c.login_url)
    .bind(&c.username)
    .bind(c.client_id.as_deref())
    .bind(c.sealed.as_slice())
    .bind(&c.key_id)
    .bind(c.updated_at.timestamp_millis())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The workspace's credential records, by login URL.
pub async fn credentials(conn: &mut Conn, workspace_id: &str) -> Result<Vec<SealedCredential>, StoreError> {
    sqlx::query_as::<_, CredentialRow>(&format!(
        "SELECT {CREDENTIAL_COLUMNS} FROM hub_credentials WHERE workspace_id = $1 ORDER BY login_url"
    ))
    .bind(workspace_id)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(SealedCredential::try_from)
    .collect()
}

/// Every credential record of every workspace (key rotation).
pub async fn all_credentials(conn: &mut Conn) -> Result<Vec<SealedCredential>, StoreError> {
    sqlx::query_as::<_, CredentialRow>(&format!("SELECT {CREDENTIAL_COLUMNS} FROM hub_credentials ORDER BY id"))
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(SealedCredential::try_from)
        .collect()
}

/// Replaces a record's sealed secrets and rejected fingerprint (key rotation); `true`
/// when it exists.
pub async fn reseal(
    conn: &mut Conn,
    id: &str,
    sealed: &[u8],
    key_id: &str,
    rejected_fingerprint: Option<&[u8]>,
) -> Result<bool, StoreError> {
    let done =
        sqlx::query("UPDATE hub_credentials SET sealed = $2, key_id = $3, rejected_fingerprint = $4 WHERE id = $1")
            .bind(id)
            .bind(sealed)
            .bind(key_id)
            .bind(rejected_fingerprint)
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected() > 0)
}

/// A rejection to remember.
#[derive(Debug, Clone, Copy)]
pub struct Rejection<'a> {
    /// Fingerprint of the rejected secrets.
    pub fingerprint: &'a [u8],
    /// What the CRM said (or announced).
    pub reason: &'a str,
    /// The webhook event that announced it, when no login failed.
    pub announced_by: Option<&'a str>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Remembers (or, with `None`, forgets) that the CRM rejected the secrets with this
/// fingerprint.
pub async fn set_rejected(
    conn: &mut Conn,
    credential_id: &str,
    rejected: Option<Rejection<'_>>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE hub_credentials SET rejected_fingerprint = $2, rejected_reason = $3, rejected_by = $4, \
         rejected_at = $5 WHERE id = $1",
    )
    .bind(credential_id)
    .bind(rejected.map(|r| r.fingerprint))
    .bind(rejected.map(|r| r.reason))
    .bind(rejected.and_then(|r| r.announced_by))
    .bind(rejected.map(|r| r.at.timestamp_millis()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Notes that the CRM accepted a login with the record at `at`.
pub async fn set_accepted(conn: &mut Conn, credential_id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
    sqlx::query("UPDATE hub_credentials SET accepted_at = $2 WHERE id = $1")
        .bind(credential_id)
        .bind(at.timestamp_millis())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A failed CRM login the hub caused with a credential record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginFailure {
    /// When (milliseconds since the epoch).
    pub at: i64,
    /// The vault key the fingerprint is keyed with.
    pub key_id: String,
    /// Keyed fingerprint of the refused (username, secrets) pair.
    pub fingerprint: Vec<u8>,
    /// What the CRM said.
    pub reason: String,
    /// The login carried a password, so the CRM counts it toward its lockout.
    pub password_sent: bool,
}

/// Records a failed CRM login the hub caused with the record, unless that pair's
/// refusal is recorded already (tasks that shared one refused login each report it).
pub async fn record_login_failure(
    conn: &mut Conn,
    credential_id: &str,
    failure: &LoginFailure,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO hub_login_failures (credential_id, at, key_id, fingerprint, reason, password_sent) \
         SELECT $1, $2, $3, $4, $5, $6 WHERE NOT EXISTS (SELECT 1 FROM hub_login_failures \
         WHERE credential_id = $1 AND key_id = $3 AND fingerprint = $4)",
    )
    .bind(credential_id)
    .bind(failure.at)
    .bind(&failure.key_id)
    .bind(failure.fingerprint.as_slice())
    .bind(&failure.reason)
    .bind(i64::from(failure.password_sent))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The record's failed CRM logins caused by the hub, newest first.
pub async fn login_failures(conn: &mut Conn, credential_id: &str) -> Result<Vec<LoginFailure>, StoreError> {
    let rows: Vec<(i64, String, Vec<u8>, String, i64)> = sqlx::query_as(
        "SELECT at, key_id, fingerprint, reason, password_sent FROM hub_login_failures WHERE credential_id = $1 \
         ORDER BY at DESC",
    )
    .bind(credential_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(at, key_id, fingerprint, reason, password_sent)| LoginFailure {
            at,
            key_id,
            fingerprint,
            reason,
            password_sent: password_sent != 0,
        })
        .collect())
}

/// The credential record `id`, if it exists.
pub async fn credential(conn: &mut Conn, id: &str) -> Result<Option<SealedCredential>, StoreError> {
    sqlx::query_as::<_, CredentialRow>(&format!(
        "SELECT {CREDENTIAL_COLUMNS} FROM hub_credentials WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .map(SealedCredential::try_from)
    .transpose()
}

/// A connector ("Data Sync").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connector {
    /// Id.
    pub id: String,
    /// Workspace.
    pub workspace_id: String,
    /// The credential record it logs in with.
    pub credential_id: String,
    /// Name, unique in the workspace.
    pub name: String,
    /// CRM object (Contact).
    pub object: String,
    /// Which way it moves records.
    pub direction: Direction,
    /// Seconds between runs.
    pub interval_secs: i64,
    /// Where it stands.
    pub state: ConnectorState,
    /// The last error shown to the user.
    pub last_error: Option<String>,
    /// The CRM external-id field that new contacts are pushed by (hub id as value).
    pub external_id_field: Option<String>,
    /// Last changed at.
    pub updated_at: DateTime<Utc>,
    /// When the scheduler runs it next (`None`: as soon as it is enabled).
    pub next_run_at: Option<DateTime<Utc>>,
    /// Runs in a row that failed transiently (the exponent of its backoff).
    pub failures: i64,
    /// CRM field names of the hub fields whose names differ in the CRM.
    pub field_map: BTreeMap<String, String>,
}

#[derive(FromRow)]
struct ConnectorRow {
    id: String,
    workspace_id: String,
    credential_id: String,
    name: String,
    object: String,
    direction: String,
    interval_secs: i64,
    state: String,
    last_error: Option<String>,
    external_id_field: Option<String>,
    updated_at: i64,
    next_run_at: Option<i64>,
    failures: i64,
    field_map: Option<String>,
}

impl TryFrom<ConnectorRow> for Connector {
    type Error = StoreError;
    fn try_from(r: ConnectorRow) -> Result<Self, StoreError> {
        Ok(Self {
            updated_at: from_millis(r.updated_at, "connector updated_at")?,
            next_run_at: r
                .next_run_at
                .map(|ms| from_millis(ms, "connector next_run_at"))
                .transpose()?,
            failures: r.failures,
            field_map: r
                .field_map
                .map(|json| serde_json::from_str(&json))
                .transpose()
                .map_err(|_| StoreError::Corrupt("connector field_map"))?
                .unwrap_or_default(),
            id: r.id,
            workspace_id: r.workspace_id,
            credential_id: r.credential_id,
            name: r.name,
            object: r.object,
            direction: r
                .direction
                .parse()
                .map_err(|_| StoreError::Corrupt("connector direction"))?,
            interval_secs: r.interval_secs,
            state: r.state.parse().map_err(|_| StoreError::Corrupt("connector state"))?,
            last_error: r.last_error,
            external_id_field: r.external_id_field,
        })
    }
}

const CONNECTOR_COLUMNS: &str = "id, workspace_id, credential_id, name, object, direction, interval_secs, state, \
     last_error, updated_at, external_id_field, next_run_at, failures, field_map";

/// Stores a new connector.
pub async fn insert_connector(conn: &mut Conn, c: &Connector) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO hub_connectors ({CONNECTOR_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    ))
    .bind(&c.id)
    .bind(&c.workspace_id)
    .bind(&c.credential_id)
    .bind(&c.name)
    .bind(&c.object)
    .bind(c.direction.as_str())
    .bind(c.interval_secs)
    .bind(c.state.as_str())
    .bind(c.last_error.as_deref())
    .bind(c.updated_at.timestamp_millis())
    .bind(c.external_id_field.as_deref())
    .bind(c.next_run_at.map(|t| t.timestamp_millis()))
    .bind(c.failures)
    .bind((!c.field_map.is_empty()).then(|| serde_json::to_string(&c.field_map).unwrap_or_default()))
    .execute(&mut *conn)
    .await
    .map_err(StoreError::duplicate_as("connector"))?;
    Ok(())
}

/// The workspace's connectors, by name.
pub async fn connectors(conn: &mut Conn, workspace_id: &str) -> Result<Vec<Connector>, StoreError> {
    sqlx::query_as::<_, ConnectorRow>(&format!(
        "SELECT {CONNECTOR_COLUMNS} FROM hub_connectors WHERE workspace_id = $1 ORDER BY name"
    ))
    .bind(workspace_id)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(Connector::try_from)
    .collect()
}

/// Sets one connector's state and error; `true` when it exists.
pub async fn set_connector_state(
    conn: &mut Conn,
    id: &str,
    state: ConnectorState,
    last_error: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE hub_connectors SET state = $2, last_error = $3, updated_at = $4 WHERE id = $1")
        .bind(id)
        .bind(state.as_str())
        .bind(last_error)
        .bind(now.timestamp_millis())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Moves every connector of a credential record that is in state `from` to `to` with
/// `last_error`; returns how many.
pub async fn move_connectors(
    conn: &mut Conn,
    credential_id: &str,
    from: &[ConnectorState],
    to: ConnectorState,
    last_error: Option<&str>,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let mut moved = 0;
    for state in from {
        let done = sqlx::query(
            "UPDATE hub_connectors SET state = $3, last_error = $4, updated_at = $5 \
             WHERE credential_id = $1 AND state = $2",
        )
        .bind(credential_id)
        .bind(state.as_str())
        .bind(to.as_str())
        .bind(last_error)
        .bind(now.timestamp_millis())
        .execute(&mut *conn)
        .await?;
        moved += done.rows_affected();
    }
    Ok(moved)
}

/// Up to `limit` connectors of every workspace that are due at `now`: enabled or
/// backing off, and never run or scheduled no later than `now`; the longest waiting
/// first.
pub async fn due_connectors(conn: &mut Conn, now: DateTime<Utc>, limit: i64) -> Result<Vec<Connector>, StoreError> {
    sqlx::query_as::<_, ConnectorRow>(&format!(
        "SELECT {CONNECTOR_COLUMNS} FROM hub_connectors \
         WHERE state IN ('enabled', 'backing_off') AND (next_run_at IS NULL OR next_run_at <= $1) \
         ORDER BY COALESCE(next_run_at, 0), id LIMIT $2"
    ))
    .bind(now.timestamp_millis())
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(Connector::try_from)
    .collect()
}

/// Schedules a connector's next run after one ended, with its count of transient
/// failures in a row.
pub async fn schedule_connector(
    conn: &mut Conn,
    id: &str,
    next_run_at: DateTime<Utc>,
    failures: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE hub_connectors SET next_run_at = $2, failures = $3 WHERE id = $1")
        .bind(id)
        .bind(next_run_at.timestamp_millis())
        .bind(failures)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A hub user to store.
#[derive(Debug, Clone)]
pub struct NewHubUser<'a> {
    /// Id.
    pub id: &'a str,
    /// Workspace.
    pub workspace_id: &'a str,
    /// E-mail address (the login name), lower case.
    pub email: &'a str,
    /// `owner` or `member`.
    pub role: &'a str,
    /// argon2id PHC string.
    pub password_hash: &'a str,
}

/// Stores a hub user.
pub async fn insert_user(conn: &mut Conn, u: &NewHubUser<'_>, now: DateTime<Utc>) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO hub_users (id, workspace_id, email, role, password_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(u.id)
    .bind(u.workspace_id)
    .bind(u.email)
    .bind(u.role)
    .bind(u.password_hash)
    .bind(now.timestamp_millis())
    .execute(&mut *conn)
    .await
    .map_err(StoreError::duplicate_as("hub user"))?;
    Ok(())
}

/// A hub user as stored.
#[derive(Clone, PartialEq, Eq, FromRow)]
pub struct HubUser {
    /// Id.
    pub id: String,
    /// Workspace.
    pub workspace_id: String,
    /// E-mail address (the login name), lower case.
    pub email: String,
    /// `owner` or `member`.
    pub role: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Failed logins since the last successful one.
    pub failed_logins: i64,
    /// Logins are refused until then (milliseconds since the epoch).
    pub locked_until: Option<i64>,
}

impl std::fmt::Debug for HubUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubUser")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// The workspace's user with this e-mail address.
pub async fn user_by_email(conn: &mut Conn, workspace_id: &str, email: &str) -> Result<Option<HubUser>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, workspace_id, email, role, password_hash, failed_logins, locked_until FROM hub_users WHERE workspace_id = $1 AND email = $2",
    )
    .bind(workspace_id)
    .bind(email.trim().to_lowercase())
    .fetch_optional(&mut *conn)
    .await?)
}

/// Replaces the password hash of hub user `id`; whether the user exists.
pub async fn set_user_password(conn: &mut Conn, id: &str, password_hash: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE hub_users SET password_hash = $2 WHERE id = $1")
        .bind(id)
        .bind(password_hash)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// The hub user `id`.
pub async fn user(conn: &mut Conn, id: &str) -> Result<Option<HubUser>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, workspace_id, email, role, password_hash, failed_logins, locked_until FROM hub_users WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// The e-mail addresses of a workspace's owners.
pub async fn owner_emails(conn: &mut Conn, workspace_id: &str) -> Result<Vec<String>, StoreError> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT email FROM hub_users WHERE workspace_id = $1 AND role = 'owner' ORDER BY email")
            .bind(workspace_id)
            .fetch_all(&mut *conn)
            .await?;
    Ok(rows.into_iter().map(|(e,)| e).collect())
}

/// Counts a failed login of the hub user; returns the failures since the last success.
pub async fn count_user_failure(conn: &mut Conn, id: &str) -> Result<i64, StoreError> {
    let (n,): (i64,) =
        sqlx::query_as("UPDATE hub_users SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins")
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
    Ok(n)
}

/// Refuses the hub user's logins until `until`, unless a later lock holds already.
pub async fn lock_user(conn: &mut Conn, id: &str, until: DateTime<Utc>) -> Result<(), StoreError> {
    sqlx::query("UPDATE hub_users SET locked_until = $2 WHERE id = $1 AND (locked_until IS NULL OR locked_until < $2)")
        .bind(id)
        .bind(until.timestamp_millis())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A successful login of the hub user: the failures and any lock end.
pub async fn clear_user_failures(conn: &mut Conn, id: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE hub_users SET failed_logins = 0, locked_until = NULL WHERE id = $1 AND failed_logins > 0")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
