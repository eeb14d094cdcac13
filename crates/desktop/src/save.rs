//! "Save & Sync an Individual Contact": the cards of a vCard file become Contacts —
//! updated where a Contact has the card's e-mail, created otherwise — in one
//! collections call for the new ones and one for the updated ones.

use std::collections::HashMap;

use latchkey_sfclient::{Client, SaveResult};
use serde_json::{json, Map, Value};

use crate::connect::Connection;
use crate::vcard::{self, CardError, Fields};
use crate::DesktopError;

/// Most records one collections call takes.
pub const BATCH: usize = 200;

/// What happened to one card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Saved {
    /// A new Contact.
    Created(String),
    /// An existing Contact with the card's e-mail.
    Updated(String),
}

/// One card's outcome.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The line of its `BEGIN:VCARD`.
    pub line: usize,
    /// The contact's name.
    pub name: String,
    /// Saved, or the org's reason for refusing it.
    pub result: Result<Saved, String>,
}

/// What a save did.
#[derive(Debug, Default)]
pub struct Report {
    /// Each well-formed card's outcome, in file order.
    pub outcomes: Vec<Outcome>,
    /// Cards that could not be read (nothing of them was saved).
    pub errors: Vec<CardError>,
}

impl Report {
    /// Whether every card was saved.
    pub fn all_saved(&self) -> bool {
        self.errors.is_empty() && self.outcomes.iter().all(|o| o.result.is_ok())
    }
}

/// A SOQL string literal.
pub fn soql_literal(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The fields of a record for the collections API (`null` clears a field).
pub fn record(fields: &Fields, id: Option<&str>, cleared: &[&str]) -> Value {
    let mut map = Map::new();
    map.insert("attributes".into(), json!({ "type": "Contact" }));
    if let Some(id) = id {
        map.insert("id".into(), json!(id));
    }
    for (name, value) in fields {
        map.insert(name.clone(), json!(value));
    }
    for name in cleared {
        map.insert((*name).to_owned(), Value::Null);
    }
    Value::Object(map)
}

/// Saves `records` in collections calls of [`BATCH`]: created when `create`, else updated.
pub async fn save_batches(client: &Client, records: &[Value], create: bool) -> Result<Vec<SaveResult>, DesktopError> {
    let mut results = Vec::with_capacity(records.len());
    for chunk in records.chunks(BATCH) {
        let mut batch = if create {
            client.create_many(chunk, false).await?
        } else {
            client.update_many(chunk, false).await?
        };
        results.append(&mut batch);
    }
    Ok(results)
}

/// Contacts with these e-mails (lower case): `(id, owner id)` by e-mail.
async fn by_email(client: &Client, emails: &[String]) -> Result<HashMap<String, Vec<(String, String)>>, DesktopError> {
    let mut found: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for chunk in emails.chunks(100) {
        let list: Vec<String> = chunk.iter().map(|e| soql_literal(e)).collect();
        let soql = format!(
            "SELECT Id, Email, OwnerId FROM Contact WHERE Email IN ({}) ORDER BY CreatedDate, Id",
            list.join(", ")
        );
        for r in client.query(&soql).await? {
            let text = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
            found
                .entry(text("Email").to_lowercase())
                .or_default()
                .push((text("Id"), text("OwnerId")));
        }
    }
    Ok(found)
}

fn display_name(fields: &Fields) -> String {
    let parts: Vec<&str> = ["FirstName", "LastName"]
        .iter()
        .filter_map(|k| fields.get(*k).map(String::as_str))
        .collect();
    let name = parts.join(" ");
    match fields.get("Email") {
        Some(email) => format!("{name} <{email}>"),
        None => name,
    }
}

/// Saves every well-formed card of `text` as a Contact of the logged-in user's org.
pub async fn save(connection: &Connection, text: &str) -> Result<Report, DesktopError> {
    let parsed = vcard::parse(text);
    let mut report = Report {
        errors: parsed.errors,
        ..Report::default()
    };
    let emails: Vec<String> = {
        let mut list: Vec<String> = parsed
            .cards
            .iter()
            .filter_map(|c| c.fields.get("Email").map(|e| e.to_lowercase()))
            .collect();
        list.sort();
        list.dedup();
        list
    };
    let existing = by_email(&connection.client, &emails).await?;
    let mut seen: HashMap<String, usize> = HashMap::new();
    let (mut creates, mut updates) = (Vec::new(), Vec::new());
    for card in parsed.cards {
        let email = card.fields.get("Email").map(|e| e.to_lowercase());
        if let Some(e) = &email {
            if let Some(first) = seen.insert(e.clone(), card.line) {
                report.errors.push(CardError {
                    line: card.line,
                    message: format!("the card at line {first} has the same e-mail ({e}); not saved twice"),
                });
                continue;
            }
        }
        let matches = email
            .as_ref()
            .and_then(|e| existing.get(e))
            .cloned()
            .unwrap_or_default();
        let mine: Vec<&(String, String)> = matches
            .iter()
            .filter(|(_, owner)| *owner == connection.me.user_id)
            .collect();
        let target = match (matches.len(), mine.len()) {
            (0, _) => None,
            (1, _) => Some(matches[0].0.clone()),
            (_, 1) => Some(mine[0].0.clone()),
            (n, _) => {
                report.errors.push(CardError {
                    line: card.line,
                    message: format!(
                        "{n} contacts have the e-mail {}; merge them in the org first (nothing saved)",
                        email.unwrap_or_default()
                    ),
                });
                continue;
            }
        };
        let outcome = (card.line, display_name(&card.fields));
        match target {
            Some(id) => updates.push((outcome, record(&card.fields, Some(&id), &[]))),
            None => creates.push((outcome, record(&card.fields, None, &[]))),
        }
    }
    for (batch, create) in [(creates, true), (updates, false)] {
        let records: Vec<Value> = batch.iter().map(|(_, r)| r.clone()).collect();
        let results = save_batches(&connection.client, &records, create).await?;
        for (((line, name), _), result) in batch.into_iter().zip(results) {
            let result = match (result.id, result.error) {
                (Some(id), None) if create => Ok(Saved::Created(id)),
                (Some(id), None) => Ok(Saved::Updated(id)),
                (_, Some((code, message))) => Err(format!("{code}: {message}")),
                (None, None) => Err("the org saved nothing".into()),
            };
            report.outcomes.push(Outcome { line, name, result });
        }
    }
    report.outcomes.sort_by_key(|o| o.line);
    report.errors.sort_by_key(|e| e.line);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soql_literals_escape_quotes_and_backslashes() {
        assert_eq!(soql_literal("o'brien@x.io"), "'o\\'brien@x.io'");
        assert_eq!(soql_literal("a\\b"), "'a\\\\b'");
    }

    #[test]
    fn records_carry_type_id_and_cleared_fields() {
        let mut fields = Fields::new();
        fields.insert("LastName".into(), "Roe".into());
        let r = record(&fields, Some("003x"), &["Title"]);
        assert_eq!(
            r,
            json!({"attributes": {"type": "Contact"}, "id": "003x", "LastName": "Roe", "Title": null})
        );
    }
}
