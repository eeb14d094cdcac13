//! `latchkey hub contacts …`: the hub's own contacts — list, add, edit, CSV import and
//! export. Local changes are pushed to the CRM by the next sync of a pushing connector.

use latchkey_hub::contacts::ContactChanges;
use latchkey_hub::Hub;
use latchkey_store::hub::sync::HubContact;

use super::{usage, Failure};
use crate::cli::ContactsCommand;
use crate::output;

fn contact_json(c: &HubContact) -> serde_json::Value {
    serde_json::json!({
        "id": c.id, "crm_id": c.crm_id, "first_name": c.first_name, "last_name": c.last_name,
        "email": c.email, "pending": c.pending.keys().collect::<Vec<_>>(),
    })
}

fn print_contact(c: &HubContact) {
    println!(
        "{} {:<18} {:<18} {:<24} {:<24} {}",
        if c.pending.is_empty() { ' ' } else { '*' },
        c.id,
        c.crm_id.as_deref().unwrap_or("-"),
        c.first_name.as_deref().unwrap_or_default(),
        c.last_name,
        c.email.as_deref().unwrap_or_default()
    );
}

/// An optional flag as a change: absent leaves the field, empty clears it.
fn change(flag: Option<String>) -> Option<Option<String>> {
    flag.map(|v| Some(v).filter(|v| !v.trim().is_empty()))
}

pub async fn run(cmd: ContactsCommand, hub: &Hub) -> Result<(), Failure> {
    match cmd {
        ContactsCommand::List { workspace, json } => {
            let all = hub.contacts(&workspace).await?;
            if json {
                output::json(&all.iter().map(contact_json).collect::<Vec<_>>())?;
            } else {
                all.iter().for_each(print_contact);
            }
        }
        ContactsCommand::Add {
            workspace,
            last_name,
            first_name,
            email,
        } => {
            let changes = ContactChanges {
                first_name: change(first_name),
                last_name: Some(last_name),
                email: change(email),
            };
            print_contact(&hub.create_contact(&workspace, &changes).await?);
        }
        ContactsCommand::Edit {
            workspace,
            id,
            last_name,
            first_name,
            email,
        } => {
            let changes = ContactChanges {
                first_name: change(first_name),
                last_name,
                email: change(email),
            };
            print_contact(&hub.edit_contact(&workspace, &id, &changes).await?);
        }
        ContactsCommand::Import { workspace, csv } => {
            let file = std::fs::File::open(&csv).map_err(|e| usage(format!("{}: {e}", csv.display())))?;
            let report = hub.import_csv(&workspace, std::io::BufReader::new(file)).await?;
            println!("imported: {} new, {} changed", report.created, report.updated);
        }
        ContactsCommand::Export { workspace, csv } => match csv {
            Some(path) => {
                let file = std::fs::File::create(&path).map_err(|e| usage(format!("{}: {e}", path.display())))?;
                let n = hub.export_csv(&workspace, std::io::BufWriter::new(file)).await?;
                eprintln!("exported {n} contacts to {}", path.display());
            }
            None => {
                hub.export_csv(&workspace, std::io::stdout().lock()).await?;
            }
        },
    }
    Ok(())
}
