//! Webhook endpoints and their delivery outbox. Announcing an event writes one
//! delivery per subscribed endpoint of the org, in the transaction of the change it
//! announces; delivery workers on any number of instances lease due deliveries
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so each is attempted by one worker at a
//! time, and retry until they are delivered or given up.

use chrono::{DateTime, Duration, Utc};
use sqlx::FromRow;

use crate::time::from_millis;
use crate::{Backend, Conn, StoreError};

/// A registered endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// Id (`whk_…`).
    pub id: String,
    /// Org whose events it receives.
    pub org_id: String,
    /// Where deliveries are POSTed.
    pub url: String,
    /// Event types it receives (wire names).
    pub events: Vec<String>,
    /// Which derivation of the signing secret is current.
    pub secret_version: i64,
    /// Registered at.
    pub created_at: DateTime<Utc>,
}

#[derive(FromRow)]
struct WebhookRow {
    id: String,
    org_id: String,
    url: String,
    events: String,
    secret_version: i64,
    created_at: i64,
}

impl TryFrom<WebhookRow> for Webhook {
    type Error = StoreError;
    fn try_from(r: WebhookRow) -> Result<Self, StoreError> {
        Ok(Self {
            created_at: from_millis(r.created_at, "webhook created_at")?,
            events: r
                .events
                .split(',')
                .filter(|e| !e.is_empty())
                .map(str::to_owned)
                .collect(),
            id: r.id,
            org_id: r.org_id,
            url: r.url,
            secret_version: r.secret_version,
        })
    }
}

const WEBHOOK_COLUMNS: &str = "id, org_id, url, events, secret_version, created_at";

/// Registers an endpoint.
pub async fn create(conn: &mut Conn, w: &Webhook) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO webhooks (id, org_id, url, events, secret_version, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&w.id)
    .bind(&w.org_id)
    .bind(&w.url)
    .bind(w.events.join(","))
    .bind(w.secret_version)
    .bind(w.created_at.timestamp_millis())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The org's endpoints, oldest first.
pub async fn for_org(conn: &mut Conn, org_id: &str) -> Result<Vec<Webhook>, StoreError> {
    sqlx::query_as::<_, WebhookRow>(&format!(
        "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE org_id = $1 ORDER BY created_at, id"
    ))
    .bind(org_id)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(Webhook::try_from)
    .collect()
}

/// The endpoint `id`.
pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<Webhook>, StoreError> {
    if crate::text::unstorable(id) {
        return Ok(None);
    }
    sqlx::query_as::<_, WebhookRow>(&format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .map(Webhook::try_from)
        .transpose()
}

/// Removes an endpoint and its deliveries; `true` when it existed.
pub async fn delete(conn: &mut Conn, id: &str) -> Result<bool, StoreError> {
    sqlx::query("DELETE FROM webhook_deliveries WHERE webhook_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let done = sqlx::query("DELETE FROM webhooks WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Moves an endpoint to its next signing secret; returns the new version.
pub async fn bump_secret_version(conn: &mut Conn, id: &str) -> Result<Option<i64>, StoreError> {
    let row: Option<(i64,)> = sqlx::query_as(
        "UPDATE webhooks SET secret_version = secret_version + 1 WHERE id = $1 RETURNING secret_version",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(v,)| v))
}

/// An event to announce to every endpoint of `org_id` subscribed to `event_type`.
#[derive(Debug, Clone, Copy)]
pub struct NewEvent<'a> {
    /// The org.
    pub org_id: &'a str,
    /// Event id, shared by all its deliveries.
    pub event_id: &'a str,
    /// Wire name of the type.
    pub event_type: &'a str,
    /// The JSON body to deliver.
    pub payload: &'a str,
}

/// Queues `event` for each subscribed endpoint; returns how many deliveries.
pub async fn enqueue(conn: &mut Conn, event: &NewEvent<'_>, now: DateTime<Utc>) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, payload, created_at, next_attempt_at) \
         SELECT id, $2, $3, $4, $5, $5 FROM webhooks \
         WHERE org_id = $1 AND (',' || events || ',') LIKE ('%,' || $3 || ',%')",
    )
    .bind(event.org_id)
    .bind(event.event_id)
    .bind(event.event_type)
    .bind(event.payload)
    .bind(now.timestamp_millis())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// A leased delivery with where it goes.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct DueDelivery {
    /// Delivery id.
    pub id: i64,
    /// Endpoint.
    pub webhook_id: String,
    /// Endpoint URL.
    pub url: String,
    /// Current secret version of the endpoint.
    pub secret_version: i64,
    /// Event id (the `webhook-id` header).
    pub event_id: String,
    /// Body.
    pub payload: String,
    /// Attempts so far, this one included.
    pub attempts: i64,
}

