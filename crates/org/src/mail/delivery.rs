//! Delivery from the outbox: lease due messages, send each by SMTP or into the mail
//! folder, mark it sent, or schedule a retry with exponential backoff and jitter.

use std::path::PathBuf;
use std::time::Duration as StdDuration;

use chrono::Duration;
use latchkey_store::outbox::{self, QueuedMail};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::{folder, MailIdentity};
use crate::retry::backoff;
use crate::{AccountError, Services};

/// How long a worker holds a leased message before another may take it.
const LEASE: Duration = Duration::seconds(120);
/// Attempts before a message is given up.
pub const MAX_ATTEMPTS: i64 = 8;
/// First retry delay; doubles per attempt up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::seconds(30);
const MAX_BACKOFF: Duration = Duration::hours(1);

/// Transport security for SMTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain SMTP (local relays and test sinks only).
    None,
    /// STARTTLS upgrade (port 587).
    #[default]
    Starttls,
    /// Implicit TLS (port 465).
    Tls,
}

/// SMTP settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    /// Relay host name.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Transport security.
    #[serde(default)]
    pub security: SmtpSecurity,
    /// Login, if the relay needs one.
    #[serde(default)]
    pub username: Option<String>,
    /// Password for `username`; set it through `LATCHKEY_SMTP_PASSWORD(_FILE)`.
    #[serde(default, skip_serializing)]
    pub password: Option<SecretString>,
    /// Seconds before a connection or command times out.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

fn default_timeout() -> u64 {
    20
}

/// Where delivered mail goes.
#[derive(Debug, Clone)]
pub enum Transport {
    /// `.eml` files in this folder.
    Folder(PathBuf),
    /// An SMTP relay.
    Smtp(SmtpSettings),
}

enum Sender {
    Folder(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// What one pass delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeliveryReport {
    /// Messages delivered.
    pub sent: usize,
    /// Messages scheduled for a retry.
    pub retried: usize,
    /// Messages given up.
    pub failed: usize,
}

/// Delivers outbox messages.
pub struct Deliverer {
    services: Services,
    identity: MailIdentity,
    sender: Sender,
}

/// Why one message could not be delivered.
enum SendError {
    /// Will not work on retry (bad address, 5xx).
    Permanent(String),
    /// May work later (connection refused, 4xx, timeout).
    Transient(String),
}

impl Deliverer {
    /// A deliverer over `transport`.
    pub fn new(services: Services, transport: Transport) -> Result<Self, AccountError> {
        let identity = services.mail.clone();
        let sender = match transport {
            Transport::Folder(path) => Sender::Folder(path),
            Transport::Smtp(s) => {
                let builder = match s.security {
                    SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host),
                    SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host)
                        .map_err(|e| AccountError::Invalid(format!("SMTP relay {}: {e}", s.host)))?,
                    SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host)
                        .map_err(|e| AccountError::Invalid(format!("SMTP relay {}: {e}", s.host)))?,
                };
                let mut builder = builder
                    .port(s.port)
                    .timeout(Some(StdDuration::from_secs(s.timeout_secs)));
                if let (Some(user), Some(pass)) = (&s.username, &s.password) {
                    builder = builder.credentials(Credentials::new(user.clone(), pass.expose_secret().to_owned()));
                }
                Sender::Smtp(builder.build())
            }
        };
        Ok(Self {
            services,
            identity,
            sender,
        })
    }

    fn build(&self, mail: &QueuedMail) -> Result<Message, SendError> {
        let from: Mailbox = self
            .identity
            .from
            .parse()
            .map_err(|e| SendError::Permanent(format!("sender address: {e}")))?;
        let to: Mailbox = mail
            .to_addr
            .parse()
            .map_err(|e| SendError::Permanent(format!("recipient address: {e}")))?;
        let builder = Message::builder().from(from).to(to).subject(mail.subject.clone());
        let built = match &mail.body_html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(mail.body_text.clone(), html.clone())),
            None => builder.body(mail.body_text.clone()),
        };
        built.map_err(|e| SendError::Permanent(format!("message: {e}")))
    }

    async fn send(&self, mail: &QueuedMail) -> Result<(), SendError> {
        let message = self.build(mail)?;
        match &self.sender {
            Sender::Folder(path) => folder::write(path, mail.id, &message.formatted())
                .await
                .map(|_| ())
                .map_err(|e| SendError::Transient(format!("mail folder: {e}"))),
            Sender::Smtp(smtp) => smtp.send(message).await.map(|_| ()).map_err(|e| {
                if e.is_permanent() {
                    SendError::Permanent(format!("SMTP: {e}"))
                } else {
                    SendError::Transient(format!("SMTP: {e}"))
                }
            }),
        }
    }

    /// Delivers every message that is due now; returns what happened.
    pub async fn deliver_due(&self) -> Result<DeliveryReport, AccountError> {
        let mut report = DeliveryReport::default();
        loop {
            let now = self.services.clock.now();
            let batch = {
                let mut conn = self.services.store.conn().await?;
                outbox::lease_due(&mut conn, now, LEASE, 20).await?
            };
            if batch.is_empty() {
                if report.sent + report.failed > 0 {
                    // Bodies were blanked: get the secrets in them out of the files.
                    self.services.store.forget_cleared().await?;
                }
                return Ok(report);
            }
            for mail in batch {
                let outcome = self.send(&mail).await;
                let now = self.services.clock.now();
                let mut conn = self.services.store.conn().await?;
                match outcome {
                    Ok(()) => {
                        outbox::mark_sent(&mut conn, mail.id, now).await?;
                        tracing::info!(mail_id = mail.id, subject = %mail.subject, "mail delivered");
                        report.sent += 1;
                    }
                    Err(SendError::Transient(why)) if mail.attempts < MAX_ATTEMPTS => {
                        let retry_at = now + backoff(FIRST_BACKOFF, MAX_BACKOFF, mail.attempts);
                        outbox::mark_failed(&mut conn, mail.id, &why, Some(retry_at), now).await?;
                        tracing::warn!(mail_id = mail.id, attempts = mail.attempts, error = %why, "mail delivery failed; will retry");
                        report.retried += 1;
                    }
                    Err(SendError::Transient(why) | SendError::Permanent(why)) => {
                        outbox::mark_failed(&mut conn, mail.id, &why, None, now).await?;
                        tracing::error!(mail_id = mail.id, attempts = mail.attempts, error = %why, "mail delivery given up");
                        report.failed += 1;
                    }
                }
            }
        }
    }

    /// Delivers due mail every `every` until `shutdown` turns true.
    pub async fn run(self, every: StdDuration, mut shutdown: watch::Receiver<bool>) {
        loop {
            if let Err(e) = self.deliver_due().await {
                tracing::error!(error = %e, "mail delivery pass failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.changed() => return,
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }
}
