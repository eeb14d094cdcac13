//! `latchkey serve` and `latchkey healthcheck`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use latchkey_org::http::{app, HttpState, LoginRateLimit};
use latchkey_org::mail::delivery::Deliverer;
use latchkey_org::webhooks::delivery::WebhookDeliverer;
use latchkey_org::Services;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

use super::{usage, Failure};
use crate::cli::ServeArgs;
use crate::config::Config;
use crate::{tls, wiring};

/// How often the mail worker looks for due messages.
const MAIL_INTERVAL: Duration = Duration::from_secs(1);
/// How often the webhook worker looks for retries and other instances' events (it
/// wakes at once for this instance's).
const WEBHOOK_INTERVAL: Duration = Duration::from_secs(1);
/// How often due password-expiry reminders are sent and expired sessions deleted.
const HOUSEKEEPING_INTERVAL: Duration = Duration::from_secs(15 * 60);

/// Resolves on SIGTERM or Ctrl-C.
pub(super) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// TLS files for `serve`: flags first, then the config.
fn tls_files(args: &ServeArgs, config: &Config) -> Result<Option<(PathBuf, PathBuf)>, Failure> {
    let cert = args.tls_cert.clone().or_else(|| non_empty(&config.server.tls_cert));
    let key = args.tls_key.clone().or_else(|| non_empty(&config.server.tls_key));
    match (cert, key) {
        (Some(c), Some(k)) => Ok(Some((c, k))),
        (None, None) => Ok(None),
        _ => Err(usage("TLS needs both a certificate and a key")),
    }
}

fn non_empty(s: &str) -> Option<PathBuf> {
    (!s.is_empty()).then(|| PathBuf::from(s))
}

/// Binds the listener and prints its URL; runs until a shutdown signal. With
/// `tls` (certificate, key), serves HTTPS.
pub async fn serve(
    services: Services,
    args: &ServeArgs,
    config: &Config,
    tls: Option<(PathBuf, PathBuf)>,
) -> Result<(), Failure> {
    let listener = std::net::TcpListener::bind(args.org_listen)
        .map_err(|e| usage(format!("cannot listen on {}: {e}", args.org_listen)))?;
    listener.set_nonblocking(true).context("listener")?;
    let addr = listener.local_addr().context("listener address")?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let (stop_tx, stop_rx) = watch::channel(false);
    let deliverer = Deliverer::new(services.clone(), wiring::transport(config))?;
    let mail_worker = tokio::spawn(deliverer.run(MAIL_INTERVAL, stop_rx.clone()));
    let webhooks = WebhookDeliverer::new(services.clone(), None)?;
    let webhook_worker = tokio::spawn(webhooks.run(WEBHOOK_INTERVAL, stop_rx.clone()));
    let bulk_worker = tokio::spawn(services.clone().run_bulk_jobs(stop_rx.clone()));
    let housekeeping = tokio::spawn(services.clone().run_housekeeping(HOUSEKEEPING_INTERVAL, stop_rx));
    let flusher = services.clone();
    let router = app(HttpState {
        services: std::sync::Arc::new(services),
        scheme,
        login_rate: LoginRateLimit::per_minute(config.server.login_rate_per_minute),
        public_url: Some(public_url(config, scheme, addr)),
        metrics: config.metrics_access()?,
        api_versions: config.api_versions()?,
    });
    println!("org server: {scheme}://{addr}");
    let acceptor = match tls {
        Some((cert, key)) => Some(tokio_rustls::TlsAcceptor::from(tls::server_config(&cert, &key)?)),
        None => None,
    };
    let listener = tokio::net::TcpListener::from_std(listener).context("listener")?;
    latchkey_web::listener::serve(listener, acceptor, router, config.listener.limits(), shutdown_signal())
        .await
        .context("serving the org server")?;
    let _ = stop_tx.send(true);
    let _ = mail_worker.await;
    let _ = webhook_worker.await;
    let _ = housekeeping.await;
    let _ = bulk_worker.await;
    // Refusals' login-history rows are queued, not waited for: commit the last ones.
    if let Err(e) = flusher.flush().await {
        tracing::error!(error = %e, "committing the last login-history rows");
    }
    eprintln!("org server stopped");
    Ok(())
}

/// The URL mailed links point at: the configured one, else this listener's.
fn public_url(config: &Config, scheme: &str, addr: SocketAddr) -> String {
    let configured = config.server.public_url.trim().trim_end_matches('/');
    if configured.is_empty() {
        format!("{scheme}://{addr}")
    } else {
        configured.to_owned()
    }
}

pub async fn run(args: &ServeArgs, config: &Config) -> Result<(), Failure> {
    let tls = tls_files(args, config)?;
    let services = wiring::services(config).await?;
    serve(services, args, config, tls).await
}

/// GETs `{url}/healthz` over HTTP/1.1 (TLS for https://, trusting `ca`) and expects `200`.
pub async fn healthcheck(url: &str, ca: Option<&Path>) -> Result<(), Failure> {
    let (tls, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err(usage("healthcheck takes an http:// or https:// URL"));
    };
    let host = rest.split('/').next().unwrap_or_default().to_owned();
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    let connector = match (tls, ca) {
        (true, Some(ca)) => Some(tokio_rustls::TlsConnector::from(tls::client_config(ca)?)),
        (true, None) => return Err(usage("an https:// healthcheck needs --ca FILE")),
        (false, _) => None,
    };
    let check = async {
        let stream = tokio::net::TcpStream::connect(&host).await?;
        let mut response = Vec::new();
        match connector {
            Some(connector) => {
                let name = host
                    .rsplit_once(':')
                    .map_or(host.as_str(), |(h, _)| h)
                    .trim_matches(['[', ']']);
                let server_name = rustls::pki_types::ServerName::try_from(name.to_owned())
                    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
                let mut stream = connector.connect(server_name, stream).await?;
                stream.write_all(request.as_bytes()).await?;
                let _ = stream.read_to_end(&mut response).await;
            }
            None => {
                let mut stream = stream;
                stream.write_all(request.as_bytes()).await?;
                stream.read_to_end(&mut response).await?;
            }
        }
        Ok::<_, std::io::Error>(response)
    };
    let response = tokio::time::timeout(Duration::from_secs(5), check)
        .await
        .map_err(|_| Failure::Internal(anyhow::anyhow!("{url} did not answer within 5 s")))?
        .map_err(|e| Failure::Internal(anyhow::anyhow!("{url}: {e}")))?;
    let status_line = String::from_utf8_lossy(&response)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    if status_line.split_whitespace().nth(1) == Some("200") {
        println!("ok");
        Ok(())
    } else {
        Err(Failure::Internal(anyhow::anyhow!("{url} answered {status_line:?}")))
    }
}
