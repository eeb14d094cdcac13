//! Org services end to end on a real database, with real SMTP delivery.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod authorize;
mod bulk;
mod challenges;
mod http;
mod jwt_bearer;
mod login;
mod logs;
mod mail;
mod refresh;
mod rest;
mod smtp_sink;
mod support;
