//! Periodic work of a server: password-expiry reminders and deleting expired
//! sessions. Every instance runs it; both jobs are safe to run concurrently (reminders
//! are claimed in the database, deletes of expired rows are idempotent).

use std::time::Duration;

use latchkey_store::sessions;
use tokio::sync::watch;

use crate::{AccountError, Services};

/// Most expired sessions deleted per statement (keeps each write transaction short).
const SWEEP_BATCH: i64 = 1_000;

impl Services {
    /// Deletes every session that has expired; returns how many.
    pub async fn sweep_expired_sessions(&self) -> Result<u64, AccountError> {
        let now = self.clock.now();
        let mut swept = 0;
        loop {
            let mut conn = self.store.conn().await?;
            let n = sessions::delete_expired(&mut conn, now, SWEEP_BATCH).await?;
            swept += n;
            if n < SWEEP_BATCH as u64 {
                break;
            }
        }
        if swept > 0 {
            tracing::info!(swept, "expired sessions deleted");
        }
        Ok(swept)
    }

    /// Sends due reminders and deletes expired sessions every `every` until
    /// `shutdown` turns true.
    pub async fn run_housekeeping(self, every: Duration, mut shutdown: watch::Receiver<bool>) {
        loop {
            if let Err(e) = self.send_expiry_reminders().await {
                tracing::error!(error = %e, "password expiry reminders failed");
            }
            if let Err(e) = self.sweep_expired_sessions().await {
                tracing::error!(error = %e, "deleting expired sessions failed");
            }
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                _ = shutdown.changed() => return,
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }
}
