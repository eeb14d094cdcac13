//! The org's browser UI in a real headless Chromium (Debian's, driven by
//! playwright-core), against `latchkey serve` whose mail goes by SMTP to a real sink.
//! Every step saves a screenshot under `target/ui-screenshots/`.

use mail_parser::MessageParser;
use serde_json::{json, Value};

use crate::smtp_sink::SmtpSink;
use crate::support::{values_after, wait_until, Browser, Cli};

const USER: &str = "jane@acme.test";
const PASSWORD: &str = "violet-Kettle-42";
const GENERIC: &str =
    "Please check your username and password. If you still can't log in, contact your Latchkey administrator.";

/// The plain-text parts of every message the sink received, oldest first.
fn mail_texts(sink: &SmtpSink) -> Vec<String> {
    sink.messages()
        .iter()
        .filter_map(|raw| MessageParser::default().parse(raw.as_slice()))
        .map(|m| m.body_text(0).map(|t| t.into_owned()).unwrap_or_default())
        .collect()
}

/// The values after `prefix` in every received message, oldest first.
fn mailed(sink: &SmtpSink, prefix: &str) -> Vec<String> {
    values_after(&mail_texts(sink).join("\n"), prefix)
}

/// Waits for the `n`th value after `prefix` to arrive by mail.
fn nth_mailed(sink: &SmtpSink, prefix: &str, n: usize) -> String {
    wait_until(&format!("mail number {n} with {prefix:?}"), 15, || {
        mailed(sink, prefix).len() >= n
    });
    mailed(sink, prefix)[n - 1].clone()
}

fn cookie<'a>(cookies: &'a [Value], name: &str) -> &'a Value {
    cookies
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no cookie {name}: {cookies:?}"))
}

fn log_in(browser: &mut Browser, url: &str, password: &str) -> String {
    browser.goto(&format!("{url}/"));
    browser.fill("#username", USER);
    browser.fill("#password", password);
    browser.click("#Login")
}

/// An org whose loopback is a trusted network (no identity verification), with
/// `users` (username, profile), each with [`PASSWORD`].
fn trusted_org(users: &[(&str, &str)]) -> Cli {
    let org = Cli::new();
    org.ok(&["org", "create", "Acme"], None);
    org.ok(&["org", "network", "trusted", "add", "127.0.0.0/8"], None);
    for (user, profile) in users {
        org.ok(
            &[
                "org",
                "user",
                "create",
                user,
                "--email",
                user,
                "--profile",
                profile,
                "--password-stdin",
            ],
            Some(&format!("{PASSWORD}\n")),
        );
    }
    org
}

/// Logs `username` in from a trusted network: straight home.
fn sign_in(browser: &mut Browser, url: &str, username: &str) {
    browser.goto(&format!("{url}/"));
    browser.fill("#username", username);
    browser.fill("#password", PASSWORD);
    assert_eq!(browser.click("#Login"), "/home");
}

