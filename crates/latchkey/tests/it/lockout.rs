//! Parallel lockout: 200 concurrent wrong passwords for one user with a maximum of 5
//! count at most 5 failures, and once the lock is in place no attempt computes a hash.
//! Smart lockout: an attacker's wrong passwords shut out unfamiliar sources only; the
//! victim's own address, existing session and password-less grants go on, and under
//! the all-sources scope Salesforce's lock holds. On SQLite with one server; on
//! PostgreSQL with two server processes sharing it.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{wait_until, Cli, Server};

pub(crate) const USER: &str = "jane@acme.test";
const ATTEMPTS: usize = 200;

/// POSTs a SOAP login call over plain HTTP/1.1; returns the status code and body.
pub(crate) async fn post(base: &str, path: &str, body: &str) -> (u16, String) {
    let headers = [("Content-Type", "text/xml"), ("SOAPAction", "login")];
    crate::support::request(base, "POST", path, &headers, body.as_bytes()).await
}

async fn get(base: &str, path: &str) -> String {
    let host = base.strip_prefix("http://").expect("http URL");
    let mut stream = tokio::net::TcpStream::connect(host).await.expect("connect");
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    response
}

/// Password hashes verified by a server so far, from `/metrics`.
async fn verifications(server: &Server) -> u64 {
    let metrics = get(&server.url, "/metrics").await;
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("latchkey_password_verifications_total "))
        .and_then(|n| n.trim().parse().ok())
        .expect("verification counter")
}

pub(crate) fn envelope(password: &str) -> String {
    format!(
        "<se:Envelope xmlns:se=\"http://schemas.xmlsoap.org/soap/envelope/\"><se:Body><login xmlns=\"urn:partner.soap.sforce.com\">\
         <username>{USER}</username><password>{password}</password></login></se:Body></se:Envelope>"
    )
}

/// Sends `n` distinct wrong passwords at once, alternating between `servers`.
async fn storm(servers: &[String], n: usize, tag: &str) -> Vec<(u16, String)> {
    let mut tasks = Vec::new();
    for i in 0..n {
        let base = servers[i % servers.len()].clone();
        let body = envelope(&format!("wrong-{tag}-{i}"));
        tasks.push(tokio::spawn(async move {
            post(&base, "/services/Soap/u/59.0", &body).await
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("task"));
    }
    out
}

fn run_scenario(cli: &Cli, servers: &[Server]) {
    // In flight when the lock landed, beyond the five counted: on the server that
    // locked the user, at most the hashes running beside the last failure's, one per
    // other hashing thread (the test config pins 2 per server; counted here as 2). A
    // server that learns of the lock from the database may also hash the attempts it
    // read ahead before the lock, one behind each of its threads' hashes (see
    // `latchkey_org::login::hashing`).
    let threads = 2;
    let bound = 5 + threads + 2 * threads * (servers.len() - 1);
    let urls: Vec<String> = servers.iter().map(|s| s.url.clone()).collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let answers = storm(&urls, ATTEMPTS, "a").await;
        for (status, body) in &answers {
            assert_eq!(*status, 500, "{body}");
            assert!(body.contains("<faultcode>sf:INVALID_LOGIN</faultcode>"), "{body}");
        }
        let shown: Value = serde_json::from_str(&cli.ok(&["org", "user", "show", USER, "--json"], None)).unwrap();
        // 127.0.0.1 never logged Jane in: the smart lockout shuts out unfamiliar sources.
        assert_eq!(shown["locked_for_unfamiliar_sources"], true, "{shown}");
        assert!(
            shown["unfamiliar_failed_attempts"].as_i64().unwrap() <= 5,
            "never more than the maximum: {shown}"
        );
        assert_eq!(
            shown["unfamiliar_failed_attempts"], 5,
            "distinct secrets: exactly the maximum"
        );

        let mut before = 0;
        for s in servers {
            before += verifications(s).await;
        }
        assert!(before <= bound as u64, "{before} hashes for {ATTEMPTS} attempts");

        let more = storm(&urls, 50, "b").await;
        assert!(more.iter().all(|(s, b)| *s == 500 && b.contains("INVALID_LOGIN")));
        let mut after = 0;
        for s in servers {
            after += verifications(s).await;
        }
        assert_eq!(after, before, "no hash once the lock is in place");
        tokio::time::sleep(Duration::from_millis(0)).await;
    });
    // Refusals' rows are committed just after their answers: wait for the last ones.
    let history = || -> Vec<Value> {
        let rows: Value =
            serde_json::from_str(&cli.ok(&["org", "login-history", "--json", "--limit", "1000"], None)).unwrap();
        rows.as_array().unwrap().clone()
    };
    wait_until("every attempt in login history", 10, || {
        history().len() >= ATTEMPTS + 50
    });
    let rows = history();
    assert_eq!(rows.len(), ATTEMPTS + 50, "every attempt is in login history, once");
    let lockouts = rows.iter().filter(|r| r["status"] == "Password Lockout").count();
    assert!(lockouts >= ATTEMPTS + 50 - bound, "{lockouts} refused without a hash");
}

