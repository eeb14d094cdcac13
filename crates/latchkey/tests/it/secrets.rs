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

/// One HTTP/1.1 exchange over a fresh connection: the status line and headers, and
/// the body.
fn http(base: &str, request: &str) -> (String, String) {
    use std::io::{Read, Write};
    let host = base.strip_prefix("http://").expect("http URL");
    let mut stream = std::net::TcpStream::connect(host).expect("connect");
    stream
        .write_all(request.replace("{host}", host).as_bytes())
        .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (head.to_owned(), body.to_owned())
}

/// The value of `name="{field}" value="…"` in a page.
fn form_value(page: &str, field: &str) -> String {
    let marker = format!("name=\"{field}\" value=\"");
    let start = page.find(&marker).map(|i| i + marker.len()).expect("field");
    page[start..start + page[start..].find('"').expect("end")].to_owned()
}

/// The `name=value` of every cookie a response sets.
fn cookies_set(head: &str) -> String {
    head.lines()
        .filter_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .map(|c| c.split(';').next().unwrap_or_default().to_owned())
        .collect::<Vec<_>>()
        .join("; ")
}

#[test]
fn secrets_leave_nothing_in_the_server_log_the_database_file_or_its_wal() {
    const USER: &str = "jane@acme.test";
    const NEW: [&str; 2] = ["copper-harbor-19", "silver-meadow-58"];
    let cli = Cli::new();
    cli.ok(&["org", "create", "Acme"], None);
    cli.ok(
        &["org", "user", "create", USER, "--email", USER, "--password-stdin"],
        Some(&format!("{}\n", PASSWORDS[0])),
    );
    let mut server = cli.serve();
    let token = values_after(&cli.mails().join("\n"), "Security token (case-sensitive): ")
        .pop()
        .unwrap();
    let envelope = |password: &str| {
        format!(
            "<se:Envelope xmlns:se=\"http://schemas.xmlsoap.org/soap/envelope/\"><se:Body><login xmlns=\"urn:partner.soap.sforce.com\">\
             <username>{USER}</username><password>{password}</password></login></se:Body></se:Envelope>"
        )
    };
    let soap = |password: &str| {
        let body = envelope(password);
        http(
            &server.url,
            &format!(
                "POST /services/Soap/u/59.0 HTTP/1.1\r\nHost: {{host}}\r\nContent-Type: text/xml\r\nSOAPAction: login\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ),
        )
    };
    // Logins: right, wrong, right without the token.
    assert!(soap(&format!("{}{token}", PASSWORDS[0])).1.contains("<sessionId>"));
    assert!(soap("not-the-password").1.contains("INVALID_LOGIN"));
    assert!(soap(PASSWORDS[0]).1.contains("LOGIN_MUST_USE_SECURITY_TOKEN"));

    // A password-reset link, opened and used.
    let (head, page) = http(
        &server.url,
        "GET /forgot HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n",
    );
    let form = format!(
        "username={}&_csrf={}",
        USER.replace('@', "%40"),
        form_value(&page, "_csrf")
    );
    let (head, _) = http(
        &server.url,
        &format!(
            "POST /forgot HTTP/1.1\r\nHost: {{host}}\r\nCookie: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{form}",
            cookies_set(&head),
            form.len()
        ),
    );
    assert!(
        head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.1 303"),
        "{head}"
    );
    let mut link = String::new();
    crate::support::wait_until("the reset link's mail", 10, || {
        let mails = cli.mails().join("\n");
        link = mails
            .split_whitespace()
            .filter_map(|w| w.split("/reset/").nth(1))
            .map(|t| t.trim_end_matches(['"', '>', '<']).to_owned())
            .find(|t| !t.is_empty())
            .unwrap_or_default();
        !link.is_empty()
    });
    let (head, page) = http(
        &server.url,
        &format!("GET /reset/{link} HTTP/1.1\r\nHost: {{host}}\r\nConnection: close\r\n\r\n"),
    );
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let form = format!("new={0}&confirm={0}&_csrf={1}", NEW[0], form_value(&page, "_csrf"));
    let (head, _) = http(
        &server.url,
        &format!(
            "POST /reset/{link} HTTP/1.1\r\nHost: {{host}}\r\nCookie: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{form}",
            cookies_set(&head),
            form.len()
        ),
    );
    assert!(
        !head.starts_with("HTTP/1.1 4") && !head.starts_with("HTTP/1.1 5"),
        "{head}"
    );

    // A token reset, an admin's password reset and a password change.
    cli.ok(&["org", "token", "reset", USER], None);
    cli.ok(&["org", "user", "reset-password", USER], None);
    cli.ok(
        &["org", "user", "set-password", USER, "--password-stdin"],
        Some(&format!("{}\n", NEW[1])),
    );
    server.terminate();
    // Whatever the server had not sent yet.
    cli.ok(&["mail", "deliver"], None);

    let mails = cli.mails().join("\n");
    let mut secrets: Vec<String> = PASSWORDS.iter().chain(&NEW).map(|p| (*p).to_owned()).collect();
    secrets.extend(values_after(&mails, "Security token (case-sensitive): "));
    secrets.extend(values_after(&mails, "Temporary password: "));
    secrets.push(link);
    assert!(
        secrets.len() >= 9,
        "passwords, tokens, a temporary password and a link: {}",
        secrets.len()
    );

    let log = cli.server_logs();
    assert!(
        log.contains("DEBUG") && log.contains("/reset/{token}"),
        "the log holds every request, at the most detailed level: {:?}",
        log.lines()
            .filter(|l| l.contains("http") || l.contains("TRACE"))
            .take(5)
            .collect::<Vec<_>>()
    );
    let mut places: Vec<(String, Vec<u8>)> = vec![("server log".into(), log.into_bytes())];
    for file in ["latchkey.db", "latchkey.db-wal"] {
        if let Ok(bytes) = std::fs::read(cli.data_dir().join(file)) {
            places.push((file.into(), bytes));
        }
    }
    assert!(places
        .iter()
        .any(|(name, bytes)| name == "latchkey.db" && !bytes.is_empty()));
    for (name, bytes) in &places {
        for (n, secret) in secrets.iter().enumerate() {
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!found, "secret #{n} ({} chars) is in {name}", secret.len());
        }
    }
}
