//! The real `jsforce` package (npm, `tools/interop`) against `latchkey serve`.

use serde_json::Value;

use crate::support::{run_driver, values_after, Cli};

const PASSWORD: &str = "violet-kettle-42";
const USER: &str = "jane@acme.test";

/// Runs `tools/interop/jsforce_login.js`; `stdin` holds the secrets.
fn jsforce(args: &[&str], stdin: &str) -> Value {
    run_driver("node", "jsforce_login.js", args, &[], stdin)
}

fn soap(url: &str, secret: &str) -> Value {
    jsforce(&["soap", url, USER], &format!("{secret}\n"))
}

fn error_code(v: &Value) -> String {
    assert_eq!(v["ok"], false, "expected a failure: {v}");
    v["message"]
        .as_str()
        .unwrap_or_default()
        .split(':')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Creates the connected app "Data Sync"; returns its client id and secret.
fn data_sync_app(cli: &Cli) -> (String, String) {
    let app: Value =
        serde_json::from_str(&cli.ok(&["org", "app", "create", "--name", "Data Sync", "--json"], None)).unwrap();
    let field = |name: &str| app[name].as_str().unwrap().to_owned();
    (field("client_id"), field("client_secret"))
}

fn latest_token(cli: &Cli) -> String {
    values_after(&cli.mails().join("\n"), "Security token (case-sensitive): ")
        .pop()
        .expect("a token mail")
}

#[test]
fn jsforce_logs_in_by_soap_and_oauth_and_meets_every_refusal() {
    let cli = Cli::new();
    let org_id = cli.ok(&["org", "create", "Acme"], None).trim().to_owned();
    cli.ok(
        &["org", "user", "create", USER, "--email", USER, "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    let token = latest_token(&cli);
    let server = cli.serve();
    let url = server.url.as_str();

    let ok = soap(url, &format!("{PASSWORD}{token}"));
    assert_eq!(ok["ok"], true, "password + token from an untrusted IP: {ok}");
    assert_eq!(ok["organizationId"], org_id.as_str());
    assert_eq!(ok["instanceUrl"], url);
    assert_eq!(ok["hasAccessToken"], true);
    assert_eq!(
        ok["identityUsername"], USER,
        "conn.identity() reads the identity URL: {ok}"
    );
    assert_eq!(
        ok["afterLogout"], "INVALID_SESSION_ID",
        "SOAP logout ends the session: {ok}"
    );

    assert_eq!(error_code(&soap(url, PASSWORD)), "LOGIN_MUST_USE_SECURITY_TOKEN");

    let (client_id, client_secret) = data_sync_app(&cli);
    let (client_id, client_secret) = (client_id.as_str(), client_secret.as_str());
    let oauth = jsforce(
        &["oauth", url, USER, client_id],
        &format!("{PASSWORD}{token}\n{client_secret}\n"),
    );
    assert_eq!(oauth["ok"], true, "OAuth password flow: {oauth}");
    assert_eq!(oauth["organizationId"], org_id.as_str());
    assert_eq!(oauth["identityUsername"], USER, "{oauth}");
    assert_eq!(
        oauth["afterLogout"], "INVALID_SESSION_ID",
        "logout revokes the OAuth token: {oauth}"
    );
    let bad_secret = jsforce(&["oauth", url, USER, client_id], &format!("{PASSWORD}{token}\nwrong\n"));
    assert_eq!(
        (bad_secret["ok"].clone(), bad_secret["name"].clone()),
        (Value::Bool(false), Value::from("invalid_client"))
    );
    let no_token = jsforce(
        &["oauth", url, USER, client_id],
        &format!("{PASSWORD}\n{client_secret}\n"),
    );
    assert_eq!(no_token["name"], "invalid_grant", "{no_token}");

    cli.ok(&["org", "network", "trusted", "add", "127.0.0.0/8"], None);
    assert_eq!(soap(url, PASSWORD)["ok"], true, "trusted network: password alone");

    cli.ok(&["org", "policy", "set", "--max-invalid-attempts", "3"], None);
    for n in 0..3 {
        assert_eq!(error_code(&soap(url, &format!("wrong-{n}"))), "INVALID_LOGIN");
    }
    assert_eq!(
        error_code(&soap(url, PASSWORD)),
        "INVALID_LOGIN",
        "locked: the right password fails too"
    );
    let shown: Value = serde_json::from_str(&cli.ok(&["org", "user", "show", USER, "--json"], None)).unwrap();
    assert_eq!(shown["locked"], true);
    cli.ok(&["org", "user", "unlock", USER], None);
    assert_eq!(soap(url, PASSWORD)["ok"], true, "unlock restores");

    cli.ok(
        &["org", "profile", "login-ranges", "set", "Standard User", "10.0.0.0/8"],
        None,
    );
    assert_eq!(
        error_code(&soap(url, PASSWORD)),
        "INVALID_LOGIN",
        "outside the profile's login IP ranges"
    );
    cli.ok(&["org", "profile", "login-ranges", "clear", "Standard User"], None);

    cli.ok(&["org", "user", "reset-password", USER], None);
    let mails = cli.mails().join("\n");
    let temporary = values_after(&mails, "Temporary password: ")
        .pop()
        .expect("temporary password");
    let expired = soap(url, &temporary);
    assert_eq!(expired["ok"], false);
    assert_eq!(
        expired["message"], "Unable to login because the used password has expired.",
        "{expired}"
    );

    let history = cli.ok(&["org", "login-history", "--json", "--limit", "100"], None);
    let history: Value = serde_json::from_str(&history).unwrap();
    let statuses: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["status"].as_str())
        .collect();
    for s in [
        "Success",
        "Failed: API security token required",
        "Invalid Password",
        "Password Lockout",
        "Restricted IP",
    ] {
        assert!(statuses.contains(&s), "login history lacks {s:?}: {statuses:?}");
    }
    assert!(history
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["login_type"] == "Remote Access 2.0" && r["application"] == "Data Sync"));

    drop(server);
    let logs = cli.server_logs();
    assert!(
        logs.contains("login failed") && logs.contains("login succeeded"),
        "server logs were captured"
    );
    for (n, secret) in [PASSWORD, token.as_str(), client_secret, temporary.as_str()]
        .iter()
        .enumerate()
    {
        assert!(!logs.contains(secret), "secret #{n} appears in the server's logs");
    }
}

/// The seeds' story with OAuth: an integration holding a refresh token keeps working
/// through an administrator's password reset; an app whose policy ends refresh tokens
/// at a password change stops with OAuth's documented error.
#[test]
fn jsforce_refreshes_its_session_and_outlives_a_password_reset() {
    let cli = Cli::new();
    cli.ok(&["org", "create", "Acme"], None);
    cli.ok(
        &["org", "user", "create", USER, "--email", USER, "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    let (client_id, client_secret) = data_sync_app(&cli);
    let (client_id, client_secret) = (client_id.as_str(), client_secret.as_str());
    let authorized: Value = serde_json::from_str(&cli.ok(
        &[
            "org",
            "app",
            "authorize",
            "--name",
            "Data Sync",
            "--user",
            USER,
            "--json",
        ],
        None,
    ))
    .unwrap();
    let refresh_token = authorized["refresh_token"].as_str().unwrap();
    let server = cli.serve();
    let refresh = || {
        jsforce(
            &["refresh", server.url.as_str(), "-", client_id],
            &format!("{refresh_token}\n{client_secret}\n"),
        )
    };

    let before = refresh();
    assert_eq!(before["ok"], true, "{before}");
    assert_eq!(before["explicitHasAccessToken"], true, "{before}");
    assert_eq!(before["explicitRefreshToken"], Value::Null, "no rotation: {before}");
    assert_eq!(
        before["refreshEvents"], 1,
        "a 401 for the stale access token made jsforce refresh once: {before}"
    );
    assert_eq!(before["identityUsername"], USER);

    cli.ok(&["org", "user", "reset-password", USER], None);
    let after = refresh();
    assert_eq!(
        after["ok"], true,
        "the password reset left the integration running: {after}"
    );

    cli.ok(
        &[
            "org",
            "app",
            "refresh-policy",
            "--name",
            "Data Sync",
            "--survives-password-change",
            "false",
        ],
        None,
    );
    cli.ok(&["org", "user", "reset-password", USER], None);
    let ended = refresh();
    assert_eq!(ended["ok"], false, "{ended}");
    assert_eq!(ended["name"], "invalid_grant", "{ended}");
    assert_eq!(ended["message"], "expired access/refresh token", "{ended}");
}

/// jsforce at a version after the SOAP `login()` retirement (66.0): its SOAP login gets
/// Salesforce's INVALID_OPERATION, its OAuth login and REST calls work; with the org's
/// SOAP `login()` switched off, 59.0's SOAP login gets the org's refusal and the
/// account is none the worse for it.
#[test]
fn jsforce_meets_the_soap_login_retirement_by_version_and_by_org() {
    let cli = Cli::new();
    cli.ok(&["org", "create", "Acme"], None);
    cli.ok(&["org", "network", "trusted", "add", "127.0.0.0/8"], None);
    cli.ok(
        &["org", "user", "create", USER, "--email", USER, "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    let (client_id, client_secret) = data_sync_app(&cli);
    let (client_id, client_secret) = (client_id.as_str(), client_secret.as_str());
    let server = cli.serve();
    let url = server.url.as_str();
    let at = |version: &str, args: &[&str], stdin: &str| {
        run_driver("node", "jsforce_login.js", args, &[("JSFORCE_VERSION", version)], stdin)
    };

    let refused = at("66.0", &["soap", url, USER], &format!("{PASSWORD}\n"));
    assert_eq!(error_code(&refused), "INVALID_OPERATION", "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap_or_default()
            .contains("not available in the API version specified (66.0)"),
        "{refused}"
    );
    let oauth = at(
        "66.0",
        &["oauth", url, USER, client_id],
        &format!("{PASSWORD}\n{client_secret}\n"),
    );
    assert_eq!(oauth["ok"], true, "OAuth at 66.0: {oauth}");
    assert_eq!(oauth["identityUsername"], USER, "{oauth}");

    cli.ok(&["org", "login-flows", "set", "--soap-login", "off"], None);
    for _ in 0..4 {
        let closed = at("59.0", &["soap", url, USER], &format!("{PASSWORD}\n"));
        assert_eq!(error_code(&closed), "INVALID_OPERATION", "{closed}");
        assert!(
            closed["message"]
                .as_str()
                .unwrap_or_default()
                .contains("SOAP API login() is disabled"),
            "{closed}"
        );
    }
    let shown: Value = serde_json::from_str(&cli.ok(&["org", "user", "show", USER, "--json"], None)).unwrap();
    assert_eq!(
        (&shown["locked"], &shown["failed_attempts"]),
        (&Value::Bool(false), &Value::from(0)),
        "no attempt was counted: {shown}"
    );
    cli.ok(&["org", "login-flows", "set", "--soap-login", "on"], None);
    assert_eq!(at("59.0", &["soap", url, USER], &format!("{PASSWORD}\n"))["ok"], true);
}
