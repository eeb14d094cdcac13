//! Latchkey's integration hub: workspaces and their CRM credential records — one per
//! CRM org login URL, used by every connector and by the integration settings alike —
//! with every secret sealed at rest by the [`vault`]; connectors and the [`guard`]
//! that keeps a rejected secret from ever being sent again; the hub's own
//! [`contacts`]; the two-way [`sync`] engine and the [`scheduler`] that runs it; the
//! org's credential-change [`announcements`], received over [`http`].
//! Secrets are write-only: they go in, and come out only to log in to the CRM. The hub
//! must never send the CRM a pair it refused, nor spend a user's last login attempts.

pub mod announcements;
pub mod contacts;
pub mod credentials;
pub mod guard;
pub mod hashing;
pub mod http;
pub mod oauth;
pub mod scheduler;
pub mod sync;
pub mod users;
pub use latchkey_core::vault;

use std::sync::Arc;

use latchkey_core::clock::Clock;
use latchkey_store::{Store, StoreError};

/// Hub errors. Their text never contains a secret.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// Something named does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// Bad input, with what to fix.
    #[error("{0}")]
    Invalid(String),
    /// Someone else is doing this right now; try again later.
    #[error("{0}; try again later")]
    Busy(String),
    /// The vault could not open or build.
    #[error(transparent)]
    Vault(#[from] vault::VaultError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the hub's services need, cheap to clone. Its parts are the services' own:
/// callers go through the services, never around them to the store or the vault.
#[derive(Clone)]
pub struct Hub {
    /// The database (shared with the org server in a single-binary deployment).
    pub(crate) store: Store,
    /// The keys that seal credentials.
    pub(crate) vault: Arc<vault::Vault>,
    /// Time.
    pub(crate) clock: Arc<dyn Clock>,
    /// Single-flight logins per credential record.
    pub(crate) flights: Arc<guard::Flights>,
    /// The bounded threads that hash hub users' passwords (argon2id).
    pub(crate) hashing: hashing::HashThreads,
    /// How long a sync run's lease on its connector lasts between renewals.
    pub(crate) sync_lease: std::time::Duration,
    /// How long sync runs wait after the CRM ended a session of a record with webhooks
    /// before logging in again ([`guard::DEFAULT_ANNOUNCEMENT_GRACE`]).
    pub(crate) announcement_grace: std::time::Duration,
    /// The window in which the guard causes at most
    /// [`guard::MAX_FAILURES_PER_WINDOW`] failed CRM logins per credential record
    /// ([`guard::DEFAULT_FAILURE_WINDOW`]).
    pub(crate) failure_window: std::time::Duration,
}

/// What a [`Hub`] is made of.
pub struct HubParts {
    /// The database (shared with the org server in a single-binary deployment).
    pub store: Store,
    /// The keys that seal credentials.
    pub vault: vault::Vault,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// The bounded threads that hash hub users' passwords (argon2id).
    pub hashing: hashing::HashThreads,
    /// How long a sync run's lease on its connector lasts between renewals.
    pub sync_lease: std::time::Duration,
    /// How long sync runs wait after the CRM ended a session of a record with webhooks
    /// before logging in again ([`guard::DEFAULT_ANNOUNCEMENT_GRACE`]).
    pub announcement_grace: std::time::Duration,
    /// The window in which the guard causes at most
    /// [`guard::MAX_FAILURES_PER_WINDOW`] failed CRM logins per credential record
    /// ([`guard::DEFAULT_FAILURE_WINDOW`]).
    pub failure_window: std::time::Duration,
}

impl Hub {
    /// The hub's services over `parts`.
    pub fn new(parts: HubParts) -> Self {
        let HubParts {
            store,
            vault,
            clock,
            hashing,
            sync_lease,
            announcement_grace,
            failure_window,
        } = parts;
        Self {
            store,
            vault: Arc::new(vault),
            clock,
            flights: Arc::default(),
            hashing,
            sync_lease,
            announcement_grace,
            failure_window,
        }
    }

    /// The same services on another clock (tests of timing).
    pub fn with_clock(&self, clock: Arc<dyn Clock>) -> Self {
        Self { clock, ..self.clone() }
    }

    /// The id of the vault key new records are sealed under.
    pub fn current_key_id(&self) -> String {
        self.vault.current_id().to_owned()
    }

    /// Drops the schema `schema` of the hub's PostgreSQL store (the bench's own).
    pub async fn drop_schema(&self, schema: &str) -> Result<(), HubError> {
        Ok(self.store.drop_schema(schema).await?)
    }
}
