//! Two-way contact sync, incremental and crash-safe.
//!
//! **Pull.** A connector asks for contacts changed since its checkpoint, as
//! [`latchkey_sfclient::changes`] pulls, ordered by `SystemModstamp`; each page is merged in one transaction together with the
//! checkpoint it reaches and the renewal of the run's lease. Field by field, the later
//! of the CRM's `SystemModstamp` and a pending local edit wins; a replayed record
//! changes nothing.
//!
//! **Push.** Contacts with pending local changes go out in collections of 200: new ones
//! by upsert on the connector's external-id field (the hub id as its value), so a push
//! replayed after a crash creates nothing twice; known ones as updates of their pending
//! fields only. A pushed field stops being pending only if it was not edited again
//! meanwhile. Pulled values are never pending, so nothing is echoed back.
//!
//! **Leases.** A run holds its connector's lease in the database, renewed in every
//! transaction it commits, so two hub instances never run the same connector at once.

use latchkey_core::connectors::ConnectorState;
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use latchkey_sfclient::{changes, SaveResult};
use latchkey_store::hub::sync::{self as hub_sync, HubContact, KeyColumn, Pending, SyncRun};
use latchkey_store::hub::Connector;
use serde_json::{json, Map, Value};

use crate::contacts::{field, set_field, FIELDS};
use crate::guard::{GuardError, Guarded};
use crate::{Hub, HubError};

/// Most records per collections call.
const PUSH_BATCH: i64 = 200;

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

/// What a push did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushReport {
    /// Contacts created in the CRM.
    pub created: u64,
    /// Contacts updated in the CRM.
    pub updated: u64,
    /// Contacts the CRM refused (they stay pending).
    pub failed: u64,
    /// The first refusal, for the user.
    pub first_error: Option<String>,
}

/// What a sync run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// The pull.
    pub pull: PullReport,
    /// The push.
    pub push: PushReport,
}

/// Progress of a run, for progress bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Records pulled so far, of the query's total.
    Pulled(u64, u64),
    /// Contacts pushed so far, of those pending when the push began.
    Pushed(u64, u64),
}

/// A contact as the CRM sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pulled {
    crm_id: String,
    values: Map<String, Value>,
    modstamp: i64,
    /// The hub id the CRM record carries in the external-id field, if any.
    hub_key: Option<String>,
}

/// How a connector's contacts look in the CRM: the CRM name of each hub field, and
/// the external-id field new contacts are pushed by.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrmFields {
    names: BTreeMap<String, String>,
    external_id: Option<String>,
}

impl CrmFields {
    /// Every hub field under its own name in the CRM, and `external_id`.
    pub fn plain(external_id: Option<&str>) -> Self {
        Self {
            names: BTreeMap::new(),
            external_id: external_id.map(str::to_owned),
        }
    }

    /// The connector's mapping and external-id field.
    pub fn of(c: &Connector) -> Self {
        Self {
            names: c.field_map.clone(),
            external_id: c.external_id_field.clone(),
        }
    }

    /// The CRM name of a hub field.
    fn crm<'a>(&'a self, hub_field: &'a str) -> &'a str {
        self.names.get(hub_field).map_or(hub_field, String::as_str)
    }
}

/// The SOQL of a pull since `checkpoint` (epoch milliseconds).
pub fn pull_query(checkpoint: Option<i64>, crm: &CrmFields) -> String {
    let mut names: Vec<&str> = FIELDS.iter().map(|f| crm.crm(f)).collect();
    names.extend(crm.external_id.as_deref());
    let since = checkpoint.and_then(DateTime::<Utc>::from_timestamp_millis);
    changes::changed_since("Contact", &names, None, since)
}

