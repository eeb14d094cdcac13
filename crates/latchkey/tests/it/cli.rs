use crate::support::{values_after, Cli};

#[test]
fn administration_round_trip() {
    let cli = Cli::new();
    let org_id = cli.ok(&["org", "create", "Acme"], None);
    assert!(
        org_id.trim().starts_with("00D") && org_id.trim().len() == 18,
        "{org_id}"
    );
    let user_id = cli.ok(
        &[
            "org",
            "user",
            "create",
            "jane@acme.test",
            "--email",
            "jane@acme.test",
            "--password-stdin",
        ],
        Some("violet-kettle-42\n"),
    );
    assert!(user_id.trim().starts_with("005"));

    let shown: serde_json::Value =
        serde_json::from_str(&cli.ok(&["org", "user", "show", "JANE@acme.test", "--json"], None)).unwrap();
    assert_eq!(shown["username"], "jane@acme.test");
    assert_eq!(shown["profile"], "Standard User");
    assert_eq!(shown["has_security_token"], true);
    assert_eq!(shown["locked"], false);

    let listed: serde_json::Value = serde_json::from_str(&cli.ok(&["org", "user", "list", "--json"], None)).unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(1));

    cli.ok(&["org", "user", "freeze", "jane@acme.test"], None);
    let shown: serde_json::Value =
        serde_json::from_str(&cli.ok(&["org", "user", "show", "jane@acme.test", "--json"], None)).unwrap();
    assert_eq!(shown["frozen"], true);
    cli.ok(&["org", "user", "unfreeze", "jane@acme.test"], None);
    assert_eq!(
        cli.ok(&["org", "user", "revoke-sessions", "jane@acme.test"], None)
            .trim(),
        "0 session(s) ended"
    );
    assert_eq!(
        cli.ok(&["org", "user", "unlock", "jane@acme.test"], None).trim(),
        "was not locked; failure count cleared"
    );

    cli.ok(
        &[
            "org",
            "policy",
            "set",
            "--password-expiry",
            "never",
            "--max-invalid-attempts",
            "none",
            "--lockout",
            "30m",
            "--history",
            "0",
            "--min-length",
            "12",
            "--complexity",
            "any-3",
        ],
        None,
    );
    let policy: serde_json::Value = serde_json::from_str(&cli.ok(&["org", "policy", "show", "--json"], None)).unwrap();
    assert_eq!(policy["password_expiry"], "never");
    assert_eq!(policy["max_invalid_attempts"], "none");
    assert_eq!(policy["lockout"], "30m");
    assert_eq!(policy["min_length"], 12);
    assert_eq!(policy["complexity"], "any-3");

    cli.ok(&["org", "network", "trusted", "add", "127.0.0.0/8"], None);
    cli.ok(&["org", "network", "trusted", "add", "192.168.0.1-192.168.0.9"], None);
    assert_eq!(
        cli.ok(&["org", "network", "trusted", "list"], None),
        "127.0.0.0/8\n192.168.0.1-192.168.0.9\n"
    );
    cli.ok(&["org", "network", "trusted", "remove", "127.0.0.0/8"], None);
    assert_eq!(
        cli.ok(&["org", "network", "trusted", "list"], None),
        "192.168.0.1-192.168.0.9\n"
    );

    cli.ok(
        &[
            "org",
            "profile",
            "login-ranges",
            "set",
            "standard user",
            "10.0.0.0/8",
            "2001:db8::/32",
        ],
        None,
    );
    let profiles: serde_json::Value =
        serde_json::from_str(&cli.ok(&["org", "profile", "list", "--json"], None)).unwrap();
    let standard = profiles
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Standard User")
        .unwrap();
    assert_eq!(
        standard["login_ranges"],
        serde_json::json!(["10.0.0.0/8", "2001:db8::/32"])
    );
    cli.ok(&["org", "profile", "login-ranges", "clear", "Standard User"], None);

    let mails = cli.ok(&["mail", "list", "--json"], None);
    let mails: serde_json::Value = serde_json::from_str(&mails).unwrap();
    assert_eq!(mails.as_array().map(Vec::len), Some(1), "the new-user token mail");
    let shown = cli.ok(&["mail", "show", "1"], None);
    assert_eq!(values_after(&shown, "Security token (case-sensitive): ").len(), 1);

    assert!(cli.ok(&["org", "login-history", "--json"], None).trim() == "[]");
    assert!(cli.ok(&["migrate"], None).contains("up to date"));
}