/// From an untrusted network: the e-mailed code, a remembered browser, a forced
/// change of an expired password, CSRF-less posts refused, and one generic message for
/// a wrong password and for a locked user alike.
#[test]
fn browser_login_from_an_untrusted_network() {
    let sink_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(sink_dir.path());
    let org = Cli::with_smtp(sink.port);
    org.ok(&["org", "create", "Acme"], None);
    org.ok(
        &[
            "org",
            "policy",
            "set",
            "--max-invalid-attempts",
            "5",
            "--lockout-scope",
            "all",
        ],
        None,
    );
    org.ok(
        &["org", "user", "create", USER, "--email", USER, "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    let server = org.serve();
    let url = server.url.clone();
    let mut browser = Browser::start("login");

    assert_eq!(browser.goto(&format!("{url}/")), 200);
    browser.screenshot("1-login");
    let csrf = browser.cookies();
    assert_eq!(cookie(&csrf, "lk_csrf")["httpOnly"], true);
    assert_eq!(cookie(&csrf, "lk_csrf")["sameSite"], "Strict");

    // Wrong password: the generic message.
    assert_eq!(log_in(&mut browser, &url, "not-the-password-1"), "/login");
    assert_eq!(browser.text("#login-error").as_deref(), Some(GENERIC));
    browser.screenshot("2-refused");

    // Right password from an untrusted network: a code by mail. The wrong password,
    // the challenged login and the wrong code are three failures, two short of the lock.
    assert_eq!(log_in(&mut browser, &url, PASSWORD), "/verify");
    browser.screenshot("3-verify");
    let code = nth_mailed(&sink, "Verification code:", 1);
    assert_eq!(code.len(), 6, "{code}");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    browser.fill("#code", wrong);
    assert_eq!(browser.click("#verify"), "/verify");
    assert!(browser.text(".error").unwrap().contains("isn't right"));
    browser.fill("#code", &code);
    assert_eq!(browser.click("#verify"), "/home");
    assert_eq!(browser.text("#whoami").as_deref(), Some(USER));
    browser.screenshot("4-home");
    let cookies = browser.cookies();
    assert_eq!(cookie(&cookies, "sid")["httpOnly"], true);
    assert_eq!(cookie(&cookies, "sid")["sameSite"], "Lax");
    assert_eq!(cookie(&cookies, "lk_device")["httpOnly"], true);
    let history: Value = serde_json::from_str(&org.ok(&["org", "login-history", "--json"], None)).unwrap();
    let statuses: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "Success",
            "Failed: Invalid verification code",
            "Failed: Computer activation required",
            "Invalid Password"
        ],
        "newest first"
    );

    // Forms without the token are refused.
    assert_eq!(
        browser.post(&format!("{url}/login"), json!({"username": USER, "password": PASSWORD})),
        403
    );
    assert_eq!(browser.post(&format!("{url}/logout"), json!({"_csrf": "forged"})), 403);

    // Log out; this browser is remembered: no code the next time.
    assert_eq!(browser.click("text=Log Out"), "/?m=out");
    assert_eq!(browser.text(".notice").as_deref(), Some("You have logged out."));
    assert_eq!(browser.goto(&format!("{url}/home")), 200);
    assert!(browser.text("#username").is_some(), "home needs a session");
    assert_eq!(log_in(&mut browser, &url, PASSWORD), "/home");
    assert_eq!(mailed(&sink, "Verification code:").len(), 1, "no second code");

    // The administrator resets the password: the temporary one is expired at once and
    // must be changed before anything else.
    org.ok(&["org", "user", "reset-password", USER], None);
    let temporary = nth_mailed(&sink, "Temporary password:", 1);
    assert_eq!(browser.goto(&format!("{url}/home")), 200);
    assert!(browser.text("#username").is_some(), "the reset ended the session");
    assert_eq!(log_in(&mut browser, &url, &temporary), "/change-password");
    assert!(browser.text(".notice").unwrap().contains("expired"));
    assert_eq!(browser.goto(&format!("{url}/home")), 200);
    assert!(browser.text("#current").is_some(), "nothing else until it is changed");
    browser.screenshot("5-expired");
    browser.fill("#current", &temporary);
    browser.fill("#new", "Amber-Lantern-77");
    browser.fill("#confirm", "Amber-Lantern-78");
    assert_eq!(browser.click("#save"), "/change-password");
    assert_eq!(
        browser.text("#password-error").as_deref(),
        Some("The new passwords don't match.")
    );
    browser.fill("#current", &temporary);
    browser.fill("#new", "short");
    browser.fill("#confirm", "short");
    browser.click("#save");
    assert!(browser.text("#password-error").is_some(), "the policy is enforced");
    browser.fill("#current", &temporary);
    browser.fill("#new", "Amber-Lantern-77");
    browser.fill("#confirm", "Amber-Lantern-77");
    assert_eq!(browser.click("#save"), "/home?m=password");
    assert!(browser.text(".notice").unwrap().contains("security token was e-mailed"));
    browser.screenshot("6-changed");
    browser.click("text=Log Out");

    // A new browser is challenged again.
    browser.forget();
    assert_eq!(log_in(&mut browser, &url, "Amber-Lantern-77"), "/verify");

    // Locked out (the challenged login above and four wrong passwords): the same
    // generic message, even with the right password.
    browser.forget();
    for n in 0..4 {
        log_in(&mut browser, &url, &format!("wrong-Password-{n}"));
    }
    let user: Value = serde_json::from_str(&org.ok(&["org", "user", "show", USER, "--json"], None)).unwrap();
    assert_eq!(user["locked"], true, "{user}");
    assert_eq!(log_in(&mut browser, &url, "Amber-Lantern-77"), "/login");
    assert_eq!(browser.text("#login-error").as_deref(), Some(GENERIC));
    browser.screenshot("7-locked");
}

