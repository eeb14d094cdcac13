//! `latchkey org webhook …`: endpoints that hear of credential changes.

use latchkey_core::webhooks::EventType;
use latchkey_org::Services;
use latchkey_store::webhooks::{Delivery, Webhook};
use secrecy::ExposeSecret;
use serde_json::{json, Value};

use super::{usage, Failure};
use crate::cli::WebhookCommand;
use crate::output;

fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn webhook_json(w: &Webhook, latest: Option<&Delivery>) -> Value {
    json!({
        "id": w.id, "url": w.url, "events": w.events, "created_at": time(w.created_at),
        "latest_delivery": latest.map(delivery_json),
    })
}

fn delivery_json(d: &Delivery) -> Value {
    json!({
        "event_id": d.event_id, "event_type": d.event_type, "status": d.status, "attempts": d.attempts,
        "http_status": d.last_status, "error": d.last_error, "created_at": time(d.created_at), "at": time(d.at),
    })
}

fn delivery_line(d: &Delivery) -> String {
    let outcome = match (&d.last_status, &d.last_error) {
        (Some(code), _) => format!("HTTP {code}"),
        (None, Some(e)) => e.clone(),
        (None, None) => "-".into(),
    };
    format!(
        "{}  {:<20}  {:<9}  attempts {}  {}  {}",
        time(d.created_at),
        d.event_type,
        d.status,
        d.attempts,
        outcome,
        d.event_id
    )
}

pub async fn run(cmd: WebhookCommand, services: &Services) -> Result<(), Failure> {
    match cmd {
        WebhookCommand::Add { url, events, org, json } => {
            let org = services.resolve_org(org.as_deref()).await?;
            let types = events
                .iter()
                .filter(|e| !e.trim().is_empty())
                .map(|e| e.parse::<EventType>().map_err(usage))
                .collect::<Result<Vec<_>, _>>()?;
            let (webhook, secret) = services.console().create_webhook(&org.id, &url, &types).await?;
            if json {
                let mut view = webhook_json(&webhook, None);
                view["secret"] = json!(secret.expose_secret());
                output::json(&view)?;
            } else {
                println!("id:     {}", webhook.id);
                println!("secret: {}", secret.expose_secret());
                println!("events: {}", webhook.events.join(", "));
                eprintln!("the secret is shown only now (rotate-secret gives a new one)");
            }
        }
        WebhookCommand::List { org, json } => {
            let org = services.resolve_org(org.as_deref()).await?;
            let mut rows = Vec::new();
            for w in services.webhooks(&org.id).await? {
                let latest = services.webhook_deliveries(&org.id, &w.id, 1).await?.into_iter().next();
                rows.push((w, latest));
            }
            if json {
                let views: Vec<Value> = rows.iter().map(|(w, d)| webhook_json(w, d.as_ref())).collect();
                output::json(&views)?;
            } else {
                for (w, latest) in &rows {
                    println!("{}  {}  [{}]", w.id, w.url, w.events.join(","));
                    if let Some(d) = latest {
                        println!("  latest: {}", delivery_line(d));
                    }
                }
            }
        }
        WebhookCommand::Deliveries { id, limit, org, json } => {
            let org = services.resolve_org(org.as_deref()).await?;
            let deliveries = services.webhook_deliveries(&org.id, &id, limit.clamp(1, 1000)).await?;
            if json {
                output::json(&deliveries.iter().map(delivery_json).collect::<Vec<_>>())?;
            } else {
                deliveries.iter().for_each(|d| println!("{}", delivery_line(d)));
            }
        }
        WebhookCommand::RotateSecret { id, org } => {
            let org = services.resolve_org(org.as_deref()).await?;
            let secret = services.console().rotate_webhook_secret(&org.id, &id).await?;
            println!("secret: {}", secret.expose_secret());
            eprintln!("the secret is shown only now; deliveries are signed with it from now on");
        }
        WebhookCommand::Remove { id, org } => {
            let org = services.resolve_org(org.as_deref()).await?;
            services.console().delete_webhook(&org.id, &id).await?;
            println!("removed");
        }
    }
    Ok(())
}
