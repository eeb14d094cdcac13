//! The hub's contacts and what syncing them needs: pull checkpoints, sync leases and
//! the history of sync runs. The merge rules live in the hub crate; this module only
//! reads and writes rows, always inside the caller's transaction where it matters.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::time::from_millis;
use crate::{Conn, StoreError};

/// `VALUES ($1, …, $c), ($c+1, …)` for `rows` rows of `columns` columns: multi-row
/// INSERTs with the `$n` placeholders both backends accept through `sqlx::Any`.
fn values_clause(rows: usize, columns: usize) -> String {
    let mut sql = String::from("VALUES ");
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..columns {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", 1 + r * columns + c));
        }
        sql.push(')');
    }
    sql
}

/// Local changes not yet in the CRM: CRM field name → local edit time (epoch ms).
pub type Pending = BTreeMap<String, i64>;

/// A hub contact with its sync state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubContact {
    /// Hub id.
    pub id: String,
    /// CRM record id, once it has one.
    pub crm_id: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: String,
    /// E-mail.
    pub email: Option<String>,
    /// The CRM `SystemModstamp` (epoch ms) of the version last pulled.
    pub crm_modstamp: Option<i64>,
    /// Local changes not yet pushed.
    pub pending: Pending,
}

#[derive(FromRow)]
struct ContactRow {
    id: String,
    crm_id: Option<String>,
    first_name: Option<String>,
    last_name: String,
    email: Option<String>,
    crm_modstamp: Option<i64>,
    pending: Option<String>,
}

impl TryFrom<ContactRow> for HubContact {
    type Error = StoreError;
    fn try_from(r: ContactRow) -> Result<Self, StoreError> {
        let pending = match r.pending.as_deref() {
            None => Pending::new(),
            Some(text) => serde_json::from_str(text).map_err(|_| StoreError::Corrupt("contact pending changes"))?,
        };
        Ok(Self {
            id: r.id,
            crm_id: r.crm_id,
            first_name: r.first_name,
            last_name: r.last_name,
            email: r.email,
            crm_modstamp: r.crm_modstamp,
            pending,
        })
    }
}

const CONTACT_COLUMNS: &str = "id, crm_id, first_name, last_name, email, crm_modstamp, pending";

fn pending_text(pending: &Pending) -> Option<String> {
    // A map of strings to integers always serialises.
    (!pending.is_empty()).then(|| serde_json::to_string(pending).unwrap_or_default())
}

fn contacts_of(rows: Vec<ContactRow>) -> Result<Vec<HubContact>, StoreError> {
    rows.into_iter().map(HubContact::try_from).collect()
}

/// The workspace's contacts, by last name.
pub async fn contacts(conn: &mut Conn, workspace_id: &str) -> Result<Vec<HubContact>, StoreError> {
    let rows = sqlx::query_as::<_, ContactRow>(&format!(
        "SELECT {CONTACT_COLUMNS} FROM hub_contacts WHERE workspace_id = $1 ORDER BY last_name, id"
    ))
    .bind(workspace_id)
    .fetch_all(&mut *conn)
    .await?;
    contacts_of(rows)
}

/// How many of the workspace's contacts have changes to push (read through the
/// partial index of pending contacts, so it costs what is pending, not the list).
pub async fn pending_count(conn: &mut Conn, workspace_id: &str) -> Result<i64, StoreError> {
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM hub_contacts WHERE workspace_id = $1 AND pending IS NOT NULL")
            .bind(workspace_id)
            .fetch_one(&mut *conn)
            .await?;
    Ok(n)
}

