//! Batch statements: rows travel as one JSON array bound to one parameter, so a
//! statement's text is the same for any number of rows.

use crate::{Backend, StoreError};

/// How a column's value travels in a JSON row (see [`insert_from_json`]).
#[derive(Debug, Clone, Copy)]
pub(crate) enum JsonColumn {
    /// A string or null.
    Text,
    /// A whole number.
    Integer,
    /// Bytes as a hexadecimal string, or null.
    Hex,
}

/// `INSERT INTO {into}` of the rows of the JSON array of arrays `rows` (an SQL
/// expression: a parameter such as `$1`, or a trigger's `NEW.logins`), one value per
/// entry of `columns`, in order. Group commits bind their rows this way: the
/// statement's text is the same for any number of rows, so each connection prepares
/// it once, and one value is bound instead of one per column and row (SQLite finds
/// each placeholder by a linear scan of the statement's names, so a `VALUES` list
/// would bind in time growing with the square of its rows).
///
/// On SQLite each row is first taken out of the array once, by a subquery that the
/// `LIMIT -1 OFFSET 0` keeps from being flattened (it runs as a co-routine): read
/// straight from `json_each`, every `->>` of a row would convert the whole row back
/// from SQLite's binary JSON. It is a subquery, not a common table expression,
/// because SQLite allows none in a trigger, where the group commit's statements are
/// ([`super::writer::kept_setup`]).
pub(crate) fn insert_from_json(backend: Backend, into: &str, rows: &str, columns: &[JsonColumn]) -> String {
    let list: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, column)| match (backend, column) {
            (_, JsonColumn::Text) | (Backend::Sqlite, JsonColumn::Integer) => format!("r->>{i}"),
            (Backend::Postgres, JsonColumn::Integer) => format!("(r->>{i})::BIGINT"),
            (Backend::Sqlite, JsonColumn::Hex) => format!("unhex(r->>{i})"),
            (Backend::Postgres, JsonColumn::Hex) => format!("decode(r->>{i}, 'hex')"),
        })
        .collect();
    let list = list.join(", ");
    match backend {
        Backend::Sqlite => format!(
            "INSERT INTO {into} SELECT {list} FROM (SELECT value AS r FROM json_each({rows}) LIMIT -1 OFFSET 0)"
        ),
        Backend::Postgres => {
            format!("INSERT INTO {into} SELECT {list} FROM jsonb_array_elements({rows}::jsonb) AS r")
        }
    }
}

/// `rows` as the JSON array of arrays an [`insert_from_json`] statement reads.
pub(crate) fn json_rows<T: serde::Serialize>(rows: &[T]) -> Result<String, StoreError> {
    serde_json::to_string(rows).map_err(|e| StoreError::Database(sqlx::Error::Encode(Box::new(e))))
}
