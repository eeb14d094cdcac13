//! The mail outbox. Messages are enqueued in the same transaction as the change that
//! causes them; delivery workers on any number of instances lease due messages
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so each is sent by one worker at a time.
//! A message's body may carry a secret (a new security token), so it is blanked once
//! the message has been delivered.

use chrono::{DateTime, Duration, Utc};
use sqlx::FromRow;

use crate::{Backend, Conn, StoreError};

/// A message to enqueue.
#[derive(Debug, Clone)]
pub struct NewMail<'a> {
    /// Recipient address.
    pub to: &'a str,
    /// Subject line.
    pub subject: &'a str,
    /// Plain-text body.
    pub text: &'a str,
    /// Optional HTML alternative.
    pub html: Option<&'a str>,
}

/// A leased message, ready to deliver.
#[derive(Clone, PartialEq, Eq, FromRow)]
pub struct QueuedMail {
    /// Outbox id.
    pub id: i64,
    /// Recipient address.
    pub to_addr: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body_text: String,
    /// HTML alternative.
    pub body_html: Option<String>,
    /// Delivery attempts so far, this one included.
    pub attempts: i64,
    /// When it was enqueued (epoch ms).
    pub created_at: i64,
}

impl std::fmt::Debug for QueuedMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueuedMail")
            .field("id", &self.id)
            .field("subject", &self.subject)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// Puts a message in the outbox; returns its id.
pub async fn enqueue(conn: &mut Conn, mail: &NewMail<'_>, now: DateTime<Utc>) -> Result<i64, StoreError> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO mail_outbox (to_addr, subject, body_text, body_html, created_at, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
    )
    .bind(mail.to)
    .bind(mail.subject)
    .bind(mail.text)
    .bind(mail.html)
    .bind(now.timestamp_millis())
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

/// Leases up to `limit` due messages for `lease`; a crashed worker's lease runs out
/// and another worker picks the message up.
pub async fn lease_due(
    conn: &mut Conn,
    now: DateTime<Utc>,
    lease: Duration,
    limit: i64,
) -> Result<Vec<QueuedMail>, StoreError> {
    let skip_locked = Backend::skip_locked(conn);
    let sql = format!(
        "UPDATE mail_outbox SET leased_until = $2, attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL \
                      AND next_attempt_at <= $1 AND (leased_until IS NULL OR leased_until <= $1) \
                      ORDER BY id LIMIT $3 {skip_locked}) \
           AND (leased_until IS NULL OR leased_until <= $1) \
         RETURNING id, to_addr, subject, body_text, body_html, attempts, created_at"
    );
    let mut rows: Vec<QueuedMail> = sqlx::query_as(&sql)
        .bind(now.timestamp_millis())
        .bind((now + lease).timestamp_millis())
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    rows.sort_by_key(|m| m.id);
    Ok(rows)
}

/// Marks a message delivered and blanks its body.
pub async fn mark_sent(conn: &mut Conn, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE mail_outbox SET sent_at = $2, leased_until = NULL, body_text = '', body_html = NULL, \
         last_error = NULL WHERE id = $1",
    )
    .bind(id)
    .bind(now.timestamp_millis())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records a failed delivery: retry at `retry_at`, or give up (`None`) and blank the body.
pub async fn mark_failed(
    conn: &mut Conn,
    id: i64,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    match retry_at {
        Some(at) => {
            sqlx::query(
                "UPDATE mail_outbox SET leased_until = NULL, next_attempt_at = $2, last_error = $3 WHERE id = $1",
            )
            .bind(id)
            .bind(at.timestamp_millis())
            .bind(error)
            .execute(&mut *conn)
            .await?;
        }
        None => {
            sqlx::query(
                "UPDATE mail_outbox SET leased_until = NULL, failed_at = $2, last_error = $3, body_text = '', \
                 body_html = NULL WHERE id = $1",
            )
            .bind(id)
            .bind(now.timestamp_millis())
            .bind(error)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// Where one message stands: delivered, given up, or waiting (with the last error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailState {
    /// Delivered.
    Sent,
    /// Given up; why.
    Failed(String),
    /// Waiting for a (new) attempt; the last error, if one failed.
    Pending(Option<String>),
}

/// The state of message `id`, if it exists.
pub async fn state(conn: &mut Conn, id: i64) -> Result<Option<MailState>, StoreError> {
    let row: Option<(Option<i64>, Option<i64>, Option<String>)> =
        sqlx::query_as("SELECT sent_at, failed_at, last_error FROM mail_outbox WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row.map(|(sent, failed, error)| match (sent, failed) {
        (Some(_), _) => MailState::Sent,
        (None, Some(_)) => MailState::Failed(error.unwrap_or_default()),
        (None, None) => MailState::Pending(error),
    }))
}

/// Counts of messages by state, for status displays and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxCounts {
    /// Waiting for (another) attempt.
    pub pending: i64,
    /// Delivered.
    pub sent: i64,
    /// Given up.
    pub failed: i64,
}

/// How many messages are pending, sent and failed.
pub async fn counts(conn: &mut Conn) -> Result<OutboxCounts, StoreError> {
    let (pending, sent, failed): (i64, i64, i64) = sqlx::query_as(
        "SELECT \
           COALESCE(SUM(CASE WHEN sent_at IS NULL AND failed_at IS NULL THEN 1 ELSE 0 END), 0), \
           COALESCE(SUM(CASE WHEN sent_at IS NOT NULL THEN 1 ELSE 0 END), 0), \
           COALESCE(SUM(CASE WHEN failed_at IS NOT NULL THEN 1 ELSE 0 END), 0) \
         FROM mail_outbox",
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(OutboxCounts { pending, sent, failed })
}
