//! Org services end to end on a real database, with real SMTP delivery.

mod accounts;
mod login;
mod mail;
mod support;