/// SOAP `login()` from loopback (an untrusted network here) with `secret`.
fn soap_login(url: &str, secret: &str) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(crate::lockout::post(
        url,
        "/services/Soap/u/59.0",
        &crate::lockout::envelope(secret),
    ))
}

/// Logs `username` in on a new browser, through the e-mailed code (the `nth` code sent).
fn log_in_verified(browser: &mut Browser, url: &str, sink: &SmtpSink, username: &str, password: &str, nth: usize) {
    browser.forget();
    browser.goto(&format!("{url}/"));
    browser.fill("#username", username);
    browser.fill("#password", password);
    assert_eq!(browser.click("#Login"), "/verify");
    browser.fill("#code", &nth_mailed(sink, "Verification code:", nth));
    assert_eq!(browser.click("#verify"), "/home");
}

/// My Settings and Setup: Reset Security Token mails a token that then works for a
/// SOAP login (and the old one stops); a standard user gets 403 on Setup; an
/// administrator unlocks a user locked by failed logins and the user logs in; the
/// token page is gone once the user's profile has login IP ranges.
#[test]
fn my_settings_and_setup_users() {
    const ADMIN: &str = "ada@acme.test";
    let sink_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(sink_dir.path());
    let org = Cli::with_smtp(sink.port);
    org.ok(&["org", "create", "Acme"], None);
    org.ok(
        &[
            "org",
            "policy",
            "set",
            "--max-invalid-attempts",
            "5",
            "--lockout-scope",
            "all",
        ],
        None,
    );
    org.ok(
        &["org", "user", "create", USER, "--email", USER, "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    org.ok(
        &[
            "org",
            "user",
            "create",
            ADMIN,
            "--email",
            ADMIN,
            "--profile",
            "System Administrator",
            "--password-stdin",
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    let server = org.serve();
    let url = server.url.clone();
    let mut jane = Browser::start("settings");
    log_in_verified(&mut jane, &url, &sink, USER, PASSWORD, 1);
    assert!(
        jane.text("a[href='/setup/users']").is_none(),
        "no Setup link for a standard user"
    );

    // Reset My Security Token.
    assert_eq!(jane.goto(&format!("{url}/settings")), 200);
    jane.screenshot("1-my-settings");
    assert!(jane.text("text=Success").is_some(), "her own login history");
    jane.click("text=Reset My Security Token");
    let tokens_before = mailed(&sink, "Security token (case-sensitive):").len();
    jane.click("#reset-token");
    assert!(jane.text("#token-sent").unwrap().contains(USER));
    jane.screenshot("2-token-sent");
    let token = nth_mailed(&sink, "Security token (case-sensitive):", tokens_before + 1);
    let old_token = mailed(&sink, "Security token (case-sensitive):")[tokens_before - 1].clone();
    let (status, body) = soap_login(&url, PASSWORD);
    assert!(
        status == 500 && body.contains("LOGIN_MUST_USE_SECURITY_TOKEN"),
        "{body}"
    );
    let (status, body) = soap_login(&url, &format!("{PASSWORD}{old_token}"));
    assert!(
        status == 500 && body.contains("INVALID_LOGIN"),
        "the old token is dead: {body}"
    );
    let (status, body) = soap_login(&url, &format!("{PASSWORD}{token}"));
    assert!(
        status == 200 && body.contains("<sessionId>"),
        "the new token works: {body}"
    );

    // Setup is for administrators.
    assert_eq!(jane.goto(&format!("{url}/setup/users")), 403);
    assert_eq!(jane.text("h1").as_deref(), Some("Insufficient Privileges"));
    jane.screenshot("3-setup-refused");
    jane.goto(&format!("{url}/home"));
    assert_eq!(jane.click("text=Log Out"), "/?m=out");

    // Jane is locked out by failed logins; the administrator unlocks her.
    for n in 0..5 {
        soap_login(&url, &format!("wrong-{n}"));
    }
    let user: Value = serde_json::from_str(&org.ok(&["org", "user", "show", USER, "--json"], None)).unwrap();
    assert_eq!(user["locked"], true, "{user}");
    let mut ada = Browser::start("setup");
    log_in_verified(&mut ada, &url, &sink, ADMIN, PASSWORD, 2);
    assert_eq!(ada.click("a[href='/setup/users']"), "/setup/users");
    assert_eq!(
        ada.text(&format!("tr:has-text('{USER}') .badge")).as_deref(),
        Some("Locked")
    );
    let last_login = ada.text(&format!("tr:has-text('{ADMIN}') td:nth-child(5)")).unwrap();
    assert!(
        last_login.starts_with("20"),
        "a verified login is a login: {last_login}"
    );
    ada.screenshot("1-users-locked");
    assert_eq!(
        ada.click(&format!("button[aria-label='Unlock {USER}']")),
        "/setup/users?done=unlock"
    );
    assert_eq!(ada.text("#setup-notice").as_deref(), Some("The user was unlocked."));
    assert_eq!(
        ada.text(&format!("tr:has-text('{USER}') .badge")).as_deref(),
        Some("Active")
    );
    ada.screenshot("2-users-unlocked");

    // Login History: the chart counts the week, the filters narrow the table, and the
    // CSV holds the same selection.
    assert_eq!(ada.click("a[href='/setup/login-history']"), "/setup/login-history");
    let history: Value =
        serde_json::from_str(&org.ok(&["org", "login-history", "--json", "--limit", "1000"], None)).unwrap();
    let all = history.as_array().unwrap();
    let ok = all.iter().filter(|r| r["status"] == "Success").count();
    let desc = ada.text("#chart-desc").unwrap();
    assert!(
        desc.starts_with(&format!("{ok} successful and {} failed", all.len() - ok)),
        "{desc}"
    );
    ada.screenshot("3-login-history");
    ada.fill("#user", USER);
    ada.send(json!({"op": "select", "selector": "#outcome", "value": "failed"}));
    assert!(ada.click("#filter").starts_with("/setup/login-history?user="));
    let jane_failed = all
        .iter()
        .filter(|r| r["username"] == USER && r["status"] != "Success")
        .count();
    assert!(jane_failed >= 6, "challenge, token required, old token, five wrong");
    let caption = ada.text("#history caption").unwrap();
    assert!(caption.starts_with(&format!("{jane_failed} attempt(s)")), "{caption}");
    let csv = ada.get(&format!(
        "{url}/setup/login-history.csv?user={USER}&outcome=failed&days=7"
    ));
    assert_eq!(csv["status"], 200);
    assert_eq!(csv["type"], "text/csv; charset=utf-8");
    let body = csv["body"].as_str().unwrap();
    assert!(body.starts_with("LoginTime,Username,SourceIp,LoginType,Status,Application,ApiType,ApiVersion\n"));
    assert_eq!(body.lines().count(), jane_failed + 1, "{body}");
    assert!(body.contains("Password Lockout") || body.contains("Invalid Password"));
    sign_in(&mut jane, &url, USER);
    assert_eq!(
        jane.get(&format!("{url}/setup/login-history.csv"))["status"],
        403,
        "administrators only"
    );

    // Login IP ranges on her profile: no token page at all.
    org.ok(
        &["org", "profile", "login-ranges", "set", "Standard User", "127.0.0.0/8"],
        None,
    );
    assert_eq!(jane.goto(&format!("{url}/settings")), 200);
    assert!(jane.text("text=Reset My Security Token").is_none());
    assert_eq!(jane.goto(&format!("{url}/settings/token")), 404);
    jane.screenshot("4-no-token-page");
}

/// Setup → Webhooks: an endpoint added in the browser shows its secret once, and that
/// secret verifies the deliveries the receiver gets; the page lists them; rotation
/// shows a new secret; bad input is refused with a message; removal removes.
#[test]
fn setup_webhooks_page() {
    use crate::webhooks::{signed_by, Receiver};
    const ADMIN: &str = "ada@acme.test";
    let org = trusted_org(&[(USER, "Standard User"), (ADMIN, "System Administrator")]);
    let server = org.serve();
    let url = server.url.clone();
    let receiver = Receiver::start();
    let mut ada = Browser::start("webhooks");
    sign_in(&mut ada, &url, ADMIN);
    assert_eq!(ada.goto(&format!("{url}/setup/webhooks")), 200);

    ada.screenshot("1-empty");
    // A URL the browser accepts but the org refuses.
    ada.fill("#url", "ftp://hub.example/hook");
    assert_eq!(ada.click("#add-endpoint"), "/setup/webhooks");
    assert!(ada.text("#webhook-error").unwrap().contains("http"));

    ada.fill("#url", &format!("{}/ui", receiver.url));
    assert_eq!(ada.click("#add-endpoint"), "/setup/webhooks");
    let secret = ada.text("#webhook-secret").unwrap();
    assert!(secret.starts_with("whsec_"), "{secret}");
    ada.screenshot("2-added");
    assert_eq!(ada.goto(&format!("{url}/setup/webhooks")), 200);
    assert!(ada.text("#webhook-secret").is_none(), "shown once");

    org.ok(&["org", "token", "reset", USER], None);
    wait_until("the delivery", 10, || !receiver.seen().is_empty());
    assert!(
        signed_by(&secret, &receiver.seen()[0]),
        "the secret the page showed signs deliveries"
    );
    ada.goto(&format!("{url}/setup/webhooks"));
    assert_eq!(
        ada.text("article.endpoint td:nth-child(2)").as_deref(),
        Some("security_token.reset")
    );
    assert_eq!(ada.text("article.endpoint .badge").as_deref(), Some("delivered"));
    assert_eq!(
        ada.text("article.endpoint td:nth-child(5)").as_deref(),
        Some("HTTP 204")
    );
    ada.screenshot("3-delivered");

    ada.click("button:has-text('Rotate Secret')");
    let rotated = ada.text("#webhook-secret").unwrap();
    assert!(rotated.starts_with("whsec_") && rotated != secret);
    org.ok(&["org", "token", "reset", USER], None);
    wait_until("the second delivery", 10, || receiver.seen().len() >= 2);
    assert!(signed_by(&rotated, &receiver.seen()[1]) && !signed_by(&secret, &receiver.seen()[1]));

    assert_eq!(ada.click("button:has-text('Remove')"), "/setup/webhooks");
    assert!(ada.text("article.endpoint").is_none());
    assert!(!org.server_logs().contains(&rotated), "no secret in the logs");
}

/// "Forgot Your Password?": the same answer for a stranger as for a user, a link by
/// mail that sets a new password under the policy (and a new token), works once, and
/// leaves the old password dead.
#[test]
fn forgotten_password_by_mailed_link() {
    let sink_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(sink_dir.path());
    let org = Cli::with_smtp(sink.port);
    org.ok(&["org", "create", "Acme"], None);
    org.ok(&["org", "network", "trusted", "add", "127.0.0.0/8"], None);
    org.ok(
        &["org", "user", "create", USER, "--email", USER, "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    let server = org.serve();
    let url = server.url.clone();
    let mut browser = Browser::start("forgot");
    let tokens = mailed(&sink, "Security token (case-sensitive):").len();

    browser.goto(&format!("{url}/"));
    assert_eq!(browser.click("#forgot"), "/forgot");
    browser.fill("#username", "nobody@acme.test");
    browser.click("#send-reset");
    let stranger = browser.text("#reset-sent").unwrap();
    browser.goto(&format!("{url}/forgot"));
    browser.fill("#username", USER);
    browser.click("#send-reset");
    let user = browser.text("#reset-sent").unwrap();
    assert_eq!(
        stranger.replace("nobody@acme.test", USER),
        user,
        "no way to tell who exists"
    );
    browser.screenshot("1-sent");
    let prefix = format!("{url}/reset/");
    wait_until("the reset mail", 15, || {
        mail_texts(&sink).iter().any(|t| t.contains(&prefix))
    });
    let texts = mail_texts(&sink);
    let link = texts
        .iter()
        .flat_map(|t| t.lines())
        .find(|l| l.trim().starts_with(&prefix))
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(
        texts.iter().filter(|t| t.contains("/reset/")).count(),
        1,
        "nothing for the stranger"
    );

    assert_eq!(browser.goto(&link), 200);
    browser.screenshot("2-reset-form");
    browser.fill("#new", "short");
    browser.fill("#confirm", "short");
    browser.click("#save");
    assert!(browser.text("#password-error").is_some(), "the policy holds");
    browser.fill("#new", "Amber-Lantern-77");
    browser.fill("#confirm", "Amber-Lantern-77");
    assert_eq!(browser.click("#save"), "/?m=reset");
    assert!(browser
        .text(".notice")
        .unwrap()
        .contains("Log in with the new password"));
    nth_mailed(&sink, "Security token (case-sensitive):", tokens + 1);

    assert_eq!(browser.goto(&link), 410, "the link works once");
    assert_eq!(browser.text("h1").as_deref(), Some("This link no longer works"));
    assert_eq!(
        log_in(&mut browser, &url, PASSWORD),
        "/login",
        "the old password is dead"
    );
    assert_eq!(log_in(&mut browser, &url, "Amber-Lantern-77"), "/home");
    browser.screenshot("3-home");
}

/// Setup → Password Policies and Network Access: the form shows the policy in force,
/// saves a new one (which the CLI then reads), refuses a combination the policy rules
/// forbid with their message; trusted ranges are added, refused when malformed, and
/// removed.
#[test]
fn setup_policies_and_network_access() {
    const ADMIN: &str = "ada@acme.test";
    let org = trusted_org(&[(ADMIN, "System Administrator")]);
    let server = org.serve();
    let url = server.url.clone();
    let mut ada = Browser::start("policies");
    sign_in(&mut ada, &url, ADMIN);

    assert_eq!(ada.goto(&format!("{url}/setup/policies")), 200);
    let selected = |b: &mut Browser, id: &str| b.text(&format!("#{id} option[selected]")).unwrap();
    assert_eq!(selected(&mut ada, "expiry"), "90 days");
    assert_eq!(selected(&mut ada, "max_invalid_attempts"), "10");
    assert_eq!(
        selected(&mut ada, "complexity"),
        "Must include alpha and numeric characters"
    );
    ada.screenshot("1-policy");
    ada.send(json!({"op": "select", "selector": "#max_invalid_attempts", "value": "3"}));
    ada.send(json!({"op": "select", "selector": "#min_length", "value": "12"}));
    ada.send(json!({"op": "select", "selector": "#lockout", "value": "forever"}));
    assert_eq!(ada.click("#save-policy"), "/setup/policies");
    assert_eq!(
        ada.text("#policy-notice").as_deref(),
        Some("The password policy was saved.")
    );
    let policy: Value = serde_json::from_str(&org.ok(&["org", "policy", "show", "--json"], None)).unwrap();
    assert_eq!(
        (
            &policy["max_invalid_attempts"],
            &policy["min_length"],
            &policy["lockout"]
        ),
        (&json!("3"), &json!(12), &json!("forever")),
        "{policy}"
    );
    ada.send(json!({"op": "select", "selector": "#history", "value": "0"}));
    ada.click("#save-policy");
    assert!(ada
        .text("#policy-error")
        .unwrap()
        .contains("only allowed when passwords never expire"));
    let unchanged: Value = serde_json::from_str(&org.ok(&["org", "policy", "show", "--json"], None)).unwrap();
    assert_eq!(unchanged["history"], 3, "nothing saved");

    assert_eq!(ada.click("a[href='/setup/network']"), "/setup/network");
    assert_eq!(ada.text("#ranges td").as_deref(), Some("127.0.0.0/8"));
    ada.fill("#range", "10.0.0.0/8");
    ada.click("#add-range");
    assert_eq!(
        ada.text("#network-notice").as_deref(),
        Some("The range is trusted now.")
    );
    assert!(org
        .ok(&["org", "network", "trusted", "list"], None)
        .contains("10.0.0.0/8"));
    ada.screenshot("2-network");
    ada.fill("#range", "10.0.0.0/99");
    ada.click("#add-range");
    assert!(ada.text("#network-error").is_some());
    ada.click("button[aria-label='Remove 10.0.0.0/8']");
    assert_eq!(ada.text("#network-notice").as_deref(), Some("The range was removed."));
    assert!(!org
        .ok(&["org", "network", "trusted", "list"], None)
        .contains("10.0.0.0/8"));

    // OAuth and OpenID Connect Settings: the password login flows, as the CLI sees them.
    assert_eq!(ada.click("a[href='/setup/login-flows']"), "/setup/login-flows");
    let checked = |b: &mut Browser, id: &str| {
        b.send(json!({"op": "eval", "expression": format!("document.getElementById('{id}').checked")}))["value"].clone()
    };
    assert_eq!(checked(&mut ada, "soap_login"), json!(true));
    assert_eq!(checked(&mut ada, "oauth_username_password"), json!(true));
    ada.send(json!({"op": "eval", "expression": "document.getElementById('soap_login').checked = false"}));
    assert_eq!(ada.click("#save-flows"), "/setup/login-flows");
    assert_eq!(
        ada.text("#flows-notice").as_deref(),
        Some("The login settings were saved.")
    );
    assert_eq!(checked(&mut ada, "soap_login"), json!(false));
    let flows: Value = serde_json::from_str(&org.ok(&["org", "login-flows", "show", "--json"], None)).unwrap();
    assert_eq!(flows, json!({"soap_login": false, "oauth_username_password": true}));
    ada.screenshot("3-login-flows");
}

/// Setup → Users (a new user gets a temporary password to change at first login),
/// Profiles (login IP ranges take effect at once) and Connected Apps (the consumer
/// secret shown once works for the OAuth token endpoint; a rotated one replaces it).
#[test]
fn setup_new_users_profiles_and_connected_apps() {
    const ADMIN: &str = "ada@acme.test";
    const LEE: &str = "lee@acme.test";
    let org = trusted_org(&[(ADMIN, "System Administrator")]);
    let server = org.serve();
    let url = server.url.clone();
    let mut ada = Browser::start("setup-more");
    sign_in(&mut ada, &url, ADMIN);

    // A new user.
    ada.goto(&format!("{url}/setup/users"));
    ada.fill("#new-first", "Lee");
    ada.fill("#new-last", "Park");
    ada.fill("#new-username", LEE);
    ada.fill("#new-email", LEE);
    assert_eq!(ada.click("#create-user"), "/setup/users");
    assert_eq!(
        ada.text(".notice").as_deref(),
        Some("The user was created and e-mailed a temporary password.")
    );
    assert_eq!(
        ada.text(&format!("tr:has-text('{LEE}') td:nth-child(3)")).as_deref(),
        Some("Standard User")
    );
    ada.fill("#new-last", "Again");
    ada.fill("#new-username", LEE);
    ada.fill("#new-email", LEE);
    ada.click("#create-user");
    assert!(ada.text("#user-error").unwrap().contains("already exists"));
    ada.screenshot("1-users");
    let temporaries = || values_after(&org.mails().join("\n"), "Temporary password:");
    wait_until("the temporary password", 10, || !temporaries().is_empty());
    let temporary = temporaries().pop().unwrap();
    let mut lee = Browser::start("setup-more-lee");
    lee.goto(&format!("{url}/"));
    lee.fill("#username", LEE);
    lee.fill("#password", &temporary);
    assert_eq!(
        lee.click("#Login"),
        "/change-password",
        "the first login changes the password"
    );

    // Login IP ranges on Standard User: Lee is refused from here until they are gone.
    assert_eq!(ada.click("a[href='/setup/profiles']"), "/setup/profiles");
    let standard = "article:has(h2:text-is('Standard User'))";
    ada.fill(&format!("{standard} textarea"), "10.0.0.0/8\n192.168.0.0/16");
    ada.click(&format!("{standard} button"));
    assert_eq!(
        ada.text("#profile-notice").as_deref(),
        Some("The login IP ranges of Standard User were saved.")
    );
    ada.screenshot("2-profiles");
    lee.send(json!({"op": "forget"}));
    lee.goto(&format!("{url}/"));
    lee.fill("#username", LEE);
    lee.fill("#password", &temporary);
    assert_eq!(lee.click("#Login"), "/login");
    assert_eq!(lee.text("#login-error").as_deref(), Some(GENERIC));
    ada.fill(&format!("{standard} textarea"), "10.0.0.0/33");
    ada.click(&format!("{standard} button"));
    assert!(ada.text("#profile-error").is_some());
    ada.fill(&format!("{standard} textarea"), "");
    ada.click(&format!("{standard} button"));
    lee.goto(&format!("{url}/"));
    lee.fill("#username", LEE);
    lee.fill("#password", &temporary);
    assert_eq!(lee.click("#Login"), "/change-password");

    // A connected app: its secret, shown once, works; a rotated one replaces it.
    assert_eq!(ada.click("a[href='/setup/apps']"), "/setup/apps");
    ada.fill("#app-name", "Data Sync");
    ada.click("#create-app");
    let client_id = ada.text("#app-client-id").unwrap();
    let secret = ada.text("#app-secret").unwrap();
    assert_eq!(ada.text("#apps td:nth-child(2)").as_deref(), Some(client_id.as_str()));
    ada.screenshot("3-apps");
    let grant = |b: &mut Browser, secret: &str| {
        b.post(
            &format!("{url}/services/oauth2/token"),
            json!({"grant_type": "password", "client_id": client_id, "client_secret": secret,
                   "username": ADMIN, "password": PASSWORD}),
        )
    };
    assert_eq!(grant(&mut ada, &secret), 200);
    ada.click("button[aria-label='Rotate the secret of Data Sync']");
    let rotated = ada.text("#app-secret").unwrap();
    assert_ne!(rotated, secret);
    assert_eq!(grant(&mut ada, &secret), 400, "the old secret is dead");
    assert_eq!(grant(&mut ada, &rotated), 200);
    assert_eq!(ada.goto(&format!("{url}/setup/apps")), 200);
    assert!(ada.text("#app-secret").is_none(), "shown once");
}

/// GET `path` with the session `sid` as a bearer token; returns the status.
fn rest_status(url: &str, path: &str, sid: &str) -> u16 {
    use std::io::{Read, Write};
    let host = url.strip_prefix("http://").unwrap();
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {sid}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// A user revokes another of her sessions in My Settings (that browser is logged out);
/// an administrator edits her details and switches her profile's API off and on.
#[test]
fn my_sessions_user_edits_and_the_api_switch() {
    const ADMIN: &str = "ada@acme.test";
    let org = trusted_org(&[(USER, "Standard User"), (ADMIN, "System Administrator")]);
    let server = org.serve();
    let url = server.url.clone();
    let mut laptop = Browser::start("sessions-laptop");
    let mut phone = Browser::start_mobile("sessions-phone");
    sign_in(&mut laptop, &url, USER);
    phone.goto(&format!("{url}/"));
    assert!(phone.fits_width(), "the login page fits a phone");
    phone.screenshot("0-login");
    sign_in(&mut phone, &url, USER);
    for page in ["/home", "/settings", "/change-password"] {
        phone.goto(&format!("{url}{page}"));
        assert!(phone.fits_width(), "{page} fits a phone");
    }
    phone.screenshot("0-settings");
    laptop.goto(&format!("{url}/settings"));
    assert_eq!(
        laptop
            .text("#sessions tbody tr:nth-child(1) td:nth-child(4)")
            .as_deref(),
        Some("This browser")
    );
    assert!(laptop.text("#sessions tbody tr:nth-child(3)").is_none(), "two sessions");
    laptop.screenshot("1-sessions");
    laptop.click("#sessions button");
    assert_eq!(laptop.text(".notice").as_deref(), Some("The session was revoked."));
    assert!(laptop.text("#sessions tbody tr:nth-child(2)").is_none());
    phone.goto(&format!("{url}/home"));
    assert!(phone.text("#username").is_some(), "the phone was logged out");
    laptop.goto(&format!("{url}/home"));
    assert_eq!(laptop.text("#whoami").as_deref(), Some(USER), "this browser stays");

    // The administrator edits Jane.
    let mut ada = Browser::start("sessions-admin");
    sign_in(&mut ada, &url, ADMIN);
    ada.goto(&format!("{url}/setup/users"));
    ada.click(&format!("a[aria-label='Edit {USER}']"));
    ada.fill("#edit-email", "jane.doe@acme.test");
    ada.fill("#edit-first", "Jane");
    ada.fill("#edit-last", "Doe-Smith");
    ada.screenshot("2-edit");
    assert_eq!(ada.click("#save-user"), "/setup/users?done=edit");
    assert_eq!(
        ada.text(&format!("tr:has-text('{USER}') td:nth-child(1)")).as_deref(),
        Some("Jane Doe-Smith")
    );
    let jane: Value = serde_json::from_str(&org.ok(&["org", "user", "show", USER, "--json"], None)).unwrap();
    assert_eq!(jane["email"], "jane.doe@acme.test");

    // API access follows the profile's switch at once.
    let (status, body) = soap_login(&url, PASSWORD);
    assert_eq!(status, 200, "{body}");
    let sid = body
        .split("<sessionId>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(rest_status(&url, "/services/data/v59.0/sobjects", &sid), 200);
    ada.goto(&format!("{url}/setup/profiles"));
    ada.click("button[aria-label='Disable the API for Standard User']");
    assert_eq!(
        ada.text("#profile-notice").as_deref(),
        Some("The API is disabled for Standard User.")
    );
    assert_eq!(rest_status(&url, "/services/data/v59.0/sobjects", &sid), 403);
    ada.click("button[aria-label='Enable the API for Standard User']");
    assert_eq!(rest_status(&url, "/services/data/v59.0/sobjects", &sid), 200);
}
