//! The hub's contacts and two-way sync through the CLI, against a real org server:
//! CSV import is all or nothing, and a 10,000-record two-way sync killed with SIGKILL
//! at random points, 20 times (while both sides keep changing), still ends with both
//! sides identical — nothing lost, nothing duplicated.

use std::time::{Duration, Instant};

use latchkey_sfclient::{Client, Credentials};
use secrecy::SecretString;
use serde_json::{json, Value};

use crate::support::{values_after, Cli};

const PASSWORD: &str = "violet-kettle-42";
const USER: &str = "sync@acme.test";
/// Contacts made on each side before the first sync.
const PER_SIDE: usize = 5_000;
/// Contacts made on each side between two kills.
const PER_ROUND: usize = 100;

fn csv_of(rows: impl Iterator<Item = (String, String)>) -> String {
    let mut text = String::from("FirstName,LastName,Email\n");
    for (last, email) in rows {
        text.push_str(&format!("Hub,{last},{email}\n"));
    }
    text
}

#[test]
fn contacts_import_all_or_nothing_and_export_what_they_hold() {
    let hub = Cli::new();
    hub.ok(&["hub", "workspace", "create", "GatorMail"], None);
    let dir = hub.data_dir().parent().unwrap().to_path_buf();
    let good = dir.join("good.csv");
    std::fs::write(
        &good,
        "First Name,Last Name,Email\nAnn,Lee,ann@x.test\n,\"O'Brien, Jr.\",\n",
    )
    .unwrap();
    let out = hub.ok(
        &[
            "hub",
            "contacts",
            "import",
            "GatorMail",
            "--csv",
            good.to_str().unwrap(),
        ],
        None,
    );
    assert!(out.contains("2 new"), "{out}");

    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "FirstName,LastName,Email\nBo,Ok,bo@x.test\nCy,,cy@x.test\n").unwrap();
    let refused = hub.run(
        &["hub", "contacts", "import", "GatorMail", "--csv", bad.to_str().unwrap()],
        None,
    );
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(
        refused.stderr.contains("CSV line 3: a contact needs a last name"),
        "{}",
        refused.stderr
    );

    let listed: Value =
        serde_json::from_str(&hub.ok(&["hub", "contacts", "list", "GatorMail", "--json"], None)).unwrap();
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["last_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Lee", "O'Brien, Jr."], "the bad file imported nothing");
    assert_eq!(listed[0]["pending"], json!(["Email", "FirstName", "LastName"]));

    let id = listed[0]["id"].as_str().unwrap();
    hub.ok(&["hub", "contacts", "edit", "GatorMail", id, "--email", ""], None);
    let exported = hub.ok(&["hub", "contacts", "export", "GatorMail"], None);
    assert_eq!(
        exported,
        format!(
            "Id,CrmId,FirstName,LastName,Email\n{id},,Ann,Lee,\n{},,,\"O'Brien, Jr.\",\n",
            listed[1]["id"].as_str().unwrap()
        )
    );
}

/// A small deterministic generator for kill times (the seed is printed on failure).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

