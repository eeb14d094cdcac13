//! Connection hygiene on every listener: 2,000 half-sent requests from one address
//! neither exhaust the server nor delay anyone else, the half-sent ones are closed at
//! the header deadline, and the cap is logged — on the org server and on the hub.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::lockout::{envelope, USER};
use crate::support::{wait_until, Cli};

const HELD: usize = 2000;
/// The test servers' header deadline (the default is 10 s).
const CONFIG: &str = "[listener]\nheader_read_timeout_secs = 2\n";

fn addr_of(url: &str) -> SocketAddr {
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("address")
}

/// Opens `HELD` connections from 127.0.0.1, each with half a request sent.
async fn hold(addr: SocketAddr) -> Vec<TcpStream> {
    let mut held = Vec::with_capacity(HELD);
    for _ in 0..HELD {
        let Ok(mut stream) = TcpStream::connect(addr).await else {
            continue;
        };
        // The server may already have closed a refused one: writes may fail.
        let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ").await;
        held.push(stream);
    }
    held
}

/// One whole request from 127.0.0.2 (another client); the answer and how long it took.
async fn from_elsewhere(addr: SocketAddr, request: String) -> (String, Duration) {
    let started = Instant::now();
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind("127.0.0.2:0".parse().expect("address"))
        .expect("bind 127.0.0.2");
    let mut stream = socket.connect(addr).await.expect("connect from 127.0.0.2");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut answer))
        .await
        .expect("an answer within 5 s")
        .expect("read");
    (answer, started.elapsed())
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
}

/// Holds `HELD` half-sent connections open against `url` and checks that each of
/// `requests` from another address is answered within a second with `expect(answer)`.
/// A whole request and what its answer must satisfy.
type Probe = (String, fn(&str) -> bool);

fn starve_nobody(cli: &Cli, url: &str, requests: &[Probe]) {
    let addr = addr_of(url);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut held = hold(addr).await;
        assert!(held.len() >= HELD - 10, "{} of {HELD} connected", held.len());
        for (request, expect) in requests {
            let (answer, took) = from_elsewhere(addr, request.clone()).await;
            assert!(expect(&answer), "{answer}");
            assert!(
                took < Duration::from_secs(1),
                "answered in {took:?} beside {HELD} held connections"
            );
        }
        // Past the header deadline every held connection has been closed by the server.
        let mut closed = 0;
        for stream in &mut held {
            let mut buf = [0u8; 256];
            match tokio::time::timeout(Duration::from_secs(6), stream.read(&mut buf)).await {
                Ok(Ok(0) | Err(_)) => closed += 1,
                Ok(Ok(_)) => closed += 1, // a 408 or 400 before closing
                Err(_) => {}
            }
        }
        assert_eq!(closed, held.len(), "every half-sent connection is closed");
    });
    wait_until("the connection cap logged", 5, || {
        cli.server_logs()
            .contains("connection limit reached (connections from one address)")
    });
}

#[test]
fn half_sent_connections_from_one_address_starve_nobody_on_the_org_server() {
    let cli = Cli::with_config(CONFIG);
    cli.ok(&["org", "create", "Acme"], None);
    cli.ok(
        &["org", "user", "create", USER, "--email", USER, "--password-stdin"],
        Some("violet-kettle-42\n"),
    );
    let server = cli.serve();
    let body = envelope("violet-kettle-42");
    let login = format!(
        "POST /services/Soap/u/59.0 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nSOAPAction: login\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    starve_nobody(
        &cli,
        &server.url,
        &[
            (get("/healthz"), |a| a.starts_with("HTTP/1.1 200")),
            // A real SOAP answer: a session, or the fault an untrusted address gets.
            (login, |a| {
                a.contains("<sessionId>") || a.contains("LOGIN_MUST_USE_SECURITY_TOKEN")
            }),
        ],
    );
}

#[test]
fn half_sent_connections_from_one_address_starve_nobody_on_the_hub() {
    let cli = Cli::with_config(CONFIG);
    let (_hub, line) = cli.start_printing(&["hub", "run", "--tick", "1s", "--listen", "127.0.0.1:0"]);
    let url = line.strip_prefix("hub: ").expect("hub URL").to_owned();
    starve_nobody(
        &cli,
        &url,
        &[
            (get("/healthz"), |a| a.starts_with("HTTP/1.1 200")),
            (get("/"), |a| a.starts_with("HTTP/1.1 200") && a.contains("<form")),
        ],
    );
}
