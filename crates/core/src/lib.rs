//! Latchkey's domain: identifiers, secrets, password and lockout policy, network trust
//! and the login decision; the vault that seals secrets at rest. Nothing in this crate
//! performs I/O; time is passed in.

pub mod blocklist;
pub mod clock;
pub mod connectors;
pub mod ids;
pub mod login;
pub mod network;
pub mod password;
pub mod policy;
pub mod records;
pub mod secret;
pub mod soql;
pub mod status;
pub mod vault;
pub mod webhooks;
