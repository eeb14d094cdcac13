//! Records of the standard objects: create, read, update, soft delete (a recycle state
//! kept for 15 days) of those kept in the records table, and for every object (the
//! identity objects through their views) reads, SOQL plans, the `updated`/`deleted`
//! replication feeds and per-org daily API counts. Table and column names always come
//! from the schema.

pub mod custom;
mod render;
mod values;

use chrono::{DateTime, Utc};
use latchkey_core::ids::{OrgId, UserId};
use latchkey_core::records::{Field, ObjectKind, Value};
use latchkey_core::soql::Plan;
use sqlx::Row;

use crate::{Backend, Conn, StoreError};
use values::{bind_all, decode, Param};

/// A record as read: whether it is in the recycle state, and the requested values.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// Deleted (recycle state).
    pub is_deleted: bool,
    /// Values of the requested fields, in order.
    pub values: Vec<Value>,
}

/// One row of a query page.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryRow {
    /// The record's id.
    pub id: String,
    /// Each joined parent's id, in the plan's order (`None`: no parent).
    pub parent_ids: Vec<Option<String>>,
    /// The output columns, in plan order.
    pub values: Vec<Value>,
}

/// Who changes a record, and when.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    /// The org.
    pub org: &'a OrgId,
    /// The object.
    pub object: ObjectKind,
    /// The acting user.
    pub user: &'a UserId,
    /// When.
    pub now: DateTime<Utc>,
}

/// Inserts a record with `values` (already validated); the owner defaults to the user.
pub async fn insert(
    conn: &mut Conn,
    change: &Change<'_>,
    id: &str,
    values: &[(Field, Value)],
) -> Result<(), StoreError> {
    let now = change.now.timestamp_millis();
    let mut columns = vec![
        "id",
        "org_id",
        "object",
        "created_at",
        "created_by",
        "last_modified_at",
        "last_modified_by",
        "system_modstamp",
    ];
    let mut params = vec![
        Param::text(id),
        Param::text(change.org.as_str()),
        Param::text(change.object.name()),
        Param::millis(now),
        Param::text(change.user.as_str()),
        Param::millis(now),
        Param::text(change.user.as_str()),
        Param::millis(now),
    ];
    if !values.iter().any(|(f, _)| f.column == "owner_id") {
        columns.push("owner_id");
        params.push(Param::text(change.user.as_str()));
    }
    for (field, value) in values {
        columns.push(field.column.as_str());
        params.push(Param::of(field, value));
    }
    let placeholders: Vec<String> = (1..=params.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "INSERT INTO records ({}) VALUES ({})",
        columns.join(", "),
        placeholders.join(", ")
    );
    bind_all(sqlx::query(&sql), &params)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::duplicate_as("record id"))?;
    refresh_name(conn, change.object, id).await
}

