//! The store suite. Every test body runs on SQLite, and also on PostgreSQL (each run
//! in a fresh schema) when `LATCHKEY_TEST_POSTGRES_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bulk_jobs;
mod epoch;
mod failures;
mod group_commit;
mod hub_sync;
mod kept;
mod orgs;
mod outbox;
mod records;
mod refresh_tokens;
mod support;
mod users;
mod webhooks;
