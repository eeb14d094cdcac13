//! The REST data API through the real `jsforce` package (`tools/interop/jsforce_records.js`).

use serde_json::Value;

use crate::support::{run_driver, values_after, Cli};

const USER: &str = "sync@acme.test";
const PASSWORD: &str = "violet-kettle-42";
/// Enough extra contacts that `autoFetch` must follow `nextRecordsUrl` over 5,000 records.
const BULK: usize = 5_200;

#[test]
fn jsforce_creates_reads_updates_deletes_queries_and_pages() {
    let cli = Cli::new();
    cli.ok(&["org", "create", "Acme"], None);
    cli.ok(
        &["org", "user", "create", USER, "--email", USER, "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    cli.ok(
        &["org", "field", "add", "Contact", "Gator_Score__c", "--type", "number"],
        None,
    );
    let token = values_after(&cli.mails().join("\n"), "Security token (case-sensitive): ")
        .pop()
        .expect("token mail");
    let server = cli.serve();
    let out = run_driver(
        "node",
        "jsforce_records.js",
        &[&server.url, USER, &BULK.to_string()],
        &[],
        &format!("{PASSWORD}{token}\n"),
    );
    assert!(out.get("fatal").is_none(), "{out}");

    assert_eq!(out["created"]["success"], true, "{out}");
    let id = out["created"]["id"].as_str().unwrap();
    assert!(id.starts_with("003") && id.len() == 18, "{id}");
    assert_eq!(
        out["retrieved"],
        serde_json::json!({"Name": "Ada Lovelace", "Email": "ada@example.org", "Score": 7.5, "type": "Contact"})
    );
    assert_eq!(out["updated"]["success"], true, "{out}");
    assert_eq!(out["afterUpdate"]["Name"], "Ada King");
    assert_eq!(out["afterUpdate"]["Title"], "Countess");
    assert_eq!(
        out["afterUpdate"]["keys"],
        serde_json::json!(["Name", "Title", "attributes"]),
        "?fields= returns only those fields"
    );

    let fields: Vec<&str> = out["describeFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for f in [
        "Id",
        "FirstName",
        "LastName",
        "Email",
        "AccountId",
        "OwnerId",
        "SystemModstamp",
        "Gator_Score__c",
    ] {
        assert!(fields.contains(&f), "describe lacks {f}: {fields:?}");
    }
    assert_eq!(out["describeScore"]["type"], "double");
    assert_eq!(out["describeScore"]["custom"], true);
    // A standard user's global describe: every object but UserLogin (administrators').
    assert_eq!(
        out["globalNames"],
        serde_json::json!([
            "Account",
            "Contact",
            "Lead",
            "Opportunity",
            "User",
            "Organization",
            "Profile",
            "LoginHistory"
        ])
    );
    // At API 66.0: every object jsforce lists describes, with its key prefix.
    let described = out["describedAll"].as_object().unwrap();
    assert_eq!(described.len(), 8, "{out}");
    for (name, d) in described {
        assert!(d["fields"].as_u64().unwrap() >= 5, "{name}: {d}");
        assert_eq!(d["keyPrefix"].as_str().map(str::len), Some(3), "{name}: {d}");
    }
    assert_eq!(described["Contact"]["createable"], true);
    assert_eq!(described["LoginHistory"]["createable"], false);
    assert_eq!(out["listView"]["label"], "All Contacts", "{out}");
    assert!(
        out["listView"]["query"].as_str().unwrap().contains("FROM Contact"),
        "{out}"
    );
    assert!(out["listView"]["size"].as_u64().unwrap() >= 1, "{out}");
    assert!(
        out["listView"]["columns"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("Id")),
        "{out}"
    );
    assert_eq!(out["listView"]["firstRowHasId"], true, "{out}");
    assert_eq!(
        out["parent"], "Analytical Engines",
        "parent fields nest under the relationship"
    );

    assert_eq!(out["bulkSaved"], BULK - 1, "{out}");
    assert_eq!(out["bulkFailed"], 1, "a bad record fails alone");
    assert_eq!(out["batchError"]["statusCode"], "REQUIRED_FIELD_MISSING", "{out}");

    let live = BULK - 1 + 2; // the bulk, Ada and Babbage
    assert_eq!(out["fetched"], live, "autoFetch follows nextRecordsUrl: {out}");
    assert_eq!(out["totalSize"], live);
    assert_eq!(out["distinct"], live, "pages never overlap");

    assert_eq!(out["updatedHasCreated"], true);
    assert_eq!(out["updatedHasLatest"], true);
    assert_eq!(out["deletedIds"], serde_json::json!([id]));
    assert_eq!(out["afterDelete"], "ENTITY_IS_DELETED");
    assert_eq!(out["requiredError"], "REQUIRED_FIELD_MISSING");
    assert_eq!(out["malformed"], "MALFORMED_QUERY");
    assert!(
        out["malformedMessage"]
            .as_str()
            .unwrap()
            .contains("ERROR at Row:1:Column:11"),
        "{out}"
    );
    assert_eq!(out["afterRelogin"], 1, "jsforce logged in again after a dead session");

    let history: Value =
        serde_json::from_str(&cli.ok(&["org", "login-history", "--json", "--limit", "100"], None)).unwrap();
    let successes = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "Success")
        .count();
    assert_eq!(
        successes, 2,
        "one login, one re-login after the dead session: {history}"
    );
}
