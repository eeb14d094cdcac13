//! Serving a router on a TCP listener with the limits a server exposed to anyone needs:
//! a deadline for the TLS handshake and for each request's headers (which in HTTP/1.1
//! also bounds how long a kept-alive connection may wait for its next request), an idle
//! timeout on connections where no byte moves, a cap on open connections in all and
//! per client address, HSTS over TLS, and graceful shutdown. The org server and the
//! hub both serve through [`serve`].

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request};
use axum::http::{header, HeaderValue};
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use latchkey_core::network::canonical_ip;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::ServiceExt;

/// `Strict-Transport-Security` sent on every response over TLS.
pub const HSTS: &str = "max-age=31536000; includeSubDomains";

/// How long in-flight requests get to finish once shutdown begins.
const DRAIN: Duration = Duration::from_secs(10);

/// The connection limits of one listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deadline for the TLS handshake and for each request's headers.
    pub header_read_timeout: Duration,
    /// A connection on which no byte moves for this long is closed.
    pub idle_timeout: Duration,
    /// Connections open at once; past it new ones are closed at once.
    pub max_connections: usize,
    /// Connections open at once from one client address.
    pub max_per_address: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(120),
            max_connections: 10_000,
            max_per_address: 256,
        }
    }
}

/// Serves `router` on `listener` (over TLS with `tls`) within `limits` until
/// `shutdown` resolves, then lets open requests finish for a few seconds.
pub async fn serve(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let router = if tls.is_some() {
        router.layer(tower_http::set_header::SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        ))
    } else {
        router
    };
    let slots = Arc::new(Slots::new(limits));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors or memory: wait for connections to close.
                    tracing::warn!(error = %e, "accepting a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(slot) = slots.admit(canonical_ip(peer.ip())) else {
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let connection = Connection {
            router: router.clone(),
            tls: tls.clone(),
            limits,
            peer,
            stop: stop_rx.clone(),
        };
        tokio::spawn(async move {
            connection.run(stream).await;
            drop(slot);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let deadline = Instant::now() + DRAIN;
    while slots.open() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// One accepted connection and what serving it needs.
struct Connection {
    router: Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    limits: Limits,
    peer: SocketAddr,
    stop: watch::Receiver<bool>,
}

impl Connection {
    async fn run(self, stream: TcpStream) {
        let activity = Activity::new();
        let stream = Watched {
            inner: stream,
            activity: activity.clone(),
        };
        match self.tls.clone() {
            None => self.http(stream, activity).await,
            Some(acceptor) => {
                match tokio::time::timeout(self.limits.header_read_timeout, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => self.http(stream, activity).await,
                    Ok(Err(e)) => tracing::debug!(peer = %self.peer, error = %e, "TLS handshake failed"),
                    Err(_) => tracing::debug!(peer = %self.peer, "TLS handshake timed out"),
                }
            }
        }
    }

    async fn http<S>(mut self, stream: S, activity: Activity)
    where
        S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let peer = self.peer;
        let service = self
            .router
            .clone()
            .map_request(move |mut req: Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req.map(axum::body::Body::new)
            });
        let mut builder = Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.limits.header_read_timeout);
        builder.http2().timer(TokioTimer::new());
        let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service));
        let mut conn = std::pin::pin!(conn);
        let mut idle = std::pin::pin!(activity.idle_for(self.limits.idle_timeout));
        let mut draining = false;
        loop {
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(peer = %peer, error = %e, "connection ended with an error");
                    }
                    break;
                }
                () = &mut idle => {
                    tracing::debug!(peer = %peer, "closing an idle connection");
                    break;
                }
                changed = self.stop.changed(), if !draining => {
                    draining = true;
                    if changed.is_ok() {
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
        }
    }
}

/// When a byte last moved on a connection, in milliseconds since it opened.
#[derive(Clone)]
struct Activity {
    opened: Instant,
    last: Arc<AtomicU64>,
}

