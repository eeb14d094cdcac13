//! The org's credential-change announcements (signed webhooks, see
//! `latchkey_core::webhooks`), received for one credential record at
//! `/webhooks/{record id}`. A password change, token reset, lock or freeze of the
//! record's user suspends the record **before** any login fails: its current secrets
//! are remembered as rejected, exactly as if the CRM had refused them, so the usual
//! recovery applies (new secrets → one test → every connector resumes). An unlock or
//! unfreeze lifts only a suspension that its own lock or freeze caused: the connectors
//! resume, and their next run is the one login that tests the secrets. A record that
//! connects by OAuth refresh token ignores password changes and token resets: the
//! password is not what it holds.

use chrono::{DateTime, Utc};
use latchkey_core::connectors::ConnectorState;
use latchkey_core::webhooks::{self as wire, Event, EventType};
use latchkey_sfclient::Credentials;
use latchkey_store::hub::{self, Rejection, SealedCredential};

use crate::guard::{rejection_mail, what_to_do, GuardError, REJECTED_MESSAGE};
use crate::{Hub, HubError};

/// What the connector banner says while the CRM user `username` is locked
/// (`frozen`: frozen) at the CRM.
pub fn locked_message(username: &str, frozen: bool) -> String {
    let what = if frozen { "frozen" } else { "locked out" };
    format!(
        "Suspended: the CRM user {username} is {what} — the hub resumes by itself when the CRM's administrator \
         lifts it"
    )
}

/// A delivery the hub refused.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// No record with that id, or it holds no webhook secret.
    #[error("no credential record takes webhooks here")]
    UnknownEndpoint,
    /// The signature or timestamp did not check out.
    #[error("{0}")]
    Signature(#[from] wire::SignatureError),
    /// The body is not an event.
    #[error("the body is not a Latchkey webhook event: {0}")]
    Body(String),
    /// The hub failed.
    #[error(transparent)]
    Hub(#[from] HubError),
}

impl From<GuardError> for Refusal {
    fn from(e: GuardError) -> Self {
        match e {
            GuardError::Hub(h) => Self::Hub(h),
            other => Self::Hub(HubError::Invalid(other.to_string())),
        }
    }
}

impl From<latchkey_store::StoreError> for Refusal {
    fn from(e: latchkey_store::StoreError) -> Self {
        Self::Hub(e.into())
    }
}

/// What an accepted delivery did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// The record was suspended; this many connectors stopped.
    Suspended(u64),
    /// The lock or freeze was lifted: this many connectors resumed.
    Resumed(u64),
    /// Nothing to do, and why.
    Ignored(&'static str),
}

/// The signed headers of a delivery.
#[derive(Debug, Clone, Copy)]
pub struct Signed<'a> {
    /// `webhook-id`.
    pub id: Option<&'a str>,
    /// `webhook-timestamp`.
    pub timestamp: Option<&'a str>,
    /// `webhook-signature`.
    pub signature: Option<&'a str>,
}

fn time_of(event: &Event) -> Result<DateTime<Utc>, Refusal> {
    DateTime::parse_from_rfc3339(&event.occurred_at)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| Refusal::Body("occurred_at is not an RFC 3339 time".into()))
}