#[test]
fn bad_arguments_exit_2_with_one_line_and_write_nothing() {
    let cli = Cli::new();
    cli.ok(&["org", "create", "Acme"], None);
    let cases: [(&[&str], Option<&str>, &str); 9] = [
        (&["org", "user", "show", "nobody@acme.test"], None, "not found"),
        (
            &["org", "network", "trusted", "add", "10.0.0/8"],
            None,
            "malformed IP range",
        ),
        (&["org", "network", "trusted", "add", "0.0.0.0/0"], None, "33,554,432"),
        (
            &["org", "policy", "set", "--max-invalid-attempts", "4"],
            None,
            "3, 5, 10, none",
        ),
        (
            &["org", "policy", "set", "--lockout", "20m"],
            None,
            "15m, 30m, 60m, forever",
        ),
        (
            &["org", "policy", "set", "--password-expiry", "45d"],
            None,
            "30d, 60d, 90d",
        ),
        (&["org", "policy", "set", "--history", "0"], None, "never expire"),
        (
            &[
                "org",
                "user",
                "create",
                "weak@acme.test",
                "--email",
                "weak@acme.test",
                "--password-stdin",
            ],
            Some("abc\n"),
            "at least 8 characters",
        ),
        (
            &[
                "org",
                "user",
                "create",
                "x@acme.test",
                "--email",
                "x@acme.test",
                "--profile",
                "Nope",
            ],
            None,
            "profile",
        ),
    ];
    for (args, stdin, needle) in cases {
        let run = cli.run(args, stdin);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        let errors: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with("error: ")).collect();
        assert_eq!(errors.len(), 1, "{args:?}: {}", run.stderr);
        assert!(errors[0].contains(needle), "{args:?}: {}", errors[0]);
    }
    let users: serde_json::Value = serde_json::from_str(&cli.ok(&["org", "user", "list", "--json"], None)).unwrap();
    assert_eq!(users, serde_json::json!([]), "nothing half-written");
    let policy: serde_json::Value = serde_json::from_str(&cli.ok(&["org", "policy", "show", "--json"], None)).unwrap();
    assert_eq!(policy["max_invalid_attempts"], "10", "policy untouched");
    assert_eq!(cli.ok(&["org", "network", "trusted", "list"], None), "");
    assert_eq!(
        cli.run(&["org", "user", "frobnicate"], None).code,
        2,
        "clap usage errors exit 2 too"
    );
}

#[test]
fn several_orgs_need_an_explicit_org() {
    let cli = Cli::new();
    cli.ok(&["org", "create", "Acme"], None);
    cli.ok(&["org", "create", "Globex"], None);
    let run = cli.run(
        &["org", "user", "create", "a@globex.test", "--email", "a@globex.test"],
        None,
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--org"), "{}", run.stderr);
    cli.ok(
        &[
            "org",
            "user",
            "create",
            "a@globex.test",
            "--email",
            "a@globex.test",
            "--org",
            "Globex",
        ],
        None,
    );
    let list = cli.ok(&["org", "user", "list", "--org", "globex"], None);
    assert!(list.contains("a@globex.test"));
    assert_eq!(cli.ok(&["org", "user", "list", "--org", "Acme"], None), "");
}

#[test]
fn demo_serves_and_is_repeatable() {
    let cli = Cli::new();
    let first = cli.start(&["demo", "--org-listen", "127.0.0.1:0"]);
    assert!(first.printed.contains("admin@demo.latchkey.test") && first.printed.contains("user@demo.latchkey.test"));
    let client_id = values_after(&first.printed, "connected app \"Demo Data Sync\"  client id: ");
    let secret = values_after(&first.printed, "client secret: ");
    drop(first);
    let again = cli.start(&["demo", "--org-listen", "127.0.0.1:0"]);
    assert_eq!(
        values_after(&again.printed, "connected app \"Demo Data Sync\"  client id: "),
        client_id,
        "same app"
    );
    assert_ne!(
        values_after(&again.printed, "client secret: "),
        secret,
        "the secret is rotated so it can be shown"
    );
    drop(again);
    let mails = cli.mails();
    assert_eq!(mails.len(), 2, "the users are created once");
    assert!(mails.iter().all(|m| m.contains("Security token (case-sensitive): ")));
}

/// SIGTERM stops the server gracefully: exit status 0 and a last word on stderr.
#[cfg(unix)]
#[test]
fn sigterm_stops_the_server_gracefully() {
    let cli = Cli::new();
    cli.ok(&["org", "create", "Acme"], None);
    let mut server = cli.serve();
    assert_eq!(server.terminate(), Some(0));
    assert!(
        cli.server_logs().contains("org server stopped"),
        "{}",
        cli.server_logs()
    );
    assert_ne!(
        cli.run(&["healthcheck", "--url", &server.url], None).code,
        0,
        "nothing answers any more"
    );
}

/// `[server] runtime_cpus`: the server's threads (runtime, database) run on the CPUs
/// given, its hashing threads on every CPU the process had; a list that is not one, or
/// names a CPU the process may not use, is refused before anything starts.
#[cfg(target_os = "linux")]
#[test]
fn runtime_cpus_keep_the_server_off_the_hashing_cores() {
    let allowed = |status: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
            .map(|v| v.trim().to_owned())
            .expect("Cpus_allowed_list")
    };
    let everything = allowed(&std::fs::read_to_string("/proc/self/status").unwrap());
    let cli = Cli::with_config("[server]\nruntime_cpus = \"0\"\n");
    cli.ok(&["org", "create", "Acme"], None);
    let server = cli.serve();
    let mut threads = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{}/task", server.pid()))
        .unwrap()
        .flatten()
    {
        let name = std::fs::read_to_string(task.path().join("comm")).unwrap();
        let status = std::fs::read_to_string(task.path().join("status")).unwrap();
        threads.push((name.trim().to_owned(), allowed(&status)));
    }
    let (hashing, own): (Vec<_>, Vec<_>) = threads.iter().partition(|(name, _)| name.starts_with("argon2-"));
    assert_eq!(hashing.len(), 2, "the config's two hashing threads: {threads:?}");
    assert!(hashing.iter().all(|(_, cpus)| *cpus == everything), "{threads:?}");
    assert!(own.iter().any(|(name, _)| name == "tokio-rt-worker"), "{threads:?}");
    assert!(own.iter().all(|(_, cpus)| cpus == "0"), "{threads:?}");

    for (list, says) in [
        ("1-0", "runs backwards"),
        ("x", "not a CPU number"),
        ("4096", "not one this process may run on"),
    ] {
        let run = cli.run_with_env(
            &["serve", "--org-listen", "127.0.0.1:0"],
            &[("LATCHKEY_RUNTIME_CPUS", list)],
        );
        assert_eq!(run.code, 2, "{list}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{list}: {}", run.stderr);
    }
}

