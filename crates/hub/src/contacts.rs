//! The hub's own contacts: list, create, edit, CSV import and export. Every local
//! change is recorded field by field as *pending* (with its time) for the next push;
//! pulled values never are, so nothing pulled is echoed back to the CRM.

use std::io::{Read, Write};

use latchkey_store::hub::sync::{self as hub_sync, HubContact, Pending};

use crate::{Hub, HubError};

/// The CRM fields a hub contact syncs, by their CRM names.
pub const FIELDS: [&str; 3] = ["FirstName", "LastName", "Email"];

/// A synced field's value on a contact.
pub fn field<'a>(c: &'a HubContact, name: &str) -> Option<&'a str> {
    match name {
        "FirstName" => c.first_name.as_deref(),
        "LastName" => Some(c.last_name.as_str()),
        "Email" => c.email.as_deref(),
        _ => None,
    }
}

/// Sets a synced field's value on a contact (an empty last name stays as given).
pub fn set_field(c: &mut HubContact, name: &str, value: Option<String>) {
    match name {
        "FirstName" => c.first_name = value,
        "LastName" => c.last_name = value.unwrap_or_default(),
        "Email" => c.email = value,
        _ => {}
    }
}

/// Changes to a contact's fields: `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactChanges {
    /// First name.
    pub first_name: Option<Option<String>>,
    /// Last name (required; it cannot be cleared).
    pub last_name: Option<String>,
    /// E-mail.
    pub email: Option<Option<String>>,
}

impl ContactChanges {
    fn pairs(&self) -> Vec<(&'static str, Option<String>)> {
        let mut out = Vec::new();
        if let Some(v) = &self.first_name {
            out.push(("FirstName", v.clone()));
        }
        if let Some(v) = &self.last_name {
            out.push(("LastName", Some(v.clone())));
        }
        if let Some(v) = &self.email {
            out.push(("Email", v.clone()));
        }
        out
    }
}

/// The CRM's length limits (Contact.FirstName 40, LastName 80, Email 80).
fn check(c: &HubContact) -> Result<(), String> {
    if c.last_name.trim().is_empty() {
        return Err("a contact needs a last name".into());
    }
    let long = |name: &str, v: Option<&str>, max: usize| {
        v.filter(|v| v.chars().count() > max)
            .map(|_| format!("{name} is longer than {max} characters"))
    };
    if let Some(e) = long("FirstName", c.first_name.as_deref(), 40)
        .or_else(|| long("LastName", Some(&c.last_name), 80))
        .or_else(|| long("Email", c.email.as_deref(), 80))
    {
        return Err(e);
    }
    match c.email.as_deref() {
        Some(e) if !latchkey_core::records::value::plausible_email(e) => Err(format!("{e:?} is not an e-mail address")),
        _ => Ok(()),
    }
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// New contacts.
    pub created: u64,
    /// Existing contacts (matched by hub id) changed.
    pub updated: u64,
}

