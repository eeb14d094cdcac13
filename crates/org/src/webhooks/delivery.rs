//! Delivery from the webhook outbox: lease due deliveries, POST each signed to its
//! endpoint, mark it delivered on a 2xx, else retry with exponential backoff and
//! jitter until [`MAX_ATTEMPTS`]. The worker wakes at once when this process queues
//! an event, and polls for retries and for other instances' events.

use std::time::Duration as StdDuration;

use chrono::Duration;
use latchkey_core::webhooks as wire;
use latchkey_store::webhooks::{self, DueDelivery, Outcome};
use tokio::sync::watch;

use crate::retry::backoff;
use crate::{AccountError, Services};

/// How long a worker holds a leased delivery before another may take it.
const LEASE: Duration = Duration::seconds(60);
/// Attempts before a delivery is given up (about a day of retries).
pub const MAX_ATTEMPTS: i64 = 30;
/// First retry delay; doubles per attempt up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::seconds(5);
const MAX_BACKOFF: Duration = Duration::hours(1);
/// How long an endpoint may take to answer.
const TIMEOUT: StdDuration = StdDuration::from_secs(10);

/// What one pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeliveryReport {
    /// Deliveries the endpoint accepted.
    pub delivered: usize,
    /// Deliveries scheduled for another attempt.
    pub retried: usize,
    /// Deliveries given up.
    pub failed: usize,
}

/// Delivers queued webhook events.
pub struct WebhookDeliverer {
    services: Services,
    http: reqwest::Client,
}

impl WebhookDeliverer {
    /// A deliverer; `root_ca_pem` adds a CA to trust for https:// endpoints.
    pub fn new(services: Services, root_ca_pem: Option<&[u8]>) -> Result<Self, AccountError> {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Latchkey-Webhooks/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = root_ca_pem {
            let cert = reqwest::Certificate::from_pem(pem)
                .map_err(|e| AccountError::Invalid(format!("webhook CA certificate: {e}")))?;
            builder = builder.add_root_certificate(cert);
        }
        let http = builder
            .build()
            .map_err(|e| AccountError::Invalid(format!("webhook HTTP client: {e}")))?;
        Ok(Self { services, http })
    }

    /// One attempt: `Ok(status)` for a 2xx, else the status (if any) and what failed.
    async fn post(&self, d: &DueDelivery) -> Result<u16, (Option<u16>, String)> {
        let now = self.services.clock.now().timestamp();
        let key = self.services.webhooks.key_of(&d.webhook_id, d.secret_version);
        let signature = wire::sign(&key, &d.event_id, now, d.payload.as_bytes());
        let response = self
            .http
            .post(&d.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(wire::HEADER_ID, &d.event_id)
            .header(wire::HEADER_TIMESTAMP, now.to_string())
            .header(wire::HEADER_SIGNATURE, signature)
            .body(d.payload.clone())
            .send()
            .await
            .map_err(|e| (None, describe(&e)))?;
        let status = response.status();
        if status.is_success() {
            Ok(status.as_u16())
        } else {
            Err((Some(status.as_u16()), format!("the endpoint answered {status}")))
        }
    }

    /// Attempts every delivery that is due now; returns what happened.
    pub async fn deliver_due(&self) -> Result<DeliveryReport, AccountError> {
        let mut report = DeliveryReport::default();
        loop {
            let batch = {
                let mut conn = self.services.store.conn().await?;
                webhooks::lease_due(&mut conn, self.services.clock.now(), LEASE, 20).await?
            };
            if batch.is_empty() {
                return Ok(report);
            }
            for d in batch {
                let result = self.post(&d).await;
                let now = self.services.clock.now();
                let outcome = match &result {
                    Ok(status) => Outcome::Delivered { status: *status },
                    Err((status, error)) => Outcome::Failed {
                        status: *status,
                        error,
                        retry_at: (d.attempts < MAX_ATTEMPTS)
                            .then(|| now + backoff(FIRST_BACKOFF, MAX_BACKOFF, d.attempts)),
                    },
                };
                let mut conn = self.services.store.conn().await?;
                webhooks::finish(&mut conn, d.id, outcome, now).await?;
                match outcome {
                    Outcome::Delivered { .. } => {
                        tracing::info!(webhook = %d.webhook_id, event = %d.event_id, "webhook delivered");
                        report.delivered += 1;
                    }
                    Outcome::Failed {
                        error,
                        retry_at: Some(_),
                        ..
                    } => {
                        tracing::warn!(webhook = %d.webhook_id, event = %d.event_id, attempts = d.attempts, error, "webhook delivery failed; will retry");
                        report.retried += 1;
                    }
                    Outcome::Failed {
                        error, retry_at: None, ..
                    } => {
                        tracing::error!(webhook = %d.webhook_id, event = %d.event_id, attempts = d.attempts, error, "webhook delivery given up");
                        report.failed += 1;
                    }
                }
            }
        }
    }

    /// Delivers due events every `every`, and at once when this process queues one,
    /// until `shutdown` turns true.
    pub async fn run(self, every: StdDuration, mut shutdown: watch::Receiver<bool>) {
        loop {
            if let Err(e) = self.deliver_due().await {
                tracing::error!(error = %e, "webhook delivery pass failed");
            }
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                () = self.services.webhooks.rung() => {}
                _ = shutdown.changed() => return,
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }
}

/// A network failure in words, without the URL (it may carry a path the admin chose,
/// but never a secret; the endpoint is shown next to it anyway).
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut cause = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(c) = cause {
        detail = c.to_string();
        cause = c.source();
    }
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {detail}")
    }
}
