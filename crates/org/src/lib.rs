//! The Latchkey org server: the login flow around the core's decision (its intents
//! decide whose users a surface admits and which session a login gets), account
//! services, typed administration ([`accounts::admin::Admin`]), records, mail and webhooks, and
//! the HTTP surfaces in [`http`]. The CLI and every surface go through these services:
//! handlers translate wire to service and back, and never decide or reach the store.

pub mod accounts;
pub mod bulk;
pub mod error;
pub mod http;
pub mod login;
pub mod mail;
pub mod oauth;
pub mod records;
pub mod retry;
pub mod webhooks;

use std::sync::Arc;

use latchkey_core::clock::Clock;
use latchkey_core::secret::FingerprintKey;
use latchkey_store::Store;

pub use error::AccountError;

/// What every org service needs, cheap to clone. Its parts are the services' own:
/// callers go through the services, never around them to the store.
#[derive(Clone)]
pub struct Services {
    /// The database.
    pub(crate) store: Store,
    /// The password-hashing pool.
    pub(crate) hasher: login::hashing::HashPool,
    /// Time.
    pub(crate) clock: Arc<dyn Clock>,
    /// Key for failed-secret fingerprints.
    pub(crate) fingerprint_key: FingerprintKey,
    /// Sender address and product name for mail.
    pub(crate) mail: mail::MailIdentity,
    /// In-memory caches (sessions, schemas, API counts).
    pub(crate) caches: Arc<records::Caches>,
    /// Webhook signing and the delivery worker's wake-up.
    pub(crate) webhooks: webhooks::Signing,
    /// Wakes this server's bulk job worker when a job is created.
    pub(crate) bulk_wake: Arc<tokio::sync::Notify>,
    /// How long this server's lease on a bulk job lasts without a saved chunk.
    pub(crate) bulk_lease: chrono::Duration,
}

/// What [`Services`] are made of.
pub struct Parts {
    /// The database.
    pub store: Store,
    /// The password-hashing pool.
    pub hasher: login::hashing::HashPool,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Key for failed-secret fingerprints.
    pub fingerprint_key: FingerprintKey,
    /// Sender address and product name for mail.
    pub mail: mail::MailIdentity,
    /// Webhook signing.
    pub webhooks: webhooks::Signing,
}

impl Services {
    /// Services over `parts`, with empty caches.
    pub fn new(parts: Parts) -> Self {
        let Parts {
            store,
            hasher,
            clock,
            fingerprint_key,
            mail,
            webhooks,
        } = parts;
        Self {
            store,
            hasher,
            clock,
            fingerprint_key,
            mail,
            caches: Arc::default(),
            webhooks,
            bulk_wake: Arc::default(),
            bulk_lease: chrono::Duration::seconds(bulk::DEFAULT_LEASE_SECS),
        }
    }

    /// The services another server process over the same database would have: the
    /// same parts, its own caches and its own delivery wake-up.
    pub fn another_server(&self) -> Self {
        Self {
            caches: Arc::default(),
            webhooks: self.webhooks.detached(),
            bulk_wake: Arc::default(),
            ..self.clone()
        }
    }

    /// The same services leasing bulk jobs for `lease` at a time.
    pub fn with_bulk_lease(self, lease: chrono::Duration) -> Self {
        Self {
            bulk_lease: lease,
            ..self
        }
    }

    /// The same services hashing new passwords with `hasher`.
    pub fn with_hasher(&self, hasher: login::hashing::HashPool) -> Self {
        Self { hasher, ..self.clone() }
    }

    /// The current time, as the services see it.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// The product name and sender address of mail and pages.
    pub fn identity(&self) -> &mail::MailIdentity {
        &self.mail
    }

    /// How many password hashes, verifications and dummy verifications ran.
    pub fn hash_counts(&self) -> login::hashing::HashCounts {
        self.hasher.counts()
    }

    /// Commits every queued write (refusals' login-history rows) before a shutdown.
    pub async fn flush(&self) -> Result<(), AccountError> {
        Ok(self.store.flush().await?)
    }
}
