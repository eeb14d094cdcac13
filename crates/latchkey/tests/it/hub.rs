//! The hub's credential records through the CLI: secrets sealed at rest (the database
//! file never holds them in the clear), write-only on the way out, usable to log in to
//! a real org server, and still usable after a key rotation.

use serde_json::Value;

use crate::support::{values_after, Cli};

const PASSWORD: &str = "violet-kettle-42";
const USER: &str = "jane@acme.test";

/// Every byte of the SQLite database (main file and write-ahead log).
fn database_bytes(cli: &Cli) -> Vec<u8> {
    let mut all = Vec::new();
    for name in ["latchkey.db", "latchkey.db-wal"] {
        all.extend(std::fs::read(cli.data_dir().join(name)).unwrap_or_default());
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn credential_records_are_sealed_write_only_and_survive_key_rotation() {
    // The CRM org and the hub are separate systems with separate data directories
    // (the org's own outbox held the token mail, which is the org's business).
    let org = Cli::new();
    org.ok(&["org", "create", "Acme"], None);
    org.ok(
        &["org", "user", "create", USER, "--email", USER, "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    let token = values_after(&org.mails().join("\n"), "Security token (case-sensitive): ")
        .pop()
        .expect("a token mail");
    let server = org.serve();
    let url = server.url.as_str();
    let cli = Cli::new();

    cli.ok(&["hub", "workspace", "create", "GatorMail"], None);
    cli.ok(
        &[
            "hub",
            "credential",
            "set",
            "GatorMail",
            "--login-url",
            url,
            "--username",
            USER,
            "--password-stdin",
            "--token-stdin",
        ],
        Some(&format!("{PASSWORD}\n{token}\n")),
    );
    let db = database_bytes(&cli);
    assert!(contains(&db, USER), "the grep can see plain text in the file");
    assert!(!contains(&db, PASSWORD), "no plaintext password in the database");
    assert!(!contains(&db, &token), "no plaintext security token in the database");

    let shown = cli.ok(&["hub", "credential", "show", "GatorMail", "--json"], None);
    assert!(
        !shown.contains(PASSWORD) && !shown.contains(&token),
        "write-only: {shown}"
    );
    let shown: Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown[0]["username"], USER);
    assert_eq!(shown[0]["method"], "soap");
    assert_eq!(
        (shown[0]["password_set"].clone(), shown[0]["security_token_set"].clone()),
        (Value::Bool(true), Value::Bool(true))
    );

    let tested = cli.ok(&["hub", "credential", "test", "GatorMail"], None);
    assert!(tested.contains("connected"), "{tested}");

    let key_before = std::fs::read_to_string(cli.data_dir().join("hub.key")).unwrap();
    let rotated = cli.ok(&["hub", "rotate-key"], None);
    assert!(rotated.contains("re-sealed 1 credential records"), "{rotated}");
    let key_after = std::fs::read_to_string(cli.data_dir().join("hub.key")).unwrap();
    assert_ne!(key_before, key_after);
    assert_eq!(key_after.lines().count(), 1, "the old key is gone from the file");
    let tested = cli.ok(&["hub", "credential", "test", "GatorMail"], None);
    assert!(
        tested.contains("connected"),
        "the rotated record still logs in: {tested}"
    );
    assert!(!contains(&database_bytes(&cli), PASSWORD));

    // Under the old key alone, the records do not open, and the error says which key.
    let old_only = cli.run_with_env(
        &["hub", "credential", "show", "GatorMail"],
        &[("LATCHKEY_HUB_KEY", key_before.trim())],
    );
    assert_eq!(old_only.code, 2, "{old_only:?}");
    assert!(old_only.stderr.contains("not configured"), "{}", old_only.stderr);

    // A wrong password is a clear rejection, tried once, and never echoed.
    cli.ok(
        &[
            "hub",
            "credential",
            "set",
            "GatorMail",
            "--login-url",
            url,
            "--username",
            USER,
            "--password-stdin",
        ],
        Some("not-the-password\n"),
    );
    let rejected = cli.run(&["hub", "credential", "test", "GatorMail"], None);
    assert_eq!(rejected.code, 2, "{rejected:?}");
    assert!(rejected.stderr.contains("rejected"), "{}", rejected.stderr);
    assert!(!rejected.stderr.contains("not-the-password"));
    let user: Value = serde_json::from_str(&org.ok(&["org", "user", "show", USER, "--json"], None)).unwrap();
    assert_eq!(user["failed_attempts"], 1, "one failed login reached the org: {user}");

    let bad = cli.run(
        &[
            "hub",
            "credential",
            "set",
            "GatorMail",
            "--login-url",
            "ftp://x",
            "--username",
            USER,
            "--password-stdin",
        ],
        Some("p\n"),
    );
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("https://"), "{}", bad.stderr);
}

/// The seeds' story without webhooks: an administrator resets the password of the CRM
/// user whose credentials three connectors share. The hub sends the stale secret once,
/// suspends all three with a message that says what to do, never sends it again (the
/// account is not locked even with a maximum of 3 attempts), and resumes all three by
/// itself once the new password and token are entered.
#[test]
fn a_password_reset_costs_one_failed_login_and_new_secrets_resume_every_connector() {
    let org = Cli::new();
    org.ok(&["org", "create", "Acme"], None);
    org.ok(&["org", "policy", "set", "--max-invalid-attempts", "3"], None);
    org.ok(
        &["org", "user", "create", USER, "--email", USER, "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    let latest_token = || {
        values_after(&org.mails().join("\n"), "Security token (case-sensitive): ")
            .pop()
            .expect("a token mail")
    };
    let token = latest_token();
    let server = org.serve();
    let url = server.url.as_str();

    let hub = Cli::new();
    hub.ok(&["hub", "workspace", "create", "GatorMail"], None);
    hub.ok(
        &[
            "hub",
            "user",
            "create",
            "GatorMail",
            "owner@gatormail.test",
            "--role",
            "owner",
            "--password-stdin",
        ],
        Some("hub-owner-password-1\n"),
    );
    hub.ok(
        &[
            "hub",
            "credential",
            "set",
            "GatorMail",
            "--login-url",
            url,
            "--username",
            USER,
            "--password-stdin",
            "--token-stdin",
        ],
        Some(&format!("{PASSWORD}\n{token}\n")),
    );
    let connectors = ["Contacts", "Leads", "Accounts"];
    for name in connectors {
        hub.ok(&["hub", "connector", "add", "GatorMail", name, "--every", "5s"], None);
        hub.ok(&["hub", "connector", "test", "GatorMail", name], None);
    }
    let states = || -> Vec<(String, String)> {
        let list: Value =
            serde_json::from_str(&hub.ok(&["hub", "connector", "list", "GatorMail", "--json"], None)).unwrap();
        list.as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["state"].as_str().unwrap().to_owned(),
                    c["last_error"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    };
    assert!(states().iter().all(|(s, _)| s == "enabled"));

    org.ok(&["org", "user", "reset-password", USER], None);
    for round in 0..3 {
        for name in connectors {
            let run = hub.run(&["hub", "connector", "test", "GatorMail", name], None);
            assert_eq!(run.code, 2, "round {round}, {name}: {run:?}");
            assert!(
                run.stderr.contains("enter the new ones in Data Source Properties"),
                "{}",
                run.stderr
            );
        }
    }
    for (state, error) in states() {
        assert_eq!(state, "suspended");
        assert!(error.starts_with("Suspended: credentials rejected"), "{error}");
    }
    let user: Value = serde_json::from_str(&org.ok(&["org", "user", "show", USER, "--json"], None)).unwrap();
    assert_eq!(user["failed_attempts"], 1, "nine tests, one failed login: {user}");
    let notices: Vec<String> = hub
        .mails()
        .into_iter()
        .filter(|m| m.contains("Data Sync suspended"))
        .collect();
    assert_eq!(notices.len(), 1, "the owner is told once per rejected secret");
    assert!(
        notices[0].contains("owner@gatormail.test") && notices[0].contains("3 connector(s)"),
        "{}",
        notices[0]
    );
    assert!(
        !notices[0].contains(PASSWORD) && !notices[0].contains(&token),
        "no secret in the mail"
    );
    assert_eq!(user["locked"], false);
    let refused = hub.run(&["hub", "connector", "state", "GatorMail", "Leads", "enabled"], None);
    assert_eq!(
        refused.code, 2,
        "a suspended connector needs new credentials, not a switch"
    );

    // The user sets a new password; a new token is mailed; they type both once.
    let new_password = "amber-lantern-77";
    org.ok(
        &["org", "user", "set-password", USER, "--password-stdin"],
        Some(&format!("{new_password}\n")),
    );
    let new_token = latest_token();
    assert_ne!(new_token, token);
    let set = hub.ok(
        &[
            "hub",
            "credential",
            "set",
            "GatorMail",
            "--login-url",
            url,
            "--username",
            USER,
            "--password-stdin",
            "--token-stdin",
        ],
        Some(&format!("{new_password}\n{new_token}\n")),
    );
    assert!(set.contains("suspended connectors resumed"), "{set}");
    assert!(
        states().iter().all(|(s, e)| s == "enabled" && e.is_empty()),
        "{:?}",
        states()
    );
    for name in connectors {
        hub.ok(&["hub", "connector", "test", "GatorMail", name], None);
    }
    let user: Value = serde_json::from_str(&org.ok(&["org", "user", "show", USER, "--json"], None)).unwrap();
    assert_eq!(user["locked"], false);
}

/// An org server that is down is a transient fault: the connector backs off, is never
/// suspended, no failed login is counted, and the next test after the org returns
/// enables it again.
#[test]
fn an_unreachable_org_backs_off_and_never_suspends() {
    let org = Cli::new();
    org.ok(&["org", "create", "Acme"], None);
    org.ok(&["org", "network", "trusted", "add", "127.0.0.0/8"], None);
    org.ok(
        &["org", "user", "create", USER, "--email", USER, "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    let mut server = org.serve();
    let url = server.url.clone();
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
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    hub.ok(&["hub", "connector", "add", "GatorMail", "Contacts"], None);
    hub.ok(&["hub", "connector", "test", "GatorMail", "Contacts"], None);

    server.terminate();
    for _ in 0..3 {
        let run = hub.run(&["hub", "connector", "test", "GatorMail", "Contacts"], None);
        assert_eq!(run.code, 1, "{run:?}");
        assert!(run.stderr.contains("could not be reached"), "{}", run.stderr);
    }
    let shown: Value =
        serde_json::from_str(&hub.ok(&["hub", "connector", "show", "GatorMail", "Contacts", "--json"], None)).unwrap();
    assert_eq!(shown["state"], "backing_off", "{shown}");

    let listen = url.trim_start_matches("http://");
    let _back = org.start(&["serve", "--org-listen", listen]);
    hub.ok(&["hub", "connector", "test", "GatorMail", "Contacts"], None);
    let shown: Value =
        serde_json::from_str(&hub.ok(&["hub", "connector", "show", "GatorMail", "Contacts", "--json"], None)).unwrap();
    assert_eq!(shown["state"], "enabled", "{shown}");
    let user: Value = serde_json::from_str(&org.ok(&["org", "user", "show", USER, "--json"], None)).unwrap();
    assert_eq!(user["failed_attempts"], 0, "{user}");
}