/// `latchkey mail send-test`: delivered through a real SMTP sink; a relay that is not
/// there is reported at once (exit 1); a malformed address is refused (exit 2).
#[test]
fn mail_send_test_reports_what_the_relay_did() {
    let sink_dir = tempfile::tempdir().unwrap();
    let sink = crate::smtp_sink::SmtpSink::start(sink_dir.path());
    let cli = Cli::with_smtp(sink.port);
    let out = cli.ok(&["mail", "send-test", "ops@acme.test"], None);
    assert!(
        out.contains(&format!(
            "delivered to ops@acme.test through SMTP 127.0.0.1:{}",
            sink.port
        )),
        "{out}"
    );
    assert_eq!(sink.messages().len(), 1);
    assert!(String::from_utf8_lossy(&sink.messages()[0]).contains("Subject: Latchkey mail test"));

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let nowhere = Cli::with_smtp(closed);
    let run = nowhere.run(&["mail", "send-test", "ops@acme.test"], None);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("not delivered yet") && run.stderr.contains("SMTP"),
        "{}",
        run.stderr
    );
    let bad = nowhere.run(&["mail", "send-test", "not an address"], None);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("is not an e-mail address"), "{}", bad.stderr);
}

/// An administrator closes and reopens the password login flows from the CLI; `show`
/// reports what the org holds, and bad values are usage errors.
#[test]
fn login_flows_are_switched_from_the_cli() {
    let cli = Cli::new();
    cli.ok(&["org", "create", "Acme"], None);
    let show = |cli: &Cli| -> serde_json::Value {
        serde_json::from_str(&cli.ok(&["org", "login-flows", "show", "--json"], None)).unwrap()
    };
    assert_eq!(
        show(&cli),
        serde_json::json!({"soap_login": true, "oauth_username_password": true})
    );
    cli.ok(&["org", "login-flows", "set", "--soap-login", "off"], None);
    assert_eq!(
        show(&cli),
        serde_json::json!({"soap_login": false, "oauth_username_password": true})
    );
    cli.ok(
        &[
            "org",
            "login-flows",
            "set",
            "--oauth-username-password",
            "off",
            "--soap-login",
            "on",
        ],
        None,
    );
    assert_eq!(
        show(&cli),
        serde_json::json!({"soap_login": true, "oauth_username_password": false})
    );
    let text = cli.ok(&["org", "login-flows", "show"], None);
    assert!(text.contains("OAuth username-password flow:     off"), "{text}");
    assert_eq!(
        cli.run(&["org", "login-flows", "set", "--soap-login", "maybe"], None)
            .code,
        2
    );
}
