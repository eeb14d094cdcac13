//! "Your password expires in N days": a scheduled job mails each user whose password
//! expires within [`FIRST_REMINDER_DAYS`] days once at that point and once more in the
//! last day. Each reminder is claimed in the database before it is queued, so any
//! number of server instances send it once.

use chrono::Duration;
use latchkey_store::users;

use crate::mail::templates;
use crate::{AccountError, Services};

/// The first reminder, in days before expiry.
pub const FIRST_REMINDER_DAYS: i64 = 7;
/// The last reminder, in days before expiry.
pub const LAST_REMINDER_DAYS: i64 = 1;

impl Services {
    /// Queues every reminder that is due now; returns how many.
    pub async fn send_expiry_reminders(&self) -> Result<usize, AccountError> {
        let now = self.clock.now();
        let expiring = {
            let mut conn = self.store.conn().await?;
            users::expiring(&mut conn, now, now + Duration::days(FIRST_REMINDER_DAYS)).await?
        };
        let mut sent = 0;
        for user in expiring {
            let Some(expires_at) = user.password_expires_at else {
                continue;
            };
            let left = expires_at - now;
            let threshold = if left <= Duration::days(LAST_REMINDER_DAYS) {
                LAST_REMINDER_DAYS
            } else {
                FIRST_REMINDER_DAYS
            };
            // Whole days left, rounded up: "in 7 days" a week before.
            let days = (left.num_seconds() + 86_399) / 86_400;
            let mail = templates::password_expiring(&self.mail, &user.email, &user.username, days, expires_at);
            let mut tx = self.store.begin().await?;
            if users::claim_reminder(&mut tx, &user.id, expires_at, threshold, now).await? {
                crate::mail::enqueue(&mut tx, &mail, now).await?;
                sent += 1;
            }
            latchkey_store::commit(tx).await?;
        }
        if sent > 0 {
            tracing::info!(sent, "password expiry reminders queued");
        }
        Ok(sent)
    }
}
