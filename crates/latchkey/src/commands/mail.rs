//! `latchkey mail …`: the embedded mail folder and outbox delivery.

use latchkey_org::mail::delivery::Deliverer;
use latchkey_org::mail::folder;
use latchkey_org::webhooks::delivery::WebhookDeliverer;
use latchkey_org::Services;
use latchkey_store::outbox::MailState;

use super::{usage, Failure};
use crate::cli::MailCommand;
use crate::config::Config;
use crate::output;
use crate::wiring;

/// Delivers every due message and webhook event now; CLI changes call this so the mail folder (or the
/// SMTP relay) has their messages at once. Undeliverable mail stays queued.
pub async fn deliver_now(services: &Services, config: &Config) -> Result<(), Failure> {
    let report = Deliverer::new(services.clone(), wiring::transport(config))?
        .deliver_due()
        .await?;
    if report.retried + report.failed > 0 {
        eprintln!(
            "warning: {} message(s) could not be delivered yet; they stay in the outbox",
            report.retried + report.failed
        );
    }
    // Announcements leave now too, so receivers hear of the change before anything
    // else happens (a running server would send them within a second).
    let report = WebhookDeliverer::new(services.clone(), None)?.deliver_due().await?;
    if report.retried + report.failed > 0 {
        eprintln!(
            "warning: {} webhook delivery(ies) failed; they will be retried by the server",
            report.retried + report.failed
        );
    }
    Ok(())
}

pub async fn run(cmd: MailCommand, config: &Config) -> Result<(), Failure> {
    let dir = wiring::mail_dir(config);
    match cmd {
        MailCommand::SendTest { address } => send_test(&address, config).await,
        MailCommand::List { json } => {
            let mails = folder::list(&dir).map_err(anyhow::Error::from)?;
            if json {
                let summaries: Vec<output::MailSummary> = mails.iter().map(output::MailSummary::new).collect();
                return Ok(output::json(&summaries)?);
            }
            if mails.is_empty() {
                println!("no mail in {}", dir.display());
            }
            for m in mails {
                println!("{}  {}  {:<32} {}", m.id, m.date, m.to, m.subject);
            }
            Ok(())
        }
        MailCommand::Show { id, json } => {
            let mail = folder::show(&dir, &id)
                .map_err(anyhow::Error::from)?
                .ok_or_else(|| usage(format!("no message {id:?} in {}", dir.display())))?;
            if json {
                return Ok(output::json(&mail)?);
            }
            println!(
                "To: {}\nDate: {}\nSubject: {}\n\n{}",
                mail.to, mail.date, mail.subject, mail.text
            );
            Ok(())
        }
        MailCommand::Deliver => {
            let services = wiring::services(config).await?;
            deliver_now(&services, config).await
        }
    }
}

/// `latchkey mail send-test ADDRESS`: one message through the configured transport,
/// reported at once.
async fn send_test(address: &str, config: &Config) -> Result<(), Failure> {
    let services = wiring::services(config).await?;
    let id = services.queue_test_mail(address).await?;
    Deliverer::new(services.clone(), wiring::transport(config))?
        .deliver_due()
        .await?;
    let via = match &wiring::transport(config) {
        latchkey_org::mail::delivery::Transport::Folder(dir) => format!("the mail folder {}", dir.display()),
        latchkey_org::mail::delivery::Transport::Smtp(s) => format!("SMTP {}:{}", s.host, s.port),
    };
    match services.mail_state(id).await? {
        Some(MailState::Sent) => {
            println!("test message delivered to {} through {via}", address.trim());
            Ok(())
        }
        Some(MailState::Failed(why)) => Err(Failure::Internal(anyhow::anyhow!(
            "the test message could not be delivered through {via}: {why}"
        ))),
        Some(MailState::Pending(why)) => Err(Failure::Internal(anyhow::anyhow!(
            "the test message is not delivered yet through {via}: {}; it stays in the outbox",
            why.unwrap_or_else(|| "no attempt made".into())
        ))),
        None => Err(Failure::Internal(anyhow::anyhow!("the test message left the outbox"))),
    }
}
