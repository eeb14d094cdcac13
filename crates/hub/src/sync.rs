//! Pulling contacts from the CRM, incrementally and crash-safely. A connector's query
//! asks for contacts changed since its checkpoint (minus a one-second look-back, since
//! SOQL date-time literals have whole seconds), ordered by `SystemModstamp`; each page is
//! stored in one transaction together with the checkpoint it reaches. A crash at any
//! point resumes from the last committed page; a replayed record changes nothing,
//! because a contact only ever moves to a newer `SystemModstamp`.

use chrono::{DateTime, Utc};
use latchkey_store::hub::{self, HubContact, PulledContact};
use serde_json::Value;

use crate::guard::{state, GuardError};
use crate::{Hub, HubError};

/// What a pull did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PullReport {
    /// Pages committed.
    pub pages: u32,
    /// Records read.
    pub records: u64,
    /// Contacts created or changed in the hub.
    pub changed: u64,
}

/// How far before the checkpoint a pull starts again (SOQL literals have whole seconds).
const LOOK_BACK_MS: i64 = 1_000;

/// The SOQL of a pull since `checkpoint` (epoch milliseconds).
pub fn pull_query(checkpoint: Option<i64>) -> String {
    let mut soql = String::from("SELECT Id, FirstName, LastName, Email, SystemModstamp FROM Contact");
    if let Some(ms) = checkpoint {
        let since = DateTime::<Utc>::from_timestamp_millis(ms - LOOK_BACK_MS).unwrap_or_default();
        soql.push_str(&format!(
            " WHERE SystemModstamp >= {}",
            since.format("%Y-%m-%dT%H:%M:%SZ")
        ));
    }
    soql.push_str(" ORDER BY SystemModstamp, Id");
    soql
}

fn pulled(record: &Value) -> Result<PulledContact, HubError> {
    let text = |k: &str| record[k].as_str().map(str::to_owned);
    let bad = |what: &str| HubError::Invalid(format!("the CRM sent a contact without {what}"));
    let modstamp = text("SystemModstamp")
        .and_then(|s| latchkey_core::records::value::parse_datetime(&s))
        .ok_or_else(|| bad("a SystemModstamp"))?;
    Ok(PulledContact {
        crm_id: text("Id").ok_or_else(|| bad("an Id"))?,
        first_name: text("FirstName"),
        last_name: text("LastName").unwrap_or_default(),
        email: text("Email"),
        modstamp,
    })
}

impl Hub {
    /// Pulls the connector's contacts changed since its checkpoint, through the guard.
    pub async fn pull(&self, workspace: &str, connector: &str, ca: Option<&[u8]>) -> Result<PullReport, GuardError> {
        let (c, record) = self.connector_and_record(workspace, connector).await?;
        if c.state == state::DISABLED || c.state == state::SUSPENDED {
            return Err(GuardError::Hub(HubError::Invalid(format!(
                "connector {connector:?} is {}",
                c.state
            ))));
        }
        if c.object != "Contact" || c.direction == "push" {
            return Err(GuardError::Hub(HubError::Invalid(
                "pulling is implemented for Contact connectors that pull".into(),
            )));
        }
        let guarded = self.guarded_login(&record, ca).await?;
        let checkpoint = {
            let mut conn = self.store.conn().await?;
            hub::pull_checkpoint(&mut conn, &c.id).await?
        };
        let mut report = PullReport::default();
        let mut page = match guarded.client.query_page(&pull_query(checkpoint)).await {
            Ok(page) => page,
            Err(e) => return Err(self.failed(&guarded, e).await),
        };
        loop {
            let mut tx = self.store.begin().await?;
            let now = self.clock.now();
            let mut through = None;
            for r in &page.records {
                let contact = pulled(r)?;
                through = through.max(Some(contact.modstamp));
                let id = latchkey_core::ids::generate("003");
                if hub::upsert_pulled(&mut tx, &c.workspace_id, &id, &contact, now).await? {
                    report.changed += 1;
                }
            }
            if let Some(ms) = through {
                hub::advance_pull_checkpoint(&mut tx, &c.id, ms).await?;
            }
            latchkey_store::commit(tx).await?;
            report.pages += 1;
            report.records += page.records.len() as u64;
            let Some(next) = page.next.take() else {
                return Ok(report);
            };
            page = match guarded.client.next_page(&next).await {
                Ok(page) => page,
                Err(e) => return Err(self.failed(&guarded, e).await),
            };
        }
    }

    /// The workspace's contacts.
    pub async fn contacts(&self, workspace: &str) -> Result<Vec<HubContact>, HubError> {
        let ws = self.workspace(workspace).await?;
        let mut conn = self.store.conn().await?;
        Ok(hub::contacts(&mut conn, &ws.id).await?)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn pulls_start_a_second_before_the_checkpoint_in_whole_seconds() {
        assert_eq!(
            super::pull_query(None),
            "SELECT Id, FirstName, LastName, Email, SystemModstamp FROM Contact ORDER BY SystemModstamp, Id"
        );
        // 2026-01-01T00:00:00.500Z → from 2025-12-31T23:59:59Z.
        assert!(super::pull_query(Some(1_767_225_600_500))
            .contains("WHERE SystemModstamp >= 2025-12-31T23:59:59Z ORDER BY"));
    }
}
