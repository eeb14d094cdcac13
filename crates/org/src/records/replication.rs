//! The replication feeds `sobjects/{T}/updated` and `deleted`: ids changed or deleted
//! in a window, with the last moment covered so a client can resume from it.

use chrono::{DateTime, Duration, DurationRound, Utc};
use latchkey_core::records::ObjectKind;
use latchkey_store::records;

use super::service::RECYCLE_DAYS;
use super::{Caller, RestError};
use crate::Services;

/// How far back `updated` reaches.
pub const UPDATED_DAYS: i64 = 30;
/// Most ids one call returns.
pub const MAX_IDS: usize = 600_000;

/// What `updated` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Updated {
    /// Ids of live records changed in the window.
    pub ids: Vec<String>,
    /// The end of the window actually covered.
    pub latest_covered: DateTime<Utc>,
}

/// What `deleted` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deleted {
    /// Ids and deletion times.
    pub records: Vec<(String, DateTime<Utc>)>,
    /// The oldest deletion still kept.
    pub earliest_available: DateTime<Utc>,
    /// The end of the window actually covered.
    pub latest_covered: DateTime<Utc>,
}

fn minute(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(Duration::minutes(1)).unwrap_or(t)
}

/// Refuses the feeds of an object the caller may not see or that is not replicated
/// (LoginHistory, an append-only trail read by `LoginTime`).
fn replicated(caller: &Caller, kind: ObjectKind) -> Result<(), RestError> {
    if caller.sees(kind) && kind.replicateable() {
        Ok(())
    } else {
        Err(RestError::UnknownObject(kind.name().to_owned()))
    }
}

impl Services {
    /// The window `[start, end)` clamped to now and checked against how far back
    /// records are kept.
    fn window(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        days_kept: i64,
    ) -> Result<(DateTime<Utc>, DateTime<Utc>), RestError> {
        let now = self.clock.now();
        let end = end.min(now);
        if start >= end {
            return Err(RestError::ReplicationDate(
                "The start date must be before the end date (and before now).".into(),
            ));
        }
        if start < now - Duration::days(days_kept) {
            return Err(RestError::ReplicationDate(format!(
                "The start date cannot be more than {days_kept} days ago."
            )));
        }
        Ok((start, end))
    }

    /// Ids of records changed between `start` and `end`.
    pub async fn updated_records(
        &self,
        caller: &Caller,
        kind: ObjectKind,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Updated, RestError> {
        replicated(caller, kind)?;
        let (start, end) = self.window(start, end, UPDATED_DAYS)?;
        let mut conn = self.store.conn().await?;
        let ids = records::updated(&mut conn, &caller.org_id, kind, start, end).await?;
        if ids.len() > MAX_IDS {
            return Err(RestError::TooMany(format!(
                "More than {MAX_IDS} ids changed in the window; narrow it."
            )));
        }
        Ok(Updated {
            ids,
            latest_covered: end,
        })
    }

    /// Records deleted between `start` and `end`.
    pub async fn deleted_records(
        &self,
        caller: &Caller,
        kind: ObjectKind,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Deleted, RestError> {
        replicated(caller, kind)?;
        let (start, end) = self.window(start, end, RECYCLE_DAYS)?;
        let mut conn = self.store.conn().await?;
        let records = records::deleted(&mut conn, &caller.org_id, kind, start, end).await?;
        Ok(Deleted {
            records,
            earliest_available: minute(self.clock.now() - Duration::days(RECYCLE_DAYS)),
            latest_covered: end,
        })
    }
}
