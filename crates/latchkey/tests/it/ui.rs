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

/// From an untrusted network: the e-mailed code, a remembered browser, a forced
/// change of an expired password, CSRF-less posts refused, and one generic message for
/// a wrong password and for a locked user alike.
#[test]
fn browser_login_from_an_untrusted_network() {
    let sink_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(sink_dir.path());
    let org = Cli::with_smtp(sink.port);
    org.ok(&["org", "create", "Acme"], None);
    org.ok(&["org", "policy", "set", "--max-invalid-attempts", "3"], None);
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

    // Right password from an untrusted network: a code by mail.
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
        ["Success", "Failed: Computer activation required", "Invalid Password"],
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

    // Locked out: the same generic message, even with the right password.
    browser.forget();
    for n in 0..3 {
        log_in(&mut browser, &url, &format!("wrong-Password-{n}"));
    }
    let user: Value = serde_json::from_str(&org.ok(&["org", "user", "show", USER, "--json"], None)).unwrap();
    assert_eq!(user["locked"], true, "{user}");
    assert_eq!(log_in(&mut browser, &url, "Amber-Lantern-77"), "/login");
    assert_eq!(browser.text("#login-error").as_deref(), Some(GENERIC));
    browser.screenshot("7-locked");
}
