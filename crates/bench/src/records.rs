//! The records figures of `latchkey-bench throughput`: single-record GET by id per second, a
//! 2,000-record query page, and a 200-record collection insert, all through HTTP with
//! a valid bearer session. The HTTP floor (`/healthz` through the same server and load
//! generator) is measured alongside as the peer: the GET figure's ratio to it shows
//! what authentication and the store add.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use latchkey_org::records::collections::Operation;
use latchkey_org::records::Caller;
use latchkey_org::Services;
use secrecy::ExposeSecret;
use serde_json::json;

use crate::load::{load, read_response, Measured};

/// Contacts seeded for the query page (more than one page).
const SEEDED: usize = 5_000;

/// Requests of the records figures.
pub struct RecordRequests {
    healthz: Arc<Vec<u8>>,
    get_by_id: Arc<Vec<u8>>,
    page: Arc<Vec<u8>>,
    collection: Arc<Vec<u8>>,
}

fn request(addr: SocketAddr, method: &str, path: &str, token: &str, body: &str) -> Arc<Vec<u8>> {
    Arc::new(
        format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

/// Seeds contacts for `username` and builds the requests, with a session of that user.
pub async fn seed(services: &Services, addr: SocketAddr, username: &str) -> anyhow::Result<RecordRequests> {
    let user = services.user(username).await?;
    let org = services.resolve_org(Some(user.org_id.as_str())).await?;
    services.console().set_api_allowance(&org.id, i64::MAX / 4).await?;
    let caller = Caller {
        org_id: org.id.clone(),
        user_id: user.id.clone(),
        api_enabled: true,
        admin: true,
        restricted: false,
    };
    let mut first = None;
    for chunk in 0..SEEDED / 200 {
        let records: Vec<serde_json::Value> = (0..200)
            .map(|i| {
                let n = chunk * 200 + i;
                json!({"attributes": {"type": "Contact"}, "FirstName": format!("F{n}"),
                       "LastName": format!("Bench {n:05}"), "Email": format!("b{n}@bench.test")})
            })
            .collect();
        let results = services
            .save_collection(&caller, Operation::Create, &records, true)
            .await
            .map_err(|e| anyhow::anyhow!("seeding contacts: {e}"))?;
        first = first.or_else(|| results.first().and_then(|r| r.id.clone()));
    }
    let id = first.context("a seeded contact")?;
    let session = services.issue_session(&user, &org, None, false).await?;
    let token = session.id.expose_secret();
    let v = "/services/data/v59.0";
    // Collections insert Leads, so the Contacts that the page query reads stay at SEEDED.
    let batch: Vec<serde_json::Value> = (0..200)
        .map(|i| json!({"attributes": {"type": "Lead"}, "LastName": format!("Batch {i}"), "Company": "Bench"}))
        .collect();
    Ok(RecordRequests {
        healthz: Arc::new(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").into_bytes()),
        get_by_id: request(addr, "GET", &format!("{v}/sobjects/Contact/{id}"), token, ""),
        page: request(
            addr,
            "GET",
            &format!("{v}/query?q=SELECT+Id,FirstName,LastName,Email,CreatedDate+FROM+Contact+ORDER+BY+LastName"),
            token,
            "",
        ),
        collection: request(
            addr,
            "POST",
            &format!("{v}/composite/sobjects"),
            token,
            &json!({"allOrNone": true, "records": batch}).to_string(),
        ),
    })
}

/// Mean milliseconds per request of one sequential keep-alive client.
async fn latency_ms(addr: SocketAddr, request: &[u8], seconds: f64) -> anyhow::Result<Measured> {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let mut buf = Vec::with_capacity(1 << 20);
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut n = 0u32;
    while Instant::now() < deadline || n == 0 {
        stream.write_all(request).await?;
        let status = read_response(&mut stream, &mut buf).await?;
        anyhow::ensure!(
            status == 200,
            "HTTP {status}: {}",
            String::from_utf8_lossy(&buf[..buf.len().min(300)])
        );
        n += 1;
    }
    Ok(Measured {
        value: started.elapsed().as_secs_f64() * 1000.0 / f64::from(n),
        cpu_us: None,
        switches: None,
    })
}

/// The four records figures of one run: floor/s, GET/s, page ms, collection ms.
pub async fn measure(
    addr: SocketAddr,
    r: &RecordRequests,
    connections: usize,
    seconds: f64,
) -> anyhow::Result<[Measured; 4]> {
    Ok([
        load(addr, Arc::clone(&r.healthz), 200, connections, seconds)
            .await?
            .measured(),
        load(addr, Arc::clone(&r.get_by_id), 200, connections, seconds)
            .await?
            .measured(),
        latency_ms(addr, &r.page, seconds).await?,
        latency_ms(addr, &r.collection, seconds).await?,
    ])
}