/// The workspace's contacts whose `column` (`id` or `crm_id`) is one of `keys`.
pub async fn contacts_where(
    conn: &mut Conn,
    workspace_id: &str,
    column: KeyColumn,
    keys: &[&str],
) -> Result<Vec<HubContact>, StoreError> {
    let mut found = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(500) {
        let list: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT {CONTACT_COLUMNS} FROM hub_contacts WHERE workspace_id = $1 AND {} IN ({})",
            column.name(),
            list.join(", ")
        );
        // Not a prepared statement, so PostgreSQL plans it each time with the table
        // as it is: a generic plan cached while the table is empty scans every row
        // against each of the keys.
        let mut query = sqlx::query_as::<_, ContactRow>(&sql)
            .persistent(false)
            .bind(workspace_id);
        for key in chunk {
            query = query.bind(*key);
        }
        found.extend(contacts_of(query.fetch_all(&mut *conn).await?)?);
    }
    Ok(found)
}

/// A key column of `hub_contacts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyColumn {
    /// The hub id.
    Id,
    /// The CRM id.
    CrmId,
}

impl KeyColumn {
    fn name(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::CrmId => "crm_id",
        }
    }
}

/// Up to `limit` contacts with changes to push, after hub id `after` (keyset paging).
pub async fn pending_contacts(
    conn: &mut Conn,
    workspace_id: &str,
    after: &str,
    limit: i64,
) -> Result<Vec<HubContact>, StoreError> {
    let rows = sqlx::query_as::<_, ContactRow>(&format!(
        "SELECT {CONTACT_COLUMNS} FROM hub_contacts WHERE workspace_id = $1 AND pending IS NOT NULL \
         AND id > $2 ORDER BY id LIMIT $3"
    ))
    .bind(workspace_id)
    .bind(after)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    contacts_of(rows)
}

/// Stores new contacts (pulled or created locally) in as few statements as it can.
pub async fn insert_contacts(
    conn: &mut Conn,
    workspace_id: &str,
    contacts: &[HubContact],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    const COLUMNS: usize = 9;
    for chunk in contacts.chunks(100) {
        let sql = format!(
            "INSERT INTO hub_contacts (id, workspace_id, crm_id, first_name, last_name, email, crm_modstamp, \
             pending, updated_at) {}",
            values_clause(chunk.len(), COLUMNS)
        );
        let mut query = sqlx::query(&sql);
        for c in chunk {
            query = query
                .bind(&c.id)
                .bind(workspace_id)
                .bind(c.crm_id.as_deref())
                .bind(c.first_name.as_deref())
                .bind(&c.last_name)
                .bind(c.email.as_deref())
                .bind(c.crm_modstamp)
                .bind(pending_text(&c.pending))
                .bind(now.timestamp_millis());
        }
        query
            .execute(&mut *conn)
            .await
            .map_err(StoreError::duplicate_as("contact"))?;
    }
    Ok(())
}

/// Writes a contact's values and sync state, provided its pending changes are still
/// `expected` (so a local edit made meanwhile is never lost); `true` when written.
pub async fn update_contact(
    conn: &mut Conn,
    contact: &HubContact,
    expected: &Pending,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let expected = pending_text(expected);
    let done = sqlx::query(
        "UPDATE hub_contacts SET crm_id = $2, first_name = $3, last_name = $4, email = $5, crm_modstamp = $6, \
         pending = $7, updated_at = $8 WHERE id = $1 AND (pending = $9 OR (pending IS NULL AND $9 IS NULL))",
    )
    .bind(&contact.id)
    .bind(contact.crm_id.as_deref())
    .bind(contact.first_name.as_deref())
    .bind(&contact.last_name)
    .bind(contact.email.as_deref())
    .bind(contact.crm_modstamp)
    .bind(pending_text(&contact.pending))
    .bind(now.timestamp_millis())
    .bind(expected)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::duplicate_as("contact"))?;
    Ok(done.rows_affected() == 1)
}

/// One contact of the workspace by hub id.
pub async fn contact(conn: &mut Conn, workspace_id: &str, id: &str) -> Result<Option<HubContact>, StoreError> {
    Ok(contacts_where(conn, workspace_id, KeyColumn::Id, &[id]).await?.pop())
}

