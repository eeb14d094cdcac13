//! A Bulk API 2.0 ingest job on a real org server that is killed (SIGKILL) mid-job:
//! the restarted server resumes the job, and every row is written exactly once.

use std::time::{Duration, Instant};

use latchkey_sfclient::login::{login, Credentials};
use secrecy::ExposeSecret;
use serde_json::{json, Value};

use crate::support::Cli;

const ADMIN: &str = "bulk-admin@acme.test";
const PASSWORD: &str = "Bulk-Passw0rd-2026";
/// Rows of the job (`LATCHKEY_TEST_BULK_ROWS` for more, as the 200,000-row run).
fn rows() -> usize {
    std::env::var("LATCHKEY_TEST_BULK_ROWS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000)
}

/// The REST API of one server, as one user.
struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn send(&self, method: &str, path: &str, content_type: &str, body: String) -> (u16, String) {
        let url = format!("{}/services/data/v66.0/{path}", self.base);
        let request = match method {
            "POST" => self.http.post(url),
            "PUT" => self.http.put(url),
            "PATCH" => self.http.patch(url),
            _ => self.http.get(url),
        };
        let response = request
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(300))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("the server answers");
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }

    async fn json(&self, method: &str, path: &str, body: Value) -> Value {
        let (status, text) = self.send(method, path, "application/json", body.to_string()).await;
        assert!(status < 300, "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

#[test]
fn an_ingest_job_survives_a_killed_server_and_writes_each_row_once() {
    let rows = rows();
    let cli = Cli::new();
    cli.ok(&["org", "create", "Acme"], None);
    cli.ok(&["org", "network", "trusted", "add", "127.0.0.0/8"], None);
    cli.ok(
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
    let lease = [("LATCHKEY_BULK_LEASE_SECS", "2")];
    let server = cli.start_with(&["serve", "--org-listen", "127.0.0.1:0"], &lease);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let http = latchkey_sfclient::http_client(None).unwrap();
    let session = runtime
        .block_on(login(
            &http,
            &server.url,
            &Credentials::Soap {
                username: ADMIN.into(),
                password: PASSWORD.to_owned().into(),
                security_token: String::new().into(),
            },
        ))
        .expect("SOAP login from a trusted network");
    let mut api = Api {
        http,
        base: server.url.clone(),
        token: session.access_token.expose_secret().to_owned(),
    };

    let mut csv = String::from("FirstName,LastName,Email\n");
    for i in 0..rows {
        csv.push_str(&format!("Row,R{i:06},r{i}@bulk.test\n"));
    }
    let job = runtime.block_on(api.json(
        "POST",
        "jobs/ingest",
        json!({"object": "Contact", "operation": "insert"}),
    ));
    let id = job["id"].as_str().unwrap().to_owned();
    let uploaded = runtime.block_on(api.send("PUT", &format!("jobs/ingest/{id}/batches"), "text/csv", csv));
    assert_eq!(uploaded.0, 201, "{uploaded:?}");
    runtime.block_on(api.json(
        "PATCH",
        &format!("jobs/ingest/{id}"),
        json!({"state": "UploadComplete"}),
    ));

    // Kill the server once the job is under way.
    let started = Instant::now();
    let at_kill = loop {
        let state = runtime.block_on(api.json("GET", &format!("jobs/ingest/{id}"), Value::Null));
        let done = state["numberRecordsProcessed"].as_u64().unwrap();
        if done >= 2_000 {
            break done;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the job never started: {state}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(server);
    eprintln!("killed after {at_kill} of {rows} rows ({:?})", started.elapsed());
    assert!(at_kill < rows as u64, "the kill landed mid-job");

    // The restarted server resumes the job once the dead one's lease lapses.
    let server = cli.start_with(&["serve", "--org-listen", "127.0.0.1:0"], &lease);
    api.base = server.url.clone();
    let resumed = Instant::now();
    let state = loop {
        let state = runtime.block_on(api.json("GET", &format!("jobs/ingest/{id}"), Value::Null));
        if state["state"] == "JobComplete" {
            break state;
        }
        assert!(
            resumed.elapsed() < Duration::from_secs(900),
            "the job never completed: {state}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    eprintln!("completed {:?} after the restart", resumed.elapsed());
    assert_eq!(
        (&state["numberRecordsProcessed"], &state["numberRecordsFailed"]),
        (&json!(rows), &json!(0)),
        "{state}"
    );
    let (_, successful) = runtime.block_on(api.send(
        "GET",
        &format!("jobs/ingest/{id}/successfulResults"),
        "text/csv",
        String::new(),
    ));
    assert_eq!(successful.lines().count(), rows + 1, "every row succeeded once");
    let count = runtime.block_on(api.json(
        "GET",
        "query?q=SELECT+COUNT()+FROM+Contact+WHERE+FirstName+=+'Row'",
        Value::Null,
    ));
    assert_eq!(count["totalSize"], json!(rows), "no row written twice or lost: {count}");
}
