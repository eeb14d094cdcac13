//! Moving typed field values in and out of SQL: binding by the field's storage kind
//! (so a NULL is typed for its column on PostgreSQL) and decoding row columns.

use chrono::NaiveDate;
use latchkey_core::records::schema::Storage;
use latchkey_core::records::{Field, FieldType, Value};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Row};

use crate::StoreError;

/// A parameter: the value and how its column stores it.
#[derive(Debug, Clone)]
pub(crate) struct Param {
    pub storage: Storage,
    pub value: Value,
}

impl Param {
    pub fn of(field: &Field, value: &Value) -> Self {
        Self {
            storage: field.field_type.storage(),
            value: value.clone(),
        }
    }

    pub fn text(s: impl Into<String>) -> Self {
        Self {
            storage: Storage::Text,
            value: Value::Text(s.into()),
        }
    }

    pub fn millis(ms: i64) -> Self {
        Self {
            storage: Storage::Millis,
            value: Value::DateTime(ms),
        }
    }
}

/// Binds `params` in order.
pub(crate) fn bind_all<'q>(
    mut query: Query<'q, Any, AnyArguments<'q>>,
    params: &[Param],
) -> Query<'q, Any, AnyArguments<'q>> {
    for p in params {
        query = match (&p.value, p.storage) {
            (Value::Null, Storage::Text) => query.bind(None::<String>),
            // sqlx 0.8.6's Any driver swaps the float widths of typed NULLs (a NULL
            // f64 reaches PostgreSQL as float4, breaking the cached statement for the
            // next non-null f64); a NULL f32 arrives as float8, which is what we want.
            (Value::Null, Storage::Real) => query.bind(None::<f32>),
            (Value::Null, Storage::Flag | Storage::Millis) => query.bind(None::<i64>),
            (Value::Text(s), _) => query.bind(s.clone()),
            (Value::Number(n), _) => query.bind(*n),
            (Value::Bool(b), _) => query.bind(i64::from(*b)),
            (Value::Date(d), _) => query.bind(d.format("%Y-%m-%d").to_string()),
            (Value::DateTime(ms), _) => query.bind(*ms),
        };
    }
    query
}

/// Decodes column `index` of `row` as a value of `field`.
pub(crate) fn decode(row: &AnyRow, index: usize, field: &Field) -> Result<Value, StoreError> {
    let value = match field.field_type.storage() {
        Storage::Text => match row.try_get::<Option<String>, _>(index)? {
            None => Value::Null,
            Some(s) if field.field_type == FieldType::Date => {
                Value::Date(NaiveDate::parse_from_str(&s, "%Y-%m-%d").map_err(|_| StoreError::Corrupt("date value"))?)
            }
            Some(s) => Value::Text(s),
        },
        Storage::Real => row.try_get::<Option<f64>, _>(index)?.map_or(Value::Null, Value::Number),
        Storage::Flag => row
            .try_get::<Option<i64>, _>(index)?
            .map_or(Value::Null, |v| Value::Bool(v != 0)),
        Storage::Millis => row
            .try_get::<Option<i64>, _>(index)?
            .map_or(Value::Null, Value::DateTime),
    };
    Ok(value)
}
