//! Credential-change webhooks (see `latchkey_core::webhooks` for the wire format):
//! endpoints an administrator registers, the events account changes announce in
//! their own transactions, and delivery from the outbox.
//!
//! An endpoint's signing secret is never stored: it is a keyed fingerprint of the
//! endpoint's id and secret version under a key derived from the server secret, so
//! the database holds nothing that could forge a delivery. It is shown once, when the
//! endpoint is registered or its secret rotated.

pub mod delivery;

use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use latchkey_core::ids::OrgId;
use latchkey_core::secret::FingerprintKey;
use latchkey_core::webhooks::{self as wire, Event, EventType, EventUser};
use latchkey_store::users::User;
use latchkey_store::webhooks::{self, Delivery, NewEvent, Webhook};
use latchkey_store::Conn;
use secrecy::SecretString;
use tokio::sync::Notify;

use crate::accounts::admin::Admin;
use crate::{AccountError, Services};

/// Endpoints per org.
const MAX_ENDPOINTS: usize = 20;

/// The signing key and the delivery worker's doorbell, cheap to clone.
#[derive(Clone, Debug)]
pub struct Signing {
    key: FingerprintKey,
    wake: Arc<Notify>,
}

impl Signing {
    /// Signing from a key derived from the server secret.
    pub fn new(key: FingerprintKey) -> Self {
        Self {
            key,
            wake: Arc::default(),
        }
    }

    /// The same key with a wake-up of its own (another process's worker).
    pub fn detached(&self) -> Self {
        Self::new(self.key.clone())
    }

    /// The HMAC key of endpoint `id` at `version`.
    pub(crate) fn key_of(&self, id: &str, version: i64) -> [u8; 32] {
        self.key.fingerprint(id, &version.to_string())
    }

    fn secret_of(&self, id: &str, version: i64) -> SecretString {
        SecretString::from(wire::secret_of(&self.key_of(id, version)))
    }

    /// Tells this process's delivery worker that deliveries were queued (after the
    /// transaction that queued them committed), so they leave at once.
    pub(crate) fn ring(&self) {
        self.wake.notify_one();
    }

    /// Resolves when [`Signing::ring`] was called.
    pub(crate) async fn rung(&self) {
        self.wake.notified().await;
    }
}