impl Activity {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            last: Arc::new(AtomicU64::new(0)),
        }
    }

    fn touch(&self) {
        let now = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(now, Ordering::Relaxed);
    }

    /// Resolves once no byte has moved for `limit`.
    async fn idle_for(&self, limit: Duration) {
        loop {
            let last = Duration::from_millis(self.last.load(Ordering::Relaxed));
            let quiet = self.opened.elapsed().saturating_sub(last);
            if quiet >= limit {
                return;
            }
            tokio::time::sleep(limit - quiet).await;
        }
    }
}

/// A stream that records when bytes move on it.
struct Watched<S> {
    inner: S,
    activity: Activity,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Open connections, in all and per client address.
struct Slots {
    limits: Limits,
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
    refusals: Refusals,
}

/// A place among the open connections, given back when dropped.
struct Slot {
    slots: Arc<Slots>,
    ip: IpAddr,
}

impl Slots {
    fn new(limits: Limits) -> Self {
        Self {
            limits,
            open: Mutex::new((0, HashMap::new())),
            refusals: Refusals::default(),
        }
    }

    fn open(&self) -> usize {
        self.open.lock().map_or(0, |open| open.0)
    }

    /// A slot for a connection from `ip`, or `None` (logged) when a cap is reached.
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Slot> {
        let refused = {
            let mut open = self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let (total, per_address) = &mut *open;
            let from_ip = per_address.get(&ip).copied().unwrap_or(0);
            if *total >= self.limits.max_connections {
                Some("connections in all")
            } else if from_ip >= self.limits.max_per_address {
                Some("connections from one address")
            } else {
                *total += 1;
                per_address.insert(ip, from_ip + 1);
                None
            }
        };
        match refused {
            Some(cap) => {
                self.refusals.note(ip, cap, &self.limits);
                None
            }
            None => Some(Slot {
                slots: self.clone(),
                ip,
            }),
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self
            .slots
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (total, per_address) = &mut *open;
        *total = total.saturating_sub(1);
        if let Some(n) = per_address.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                per_address.remove(&self.ip);
            }
        }
    }
}

/// Refused connections, logged at most once per interval so a flood cannot flood the log.
#[derive(Default)]
struct Refusals {
    since_log: AtomicU64,
    logged_at: Mutex<Option<Instant>>,
}

impl Refusals {
    const INTERVAL: Duration = Duration::from_secs(10);

    fn note(&self, ip: IpAddr, cap: &str, limits: &Limits) {
        let count = self.since_log.fetch_add(1, Ordering::Relaxed) + 1;
        let Ok(mut logged_at) = self.logged_at.lock() else {
            return;
        };
        if logged_at.is_some_and(|t| t.elapsed() < Self::INTERVAL) {
            return;
        }
        *logged_at = Some(Instant::now());
        self.since_log.store(0, Ordering::Relaxed);
        tracing::warn!(
            address = %ip,
            refused = count,
            max_connections = limits.max_connections,
            max_per_address = limits.max_per_address,
            "connection limit reached ({cap}): new connections are closed until others end"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_cap_connections_in_all_and_per_address_and_come_back() {
        let slots = Arc::new(Slots::new(Limits {
            max_connections: 3,
            max_per_address: 2,
            ..Limits::default()
        }));
        let a: IpAddr = "192.0.2.1".parse().unwrap_or(IpAddr::from([0; 4]));
        let b: IpAddr = "192.0.2.2".parse().unwrap_or(IpAddr::from([0; 4]));
        let a1 = slots.admit(a);
        let a2 = slots.admit(a);
        assert!(a1.is_some() && a2.is_some());
        assert!(slots.admit(a).is_none(), "a third from one address");
        let b1 = slots.admit(b);
        assert!(b1.is_some());
        assert!(slots.admit(b).is_none(), "a fourth in all");
        drop(a1);
        assert_eq!(slots.open(), 2);
        assert!(slots.admit(b).is_some(), "a place came back");
        drop((a2, b1));
        assert_eq!(slots.open(), 0);
        assert!(
            slots.open.lock().is_ok_and(|o| o.1.is_empty()),
            "no address left behind"
        );
    }
}
