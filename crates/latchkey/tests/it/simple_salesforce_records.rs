//! The REST data API through the real `simple-salesforce` package over the demo's TLS
//! listener (`tools/interop/simple_salesforce_records.py`).

use serde_json::json;

use crate::support::{run_driver, values_after, Cli};

const BULK: usize = 2_100;

#[test]
fn simple_salesforce_manages_contacts_over_tls() {
    let cli = Cli::new();
    let demo = cli.start(&["demo", "--org-listen", "127.0.0.1:0"]);
    let ca = demo.ca.clone().expect("the demo prints its CA");
    let token = values_after(&cli.mails().join("\n"), "Security token (case-sensitive): ")
        .pop()
        .expect("token mail");
    let out = run_driver(
        "python3",
        "simple_salesforce_records.py",
        &[&demo.url, "user@demo.latchkey.test", &BULK.to_string()],
        &[("REQUESTS_CA_BUNDLE", ca.as_str())],
        &format!("Demo-Passw0rd-2026\n{token}\n"),
    );
    assert_eq!(out["created"]["success"], true, "{out}");
    assert_eq!(
        out["got"],
        json!({"Name": "Grace Hopper", "Email": "grace@example.org", "type": "Contact"})
    );
    assert_eq!(out["update_status"], 204);
    assert_eq!(out["title"], "Rear Admiral");
    assert_eq!(out["query_all_total"], BULK, "{out}");
    assert_eq!(out["query_all_records"], BULK, "query_all follows nextRecordsUrl");
    assert_eq!(out["query_all_done"], true);
    assert_eq!(
        out["bulk2_insert"],
        json!({"jobs": 1, "processed": 3001, "failed": 1,
               "failed_error": "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --",
               "succeeded": 3000, "created": true, "counted": 3000}),
        "bulk2.Contact.insert: a Bulk API 2.0 ingest job, records counted against the org"
    );
    assert_eq!(
        out["bulk2"],
        json!({"sets": 3, "rows": BULK, "distinct": BULK, "first": "Py 0", "columns": ["Email", "Id", "LastName"]}),
        "bulk2.Contact.query: a Bulk API 2.0 job, its results in sets of 1,000"
    );
    assert_eq!(out["updated_has_created"], true);
    assert_eq!(out["describe_name"], "Contact");
    assert_eq!(out["describe_has_email"], true);
    assert_eq!(out["is_sandbox"], false, "is_sandbox() reads Organization");
    assert_eq!(
        out["user_describe"],
        json!({"name": "User", "createable": false, "has_username": true})
    );
    let layout_fields = out["layout_fields"].as_array().unwrap();
    assert!(layout_fields.contains(&json!("LastName")) && layout_fields.contains(&json!("Email")));
    assert_eq!(out["owner_username"], "user@demo.latchkey.test");
    assert_eq!(out["delete_status"], 204);
    assert_eq!(out["deleted_ids"], json!([out["created"]["id"]]));
    assert_eq!(out["malformed_id"], "SalesforceMalformedRequest:MALFORMED_ID");
    assert_eq!(out["not_found"], "SalesforceResourceNotFound:NOT_FOUND");
    assert_eq!(out["bad_soql"], "SalesforceMalformedRequest:INVALID_FIELD");
    assert_eq!(out["too_long"], "SalesforceMalformedRequest:STRING_TOO_LONG");
}
