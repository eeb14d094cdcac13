//! Credential-change webhooks seen from a receiver of our own: a plain HTTP server on
//! loopback that checks every signature with its own HMAC code (not the product's),
//! sees every event type, and survives an outage — the org retries until delivery,
//! with the same event id, so the receiver can drop duplicates.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::lockout::{envelope, post, USER};
use crate::support::{wait_until, Cli};

/// One delivery as received.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    path: String,
    id: String,
    timestamp: i64,
    signature: String,
    body: String,
}

/// A receiver answering 204, or 503 while `down`.
pub(crate) struct Receiver {
    pub(crate) url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    down: Arc<AtomicBool>,
    refused: Arc<AtomicUsize>,
}

impl Receiver {
    pub(crate) fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let receiver = Self {
            url,
            seen: Arc::default(),
            down: Arc::default(),
            refused: Arc::default(),
        };
        let (seen, down, refused) = (receiver.seen.clone(), receiver.down.clone(), receiver.refused.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream);
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                let path = request_line.split_whitespace().nth(1).unwrap_or_default().to_owned();
                let mut headers = BTreeMap::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = line.split_once(':') {
                        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
                    }
                }
                let length: usize = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_err() {
                    continue;
                }
                let status = if down.load(Ordering::SeqCst) {
                    refused.fetch_add(1, Ordering::SeqCst);
                    "503 Service Unavailable"
                } else {
                    let header = |name: &str| headers.get(name).cloned().unwrap_or_default();
                    seen.lock().unwrap().push(Seen {
                        path,
                        id: header("webhook-id"),
                        timestamp: header("webhook-timestamp").parse().unwrap_or(0),
                        signature: header("webhook-signature"),
                        body: String::from_utf8_lossy(&body).into_owned(),
                    });
                    "204 No Content"
                };
                let mut stream = reader.into_inner();
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        receiver
    }

    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn types(&self, path: &str) -> Vec<String> {
        self.seen()
            .iter()
            .filter(|s| s.path == path)
            .map(|s| {
                serde_json::from_str::<Value>(&s.body).unwrap()["type"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }
}

/// The Standard Webhooks check, written independently of the product: Base64 of
/// HMAC-SHA256 over `id.timestamp.body` under the key after `whsec_`.
pub(crate) fn signed_by(secret: &str, seen: &Seen) -> bool {
    let key = STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", seen.id, seen.timestamp, seen.body).as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    seen.signature.split(' ').any(|s| s == expected)
}

fn add_endpoint(org: &Cli, url: &str, events: Option<&str>) -> (String, String) {
    let mut args = vec!["org", "webhook", "add", "--url", url, "--json"];
    if let Some(e) = events {
        args.extend(["--events", e]);
    }
    let added: Value = serde_json::from_str(&org.ok(&args, None)).unwrap();
    (
        added["id"].as_str().unwrap().to_owned(),
        added["secret"].as_str().unwrap().to_owned(),
    )
}

/// Every event type reaches a subscribed receiver signed, the endpoint that asked only
/// for locks gets only locks, and a delivery refused during an outage arrives later
/// under the same event id.
#[test]
fn a_receiver_sees_every_event_type_signed_and_outages_are_retried() {
    let org = Cli::new();
    org.ok(&["org", "create", "Acme"], None);
    org.ok(
        &[
            "org",
            "policy",
            "set",
            "--max-invalid-attempts",
            "3",
            "--lockout-scope",
            "all",
        ],
        None,
    );
    org.ok(
        &["org", "user", "create", USER, "--email", USER, "--password-stdin"],
        Some("first-Secret-42\n"),
    );
    let receiver = Receiver::start();
    let (all_id, all_secret) = add_endpoint(&org, &format!("{}/all", receiver.url), None);
    let (_, locks_secret) = add_endpoint(&org, &format!("{}/locks", receiver.url), Some("user.locked"));
    let bad = org.run(&["org", "webhook", "add", "--url", "ftp://example.test/"], None);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("http"), "{}", bad.stderr);
    let bad = org.run(
        &[
            "org",
            "webhook",
            "add",
            "--url",
            "http://h.test/",
            "--events",
            "password.reset",
        ],
        None,
    );
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("unknown event type"), "{}", bad.stderr);
    let server = org.serve();

    org.ok(&["org", "token", "reset", USER], None);
    org.ok(
        &["org", "user", "set-password", USER, "--password-stdin"],
        Some("second-Secret-42\n"),
    );
    // Three wrong passwords over SOAP lock the user (announced by the server itself).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for n in 0..3 {
        let (status, body) = rt.block_on(post(
            &server.url,
            "/services/Soap/u/59.0",
            &envelope(&format!("wrong-{n}")),
        ));
        assert_eq!(status, 500, "{body}");
    }
    wait_until("the lock announced", 10, || receiver.types("/locks") == ["user.locked"]);
    org.ok(&["org", "user", "unlock", USER], None);

    // The receiver goes down; the freeze is refused, then retried once it is back.
    receiver.down.store(true, Ordering::SeqCst);
    org.ok(&["org", "user", "freeze", USER], None);
    wait_until("a refused delivery", 10, || {
        receiver.refused.load(Ordering::SeqCst) >= 1
    });
    receiver.down.store(false, Ordering::SeqCst);
    wait_until("the freeze delivered by a retry", 30, || {
        receiver.types("/all").contains(&"user.frozen".to_owned())
    });
    org.ok(&["org", "user", "unfreeze", USER], None);
    wait_until("every announcement", 10, || receiver.types("/all").len() >= 7);

    let types: BTreeSet<String> = receiver.types("/all").into_iter().collect();
    let expected = [
        "password.changed",
        "security_token.reset",
        "user.frozen",
        "user.locked",
        "user.unfrozen",
        "user.unlocked",
    ];
    assert_eq!(
        types,
        expected.iter().map(|t| (*t).to_owned()).collect(),
        "every event type"
    );
    assert_eq!(receiver.types("/locks"), ["user.locked"], "only what it subscribed to");
    let mut bodies: BTreeMap<String, String> = BTreeMap::new();
    for seen in receiver.seen() {
        let secret = if seen.path == "/all" {
            &all_secret
        } else {
            &locks_secret
        };
        assert!(signed_by(secret, &seen), "signature of {seen:?}");
        assert!(!signed_by(
            if seen.path == "/all" {
                &locks_secret
            } else {
                &all_secret
            },
            &seen
        ));
        let event: Value = serde_json::from_str(&seen.body).unwrap();
        let occurred = chrono::DateTime::parse_from_rfc3339(event["occurred_at"].as_str().unwrap()).unwrap();
        assert!(
            (seen.timestamp - occurred.timestamp()).abs() < 300,
            "signed when sent: {seen:?}"
        );
        assert_eq!(event["id"], seen.id.as_str(), "the header names the event");
        assert_eq!(event["user"]["username"], USER);
        assert!(event["occurred_at"].as_str().unwrap().ends_with('Z'));
        // At least once: a repeated id carries the same event.
        if let Some(before) = bodies.insert(format!("{}{}", seen.path, seen.id), seen.body.clone()) {
            assert_eq!(before, seen.body);
        }
    }
    // Token reset 1, password change 2, lock, unlock, freeze, unfreeze: 7 events.
    let distinct: BTreeSet<&String> = bodies.keys().filter(|k| k.starts_with("/all")).collect();
    assert_eq!(distinct.len(), 7, "{distinct:?}");

    let deliveries: Value =
        serde_json::from_str(&org.ok(&["org", "webhook", "deliveries", &all_id, "--json"], None)).unwrap();
    let deliveries = deliveries.as_array().unwrap();
    assert_eq!(deliveries.len(), 7);
    assert!(deliveries.iter().all(|d| d["status"] == "delivered"), "{deliveries:?}");
    let frozen = deliveries.iter().find(|d| d["event_type"] == "user.frozen").unwrap();
    assert!(frozen["attempts"].as_i64().unwrap() >= 2, "{frozen}");
    assert_eq!(frozen["http_status"], 204);
    let listed = org.ok(&["org", "webhook", "list"], None);
    assert!(listed.contains(&all_id) && !listed.contains(&all_secret), "{listed}");
    assert!(
        !org.server_logs().contains(&all_secret),
        "the secret never reaches a log"
    );
}