/// Checks an endpoint URL: http(s), a host, no credentials (they would show in lists).
fn checked_url(url: &str) -> Result<String, AccountError> {
    let url = url.trim();
    let parsed = reqwest::Url::parse(url).map_err(|e| AccountError::Invalid(format!("endpoint URL {url:?}: {e}")))?;
    if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none_or(str::is_empty) {
        return Err(AccountError::Invalid(
            "the endpoint URL must be http:// or https:// with a host".into(),
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(AccountError::Invalid(
            "the endpoint URL must not hold credentials: receivers check the signature instead".into(),
        ));
    }
    Ok(parsed.to_string())
}

impl Services {
    /// The org's endpoints.
    pub async fn webhooks(&self, org: &OrgId) -> Result<Vec<Webhook>, AccountError> {
        let mut conn = self.store.conn().await?;
        Ok(webhooks::for_org(&mut conn, org.as_str()).await?)
    }

    async fn webhook_of(&self, conn: &mut Conn, org: &OrgId, id: &str) -> Result<Webhook, AccountError> {
        webhooks::get(conn, id.trim())
            .await?
            .filter(|w| w.org_id == org.as_str())
            .ok_or_else(|| AccountError::NotFound(format!("webhook {id:?}")))
    }

    /// The endpoint's most recent deliveries, newest first.
    pub async fn webhook_deliveries(&self, org: &OrgId, id: &str, limit: i64) -> Result<Vec<Delivery>, AccountError> {
        let mut conn = self.store.conn().await?;
        let webhook = self.webhook_of(&mut conn, org, id).await?;
        Ok(webhooks::recent(&mut conn, &webhook.id, limit).await?)
    }

    /// Queues `events` about `user` for the org's subscribed endpoints, inside the
    /// caller's transaction; call [`Signing::ring`] after it commits.
    pub(crate) async fn announce(
        &self,
        conn: &mut Conn,
        user: &User,
        events: &[EventType],
        now: DateTime<Utc>,
    ) -> Result<(), AccountError> {
        for &event_type in events {
            let event = Event {
                id: latchkey_core::ids::generate("evt"),
                event_type,
                occurred_at: now.to_rfc3339_opts(SecondsFormat::Millis, true),
                org_id: user.org_id.as_str().to_owned(),
                user: EventUser {
                    id: user.id.as_str().to_owned(),
                    username: user.username.clone(),
                },
            };
            let payload = serde_json::to_string(&event).map_err(|e| AccountError::Invalid(e.to_string()))?;
            webhooks::enqueue(
                conn,
                &NewEvent {
                    org_id: &event.org_id,
                    event_id: &event.id,
                    event_type: event_type.as_str(),
                    payload: &payload,
                },
                now,
            )
            .await?;
        }
        Ok(())
    }
}

impl Admin {
    /// Registers an endpoint for `events` (every type when empty); returns it with its
    /// signing secret, which is shown this once.
    pub async fn create_webhook(
        &self,
        org: &OrgId,
        url: &str,
        events: &[EventType],
    ) -> Result<(Webhook, SecretString), AccountError> {
        self.check(org)?;
        let url = checked_url(url)?;
        let mut types: Vec<EventType> = if events.is_empty() {
            EventType::ALL.to_vec()
        } else {
            events.to_vec()
        };
        types.sort_by_key(|t| t.as_str());
        types.dedup();
        let mut conn = self.services.store.conn().await?;
        if webhooks::for_org(&mut conn, org.as_str()).await?.len() >= MAX_ENDPOINTS {
            return Err(AccountError::Invalid(format!(
                "an org has at most {MAX_ENDPOINTS} webhook endpoints"
            )));
        }
        let webhook = Webhook {
            id: latchkey_core::ids::generate("whk"),
            org_id: org.as_str().to_owned(),
            url,
            events: types.iter().map(|t| t.as_str().to_owned()).collect(),
            secret_version: 1,
            created_at: self.services.clock.now(),
        };
        webhooks::create(&mut conn, &webhook).await?;
        tracing::info!(webhook = %webhook.id, org_id = %org, "webhook endpoint registered");
        let secret = self.services.webhooks.secret_of(&webhook.id, webhook.secret_version);
        Ok((webhook, secret))
    }

    /// Removes an endpoint with its deliveries.
    pub async fn delete_webhook(&self, org: &OrgId, id: &str) -> Result<(), AccountError> {
        self.check(org)?;
        let mut conn = self.services.store.conn().await?;
        let webhook = self.services.webhook_of(&mut conn, org, id).await?;
        webhooks::delete(&mut conn, &webhook.id).await?;
        tracing::info!(webhook = %webhook.id, "webhook endpoint removed");
        Ok(())
    }

    /// Gives an endpoint a new signing secret (shown this once); deliveries from now on,
    /// retries included, are signed with it.
    pub async fn rotate_webhook_secret(&self, org: &OrgId, id: &str) -> Result<SecretString, AccountError> {
        self.check(org)?;
        let mut conn = self.services.store.conn().await?;
        let webhook = self.services.webhook_of(&mut conn, org, id).await?;
        let version = webhooks::bump_secret_version(&mut conn, &webhook.id)
            .await?
            .ok_or_else(|| AccountError::NotFound(format!("webhook {id:?}")))?;
        tracing::info!(webhook = %webhook.id, version, "webhook secret rotated");
        Ok(self.services.webhooks.secret_of(&webhook.id, version))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_urls_are_http_with_a_host_and_no_credentials() {
        assert_eq!(
            checked_url(" https://hub.example/hooks ").ok().as_deref(),
            Some("https://hub.example/hooks")
        );
        assert!(checked_url("http://127.0.0.1:9/x").is_ok());
        for bad in [
            "ftp://hub.example/",
            "hub.example/hooks",
            "https://user:pw@hub.example/",
            "http://",
        ] {
            assert!(checked_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn secrets_are_per_endpoint_and_version() {
        let signing = Signing::new(FingerprintKey::new([3; 32]));
        assert_ne!(signing.key_of("whk_a", 1), signing.key_of("whk_b", 1));
        assert_ne!(signing.key_of("whk_a", 1), signing.key_of("whk_a", 2));
        assert_eq!(signing.key_of("whk_a", 1), signing.key_of("whk_a", 1));
    }
}