impl Hub {
    /// Checks and applies one delivery for the record `credential_id`.
    pub async fn receive_announcement(
        &self,
        credential_id: &str,
        signed: Signed<'_>,
        body: &[u8],
    ) -> Result<Effect, Refusal> {
        let record = {
            let mut conn = self.store.conn().await?;
            hub::credential(&mut conn, credential_id).await?
        }
        .ok_or(Refusal::UnknownEndpoint)?;
        let opened = self.unseal(&record)?;
        let key = opened.webhook_key.as_ref().ok_or(Refusal::UnknownEndpoint)?;
        wire::verify(
            key,
            signed.id,
            signed.timestamp,
            signed.signature,
            body,
            self.clock.now().timestamp(),
        )?;
        let event: Event = serde_json::from_slice(body).map_err(|e| Refusal::Body(e.to_string()))?;
        if !event.user.username.eq_ignore_ascii_case(&record.username) {
            return Ok(Effect::Ignored("about another user"));
        }
        let at = time_of(&event)?;
        let password_bound = matches!(
            event.event_type,
            EventType::PasswordChanged | EventType::SecurityTokenReset
        );
        let effect = if password_bound
            && matches!(
                opened.credentials,
                Credentials::OAuthRefresh { .. } | Credentials::JwtBearer { .. }
            ) {
            // The record holds a refresh token, not the password: a password change or
            // token reset leaves it working (unless the org's app policy ends refresh
            // tokens too — then the next refresh is refused once and the guard acts).
            Effect::Ignored("the record connects by OAuth, which a password change does not end")
        } else if event.event_type.ends_logins() {
            self.announced_rejection(&record, &opened.fingerprint, &event, at)
                .await?
        } else {
            self.announced_release(&record, &event, at).await?
        };
        tracing::info!(credential = %record.id, event = %event.id, event_type = %event.event_type, effect = ?effect, "announcement received");
        Ok(effect)
    }

    async fn announced_rejection(
        &self,
        record: &SealedCredential,
        fingerprint: &[u8],
        event: &Event,
        at: DateTime<Utc>,
    ) -> Result<Effect, Refusal> {
        if at < record.updated_at {
            return Ok(Effect::Ignored("the secrets were entered after it happened"));
        }
        if record.rejected_fingerprint.as_deref() == Some(fingerprint) {
            return Ok(Effect::Ignored("already suspended"));
        }
        let ws = self.workspace_by_id(&record.workspace_id).await?;
        let (banner, happened, todo) = match event.event_type {
            EventType::UserLocked | EventType::UserFrozen => (
                locked_message(&record.username, event.event_type == EventType::UserFrozen),
                format!("announced {} for {}", event.event_type, record.username),
                "ask the CRM's administrator to unlock or unfreeze the user. When the CRM announces it, \
                 the hub tests the credentials once and resumes every suspended connector by itself."
                    .to_owned(),
            ),
            _ => (
                REJECTED_MESSAGE.to_owned(),
                format!(
                    "announced {} for {}, so the credentials the hub holds no longer work",
                    event.event_type, record.username
                ),
                what_to_do(&ws.name, record),
            ),
        };
        let reason = format!("announced by the CRM: {} at {}", event.event_type, event.occurred_at);
        let rejection = Rejection {
            fingerprint,
            reason: &reason,
            announced_by: Some(event.event_type.as_str()),
            at,
        };
        let mail = rejection_mail(&ws.name, record, &happened, &todo);
        let suspended = self.suspend(record, rejection, &banner, &mail).await?;
        Ok(Effect::Suspended(suspended))
    }

    async fn announced_release(
        &self,
        record: &SealedCredential,
        event: &Event,
        at: DateTime<Utc>,
    ) -> Result<Effect, Refusal> {
        let lifts = match event.event_type {
            EventType::UserUnlocked => EventType::UserLocked,
            EventType::UserUnfrozen => EventType::UserFrozen,
            _ => return Ok(Effect::Ignored("not about logins")),
        };
        if record.rejected_by.as_deref() != Some(lifts.as_str()) || record.rejected_at.is_some_and(|r| r > at) {
            return Ok(Effect::Ignored("the record is not suspended by that"));
        }
        let mut tx = self.store.begin().await?;
        hub::set_rejected(&mut tx, &record.id, None).await?;
        let resumed = hub::move_connectors(
            &mut tx,
            &record.id,
            &[ConnectorState::Suspended],
            ConnectorState::Enabled,
            None,
            self.clock.now(),
        )
        .await?;
        latchkey_store::commit(tx).await?;
        Ok(Effect::Resumed(resumed))
    }
}
