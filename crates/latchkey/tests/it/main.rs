//! The `latchkey` binary as an operator uses it: real processes on a fresh data
//! directory.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bulk;
mod cli;
mod client;
mod connections;
mod house;
mod hub;
mod hub_sync;
mod jsforce;
mod jsforce_records;
mod lockout;
mod oauth_flow;
mod salesforce_cli;
mod secrets;
mod simple_salesforce;
mod simple_salesforce_records;
#[path = "../../../org/tests/it/smtp_sink.rs"]
mod smtp_sink;
mod support;
mod ui;
mod unstorable;
mod webhooks;