/// The connector's pull checkpoint (epoch milliseconds), if it has pulled before.
pub async fn pull_checkpoint(conn: &mut Conn, connector_id: &str) -> Result<Option<i64>, StoreError> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT pulled_through FROM hub_pull_checkpoints WHERE connector_id = $1")
        .bind(connector_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|(v,)| v))
}

/// Moves the connector's pull checkpoint forward to `through` (never back).
pub async fn advance_pull_checkpoint(conn: &mut Conn, connector_id: &str, through: i64) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO hub_pull_checkpoints (connector_id, pulled_through) VALUES ($1, $2) \
         ON CONFLICT (connector_id) DO UPDATE SET pulled_through = excluded.pulled_through \
         WHERE hub_pull_checkpoints.pulled_through < excluded.pulled_through",
    )
    .bind(connector_id)
    .bind(through)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Takes or extends the connector's sync lease for `holder` until `until`; `false`
/// when another holder's lease has not yet expired.
pub async fn take_lease(
    conn: &mut Conn,
    connector_id: &str,
    holder: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO hub_sync_leases (connector_id, holder, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (connector_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
         WHERE hub_sync_leases.holder = excluded.holder OR hub_sync_leases.expires_at <= $4",
    )
    .bind(connector_id)
    .bind(holder)
    .bind(until.timestamp_millis())
    .bind(now.timestamp_millis())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives up `holder`'s lease on the connector (if it still holds it).
pub async fn release_lease(conn: &mut Conn, connector_id: &str, holder: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM hub_sync_leases WHERE connector_id = $1 AND holder = $2")
        .bind(connector_id)
        .bind(holder)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// One finished sync run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRun {
    /// Id.
    pub id: String,
    /// The connector.
    pub connector_id: String,
    /// Started at.
    pub started_at: DateTime<Utc>,
    /// Finished at.
    pub finished_at: DateTime<Utc>,
    /// Contacts changed in the hub by the pull.
    pub records_in: i64,
    /// Contacts written to the CRM by the push.
    pub records_out: i64,
    /// `ok` or `failed`.
    pub outcome: String,
    /// What went wrong, for the user.
    pub error: Option<String>,
}

#[derive(FromRow)]
struct RunRow {
    id: String,
    connector_id: String,
    started_at: i64,
    finished_at: i64,
    records_in: i64,
    records_out: i64,
    outcome: String,
    error: Option<String>,
}

/// Records a finished run.
pub async fn insert_run(conn: &mut Conn, run: &SyncRun) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO hub_sync_runs (id, connector_id, started_at, finished_at, records_in, records_out, outcome, \
         error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&run.id)
    .bind(&run.connector_id)
    .bind(run.started_at.timestamp_millis())
    .bind(run.finished_at.timestamp_millis())
    .bind(run.records_in)
    .bind(run.records_out)
    .bind(&run.outcome)
    .bind(run.error.as_deref())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The connector's last `limit` runs, newest first.
pub async fn recent_runs(conn: &mut Conn, connector_id: &str, limit: i64) -> Result<Vec<SyncRun>, StoreError> {
    sqlx::query_as::<_, RunRow>(
        "SELECT id, connector_id, started_at, finished_at, records_in, records_out, outcome, error \
         FROM hub_sync_runs WHERE connector_id = $1 ORDER BY started_at DESC, id DESC LIMIT $2",
    )
    .bind(connector_id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| {
        Ok(SyncRun {
            started_at: from_millis(r.started_at, "run started_at")?,
            finished_at: from_millis(r.finished_at, "run finished_at")?,
            id: r.id,
            connector_id: r.connector_id,
            records_in: r.records_in,
            records_out: r.records_out,
            outcome: r.outcome,
            error: r.error,
        })
    })
    .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_clauses_number_placeholders_row_by_row() {
        assert_eq!(super::values_clause(1, 2), "VALUES ($1, $2)");
        assert_eq!(super::values_clause(2, 3), "VALUES ($1, $2, $3), ($4, $5, $6)");
    }
}
