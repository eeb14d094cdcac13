//! The Latchkey org server: account services (users, credentials, policy, network
//! access), the login flow around the core's decision, and mail delivery from the
//! outbox. The CLI and the HTTP surfaces both go through these services.

pub mod accounts;
pub mod apps;
pub mod authorization;
pub mod challenges;
pub mod decisions;
pub mod error;
pub mod hashing;
pub mod housekeeping;
pub mod http;
pub mod jwt_bearer;
pub mod login;
pub mod mail;
pub mod password_reset;
pub mod records;
pub mod refresh;
pub mod reminders;
pub mod retry;
pub mod sessions;
pub mod webhooks;

use std::sync::Arc;

use latchkey_core::clock::Clock;
use latchkey_core::secret::FingerprintKey;
use latchkey_store::Store;

pub use error::AccountError;

/// What every org service needs, cheap to clone.
#[derive(Clone)]
pub struct Services {
    /// The database.
    pub store: Store,
    /// The password-hashing pool.
    pub hasher: hashing::HashPool,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Key for failed-secret fingerprints.
    pub fingerprint_key: FingerprintKey,
    /// Sender address and product name for mail.
    pub mail: mail::MailIdentity,
    /// In-memory caches (sessions, schemas, API counts).
    pub caches: Arc<records::Caches>,
    /// Webhook signing and the delivery worker's wake-up.
    pub webhooks: webhooks::Signing,
}
