//! Errors of the account services. Messages name what is wrong, never a secret.

use latchkey_core::network::RangeError;
use latchkey_core::policy::{PasswordRejection, PolicyError};
use latchkey_store::StoreError;

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// No such org, user or profile.
    #[error("{0} not found")]
    NotFound(String),
    /// The deployment has several orgs and none was named.
    #[error("this deployment has {0} orgs: name one with --org")]
    OrgAmbiguous(usize),
    /// A name is taken.
    #[error("{0} already exists")]
    Duplicate(&'static str),
    /// A new password breaks the policy.
    #[error("{0}")]
    Password(#[from] PasswordRejection),
    /// A policy value or combination is not allowed.
    #[error("{0}")]
    Policy(#[from] PolicyError),
    /// A malformed IP range.
    #[error("{0}")]
    Range(#[from] RangeError),
    /// Input that makes no sense (empty username, bad e-mail address…).
    #[error("{0}")]
    Invalid(String),
    /// Password hashing failed.
    #[error("password hashing failed")]
    Hash,
    /// The database failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for AccountError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Duplicate(what) => Self::Duplicate(what),
            other => Self::Store(other),
        }
    }
}
