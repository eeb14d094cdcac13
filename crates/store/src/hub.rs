//! The hub's tables: workspaces and their CRM credential records. Secrets arrive here
//! already sealed by the hub's vault; the store never sees them in the clear.

use chrono::{DateTime, Utc};
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

const CREDENTIAL_COLUMNS: &str = "id, workspace_id, login_url, username, client_id, sealed, key_id, updated_at";

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

/// Replaces a record's sealed secrets (key rotation); `true` when it exists.
pub async fn reseal(conn: &mut Conn, id: &str, sealed: &[u8], key_id: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE hub_credentials SET sealed = $2, key_id = $3 WHERE id = $1")
        .bind(id)
        .bind(sealed)
        .bind(key_id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}