/// Org Acme with Jane, a maximum of five failures, and a lock of `lockout` (`15m`,
/// `forever`) over `scope`'s sources.
fn seed(cli: &Cli, lockout: &str, scope: &str) {
    cli.ok(&["org", "create", "Acme"], None);
    cli.ok(
        &["org", "user", "create", USER, "--email", USER, "--password-stdin"],
        Some("violet-kettle-42\n"),
    );
    cli.ok(
        &[
            "org",
            "policy",
            "set",
            "--max-invalid-attempts",
            "5",
            "--lockout",
            lockout,
            "--lockout-scope",
            scope,
        ],
        None,
    );
}

#[test]
fn parallel_wrong_passwords_lock_at_five_on_sqlite() {
    let cli = Cli::new();
    seed(&cli, "forever", "smart");
    let server = cli.serve();
    run_scenario(&cli, std::slice::from_ref(&server));
}

#[cfg(pg_tests)]
#[test]
fn parallel_wrong_passwords_lock_at_five_across_two_servers_on_postgres() {
    let (schema, cli) = crate::support::PgSchema::cli("lk_cli");
    seed(&cli, "forever", "smart");
    let servers = [cli.serve(), cli.serve()];
    run_scenario(&cli, &servers);
    drop(servers);
    schema.drop_now();
}

/// Where the victim's integrations and browser live (a trusted range: no token).
const HOME: &str = "127.0.0.1";
/// The attacker.
const ATTACKER: &str = "127.0.0.3";
/// An address that never logged the victim in, for the grants that carry no password.
const ELSEWHERE: &str = "127.0.0.4";
const VICTIM_PASSWORD: &str = "violet-kettle-42";

/// What the victim's integrations hold: a refresh token and a JWT-signing app.
struct Integrations {
    client_id: String,
    client_secret: String,
    refresh_token: String,
}

fn seed_victim(cli: &Cli, scope: &str) -> Integrations {
    seed(cli, "15m", scope);
    cli.ok(&["org", "network", "trusted", "add", &format!("{HOME}/32")], None);
    let app: Value =
        serde_json::from_str(&cli.ok(&["org", "app", "create", "--name", "Sync", "--json"], None)).unwrap();
    let certificate = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../org/tests/fixtures/jwt_app.crt");
    cli.ok(
        &[
            "org",
            "app",
            "certificate",
            "--name",
            "Sync",
            "--file",
            certificate.to_str().unwrap(),
        ],
        None,
    );
    let authorized: Value = serde_json::from_str(&cli.ok(
        &["org", "app", "authorize", "--name", "Sync", "--user", USER, "--json"],
        None,
    ))
    .unwrap();
    Integrations {
        client_id: app["client_id"].as_str().unwrap().to_owned(),
        client_secret: app["client_secret"].as_str().unwrap().to_owned(),
        refresh_token: authorized["refresh_token"].as_str().unwrap().to_owned(),
    }
}

/// A SOAP login of the victim from `from`: the session id, or the fault.
async fn soap_login(base: &str, from: &str, password: &str) -> Result<String, String> {
    let headers = [("Content-Type", "text/xml"), ("SOAPAction", "login")];
    let (status, body) = crate::support::request_from(
        from,
        base,
        "POST",
        "/services/Soap/u/59.0",
        &headers,
        envelope(password).as_bytes(),
    )
    .await;
    match crate::support::values_after(&body.replace('<', "\n<"), "<sessionId>").pop() {
        Some(sid) if status == 200 => Ok(sid),
        _ => Err(body),
    }
}