/// Leases up to `limit` due deliveries for `lease`; a crashed worker's lease runs out
/// and another worker picks the delivery up.
pub async fn lease_due(
    conn: &mut Conn,
    now: DateTime<Utc>,
    lease: Duration,
    limit: i64,
) -> Result<Vec<DueDelivery>, StoreError> {
    let skip_locked = Backend::skip_locked(conn);
    let leased: Vec<(i64,)> = sqlx::query_as(&format!(
        "UPDATE webhook_deliveries SET leased_until = $2, attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM webhook_deliveries WHERE delivered_at IS NULL AND failed_at IS NULL \
                      AND next_attempt_at <= $1 AND (leased_until IS NULL OR leased_until <= $1) \
                      ORDER BY id LIMIT $3 {skip_locked}) \
           AND (leased_until IS NULL OR leased_until <= $1) \
         RETURNING id"
    ))
    .bind(now.timestamp_millis())
    .bind((now + lease).timestamp_millis())
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let mut due = Vec::with_capacity(leased.len());
    for (id,) in leased {
        let row: Option<DueDelivery> = sqlx::query_as(
            "SELECT d.id, d.webhook_id, w.url, w.secret_version, d.event_id, d.payload, d.attempts \
             FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
        due.extend(row);
    }
    Ok(due)
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<'a> {
    /// The endpoint answered 2xx.
    Delivered {
        /// Its status.
        status: u16,
    },
    /// It did not; retry at `retry_at`, or give up (`None`).
    Failed {
        /// Its status, if it answered.
        status: Option<u16>,
        /// What went wrong.
        error: &'a str,
        /// When to try again.
        retry_at: Option<DateTime<Utc>>,
    },
}

/// Records how an attempt ended.
pub async fn finish(conn: &mut Conn, id: i64, outcome: Outcome<'_>, now: DateTime<Utc>) -> Result<(), StoreError> {
    let now = now.timestamp_millis();
    let query = match outcome {
        Outcome::Delivered { status } => sqlx::query(
            "UPDATE webhook_deliveries SET delivered_at = $2, leased_until = NULL, last_status = $3, \
             last_error = NULL WHERE id = $1",
        )
        .bind(id)
        .bind(now)
        .bind(i64::from(status)),
        Outcome::Failed {
            status,
            error,
            retry_at: Some(at),
        } => sqlx::query(
            "UPDATE webhook_deliveries SET leased_until = NULL, next_attempt_at = $2, last_status = $3, \
             last_error = $4 WHERE id = $1",
        )
        .bind(id)
        .bind(at.timestamp_millis())
        .bind(status.map(i64::from))
        .bind(error),
        Outcome::Failed {
            status,
            error,
            retry_at: None,
        } => sqlx::query(
            "UPDATE webhook_deliveries SET leased_until = NULL, failed_at = $2, last_status = $3, \
             last_error = $4 WHERE id = $1",
        )
        .bind(id)
        .bind(now)
        .bind(status.map(i64::from))
        .bind(error),
    };
    query.execute(&mut *conn).await?;
    Ok(())
}

/// A delivery as shown to administrators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Event id.
    pub event_id: String,
    /// Event type.
    pub event_type: String,
    /// Queued at.
    pub created_at: DateTime<Utc>,
    /// Attempts made.
    pub attempts: i64,
    /// `pending`, `delivered` or `failed`.
    pub status: &'static str,
    /// The endpoint's last HTTP status.
    pub last_status: Option<i64>,
    /// The last error.
    pub last_error: Option<String>,
    /// When it was delivered or given up, or when the next attempt is due.
    pub at: DateTime<Utc>,
}

#[derive(FromRow)]
struct DeliveryRow {
    event_id: String,
    event_type: String,
    created_at: i64,
    attempts: i64,
    next_attempt_at: i64,
    delivered_at: Option<i64>,
    failed_at: Option<i64>,
    last_status: Option<i64>,
    last_error: Option<String>,
}

/// The endpoint's `limit` most recent deliveries, newest first.
pub async fn recent(conn: &mut Conn, webhook_id: &str, limit: i64) -> Result<Vec<Delivery>, StoreError> {
    let rows: Vec<DeliveryRow> = sqlx::query_as(
        "SELECT event_id, event_type, created_at, attempts, next_attempt_at, delivered_at, failed_at, \
         last_status, last_error FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(webhook_id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            let (status, at) = match (r.delivered_at, r.failed_at) {
                (Some(t), _) => ("delivered", t),
                (None, Some(t)) => ("failed", t),
                (None, None) => ("pending", r.next_attempt_at),
            };
            Ok(Delivery {
                created_at: from_millis(r.created_at, "delivery created_at")?,
                at: from_millis(at, "delivery time")?,
                event_id: r.event_id,
                event_type: r.event_type,
                attempts: r.attempts,
                status,
                last_status: r.last_status,
                last_error: r.last_error,
            })
        })
        .collect()
}