fn pulled(record: &Value, crm: &CrmFields) -> Result<Pulled, HubError> {
    let bad = |what: &str| HubError::Invalid(format!("the CRM sent a contact without {what}"));
    let modstamp = changes::modstamp(record)
        .ok_or_else(|| bad("a SystemModstamp"))?
        .timestamp_millis();
    let values = FIELDS
        .iter()
        .map(|f| ((*f).to_owned(), record[crm.crm(f)].clone()))
        .collect();
    Ok(Pulled {
        crm_id: record["Id"].as_str().ok_or_else(|| bad("an Id"))?.to_owned(),
        values,
        modstamp,
        hub_key: crm
            .external_id
            .as_deref()
            .and_then(|f| record[f].as_str().map(str::to_owned)),
    })
}

/// The contact after merging a pulled version into `local`, or `None` when the hub
/// already has this or a newer version. Field by field, a pending local edit newer
/// than the CRM's `SystemModstamp` wins; otherwise the CRM's value does.
fn merge(local: &HubContact, p: &Pulled) -> Option<HubContact> {
    if local.crm_id.as_deref() == Some(p.crm_id.as_str()) && local.crm_modstamp >= Some(p.modstamp) {
        return None;
    }
    let mut merged = local.clone();
    merged.crm_id = Some(p.crm_id.clone());
    merged.crm_modstamp = Some(p.modstamp);
    for f in FIELDS {
        match local.pending.get(f) {
            Some(edited) if *edited > p.modstamp => {}
            _ => {
                set_field(&mut merged, f, p.values[f].as_str().map(str::to_owned));
                merged.pending.remove(f);
            }
        }
    }
    Some(merged)
}

fn fields_differ(a: &HubContact, b: &HubContact) -> bool {
    FIELDS.iter().any(|f| field(a, f) != field(b, f))
}

fn new_from(p: &Pulled) -> HubContact {
    let mut c = HubContact {
        id: latchkey_core::ids::generate("0Hc"),
        crm_id: Some(p.crm_id.clone()),
        first_name: None,
        last_name: String::new(),
        email: None,
        crm_modstamp: Some(p.modstamp),
        pending: Pending::new(),
    };
    for f in FIELDS {
        set_field(&mut c, f, p.values[f].as_str().map(str::to_owned));
    }
    c
}

/// The CRM record for pushing `c`: every field and its hub id in the external-id
/// field when it is new, else its pending fields.
fn push_record(c: &HubContact, crm: &CrmFields) -> Value {
    let mut record = json!({ "attributes": { "type": "Contact" } });
    let fields: Vec<&str> = match &c.crm_id {
        Some(crm_id) => {
            record["id"] = json!(crm_id);
            c.pending.keys().map(String::as_str).collect()
        }
        None => {
            if let Some(key) = &crm.external_id {
                record[key] = json!(c.id);
            }
            FIELDS.to_vec()
        }
    };
    for f in fields {
        record[crm.crm(f)] = json!(field(c, f));
    }
    record
}

/// One sync run's hold on its connector.
struct Run<'a> {
    hub: &'a Hub,
    connector: Connector,
    holder: String,
}

