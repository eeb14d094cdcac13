//! Errors of the records services, each with its REST status and code.

use latchkey_core::records::RecordError;
use latchkey_core::soql::SoqlError;
use latchkey_store::StoreError;

use crate::AccountError;

/// Why a records request failed.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    /// Something about a record.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// A query outside the subset, with the query text for the message.
    #[error("{}", .error.message(.query))]
    Soql {
        /// The error.
        error: SoqlError,
        /// The query.
        query: String,
    },
    /// An object name that is not Account, Contact or Lead.
    #[error("The requested resource does not exist")]
    UnknownObject(String),
    /// A `nextRecordsUrl` locator that is not one of ours.
    #[error("invalid query locator")]
    BadLocator,
    /// A replication window outside what is kept.
    #[error("{0}")]
    ReplicationDate(String),
    /// A malformed collections request.
    #[error("{0}")]
    BadCollection(String),
    /// More records or ids than one call may carry.
    #[error("{0}")]
    TooMany(String),
    /// Several records match an external id.
    #[error("more than one record found for external id field")]
    Ambiguous(Vec<String>),
    /// A Bulk API job's results asked for before it completed.
    #[error("{0}")]
    JobNotComplete(String),
    /// The caller may not read or change a user's password (403, as Salesforce).
    #[error("You do not have permission to view this record.")]
    InsufficientAccess,
    /// The account services refused a User write, with Salesforce's code.
    #[error("{message}")]
    UserRefused {
        /// The `errorCode`.
        code: &'static str,
        /// The message.
        message: String,
        /// The fields it is about.
        fields: Vec<String>,
    },
    /// The store failed.
    #[error(transparent)]
    Internal(#[from] AccountError),
}

impl From<StoreError> for RestError {
    fn from(e: StoreError) -> Self {
        Self::Internal(AccountError::from(e))
    }
}

impl RestError {
    /// HTTP status and `errorCode`.
    pub fn status_and_code(&self) -> (u16, &'static str) {
        match self {
            Self::Record(RecordError::NotFound) => (404, "NOT_FOUND"),
            Self::Record(RecordError::Deleted) => (404, "ENTITY_IS_DELETED"),
            Self::Record(e) => (400, e.code()),
            Self::Soql { error, .. } => (400, error.kind.code()),
            Self::UnknownObject(_) => (404, "NOT_FOUND"),
            Self::BadLocator => (400, "INVALID_QUERY_LOCATOR"),
            Self::ReplicationDate(_) => (400, "INVALID_REPLICATION_DATE"),
            Self::BadCollection(_) => (400, "INVALID_FIELD"),
            Self::TooMany(_) => (400, "EXCEEDED_ID_LIMIT"),
            Self::Ambiguous(_) => (300, "MULTIPLE_CHOICES"),
            Self::InsufficientAccess => (403, "INSUFFICIENT_ACCESS"),
            Self::JobNotComplete(_) => (412, "JOB_NOT_COMPLETE"),
            Self::UserRefused { code, .. } => (400, *code),
            Self::Internal(_) => (500, "UNKNOWN_EXCEPTION"),
        }
    }

    /// The `fields` of the error body.
    pub fn fields(&self) -> Vec<String> {
        match self {
            Self::Record(e) => e.fields(),
            Self::UserRefused { fields, .. } => fields.clone(),
            _ => Vec::new(),
        }
    }
}
