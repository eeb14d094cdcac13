//! Custom fields: their definitions per org, and the storage column each needs.

use chrono::{DateTime, Utc};
use latchkey_core::ids::OrgId;
use latchkey_core::records::{CustomField, CustomType, ObjectKind};
use sqlx::{Executor, FromRow};

use crate::time::flag;
use crate::{Backend, Conn, StoreError};

#[derive(FromRow)]
struct Row {
    object: String,
    name: String,
    label: String,
    field_type: String,
    length: i64,
    required: i64,
    external_id: i64,
    is_unique: i64,
}

/// The custom fields of an org, in the order they were added.
pub async fn list(conn: &mut Conn, org: &OrgId) -> Result<Vec<CustomField>, StoreError> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT object, name, label, field_type, length, required, external_id, is_unique \
         FROM custom_fields WHERE org_id = $1 ORDER BY created_at, name",
    )
    .bind(org.as_str())
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(CustomField {
                object: r
                    .object
                    .parse::<ObjectKind>()
                    .map_err(|_| StoreError::Corrupt("custom field object"))?,
                custom_type: r
                    .field_type
                    .parse::<CustomType>()
                    .map_err(|_| StoreError::Corrupt("custom field type"))?,
                name: r.name,
                label: r.label,
                length: u32::try_from(r.length).map_err(|_| StoreError::Corrupt("custom field length"))?,
                required: flag(r.required),
                external_id: flag(r.external_id),
                unique: flag(r.is_unique),
            })
        })
        .collect()
}

/// Adds a validated custom field to an org, creating its storage column if no org
/// has it yet. Run inside a transaction: DDL is transactional on both backends.
pub async fn add(conn: &mut Conn, org: &OrgId, field: &CustomField, now: DateTime<Utc>) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO custom_fields (org_id, object, name, lower_name, label, field_type, length, required, external_id, is_unique, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(org.as_str())
    .bind(field.object.name())
    .bind(field.name.as_str())
    .bind(field.name.to_ascii_lowercase())
    .bind(field.label.as_str())
    .bind(field.custom_type.name())
    .bind(i64::from(field.length))
    .bind(i64::from(field.required))
    .bind(i64::from(field.external_id))
    .bind(i64::from(field.unique))
    .bind(now.timestamp_millis())
    .execute(&mut *conn)
    .await
    .map_err(StoreError::duplicate_as("custom field"))?;
    // The column name is derived from a validated name (letters, digits, underscores).
    let column = field.column();
    if !column
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(StoreError::Corrupt("custom field name"));
    }
    let sql_type = match field.custom_type {
        CustomType::Number => "DOUBLE PRECISION",
        CustomType::Checkbox | CustomType::DateTime => "BIGINT",
        _ => "TEXT",
    };
    let ddl = match Backend::of_connection(conn) {
        Backend::Postgres => Some(format!(
            "ALTER TABLE records ADD COLUMN IF NOT EXISTS {column} {sql_type}"
        )),
        Backend::Sqlite => {
            let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM pragma_table_info('records') WHERE name = $1")
                .bind(column.as_str())
                .fetch_optional(&mut *conn)
                .await?;
            exists
                .is_none()
                .then(|| format!("ALTER TABLE records ADD COLUMN {column} {sql_type}"))
        }
    };
    if let Some(ddl) = ddl {
        conn.execute(ddl.as_str()).await?;
    }
    // Upserts and uniqueness checks look unique fields up by value: index them the way
    // they compare (text case-insensitively).
    if field.unique || field.external_id {
        let key = if field.to_field().field_type.folds_case() {
            format!("LOWER({column})")
        } else {
            column.clone()
        };
        let index = format!("CREATE INDEX IF NOT EXISTS records_by_{column} ON records (org_id, object, {key})");
        conn.execute(index.as_str()).await?;
    }
    Ok(())
}