impl Run<'_> {
    /// Renews the lease inside `tx`; a lost lease aborts the transaction.
    async fn renew(&self, tx: &mut latchkey_store::Conn) -> Result<(), HubError> {
        let now = self.hub.clock.now();
        let until = now + self.hub.sync_lease;
        if hub_sync::take_lease(tx, &self.connector.id, &self.holder, now, until).await? {
            Ok(())
        } else {
            Err(HubError::Busy(format!(
                "connector {:?} is being synced by another hub instance",
                self.connector.name
            )))
        }
    }

    async fn pull(&self, guarded: &Guarded, progress: &(dyn Fn(Progress) + Sync)) -> Result<PullReport, GuardError> {
        let c = &self.connector;
        let crm = CrmFields::of(c);
        let checkpoint = {
            let mut conn = self.hub.store.conn().await?;
            hub_sync::pull_checkpoint(&mut conn, &c.id).await?
        };
        let mut report = PullReport::default();
        let mut page = match guarded.client.query_page(&pull_query(checkpoint, &crm)).await {
            Ok(page) => page,
            Err(e) => return Err(self.hub.failed(guarded, e).await),
        };
        let total = page.total;
        loop {
            let records = page
                .records
                .iter()
                .map(|r| pulled(r, &crm))
                .collect::<Result<Vec<_>, _>>()?;
            let mut tx = self.hub.store.begin().await?;
            self.renew(&mut tx).await?;
            report.changed += self.merge_page(&mut tx, &records).await?;
            if let Some(through) = records.iter().map(|p| p.modstamp).max() {
                hub_sync::advance_pull_checkpoint(&mut tx, &c.id, through).await?;
            }
            latchkey_store::commit(tx).await?;
            report.pages += 1;
            report.records += records.len() as u64;
            progress(Progress::Pulled(report.records, total));
            let Some(next) = page.next.take() else {
                return Ok(report);
            };
            page = match guarded.client.next_page(&next).await {
                Ok(page) => page,
                Err(e) => return Err(self.hub.failed(guarded, e).await),
            };
        }
    }

    /// Merges one page into the hub; returns how many contacts changed.
    async fn merge_page(&self, tx: &mut latchkey_store::Conn, records: &[Pulled]) -> Result<u64, HubError> {
        let ws = &self.connector.workspace_id;
        let crm_ids: Vec<&str> = records.iter().map(|p| p.crm_id.as_str()).collect();
        let mut known: HashMap<String, HubContact> = hub_sync::contacts_where(tx, ws, KeyColumn::CrmId, &crm_ids)
            .await?
            .into_iter()
            .filter_map(|c| Some((c.crm_id.clone()?, c)))
            .collect();
        // A contact pushed just before a crash is in the CRM, carrying its hub id, but
        // the hub never learnt its CRM id: link it rather than pull a duplicate.
        let keys: Vec<&str> = records
            .iter()
            .filter(|p| !known.contains_key(&p.crm_id))
            .filter_map(|p| p.hub_key.as_deref())
            .collect();
        let mut unlinked: HashMap<String, HubContact> = hub_sync::contacts_where(tx, ws, KeyColumn::Id, &keys)
            .await?
            .into_iter()
            .filter(|c| c.crm_id.is_none())
            .map(|c| (c.id.clone(), c))
            .collect();
        let now = self.hub.clock.now();
        let mut changed = 0;
        let mut new = Vec::new();
        for p in records {
            let local = known
                .remove(&p.crm_id)
                .or_else(|| p.hub_key.as_ref().and_then(|k| unlinked.remove(k)));
            let Some(local) = local else {
                new.push(new_from(p));
                changed += 1;
                continue;
            };
            let Some(merged) = merge(&local, p) else {
                continue;
            };
            if !hub_sync::update_contact(tx, &merged, &local.pending, now).await? {
                // Edited locally since we read it: merge into the edited version.
                let current = hub_sync::contact(tx, ws, &local.id)
                    .await?
                    .ok_or_else(|| HubError::NotFound(format!("contact {}", local.id)))?;
                if let Some(again) = merge(&current, p) {
                    if !hub_sync::update_contact(tx, &again, &current.pending, now).await? {
                        return Err(HubError::Busy(format!("contact {} is being edited", local.id)));
                    }
                }
            }
            if fields_differ(&local, &merged) {
                changed += 1;
            }
        }
        hub_sync::insert_contacts(tx, ws, &new, now).await?;
        Ok(changed)
    }

    async fn push(&self, guarded: &Guarded, progress: &(dyn Fn(Progress) + Sync)) -> Result<PushReport, GuardError> {
        let c = &self.connector;
        let crm = CrmFields::of(c);
        let key = c.external_id_field.as_deref();
        let total = {
            let mut conn = self.hub.store.conn().await?;
            hub_sync::pending_count(&mut conn, &c.workspace_id).await? as u64
        };
        let mut report = PushReport::default();
        let mut after = String::new();
        loop {
            let batch = {
                let mut conn = self.hub.store.conn().await?;
                hub_sync::pending_contacts(&mut conn, &c.workspace_id, &after, PUSH_BATCH).await?
            };
            let Some(last) = batch.last() else {
                return Ok(report);
            };
            after.clone_from(&last.id);
            let (new, known): (Vec<&HubContact>, Vec<&HubContact>) = batch.iter().partition(|c| c.crm_id.is_none());
            if !new.is_empty() && key.is_none() {
                return Err(GuardError::Hub(HubError::Invalid(format!(
                    "connector {:?} has no external-id field, so it cannot create contacts in the CRM safely",
                    c.name
                ))));
            }
            let mut outcomes = Vec::with_capacity(batch.len());
            if let Some(key) = key.filter(|_| !new.is_empty()) {
                let records: Vec<Value> = new.iter().map(|c| push_record(c, &crm)).collect();
                match guarded.client.upsert_many("Contact", key, &records, false).await {
                    Ok(results) => outcomes.extend(new.iter().copied().zip(results)),
                    Err(e) => return Err(self.hub.failed(guarded, e).await),
                }
            }
            if !known.is_empty() {
                let records: Vec<Value> = known.iter().map(|c| push_record(c, &crm)).collect();
                match guarded.client.update_many(&records, false).await {
                    Ok(results) => outcomes.extend(known.iter().copied().zip(results)),
                    Err(e) => return Err(self.hub.failed(guarded, e).await),
                }
            }
            let mut tx = self.hub.store.begin().await?;
            self.renew(&mut tx).await?;
            for (contact, result) in outcomes {
                self.settle(&mut tx, contact, &result, &mut report).await?;
            }
            latchkey_store::commit(tx).await?;
            progress(Progress::Pushed(report.created + report.updated + report.failed, total));
        }
    }

    /// Records the CRM's answer for one pushed contact.
    async fn settle(
        &self,
        tx: &mut latchkey_store::Conn,
        pushed: &HubContact,
        result: &SaveResult,
        report: &mut PushReport,
    ) -> Result<(), HubError> {
        let (Some(crm_id), None) = (&result.id, &result.error) else {
            report.failed += 1;
            if report.first_error.is_none() {
                let (code, message) = result.error.clone().unwrap_or_default();
                report.first_error = Some(format!("contact {}: {code}: {message}", pushed.id));
            }
            return Ok(());
        };
        if pushed.crm_id.is_none() {
            report.created += 1;
        } else {
            report.updated += 1;
        }
        let now = self.hub.clock.now();
        let mut current = pushed.clone();
        for _ in 0..5 {
            let mut done = current.clone();
            done.crm_id = Some(crm_id.clone());
            // Only what was pushed stops being pending; a newer edit stays.
            done.pending.retain(|f, at| pushed.pending.get(f) != Some(at));
            if hub_sync::update_contact(tx, &done, &current.pending, now).await? {
                return Ok(());
            }
            current = hub_sync::contact(tx, &self.connector.workspace_id, &pushed.id)
                .await?
                .ok_or_else(|| HubError::NotFound(format!("contact {}", pushed.id)))?;
        }
        Err(HubError::Busy(format!("contact {} is being edited", pushed.id)))
    }
}

