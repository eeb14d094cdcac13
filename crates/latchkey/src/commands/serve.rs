//! `latchkey serve` and `latchkey healthcheck`.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use latchkey_org::http::{app, HttpState};
use latchkey_org::mail::delivery::Deliverer;
use latchkey_org::Services;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

use super::{usage, Failure};
use crate::cli::ServeArgs;
use crate::config::Config;
use crate::wiring;

/// How often the mail worker looks for due messages.
const MAIL_INTERVAL: Duration = Duration::from_secs(5);

async fn shutdown_signal() {
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

/// Binds the listener and prints its URL; runs until a shutdown signal.
pub async fn serve(services: Services, args: &ServeArgs, config: &Config) -> Result<(), Failure> {
    let listener = tokio::net::TcpListener::bind(args.org_listen)
        .await
        .map_err(|e| usage(format!("cannot listen on {}: {e}", args.org_listen)))?;
    let addr = listener.local_addr().context("listener address")?;
    println!("org server: http://{addr}");
    let (stop_tx, stop_rx) = watch::channel(false);
    let deliverer = Deliverer::new(services.clone(), wiring::transport(config))?;
    let mail_worker = tokio::spawn(deliverer.run(MAIL_INTERVAL, stop_rx));
    let router = app(HttpState {
        services,
        scheme: "http",
    });
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving HTTP")?;
    let _ = stop_tx.send(true);
    let _ = mail_worker.await;
    eprintln!("org server stopped");
    Ok(())
}

pub async fn run(args: &ServeArgs, config: &Config) -> Result<(), Failure> {
    let services = wiring::services(config).await?;
    serve(services, args, config).await
}

/// GETs `{url}/healthz` over plain HTTP/1.1 and expects `200`.
pub async fn healthcheck(url: &str) -> Result<(), Failure> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| usage("healthcheck takes an http:// URL"))?;
    let host = rest.split('/').next().unwrap_or_default();
    let check = async {
        let mut stream = tokio::net::TcpStream::connect(host).await?;
        stream
            .write_all(format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes())
            .await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
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
