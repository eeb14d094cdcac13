//! Pulling what changed in the org since a checkpoint, the one way the hub and the
//! desktop client both do it: records in `SystemModstamp` order from a little before
//! the newest one seen, because SOQL date-time literals have whole seconds and a
//! change committed in the checkpoint's second may land after the pull read it.
//! Reading a record twice is harmless (the merge is idempotent); missing one is not.

use chrono::{DateTime, Utc};
use serde_json::Value;

/// How far before the checkpoint a pull starts.
pub const LOOK_BACK: chrono::Duration = chrono::Duration::seconds(1);

/// The SOQL of a pull: `Id`, `fields` and `SystemModstamp` of `object`'s records that
/// match `filter` (a SOQL condition) and changed at or after `checkpoint` less
/// [`LOOK_BACK`] (every record without a checkpoint), oldest change first.
pub fn changed_since(object: &str, fields: &[&str], filter: Option<&str>, checkpoint: Option<DateTime<Utc>>) -> String {
    let mut soql = format!("SELECT Id, {}, SystemModstamp FROM {object}", fields.join(", "));
    let since = checkpoint.map(|at| format!("SystemModstamp >= {}", (at - LOOK_BACK).format("%Y-%m-%dT%H:%M:%SZ")));
    let conditions: Vec<String> = filter.map(str::to_owned).into_iter().chain(since).collect();
    if !conditions.is_empty() {
        soql.push_str(" WHERE ");
        soql.push_str(&conditions.join(" AND "));
    }
    soql.push_str(" ORDER BY SystemModstamp, Id");
    soql
}

/// A pulled record's `SystemModstamp` (`2026-01-01T00:00:00.000+0000`, or RFC 3339).
pub fn modstamp(record: &Value) -> Option<DateTime<Utc>> {
    let text = record["SystemModstamp"].as_str()?;
    DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| DateTime::parse_from_rfc3339(text))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pull_starts_before_its_checkpoint_and_reads_oldest_first() {
        assert_eq!(
            changed_since("Contact", &["LastName"], None, None),
            "SELECT Id, LastName, SystemModstamp FROM Contact ORDER BY SystemModstamp, Id"
        );
        let at = DateTime::from_timestamp(1_767_225_600, 500_000_000).unwrap();
        assert_eq!(
            changed_since("Contact", &["FirstName", "LastName"], Some("OwnerId = '005'"), Some(at)),
            "SELECT Id, FirstName, LastName, SystemModstamp FROM Contact \
             WHERE OwnerId = '005' AND SystemModstamp >= 2025-12-31T23:59:59Z ORDER BY SystemModstamp, Id"
        );
    }

    #[test]
    fn modstamps_read_in_salesforce_and_rfc_3339_forms() {
        let want = DateTime::from_timestamp(1_767_225_600, 0).unwrap();
        for text in [
            "2026-01-01T00:00:00.000+0000",
            "2026-01-01T00:00:00Z",
            "2026-01-01T01:00:00+01:00",
        ] {
            assert_eq!(
                modstamp(&serde_json::json!({ "SystemModstamp": text })),
                Some(want),
                "{text}"
            );
        }
        assert_eq!(modstamp(&serde_json::json!({ "SystemModstamp": "yesterday" })), None);
        assert_eq!(modstamp(&serde_json::json!({})), None);
    }
}
