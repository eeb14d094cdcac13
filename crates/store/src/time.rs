//! Times are stored as epoch milliseconds.

use chrono::{DateTime, Utc};

use crate::StoreError;

pub(crate) fn from_millis(ms: i64, what: &'static str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(ms).ok_or(StoreError::Corrupt(what))
}

pub(crate) fn opt_from_millis(ms: Option<i64>, what: &'static str) -> Result<Option<DateTime<Utc>>, StoreError> {
    ms.map(|m| from_millis(m, what)).transpose()
}

pub(crate) fn flag(v: i64) -> bool {
    v != 0
}