/// Person objects: `Name` is `FirstName LastName`.
async fn refresh_name(conn: &mut Conn, object: ObjectKind, id: &str) -> Result<(), StoreError> {
    if object.is_person() {
        sqlx::query(
            "UPDATE records SET name = TRIM(COALESCE(first_name, '') || ' ' || COALESCE(last_name, '')) WHERE id = $1",
        )
        .bind(id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Updates a live record; `false` when there is none.
pub async fn update(
    conn: &mut Conn,
    change: &Change<'_>,
    id: &str,
    values: &[(Field, Value)],
) -> Result<bool, StoreError> {
    let mut params = vec![
        Param::millis(change.now.timestamp_millis()),
        Param::text(change.user.as_str()),
    ];
    let mut sets = vec![
        "last_modified_at = $1".to_owned(),
        "system_modstamp = $1".into(),
        "last_modified_by = $2".into(),
    ];
    for (field, value) in values {
        params.push(Param::of(field, value));
        sets.push(format!("{} = ${}", field.column, params.len()));
    }
    let n = params.len();
    params.extend([
        Param::text(id),
        Param::text(change.org.as_str()),
        Param::text(change.object.name()),
    ]);
    let sql = format!(
        "UPDATE records SET {} WHERE id = ${} AND org_id = ${} AND object = ${} AND is_deleted = 0",
        sets.join(", "),
        n + 1,
        n + 2,
        n + 3
    );
    let done = bind_all(planned(&sql), &params)
        .execute(&mut *conn)
        .await?
        .rows_affected()
        == 1;
    if done {
        refresh_name(conn, change.object, id).await?;
    }
    Ok(done)
}

/// Moves a live record to the recycle state; `false` when there is none.
pub async fn delete(conn: &mut Conn, change: &Change<'_>, id: &str) -> Result<bool, StoreError> {
    let done = planned(
        "UPDATE records SET is_deleted = 1, deleted_at = $1, system_modstamp = $1, last_modified_at = $1, last_modified_by = $2 \
         WHERE id = $3 AND org_id = $4 AND object = $5 AND is_deleted = 0",
    )
    .bind(change.now.timestamp_millis())
    .bind(change.user.as_str())
    .bind(id)
    .bind(change.org.as_str())
    .bind(change.object.name())
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    Ok(done)
}

/// A statement PostgreSQL plans at each execution, with the values and the table as
/// they are, rather than preparing it once: a generic plan cached while an org had few
/// records keeps scanning them all once it has many (seen after a bulk load of 30,000:
/// 17 ms for each single-row UPDATE and each incremental query page, each well under a
/// millisecond when planned with its values). A plan costs far less than that scan.
fn planned(sql: &str) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments<'_>> {
    sqlx::query(sql).persistent(false)
}

/// The `fields` of a record (live or recycled), or `None`.
///
/// Looks the row up by id alone and checks org and object here: ids are unique, and a
/// lone `id = $1` leaves PostgreSQL no index to choose but the primary key, even
/// while its statistics are stale after a bulk load.
pub async fn get(
    conn: &mut Conn,
    org: &OrgId,
    object: ObjectKind,
    id: &str,
    fields: &[&Field],
) -> Result<Option<Stored>, StoreError> {
    let columns: Vec<&str> = fields.iter().map(|f| f.column.as_str()).collect();
    let select = if columns.is_empty() {
        String::new()
    } else {
        format!(", {}", columns.join(", "))
    };
    let sql = format!(
        "SELECT org_id, object, is_deleted{select} FROM {} WHERE id = $1",
        object.table()
    );
    let Some(row) = sqlx::query(&sql).bind(id).fetch_optional(&mut *conn).await? else {
        return Ok(None);
    };
    if row.try_get::<String, _>(0)? != org.as_str() || row.try_get::<String, _>(1)? != object.name() {
        return Ok(None);
    }
    let values = fields
        .iter()
        .enumerate()
        .map(|(i, f)| decode(&row, i + 3, f))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(Stored {
        is_deleted: row.try_get::<i64, _>(2)? != 0,
        values,
    }))
}

/// Ids of live records whose `field` equals `value` (text compared without case).
pub async fn find_by(
    conn: &mut Conn,
    org: &OrgId,
    object: ObjectKind,
    field: &Field,
    value: &Value,
) -> Result<Vec<String>, StoreError> {
    if matches!(value, Value::Text(t) if crate::text::unstorable(t)) {
        return Ok(Vec::new());
    }
    let (col, p) = if field.field_type.folds_case() {
        (format!("LOWER({})", field.column), "LOWER($3)")
    } else {
        (field.column.clone(), "$3")
    };
    let sql = format!(
        "SELECT id FROM {} WHERE org_id = $1 AND object = $2 AND is_deleted = 0 AND {col} = {p} ORDER BY id LIMIT 10",
        object.table()
    );
    let params = [
        Param::text(org.as_str()),
        Param::text(object.name()),
        Param::of(field, value),
    ];
    let rows = bind_all(planned(&sql), &params).fetch_all(&mut *conn).await?;
    rows.iter().map(|r| Ok(r.try_get::<String, _>(0)?)).collect()
}

/// How many records match a plan.
pub async fn count(conn: &mut Conn, org: &OrgId, plan: &Plan, all_rows: bool) -> Result<u64, StoreError> {
    let sql = render::count(Backend::of_connection(conn), plan, org.as_str(), all_rows);
    let row = bind_all(planned(&sql.text), &sql.params).fetch_one(&mut *conn).await?;
    Ok(u64::try_from(row.try_get::<i64, _>(0)?).unwrap_or(0))
}

/// Rows `[skip, skip + take)` of a plan (live records, or all with `all_rows`).
pub async fn query(
    conn: &mut Conn,
    org: &OrgId,
    plan: &Plan,
    all_rows: bool,
    skip: u64,
    take: u64,
) -> Result<Vec<QueryRow>, StoreError> {
    Ok(fetch(conn, org, plan, (all_rows, skip, take), false).await?.1)
}

/// Like [`query`], and the number of matches (as [`count`] gives) in the same scan.
pub async fn query_counted(
    conn: &mut Conn,
    org: &OrgId,
    plan: &Plan,
    all_rows: bool,
    skip: u64,
    take: u64,
) -> Result<(u64, Vec<QueryRow>), StoreError> {
    let (total, rows) = fetch(conn, org, plan, (all_rows, skip, take), true).await?;
    match total {
        Some(total) => Ok((total, rows)),
        // No row to carry the count (an empty page, or COUNT() output): count apart.
        None => Ok((count(conn, org, plan, all_rows).await?, rows)),
    }
}

async fn fetch(
    conn: &mut Conn,
    org: &OrgId,
    plan: &Plan,
    window: (bool, u64, u64),
    counted: bool,
) -> Result<(Option<u64>, Vec<QueryRow>), StoreError> {
    let sql = render::rows(Backend::of_connection(conn), plan, org.as_str(), window, counted);
    let rows = bind_all(planned(&sql.text), &sql.params).fetch_all(&mut *conn).await?;
    let columns: &[_] = match &plan.output {
        latchkey_core::soql::plan::Output::Fields(c) => c,
        latchkey_core::soql::plan::Output::Count => &[],
    };
    let parents = plan.relationships.len();
    let first = 1 + parents;
    let total = match rows.first() {
        Some(row) if counted => Some(u64::try_from(row.try_get::<i64, _>(first + columns.len())?).unwrap_or(0)),
        _ => None,
    };
    let rows = rows
        .iter()
        .map(|row| {
            let values = columns
                .iter()
                .enumerate()
                .map(|(i, c)| decode(row, first + i, &c.field))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(QueryRow {
                id: row.try_get(0)?,
                parent_ids: (1..first).map(|i| row.try_get(i)).collect::<Result<_, _>>()?,
                values,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok((total, rows))
}

/// Ids of live records changed in `[start, end)` (by `SystemModstamp`), oldest first.
pub async fn updated(
    conn: &mut Conn,
    org: &OrgId,
    object: ObjectKind,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<String>, StoreError> {
    let sql = format!(
        "SELECT id FROM {} WHERE org_id = $1 AND object = $2 AND is_deleted = 0 \
         AND system_modstamp >= $3 AND system_modstamp < $4 ORDER BY system_modstamp, id",
        object.table()
    );
    let rows = planned(&sql)
        .bind(org.as_str())
        .bind(object.name())
        .bind(start.timestamp_millis())
        .bind(end.timestamp_millis())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| Ok(r.try_get::<String, _>(0)?)).collect()
}

/// Records deleted in `[start, end)`: id and deletion time, oldest first.
pub async fn deleted(
    conn: &mut Conn,
    org: &OrgId,
    object: ObjectKind,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
    let sql = format!(
        "SELECT id, deleted_at FROM {} WHERE org_id = $1 AND object = $2 AND is_deleted = 1 \
         AND deleted_at >= $3 AND deleted_at < $4 ORDER BY deleted_at, id",
        object.table()
    );
    let rows = planned(&sql)
        .bind(org.as_str())
        .bind(object.name())
        .bind(start.timestamp_millis())
        .bind(end.timestamp_millis())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| {
            let at: i64 = r.try_get(1)?;
            Ok((r.try_get(0)?, crate::time::from_millis(at, "deletion time")?))
        })
        .collect()
}

/// Erases records deleted before `before` (the recycle state lasts 15 days).
pub async fn purge_deleted(conn: &mut Conn, before: DateTime<Utc>) -> Result<u64, StoreError> {
    Ok(
        sqlx::query("DELETE FROM records WHERE is_deleted = 1 AND deleted_at < $1")
            .bind(before.timestamp_millis())
            .execute(&mut *conn)
            .await?
            .rows_affected(),
    )
}

/// Adds `delta` REST requests to an org's count for UTC day `day`; returns the day's
/// total and the org's daily allowance.
pub async fn add_api_requests(conn: &mut Conn, org: &OrgId, day: i64, delta: i64) -> Result<(i64, i64), StoreError> {
    let total: i64 = sqlx::query_scalar(
        "INSERT INTO api_usage (org_id, day, requests) VALUES ($1, $2, $3) \
         ON CONFLICT (org_id, day) DO UPDATE SET requests = api_usage.requests + $3 RETURNING requests",
    )
    .bind(org.as_str())
    .bind(day)
    .bind(delta)
    .fetch_one(&mut *conn)
    .await?;
    let allowance: i64 = sqlx::query_scalar("SELECT daily_api_requests FROM orgs WHERE id = $1")
        .bind(org.as_str())
        .fetch_one(&mut *conn)
        .await?;
    Ok((total, allowance))
}