/// The grants that carry no password, from an address that never logged the victim
/// in: the refresh token's and the JWT bearer's.
async fn password_less_grants(base: &str, held: &Integrations) -> (bool, bool) {
    use latchkey_sfclient::login::{login, Credentials};
    let http = reqwest::Client::builder()
        .local_address(ELSEWHERE.parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    let refresh = Credentials::OAuthRefresh {
        refresh_token: held.refresh_token.clone().into(),
        client_id: held.client_id.clone(),
        client_secret: held.client_secret.clone().into(),
    };
    let key = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../org/tests/fixtures/jwt_app.key"),
    )
    .unwrap();
    let jwt = Credentials::JwtBearer {
        username: USER.to_owned(),
        client_id: held.client_id.clone(),
        private_key_pem: key.into(),
    };
    (
        login(&http, base, &refresh).await.is_ok(),
        login(&http, base, &jwt).await.is_ok(),
    )
}

/// Fifty wrong passwords from an address the victim never used, spread over `servers`,
/// then every way the victim gets in, under the lockout `scope`.
fn attack(cli: &Cli, servers: &[Server], held: &Integrations, scope: &str) {
    let _ = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider().install_default();
    let smart = scope == "smart";
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let url = |n: usize| servers[n % servers.len()].url.clone();
        let session = soap_login(&url(0), HOME, VICTIM_PASSWORD)
            .await
            .expect("the victim logs in at home");
        for n in 0..50 {
            let refused = soap_login(&url(n), ATTACKER, &format!("guess-{n}")).await.unwrap_err();
            assert!(refused.contains("INVALID_LOGIN"), "{refused}");
        }
        let shown: Value = serde_json::from_str(&cli.ok(&["org", "user", "show", USER, "--json"], None)).unwrap();
        assert_eq!(shown["locked"], !smart, "{shown}");
        assert_eq!(shown["locked_for_unfamiliar_sources"], smart, "{shown}");
        let counted = if smart {
            "unfamiliar_failed_attempts"
        } else {
            "failed_attempts"
        };
        assert_eq!(shown[counted], 5, "exactly the maximum: {shown}");
        let text = cli.ok(&["org", "user", "show", USER], None);
        let kind = if smart {
            "locked for unfamiliar sources only"
        } else {
            "locked for every source"
        };
        assert!(text.contains(kind), "{text}");

        assert!(
            soap_login(&url(1), ATTACKER, VICTIM_PASSWORD).await.is_err(),
            "the attacker's address is locked out, even with the right password"
        );
        for n in 0..servers.len() {
            assert_eq!(
                soap_login(&url(n), HOME, VICTIM_PASSWORD).await.is_ok(),
                smart,
                "the victim at home, server {n}"
            );
        }
        let bearer = format!("Bearer {session}");
        let (status, body) = crate::support::request_from(
            HOME,
            &url(1),
            "GET",
            "/services/data/v59.0/query?q=SELECT+Id+FROM+Account",
            &[("Authorization", bearer.as_str())],
            b"",
        )
        .await;
        if smart {
            assert_eq!(status, 200, "the existing session goes on: {body}");
        }
        for n in 0..servers.len() {
            assert_eq!(
                password_less_grants(&url(n), held).await,
                (smart, smart),
                "refresh token and JWT bearer, server {n}"
            );
        }
    });
}

#[test]
fn an_attacker_locks_out_only_unfamiliar_sources_on_sqlite() {
    for scope in ["smart", "all"] {
        let cli = Cli::new();
        let held = seed_victim(&cli, scope);
        let server = cli.serve();
        attack(&cli, std::slice::from_ref(&server), &held, scope);
    }
}

#[cfg(pg_tests)]
#[test]
fn an_attacker_locks_out_only_unfamiliar_sources_across_two_servers_on_postgres() {
    for scope in ["smart", "all"] {
        let (schema, cli) = crate::support::PgSchema::cli("lk_smart");
        let held = seed_victim(&cli, scope);
        let servers = [cli.serve(), cli.serve()];
        attack(&cli, &servers, &held, scope);
        drop(servers);
        schema.drop_now();
    }
}