/// Applies `changes` at `now` to `c`, marking each changed field pending.
fn apply(c: &mut HubContact, changes: &[(&'static str, Option<String>)], now: i64) {
    for (name, value) in changes {
        let value = value.as_ref().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        if field(c, name) != value.as_deref() {
            set_field(c, name, value);
            c.pending.insert((*name).to_owned(), now);
        }
    }
}

impl Hub {
    /// The workspace's contacts, by last name.
    pub async fn contacts(&self, workspace: &str) -> Result<Vec<HubContact>, HubError> {
        let ws = self.workspace(workspace).await?;
        let mut conn = self.store.conn().await?;
        Ok(hub_sync::contacts(&mut conn, &ws.id).await?)
    }

    /// Creates a local contact; it reaches the CRM with the next push.
    pub async fn create_contact(&self, workspace: &str, changes: &ContactChanges) -> Result<HubContact, HubError> {
        let ws = self.workspace(workspace).await?;
        let contact = self.new_contact(changes)?;
        let mut conn = self.store.conn().await?;
        hub_sync::insert_contacts(&mut conn, &ws.id, std::slice::from_ref(&contact), self.clock.now()).await?;
        Ok(contact)
    }

    fn new_contact(&self, changes: &ContactChanges) -> Result<HubContact, HubError> {
        let mut contact = HubContact {
            id: latchkey_core::ids::generate("0Hc"),
            crm_id: None,
            first_name: None,
            last_name: String::new(),
            email: None,
            crm_modstamp: None,
            pending: Pending::new(),
        };
        apply(&mut contact, &changes.pairs(), self.clock.now().timestamp_millis());
        check(&contact).map_err(HubError::Invalid)?;
        Ok(contact)
    }

    /// Changes a contact's fields; each changed field is pushed with the next sync.
    pub async fn edit_contact(
        &self,
        workspace: &str,
        id: &str,
        changes: &ContactChanges,
    ) -> Result<HubContact, HubError> {
        let ws = self.workspace(workspace).await?;
        let mut conn = self.store.conn().await?;
        // A sync may settle this contact between our read and write; read again then.
        for _ in 0..5 {
            let current = hub_sync::contact(&mut conn, &ws.id, id)
                .await?
                .ok_or_else(|| HubError::NotFound(format!("contact {id}")))?;
            let mut edited = current.clone();
            apply(&mut edited, &changes.pairs(), self.clock.now().timestamp_millis());
            check(&edited).map_err(HubError::Invalid)?;
            if edited == current
                || hub_sync::update_contact(&mut conn, &edited, &current.pending, self.clock.now()).await?
            {
                return Ok(edited);
            }
        }
        Err(HubError::Invalid(format!(
            "contact {id} is changing too often; try again"
        )))
    }

    /// Imports contacts from CSV with a header row naming `FirstName`, `LastName`,
    /// `Email` and optionally `Id` (a hub id: that contact is updated). Every row is
    /// checked first; one bad row imports nothing and the error names its line.
    pub async fn import_csv(&self, workspace: &str, input: impl Read) -> Result<ImportReport, HubError> {
        let ws = self.workspace(workspace).await?;
        let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(input);
        let headers = reader
            .headers()
            .map_err(|e| HubError::Invalid(format!("CSV header: {e}")))?
            .clone();
        let column = |name: &str| {
            headers
                .iter()
                .position(|h| h.replace([' ', '_'], "").eq_ignore_ascii_case(name))
        };
        let (first, last, email, id) = (column("FirstName"), column("LastName"), column("Email"), column("Id"));
        if last.is_none() {
            return Err(HubError::Invalid("the CSV needs a LastName column".into()));
        }
        let mut rows = Vec::new();
        for (n, row) in reader.records().enumerate() {
            let line = n + 2;
            let row = row.map_err(|e| HubError::Invalid(format!("CSV line {line}: {e}")))?;
            let cell = |i: Option<usize>| i.and_then(|i| row.get(i)).map(str::to_owned);
            let changes = ContactChanges {
                first_name: first.map(|_| cell(first)),
                last_name: cell(last),
                email: email.map(|_| cell(email)),
            };
            rows.push((line, cell(id).filter(|v| !v.is_empty()), changes));
        }
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let mut report = ImportReport::default();
        let mut new = Vec::new();
        for (line, id, changes) in rows {
            let at_line = |e: String| HubError::Invalid(format!("CSV line {line}: {e}"));
            match id {
                None => {
                    new.push(self.new_contact(&changes).map_err(|e| at_line(e.to_string()))?);
                    report.created += 1;
                }
                Some(id) => {
                    let current = hub_sync::contact(&mut tx, &ws.id, &id)
                        .await?
                        .ok_or_else(|| at_line(format!("no contact has id {id}")))?;
                    let mut edited = current.clone();
                    apply(&mut edited, &changes.pairs(), now.timestamp_millis());
                    check(&edited).map_err(at_line)?;
                    if edited != current {
                        if !hub_sync::update_contact(&mut tx, &edited, &current.pending, now).await? {
                            return Err(at_line(format!("contact {id} changed during the import; import again")));
                        }
                        report.updated += 1;
                    }
                }
            }
        }
        hub_sync::insert_contacts(&mut tx, &ws.id, &new, now).await?;
        latchkey_store::commit(tx).await?;
        Ok(report)
    }

    /// Writes the workspace's contacts as CSV (`Id, CrmId, FirstName, LastName, Email`).
    pub async fn export_csv(&self, workspace: &str, output: impl Write) -> Result<u64, HubError> {
        let contacts = self.contacts(workspace).await?;
        let mut writer = csv::Writer::from_writer(output);
        let io = |e: csv::Error| HubError::Invalid(format!("writing CSV: {e}"));
        writer
            .write_record(["Id", "CrmId", "FirstName", "LastName", "Email"])
            .map_err(io)?;
        for c in &contacts {
            writer
                .write_record([
                    c.id.as_str(),
                    c.crm_id.as_deref().unwrap_or_default(),
                    c.first_name.as_deref().unwrap_or_default(),
                    c.last_name.as_str(),
                    c.email.as_deref().unwrap_or_default(),
                ])
                .map_err(io)?;
        }
        writer
            .flush()
            .map_err(|e| HubError::Invalid(format!("writing CSV: {e}")))?;
        Ok(contacts.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blank() -> HubContact {
        HubContact {
            id: "0Hc".into(),
            crm_id: None,
            first_name: None,
            last_name: "Old".into(),
            email: None,
            crm_modstamp: None,
            pending: Pending::new(),
        }
    }

    #[test]
    fn only_fields_that_change_become_pending() {
        let mut c = blank();
        apply(
            &mut c,
            &[("LastName", Some("Old".into())), ("Email", Some(" a@b.test ".into()))],
            7,
        );
        assert_eq!(c.email.as_deref(), Some("a@b.test"), "values are trimmed");
        assert_eq!(c.pending, Pending::from([("Email".to_owned(), 7)]));
        apply(&mut c, &[("Email", Some(String::new()))], 9);
        assert_eq!((c.email.clone(), c.pending["Email"]), (None, 9), "blank clears");
    }

    #[test]
    fn contacts_are_checked_like_the_crm_checks_them() {
        let mut c = blank();
        assert_eq!(check(&c), Ok(()));
        c.email = Some("not an address".into());
        assert!(check(&c).unwrap_err().contains("not an e-mail address"));
        c.email = None;
        c.last_name = " ".into();
        assert_eq!(check(&c), Err("a contact needs a last name".into()));
        c.last_name = "x".repeat(81);
        assert_eq!(check(&c), Err("LastName is longer than 80 characters".into()));
    }
}