#[test]
fn a_two_way_sync_killed_twenty_times_ends_identical_on_both_sides() {
    let org = Cli::new();
    org.ok(&["org", "create", "Acme"], None);
    org.ok(
        &["org", "user", "create", USER, "--email", USER, "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    org.ok(
        &[
            "org",
            "field",
            "add",
            "Contact",
            "Latchkey_Hub_Id__c",
            "--length",
            "18",
            "--external-id",
        ],
        None,
    );
    let token = values_after(&org.mails().join("\n"), "Security token (case-sensitive): ")
        .pop()
        .expect("a token mail");
    let server = org.serve();
    let url = server.url.clone();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let crm = Client::new(
        &url,
        Credentials::Soap {
            username: USER.into(),
            password: SecretString::from(PASSWORD),
            security_token: SecretString::from(token.clone()),
        },
        None,
    )
    .unwrap();
    runtime.block_on(async {
        for chunk in 0..PER_SIDE / 200 {
            let records: Vec<Value> = (0..200)
                .map(|i| {
                    let n = chunk * 200 + i;
                    json!({"attributes": {"type": "Contact"}, "FirstName": "Crm", "LastName": format!("C{n:05}"),
                           "Email": format!("c{n}@crm.test")})
                })
                .collect();
            for r in crm.create_many(&records, true).await.unwrap() {
                assert!(r.error.is_none(), "{r:?}");
            }
        }
    });

    let hub = Cli::new();
    hub.ok(&["hub", "workspace", "create", "GatorMail"], None);
    hub.ok(
        &[
            "hub",
            "credential",
            "set",
            "GatorMail",
            "--login-url",
            &url,
            "--username",
            USER,
            "--password-stdin",
            "--token-stdin",
        ],
        Some(&format!("{PASSWORD}\n{token}\n")),
    );
    hub.ok(
        &[
            "hub",
            "connector",
            "add",
            "GatorMail",
            "Contacts",
            "--direction",
            "both",
        ],
        None,
    );
    let file = hub.data_dir().parent().unwrap().join("local.csv");
    std::fs::write(
        &file,
        csv_of((0..PER_SIDE).map(|n| (format!("H{n:05}"), format!("h{n}@hub.test")))),
    )
    .unwrap();
    hub.ok(
        &[
            "hub",
            "contacts",
            "import",
            "GatorMail",
            "--csv",
            file.to_str().unwrap(),
        ],
        None,
    );

    // A short lease, so a killed run's lease lapses quickly.
    let env = [("LATCHKEY_HUB_SYNC_LEASE_SECS", "1"), ("LATCHKEY_LOG", "warn")];
    let sync = ["hub", "connector", "sync", "GatorMail", "Contacts"];
    // A fresh seed each run; LATCHKEY_TEST_SEED replays a failed one.
    let seed = std::env::var("LATCHKEY_TEST_SEED").map_or_else(
        |_| std::hash::BuildHasher::hash_one(&std::collections::hash_map::RandomState::new(), 0u8),
        |s| s.parse().unwrap(),
    );
    let mut random = Lcg(seed);
    let mut interrupted = 0;
    for round in 0..20 {
        let mut child = hub.spawn(&sync, &env);
        let started = Instant::now();
        let kill_at = Duration::from_millis(100 + random.below(600));
        while started.elapsed() < kill_at && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(5));
        }
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            interrupted += 1;
        }
        let status = child.wait().unwrap();
        eprintln!("round {round}: {status} after {:?} (seed {seed})", started.elapsed());
        // Let the killed run's lease lapse.
        std::thread::sleep(Duration::from_millis(1_100));
        // Meanwhile both sides keep changing, so every round has work to interrupt.
        let first = PER_SIDE + round * PER_ROUND;
        runtime.block_on(async {
            let records: Vec<Value> = (first..first + PER_ROUND)
                .map(|n| {
                    json!({"attributes": {"type": "Contact"}, "FirstName": "Crm", "LastName": format!("C{n:05}"),
                           "Email": format!("c{n}@crm.test")})
                })
                .collect();
            crm.create_many(&records, true).await.unwrap();
        });
        std::fs::write(
            &file,
            csv_of((first..first + PER_ROUND).map(|n| (format!("H{n:05}"), format!("h{n}@hub.test")))),
        )
        .unwrap();
        hub.ok(
            &[
                "hub",
                "contacts",
                "import",
                "GatorMail",
                "--csv",
                file.to_str().unwrap(),
            ],
            None,
        );
    }
    assert!(
        interrupted >= 15,
        "kills must land mid-sync ({interrupted} of 20, seed {seed})"
    );

    // The killed runs committed work as they went (pages and batches, never halves).
    let before: Value =
        serde_json::from_str(&hub.ok(&["hub", "contacts", "list", "GatorMail", "--json"], None)).unwrap();
    let linked = before
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["crm_id"].is_string())
        .count();
    eprintln!(
        "before the last run: {linked} of {} hub contacts linked to the CRM",
        before.as_array().unwrap().len()
    );
    assert!(linked > 0, "the killed runs made progress (seed {seed})");

    // Finish: the last run completes; one more changes nothing.
    let finishing = Instant::now();
    let done = hub.run_with_env(&sync, &env);
    eprintln!("the last run took {:?}", finishing.elapsed());
    assert_eq!(
        done.code,
        0,
        "{}\norg server's log:\n{}",
        done.stderr,
        org.server_logs()
    );
    let again: Value =
        serde_json::from_str(&hub.ok(&["hub", "connector", "sync", "GatorMail", "Contacts", "--json"], None)).unwrap();
    assert_eq!(
        (
            again["changed_in_hub"].clone(),
            again["created_in_crm"].clone(),
            again["updated_in_crm"].clone()
        ),
        (json!(0), json!(0), json!(0)),
        "settled: {again}"
    );

    let total = 2 * (PER_SIDE + 20 * PER_ROUND);
    let mut crm_side: Vec<String> = runtime
        .block_on(crm.query("SELECT FirstName, LastName, Email FROM Contact"))
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}|{}|{}",
                r["FirstName"].as_str().unwrap_or(""),
                r["LastName"].as_str().unwrap(),
                r["Email"].as_str().unwrap_or("")
            )
        })
        .collect();
    let listed: Value =
        serde_json::from_str(&hub.ok(&["hub", "contacts", "list", "GatorMail", "--json"], None)).unwrap();
    let mut hub_side: Vec<String> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{}|{}|{}",
                c["first_name"].as_str().unwrap_or(""),
                c["last_name"].as_str().unwrap(),
                c["email"].as_str().unwrap_or("")
            )
        })
        .collect();
    crm_side.sort();
    hub_side.sort();
    assert_eq!(
        crm_side.len(),
        total,
        "nothing lost or duplicated in the CRM (seed {seed})"
    );
    assert_eq!(
        hub_side.len(),
        total,
        "nothing lost or duplicated in the hub (seed {seed})"
    );
    assert_eq!(crm_side, hub_side, "both sides identical (seed {seed})");
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["pending"] == json!([]) && c["crm_id"].is_string()),
        "every contact linked, nothing left to push"
    );
}
