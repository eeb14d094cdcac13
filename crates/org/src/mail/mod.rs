//! Mail: the messages Latchkey sends (templates) and their delivery from the outbox,
//! by SMTP or — the embedded default — as `.eml` files in a folder.

pub mod delivery;
pub mod folder;
pub mod templates;

use serde::{Deserialize, Serialize};

/// Who mail comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailIdentity {
    /// `From:` address.
    pub from: String,
    /// Product name used in subjects and bodies.
    pub product: String,
    /// Who users should contact when locked out (shown in lockout notices).
    pub admin_contact: String,
}

impl Default for MailIdentity {
    fn default() -> Self {
        Self {
            from: "Latchkey <no-reply@latchkey.localhost>".into(),
            product: "Latchkey".into(),
            admin_contact: "your Latchkey administrator".into(),
        }
    }
}

/// Puts a rendered message in the outbox, inside the caller's transaction.
pub(crate) async fn enqueue(
    conn: &mut latchkey_store::Conn,
    mail: &templates::Rendered,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), crate::AccountError> {
    latchkey_store::outbox::enqueue(
        conn,
        &latchkey_store::outbox::NewMail {
            to: &mail.to,
            subject: &mail.subject,
            text: &mail.text,
            html: Some(&mail.html),
        },
        now,
    )
    .await?;
    Ok(())
}

impl crate::Services {
    /// Queues the test message for `to` (checked as an address first); returns its
    /// outbox id.
    pub async fn queue_test_mail(&self, to: &str) -> Result<i64, crate::AccountError> {
        let to = to.trim();
        to.parse::<lettre::Address>()
            .map_err(|e| crate::AccountError::Invalid(format!("{to:?} is not an e-mail address: {e}")))?;
        let mail = templates::test_message(&self.mail, to);
        let mut conn = self.store.conn().await?;
        let new = latchkey_store::outbox::NewMail {
            to: &mail.to,
            subject: &mail.subject,
            text: &mail.text,
            html: Some(&mail.html),
        };
        Ok(latchkey_store::outbox::enqueue(&mut conn, &new, self.clock.now()).await?)
    }

    /// Where outbox message `id` stands; `None` when there is no such message.
    pub async fn mail_state(&self, id: i64) -> Result<Option<latchkey_store::outbox::MailState>, crate::AccountError> {
        let mut conn = self.store.conn().await?;
        Ok(latchkey_store::outbox::state(&mut conn, id).await?)
    }
}
