//! Parallel lockout: 200 concurrent wrong passwords for one user with a maximum of 5
//! count at most 5 failures, and once the lock is in place no attempt computes a hash.
//! On SQLite with one server; on PostgreSQL with two server processes sharing it.

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
    // `latchkey_org::hashing`).
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
        assert_eq!(shown["locked"], true, "{shown}");
        assert!(
            shown["failed_attempts"].as_i64().unwrap() <= 5,
            "never more than the maximum: {shown}"
        );
        assert_eq!(shown["failed_attempts"], 5, "distinct secrets: exactly the maximum");

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

fn seed(cli: &Cli) {
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
            "forever",
        ],
        None,
    );
}

#[test]
fn parallel_wrong_passwords_lock_at_five_on_sqlite() {
    let cli = Cli::new();
    seed(&cli);
    let server = cli.serve();
    run_scenario(&cli, std::slice::from_ref(&server));
}

#[cfg(pg_tests)]
#[test]
fn parallel_wrong_passwords_lock_at_five_across_two_servers_on_postgres() {
    let (schema, cli) = crate::support::PgSchema::cli("lk_cli");
    seed(&cli);
    let servers = [cli.serve(), cli.serve()];
    run_scenario(&cli, &servers);
    drop(servers);
    schema.drop_now();
}