impl Hub {
    /// Runs one sync of the connector — pull, then push, as its direction says —
    /// through the guard, holding the connector's lease. The run is recorded in the
    /// connector's history whatever its outcome.
    pub async fn sync(
        &self,
        workspace: &str,
        connector: &str,
        ca: Option<&[u8]>,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<SyncReport, GuardError> {
        let (c, record) = self.connector_and_record(workspace, connector).await?;
        self.sync_connector(c, &record, ca, progress).await
    }

    /// [`Hub::sync`] of a connector already read, with its credential record.
    pub(crate) async fn sync_connector(
        &self,
        c: Connector,
        record: &latchkey_store::hub::SealedCredential,
        ca: Option<&[u8]>,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<SyncReport, GuardError> {
        let connector = c.name.clone();
        if c.state == ConnectorState::Disabled || c.state == ConnectorState::Suspended {
            let why = c.last_error.clone().unwrap_or_else(|| format!("it is {}", c.state));
            return Err(GuardError::Hub(HubError::Invalid(format!(
                "connector {connector:?} does not run: {why}"
            ))));
        }
        if c.object != "Contact" {
            return Err(GuardError::Hub(HubError::Invalid(
                "syncing is implemented for Contact connectors".into(),
            )));
        }
        let run = Run {
            hub: self,
            holder: latchkey_core::ids::generate("0Hl"),
            connector: c,
        };
        {
            let mut tx = self.store.begin().await?;
            run.renew(&mut tx).await?;
            latchkey_store::commit(tx).await?;
        }
        let started_at = self.clock.now();
        let outcome = self.run(&run, record, ca, progress).await;
        let (report, error) = match &outcome {
            Ok(report) => (report.clone(), None),
            Err(e) => (SyncReport::default(), Some(e.to_string())),
        };
        let finished = SyncRun {
            id: latchkey_core::ids::generate("0Hr"),
            connector_id: run.connector.id.clone(),
            started_at,
            finished_at: self.clock.now(),
            records_in: report.pull.changed as i64,
            records_out: (report.push.created + report.push.updated) as i64,
            outcome: if error.is_none() { "ok" } else { "failed" }.into(),
            error: error.or(report.push.first_error.clone()),
        };
        let mut tx = self.store.begin().await?;
        hub_sync::insert_run(&mut tx, &finished).await?;
        if outcome.is_ok() {
            // The CRM answered: connectors backing off on this record may run on time
            // (a kept session skips the login that would otherwise have said so).
            latchkey_store::hub::move_connectors(
                &mut tx,
                &record.id,
                &[ConnectorState::BackingOff],
                ConnectorState::Enabled,
                None,
                finished.finished_at,
            )
            .await?;
        }
        hub_sync::release_lease(&mut tx, &run.connector.id, &run.holder).await?;
        latchkey_store::commit(tx).await?;
        outcome
    }

    async fn run(
        &self,
        run: &Run<'_>,
        record: &latchkey_store::hub::SealedCredential,
        ca: Option<&[u8]>,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<SyncReport, GuardError> {
        let guarded = self.guarded_login(record, ca, crate::guard::Purpose::Run).await?;
        let direction = run.connector.direction;
        let mut report = SyncReport::default();
        if direction.pulls() {
            report.pull = run.pull(&guarded, progress).await?;
        }
        if direction.pushes() {
            report.push = run.push(&guarded, progress).await?;
        }
        Ok(report)
    }

    /// The connector's last `limit` runs, newest first.
    pub async fn runs(&self, workspace: &str, connector: &str, limit: i64) -> Result<Vec<SyncRun>, HubError> {
        let c = self.connector(workspace, connector).await?;
        self.runs_of(&c, limit).await
    }

    /// The newest `limit` runs of connector `c`, newest first.
    pub async fn runs_of(&self, c: &Connector, limit: i64) -> Result<Vec<SyncRun>, HubError> {
        let mut conn = self.store.conn().await?;
        Ok(hub_sync::recent_runs(&mut conn, &c.id, limit).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pulled_at(modstamp: i64, email: &str) -> Pulled {
        let values = json!({"FirstName": "Ann", "LastName": "Lee", "Email": email});
        Pulled {
            crm_id: "003A".into(),
            values: values.as_object().cloned().unwrap_or_default(),
            modstamp,
            hub_key: None,
        }
    }

    fn local(pending: &[(&str, i64)]) -> HubContact {
        HubContact {
            id: "0HcA".into(),
            crm_id: Some("003A".into()),
            first_name: Some("Ann".into()),
            last_name: "Lee".into(),
            email: Some("local@x.test".into()),
            crm_modstamp: Some(100),
            pending: pending.iter().map(|(f, t)| ((*f).to_owned(), *t)).collect(),
        }
    }

    #[test]
    fn pulls_start_before_the_checkpoint_in_whole_seconds() {
        assert_eq!(
            pull_query(None, &CrmFields::plain(None)),
            "SELECT Id, FirstName, LastName, Email, SystemModstamp FROM Contact ORDER BY SystemModstamp, Id"
        );
        // 2026-01-01T00:00:00.500Z → from 2025-12-31T23:59:59Z (the shared look-back).
        let q = pull_query(Some(1_767_225_600_500), &CrmFields::plain(Some("Hub_Id__c")));
        assert!(q.contains(", Email, Hub_Id__c, SystemModstamp FROM"), "{q}");
        assert!(
            q.contains("WHERE SystemModstamp >= 2025-12-31T23:59:59Z ORDER BY"),
            "{q}"
        );
    }

    #[test]
    fn the_later_of_a_local_edit_and_the_crm_wins_field_by_field() {
        // The CRM changed Email at 200; the local edit at 150 loses.
        let merged = merge(&local(&[("Email", 150)]), &pulled_at(200, "crm@x.test")).unwrap();
        assert_eq!(merged.email.as_deref(), Some("crm@x.test"));
        assert!(merged.pending.is_empty());
        // A local edit at 250 wins over the CRM's 200 and stays pending.
        let merged = merge(&local(&[("Email", 250)]), &pulled_at(200, "crm@x.test")).unwrap();
        assert_eq!(merged.email.as_deref(), Some("local@x.test"));
        assert_eq!(merged.pending.get("Email"), Some(&250));
        assert_eq!(merged.crm_modstamp, Some(200));
    }

    #[test]
    fn a_version_the_hub_has_is_not_merged_again() {
        assert_eq!(merge(&local(&[]), &pulled_at(100, "crm@x.test")), None);
        assert_eq!(merge(&local(&[]), &pulled_at(99, "crm@x.test")), None);
        assert!(merge(&local(&[]), &pulled_at(101, "crm@x.test")).is_some());
    }

    #[test]
    fn new_contacts_push_every_field_and_their_key_known_ones_only_what_changed() {
        let mut c = local(&[("Email", 1)]);
        assert_eq!(
            push_record(&c, &CrmFields::plain(Some("Hub_Id__c"))),
            json!({"attributes": {"type": "Contact"}, "id": "003A", "Email": "local@x.test"})
        );
        c.crm_id = None;
        assert_eq!(
            push_record(&c, &CrmFields::plain(Some("Hub_Id__c"))),
            json!({"attributes": {"type": "Contact"}, "Hub_Id__c": "0HcA", "FirstName": "Ann",
                   "LastName": "Lee", "Email": "local@x.test"})
        );
    }

    #[test]
    fn mapped_fields_go_by_their_crm_names_both_ways() {
        let crm = CrmFields {
            names: [("Email".to_owned(), "Work_Email__c".to_owned())].into(),
            external_id: Some("Hub_Id__c".into()),
        };
        assert_eq!(
            pull_query(None, &crm),
            "SELECT Id, FirstName, LastName, Work_Email__c, Hub_Id__c, SystemModstamp FROM Contact \
             ORDER BY SystemModstamp, Id"
        );
        let record = json!({"Id": "003A", "FirstName": "Ann", "LastName": "Lee", "Email": "standard@x.test",
                            "Work_Email__c": "work@x.test", "SystemModstamp": "2026-01-01T00:00:00.000+0000"});
        let p = pulled(&record, &crm).unwrap();
        assert_eq!(p.values["Email"], json!("work@x.test"));
        let c = local(&[("Email", 1)]);
        assert_eq!(
            push_record(&c, &crm),
            json!({"attributes": {"type": "Contact"}, "id": "003A", "Work_Email__c": "local@x.test"})
        );
    }
}
