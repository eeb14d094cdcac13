//! The load generator: keep-alive HTTP/1.1 clients on a thread and runtime of their
//! own, on loopback, counting the answers they get and what the process spends on
//! them; and the server they load, the production listener in a task.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::process::{context_switches, cpu_seconds};

/// One run of one figure: its value and, for throughput figures, the CPU time the
/// whole process (server and load generator) spent per request.
pub struct Measured {
    pub value: f64,
    pub cpu_us: Option<f64>,
    /// Thread switches (voluntary and not) of the whole process per request.
    pub switches: Option<f64>,
}

/// What one timed window counted: requests answered, over how long, with how much of
/// the process's CPU time and how many thread switches (`None`: not counted, as for
/// (a), whose threads are gone before the count is taken). Windows add up, so a figure
/// can be measured in slices.
#[derive(Debug, Clone, Copy)]
pub struct Tally {
    requests: u64,
    seconds: f64,
    /// CPU seconds of the whole process over the window.
    pub cpu_seconds: f64,
    switches: Option<u64>,
}

impl Tally {
    /// Nothing counted yet, the start of a sum of slices (its switches are zero, not
    /// "not counted", so that slices that count them add up).
    pub const ZERO: Self = Self {
        requests: 0,
        seconds: 0.0,
        cpu_seconds: 0.0,
        switches: Some(0),
    };

    /// `requests` answered since `started`, when the process had used `cpu` seconds and
    /// its threads had switched `switches` times.
    pub fn since(requests: u64, started: Instant, cpu: f64, switches: Option<u64>) -> Self {
        Self {
            requests,
            seconds: started.elapsed().as_secs_f64(),
            cpu_seconds: cpu_seconds() - cpu,
            switches: switches.map(|before| context_switches().saturating_sub(before)),
        }
    }

    /// Both windows together.
    pub fn add(self, other: Self) -> Self {
        Self {
            requests: self.requests + other.requests,
            seconds: self.seconds + other.seconds,
            cpu_seconds: self.cpu_seconds + other.cpu_seconds,
            switches: self.switches.zip(other.switches).map(|(a, b)| a + b),
        }
    }

    /// Requests per second, with the CPU time and switches per request.
    pub fn measured(&self) -> Measured {
        let n = self.requests.max(1) as f64;
        Measured {
            value: self.requests as f64 / self.seconds.max(f64::MIN_POSITIVE),
            cpu_us: Some(self.cpu_seconds * 1e6 / n),
            switches: self.switches.map(|s| s as f64 / n),
        }
    }
}

/// Reads one HTTP/1.1 response (status and body length) from a keep-alive stream.
pub async fn read_response(stream: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> std::io::Result<u16> {
    buf.clear();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + length {
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Ok(status);
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The requests answered with `expect` in `seconds`, from `connections` keep-alive
/// clients (those in flight at the end are awaited and counted, with their time).
/// The clients run on a thread and runtime of their own, as an external load generator
/// (`wrk -t1`) would: on the server's runtime a request and its answer could pass
/// between client and server tasks on one worker without a thread switch, which no
/// real client allows.
pub async fn load(
    addr: SocketAddr,
    request: Arc<Vec<u8>>,
    expect: u16,
    connections: usize,
    seconds: f64,
) -> anyhow::Result<Tally> {
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("bench-load".into())
        .spawn(move || {
            latchkey::cpus::widen();
            let outcome = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("load generator runtime")
                .and_then(|rt| rt.block_on(drive(addr, request, expect, connections, seconds)));
            let _ = done.send(outcome);
        })
        .context("load generator thread")?;
    result.await.context("load generator")?
}

/// The load generator's clients (see [`load`]).
async fn drive(
    addr: SocketAddr,
    request: Arc<Vec<u8>>,
    expect: u16,
    connections: usize,
    seconds: f64,
) -> anyhow::Result<Tally> {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let (started, cpu, switches) = (Instant::now(), cpu_seconds(), context_switches());
    let ok = Arc::new(AtomicU64::new(0));
    let bad = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (request, ok, bad) = (Arc::clone(&request), Arc::clone(&ok), Arc::clone(&bad));
        tasks.push(tokio::spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let mut buf = Vec::with_capacity(16 * 1024);
            while Instant::now() < deadline {
                stream.write_all(&request).await?;
                let status = read_response(&mut stream, &mut buf).await?;
                if status == expect { &ok } else { &bad }.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<_, std::io::Error>(())
        }));
    }
    for t in tasks {
        t.await.context("load task")?.context("load connection")?;
    }
    let bad = bad.load(Ordering::Relaxed);
    anyhow::ensure!(bad == 0, "{bad} responses were not HTTP {expect}");
    Ok(Tally::since(ok.load(Ordering::Relaxed), started, cpu, Some(switches)))
}

/// Serves `router` on `listener` in a task, through the production listener with the
/// production limits, until the task is aborted.
pub fn serve_in_background(
    listener: tokio::net::TcpListener,
    router: axum::Router,
) -> tokio::task::JoinHandle<std::io::Result<()>> {
    tokio::spawn(latchkey_web::listener::serve(
        listener,
        None,
        router,
        latchkey_web::listener::Limits::default(),
        std::future::pending(),
    ))
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::Tally;
    use crate::process::cpu_seconds;

    #[test]
    fn slices_add_up_to_one_window() {
        let started = Instant::now();
        let a = Tally::since(30, started, cpu_seconds(), Some(0));
        let b = Tally::since(10, started, cpu_seconds(), Some(0));
        let both = Tally::ZERO.add(a).add(b);
        assert_eq!(both.requests, 40);
        assert!((both.seconds - (a.seconds + b.seconds)).abs() < 1e-12);
        let m = both.measured();
        assert!((m.value - 40.0 / both.seconds).abs() < 1e-6 * m.value);
        assert!(m.switches.is_some());
        // A window that counts no switches leaves the sum without them.
        assert!(Tally::ZERO
            .add(Tally::since(1, started, cpu_seconds(), None))
            .switches
            .is_none());
    }
}
