//! No password, token, hash or key reaches a log line or CLI output — apart from
//! `hash-password` printing the hash it was asked for, and the mail folder viewer
//! showing the mailbox it is for.

use latchkey_store::{orgs, users, Store, StoreOptions};

use crate::support::{values_after, Cli};

const PASSWORDS: [&str; 2] = ["violet-kettle-42", "amber-lantern-77"];

/// Every PHC string stored for the users (current and remembered passwords).
fn stored_hashes(cli: &Cli) -> Vec<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = Store::open(&StoreOptions::new(StoreOptions::sqlite_in(&cli.data_dir())))
            .await
            .unwrap();
        let mut conn = store.conn().await.unwrap();
        let mut hashes = Vec::new();
        for org in orgs::list(&mut conn).await.unwrap() {
            for user in users::list(&mut conn, &org.id).await.unwrap() {
                hashes.extend(user.password_hash.map(|h| h.as_str().to_owned()));
                for h in users::recent_password_hashes(&mut conn, &user.id, 24).await.unwrap() {
                    hashes.push(h.as_str().to_owned());
                }
            }
        }
        hashes
    })
}

#[test]
fn no_secret_reaches_logs_or_output() {
    let cli = Cli::new();
    cli.ok(&["org", "create", "Acme"], None);
    cli.ok(
        &[
            "org",
            "user",
            "create",
            "jane@acme.test",
            "--email",
            "jane@acme.test",
            "--password-stdin",
        ],
        Some(&format!("{}\n", PASSWORDS[0])),
    );
    cli.ok(
        &["org", "user", "set-password", "jane@acme.test", "--password-stdin"],
        Some(&format!("{}\n", PASSWORDS[1])),
    );
    let reused = cli.run(
        &["org", "user", "set-password", "jane@acme.test", "--password-stdin"],
        Some(&format!("{}\n", PASSWORDS[0])),
    );
    assert_eq!(reused.code, 2, "history rule: {}", reused.stderr);
    cli.ok(&["org", "token", "reset", "jane@acme.test"], None);
    cli.ok(&["org", "user", "reset-password", "jane@acme.test"], None);
    cli.ok(&["org", "user", "show", "jane@acme.test"], None);
    cli.ok(&["org", "user", "show", "jane@acme.test", "--json"], None);
    cli.ok(&["org", "user", "list", "--json"], None);
    cli.ok(&["org", "login-history", "--json"], None);
    cli.ok(&["mail", "list"], None);
    cli.ok(&["mail", "list", "--json"], None);
    cli.ok(&["mail", "deliver"], None);
    drop(cli.start(&["demo", "--org-listen", "127.0.0.1:0"]));

    let mails = cli.mails().join("\n");
    let tokens = values_after(&mails, "Security token (case-sensitive): ");
    let temporary = values_after(&mails, "Temporary password: ");
    assert_eq!(
        tokens.len(),
        6,
        "new user, password change, token reset, password reset, two demo users"
    );
    assert_eq!(temporary.len(), 1);
    let hashes = stored_hashes(&cli);
    assert!(hashes.len() >= 4, "{}", hashes.len());
    let key = std::fs::read_to_string(cli.data_dir().join("secret.key")).unwrap();

    let transcript = cli.transcript.borrow().clone();
    assert!(
        transcript.contains("TRACE") || transcript.contains("DEBUG"),
        "the logs were captured at trace level"
    );
    let mut secrets: Vec<String> = PASSWORDS.iter().map(|p| (*p).to_owned()).collect();
    secrets.extend(tokens);
    secrets.extend(temporary);
    secrets.extend(hashes);
    secrets.push(key.trim().to_owned());
    for (n, secret) in secrets.iter().enumerate() {
        assert!(!secret.is_empty());
        if let Some(at) = transcript.find(secret.as_str()) {
            let line_start = transcript[..at].rfind('\n').map_or(0, |i| i + 1);
            let context = transcript[line_start..at].to_owned();
            panic!("secret #{n} appeared in the output after: {context:?}");
        }
    }
}

#[test]
fn hash_password_prints_a_verifiable_phc_string_only() {
    let cli = Cli::new();
    let run = cli.run(&["hash-password", "--password-stdin"], Some("violet-kettle-42\n"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let phc = run.stdout.trim();
    assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");
    let hasher =
        latchkey_core::password::PasswordHasher::new(latchkey_core::password::HashParams::FAST_INSECURE).unwrap();
    assert!(hasher.verify("violet-kettle-42", phc).unwrap().matched());
    assert!(!run.stderr.contains("violet-kettle-42") && !run.stdout.contains("violet-kettle-42"));
    assert_eq!(
        cli.run(&["hash-password", "--password-stdin"], Some("")).code,
        2,
        "empty input"
    );
}
