//! The web-server flow end to end: the real jsforce builds the authorization URL (with
//! PKCE), a real headless Chromium logs in and answers the consent page, the app's
//! callback (a real listener on loopback) receives the code, and jsforce exchanges it,
//! calls the API and refreshes. Deny comes back as `access_denied`; a redirect URI the
//! app has not registered never leaves the org.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::support::{jwt_org, run_driver, Browser, Cli};

const USER: &str = "jane@acme.test";
const ADMIN: &str = "admin@acme.test";
const PASSWORD: &str = "violet-Kettle-42";

/// A callback endpoint: answers every request and remembers its request line.
struct Callback {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Callback {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/callback", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                record.lock().unwrap().push(line.trim().to_owned());
                let mut stream = reader.into_inner();
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 10\r\nConnection: close\r\n\r\nConnected.",
                );
            }
        });
        Self { url, seen }
    }

    fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

fn jsforce(args: &[&str], stdin: &str) -> Value {
    run_driver("node", "jsforce_oauth.js", args, &[], stdin)
}

fn query_value(path: &str, name: &str) -> Option<String> {
    let query = path.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[test]
fn jsforce_and_a_browser_walk_the_web_server_flow() {
    let org = Cli::new();
    org.ok(&["org", "create", "Acme"], None);
    org.ok(&["org", "network", "trusted", "add", "127.0.0.0/8"], None);
    for (user, profile) in [(USER, "Standard User"), (ADMIN, "System Administrator")] {
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
    let callback = Callback::start();
    let created: Value = serde_json::from_str(&org.ok(
        &[
            "org",
            "app",
            "create",
            "--name",
            "Web Sync",
            "--callback",
            &callback.url,
            "--json",
        ],
        None,
    ))
    .unwrap();
    let client_id = created["client_id"].as_str().unwrap();
    let client_secret = created["client_secret"].as_str().unwrap();
    let server = org.serve();
    let url = server.url.as_str();
    let args = |mode: &'static str| [mode, url, client_id, callback.url.as_str()];

    let start = jsforce(&args("url"), &format!("{client_secret}\n"));
    let authorization_url = start["url"].as_str().unwrap();
    let verifier = start["verifier"].as_str().unwrap();
    assert!(authorization_url.contains("code_challenge="), "{authorization_url}");

    // The browser: to the login page, back to the consent page, Allow.
    let mut browser = Browser::start("oauth_flow");
    browser.goto(authorization_url);
    browser.fill("#username", USER);
    browser.fill("#password", PASSWORD);
    let consent = browser.click("#Login");
    assert!(consent.starts_with("/services/oauth2/authorize?"), "{consent}");
    assert_eq!(browser.text("#app-name").as_deref(), Some("Web Sync"));
    assert!(browser.text("#scopes").unwrap().contains("Access and manage your data"));
    browser.screenshot("oauth-consent");
    let landed = browser.click("#oaapprove");
    assert!(landed.starts_with("/callback?code=aPrx"), "{landed}");
    assert_eq!(query_value(&landed, "state").as_deref(), Some("from-jsforce"));
    assert!(
        callback.requests()[0].starts_with("GET /callback?code=aPrx"),
        "{:?}",
        callback.requests()
    );
    let code = query_value(&landed, "code").unwrap();

    // jsforce's Connection.authorize exchanges the code (with its verifier) at API
    // 66.0, calls the API, refreshes, and cannot use the code twice.
    let done = jsforce(&args("token"), &format!("{client_secret}\n{code}\n{verifier}\n"));
    assert_eq!(done["ok"], true, "{done}");
    assert_eq!(done["hasRefreshToken"], true);
    assert_eq!(done["version"], "66.0");
    assert!(done["userId"].as_str().unwrap().starts_with("005"), "{done}");
    assert!(done["organizationId"].as_str().unwrap().starts_with("00D"), "{done}");
    assert!(done["contacts"].is_u64(), "a query on the established session: {done}");
    assert_eq!(done["identityUsername"], USER);
    assert_eq!(done["refreshedHasAccessToken"], true);
    assert_eq!(done["replay"], "invalid_grant: invalid authorization code", "{done}");
    assert_eq!(
        done["afterReplay"], "Unable to refresh session due to: expired access/refresh token",
        "a replayed code revokes the session and refresh token it issued: {done}"
    );

    // Deny.
    browser.goto(authorization_url);
    let denied = browser.click("#oadeny");
    assert!(denied.starts_with("/callback?error=access_denied"), "{denied}");
    assert_eq!(query_value(&denied, "state").as_deref(), Some("from-jsforce"));

    // A redirect URI the app has not registered: a page on the org, no redirect.
    let elsewhere = authorization_url.replace("%2Fcallback", "%2Felsewhere");
    assert_eq!(browser.goto(&elsewhere), 400);
    assert_eq!(browser.text("h1").as_deref(), Some("This app can't connect"));
    browser.screenshot("oauth-redirect-mismatch");
    assert!(
        !callback.requests().iter().any(|r| r.contains("/elsewhere")),
        "nothing went to the unregistered address: {:?}",
        callback.requests()
    );

    // The administrator sees who authorised what; the user sees the app and revokes it.
    browser.forget();
    browser.goto(&format!("{url}/"));
    browser.fill("#username", ADMIN);
    browser.fill("#password", PASSWORD);
    assert_eq!(browser.click("#Login"), "/home");
    browser.goto(&format!("{url}/setup/apps"));
    let usage = browser.text("#oauth-usage").unwrap();
    assert!(
        usage.contains("Web Sync") && usage.contains(USER) && usage.contains("Allowed by the user"),
        "{usage}"
    );
    // … and sets the app's policies: from now on, only users it pre-authorised.
    assert!(browser.click("#apps a.policies").ends_with("/policies"));
    browser.send(serde_json::json!({"op": "select", "selector": "#permitted_users", "value": "admin"}));
    let certificate = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../org/tests/fixtures/jwt_app.crt"),
    )
    .unwrap();
    browser.fill("#certificate", &certificate);
    browser.click("#save-policies");
    assert_eq!(
        browser.text("#policy-notice").as_deref(),
        Some("The policies were saved.")
    );
    assert!(browser
        .text("label[for=certificate]")
        .unwrap()
        .contains("one is registered"));
    browser.screenshot("app-policies");
    browser.forget();
    browser.goto(&format!("{url}/"));
    browser.fill("#username", USER);
    browser.fill("#password", PASSWORD);
    assert_eq!(browser.click("#Login"), "/home");
    browser.goto(&format!("{url}/settings"));
    assert!(browser.text("#apps").unwrap().contains("Web Sync"));
    browser.screenshot("settings-connected-apps");
    browser.click("#apps button");
    assert_eq!(
        browser.text("p.notice").as_deref(),
        Some("The app's access was revoked.")
    );
    assert!(browser.text("#apps").is_none());
    // Asking again now meets the admin-approved policy: refused before any consent.
    let refused = browser.send(serde_json::json!({"op": "goto", "url": authorization_url}));
    let landed = refused["url"].as_str().unwrap();
    assert!(landed.contains("/callback?error=access_denied"), "{landed}");
    assert!(landed.contains("not+admin+approved"), "{landed}");
    let transcript = org.transcript.borrow().clone();
    assert!(!transcript.contains(PASSWORD));
    // The org logged at TRACE throughout: no code, secret or password in it.
    let logs = org.server_logs();
    assert!(!logs.is_empty());
    for secret in [code.as_str(), client_secret, verifier, PASSWORD] {
        assert!(!logs.contains(secret), "a secret reached the logs");
    }
}

#[test]
fn jsforce_logs_in_by_jwt_bearer_for_a_pre_authorised_user_only() {
    let (org, client_id, key) = jwt_org(&[USER, "joe@acme.test"], PASSWORD, USER);
    let client_id = client_id.as_str();
    let server = org.serve();
    let login = |user: &str| {
        run_driver(
            "node",
            "jsforce_jwt.js",
            &[server.url.as_str(), client_id, user, key.to_str().unwrap()],
            &[],
            "",
        )
    };
    let ok = login(USER);
    assert_eq!(ok["ok"], true, "{ok}");
    assert_eq!(ok["identityUsername"], USER);
    let refused = login("joe@acme.test");
    assert_eq!(refused["ok"], false, "{refused}");
    assert_eq!(refused["name"], "invalid_grant");
    assert_eq!(refused["message"], "user hasn't approved this consumer");
}
