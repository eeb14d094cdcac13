//! The guard: the only way the hub logs in to a CRM. A credential record's secrets that
//! the CRM rejected are remembered by their keyed fingerprint and **never sent again**:
//! every connector on that record is suspended at once with an error that says what to
//! do. When the secrets change, one login is tried; if it succeeds, every suspended
//! connector resumes by itself. Transient failures (network, 5xx, 429) never suspend
//! anything and never count as failed logins at the CRM.
//!
//! Logins are single-flight per record within a process, so connectors that run at
//! the same moment cause one login, not one each; and the session is kept for the next
//! runs until the CRM ends it (sync runs reuse it; connection tests always log in).
//!
//! The hub never spends a user's last attempts: every failed login it causes is
//! remembered with the keyed fingerprint of the (username, secrets) pair the CRM
//! refused, and no remembered pair is sent again, whoever typed it. It causes at most
//! [`MAX_FAILURES_PER_WINDOW`] failed logins per record in any [`Hub::failure_window`]
//! (the CRM's lockout may come after 3; only logins that carry a password count), and after a failure a connection test waits
//! for the person's confirmation, told how many failed logins the hub caused since
//! the CRM last accepted the record.
//!
//! When the org announces credential changes by webhook (the record holds its signing
//! secret), an ended session is not replaced at once: a password reset ends sessions,
//! and its announcement is on its way. Sync runs wait [`Hub::announcement_grace`] before
//! logging in again, so the announcement suspends the record before a stale secret is
//! ever sent.

use latchkey_core::connectors::{ConnectorState, Direction};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use latchkey_sfclient::{Client, Credentials, Error as CrmError};
use latchkey_store::hub::{self, Connector, LoginFailure, Rejection, SealedCredential};
use latchkey_store::outbox::{self, NewMail};

use crate::credentials::Opened;
use crate::{Hub, HubError};

/// What the user sees on a suspended connector (the seeds' red banner, but saying what
/// to do).
pub const REJECTED_MESSAGE: &str = "Suspended: credentials rejected — the CRM rejected the password or security \
                                    token; enter the new ones in Data Source Properties";

/// What a connector says while the CRM does not take its record's way of logging in.
pub const UNAVAILABLE_MESSAGE: &str = "the CRM does not take logins by SOAP API login() for this org — nothing was \
                                       counted against the user; give the record the org's connected app (client \
                                       id and secret, or a JWT key) so the hub logs in by OAuth, or ask the CRM's \
                                       administrator to allow SOAP API login()";

/// Failed CRM logins the hub causes per credential record in any failure window: one
/// fewer than the strictest lockout a CRM org may set (3).
pub const MAX_FAILURES_PER_WINDOW: usize = 2;

/// The fewest failed logins after which a CRM org may lock its user.
pub const CRM_STRICTEST_LOCKOUT: usize = 3;

/// The failure window by default: the shortest lockout period a CRM org may set.
pub const DEFAULT_FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// `secs` in words: "15 minutes", "20 seconds".
fn span(secs: u64) -> String {
    match secs {
        s if s % 60 == 0 && s >= 120 => format!("{} minutes", s / 60),
        60 => "minute".to_owned(),
        1 => "second".to_owned(),
        s => format!("{s} seconds"),
    }
}

/// Why a login goes ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A sync run: the kept connection if it is still good.
    Run,
    /// A connection test: always a fresh login. After a failed login since the CRM
    /// last accepted the record, it needs the person's confirmation.
    Test {
        /// The person confirmed, told how many failed logins the hub caused.
        confirmed: bool,
    },
}

/// Why the guard did not produce a session.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    /// These secrets were rejected before; nothing was sent.
    #[error("{REJECTED_MESSAGE} (the CRM said: {0}; not sent again)")]
    Suspended(String),
    /// The CRM rejected the secrets just now.
    #[error("{REJECTED_MESSAGE} (the CRM said: {0})")]
    Rejected(String),
    /// Try again later.
    #[error("the CRM could not be reached: {0}")]
    Transient(String),
    /// The CRM does not take the record's way of logging in (SOAP `login()` switched
    /// off, or absent from the API version): the CRM checks no password, so nothing
    /// counts against the user; the connectors wait for a person to act.
    #[error("{UNAVAILABLE_MESSAGE} (the CRM said: {0})")]
    LoginUnavailable(String),
    /// The CRM ended the session; logging in again waits for its announcement.
    #[error("the CRM ended the session; waiting for its announcement before logging in again")]
    Waiting,
    /// The hub caused failed logins since the CRM last accepted the record: a test
    /// needs the person's confirmation first; nothing is sent.
    #[error(
        "the hub has caused {failures} failed login(s) at the CRM since it last logged in with these \
         credentials, and the CRM may lock the account after as few as {CRM_STRICTEST_LOCKOUT}: confirm to test"
    )]
    Unconfirmed {
        /// Failed logins since the last accepted one.
        failures: usize,
    },
    /// The hub caused its most failed logins for the record in the window. Nothing
    /// is sent.
    #[error(
        "Not tested: the hub has caused {failures} failed logins at the CRM in the last {} and causes no \
         more, so it cannot lock the account; it can test again after {} UTC",
        span(*window_secs),
        retry_at.format("%H:%M:%S")
    )]
    Budget {
        /// Failed logins in the window.
        failures: usize,
        /// The window, in seconds.
        window_secs: u64,
        /// When the next login may go ahead.
        retry_at: DateTime<Utc>,
    },
    /// The CRM refused the request itself (not the credentials).
    #[error("the CRM refused the request: {0}")]
    Crm(String),
    /// A hub failure.
    #[error(transparent)]
    Hub(#[from] HubError),
}

/// A CRM connection the guard let through, with what it needs to judge later calls.
#[derive(Debug)]
pub struct Guarded {
    /// The connection.
    pub client: Arc<Client>,
    workspace: String,
    record: SealedCredential,
    fingerprint: Vec<u8>,
    /// The pair fingerprint under the record's key: what a rejection remembers
    /// (`None` only when the vault lacks the record's key).
    pair: Option<Vec<u8>>,
    /// Its logins carry a password (SOAP, OAuth password): the CRM counts their
    /// failures toward its lockout.
    sends_password: bool,
}

/// How long after the CRM ended a session of a record with webhooks sync runs wait, by
/// default, before logging in again (for an announcement that explains it, such as a
/// password reset). Connection tests do not wait.
pub const DEFAULT_ANNOUNCEMENT_GRACE: Duration = Duration::from_secs(10);

/// Per-record login locks (single flight), each record's live CRM connection, and when
/// the CRM last ended a record's session.
#[derive(Debug, Default)]
pub struct Flights {
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    live: Mutex<HashMap<String, Live>>,
    ended: Mutex<HashMap<String, Instant>>,
}

/// A record's connection, kept while the record's login URL, username, client id and
/// secrets are the ones it logged in with.
#[derive(Debug)]
struct Live {
    made_with: Vec<u8>,
    client: Arc<Client>,
}

/// What a connection was made with: a change to any of it needs a new login.
fn made_with(record: &SealedCredential, fingerprint: &[u8]) -> Vec<u8> {
    let mut key = fingerprint.to_vec();
    for part in [
        &record.login_url,
        &record.username,
        record.client_id.as_deref().unwrap_or(""),
    ] {
        key.push(0);
        key.extend_from_slice(part.as_bytes());
    }
    key
}

impl Flights {
    fn lock_for(&self, credential_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.locks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(map.entry(credential_id.to_owned()).or_default())
    }

    /// The record's kept connection, if it was made with `made_with`.
    fn live(&self, credential_id: &str, made_with: &[u8]) -> Option<Arc<Client>> {
        let map = self.live.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(credential_id)
            .filter(|l| l.made_with == made_with)
            .map(|l| Arc::clone(&l.client))
    }

    fn keep(&self, credential_id: &str, made_with: Vec<u8>, client: Arc<Client>) {
        let mut map = self.live.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.insert(credential_id.to_owned(), Live { made_with, client });
    }

    pub(crate) fn forget(&self, credential_id: &str) {
        let mut map = self.live.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.remove(credential_id);
    }

    fn session_ended(&self, credential_id: &str) {
        self.forget(credential_id);
        let mut map = self.ended.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.insert(credential_id.to_owned(), Instant::now());
    }

    fn ended_within(&self, credential_id: &str, grace: Duration) -> bool {
        let map = self.ended.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(credential_id).is_some_and(|at| at.elapsed() < grace)
    }
}

impl From<latchkey_store::StoreError> for GuardError {
    fn from(e: latchkey_store::StoreError) -> Self {
        Self::Hub(e.into())
    }
}

impl Hub {
    /// A connection for `record` through the guard (see the module docs): the kept one
    /// for a sync run whose record did not change, else one login if the rules allow
    /// it. `ca` is a PEM root to trust for an https:// login URL.
    pub async fn guarded_login(
        &self,
        record: &SealedCredential,
        ca: Option<&[u8]>,
        purpose: Purpose,
    ) -> Result<Guarded, GuardError> {
        let flight = self.flights.lock_for(&record.id);
        let _one_at_a_time = flight.lock().await;
        // The record may have changed while we waited (another flight's verdict).
        let ws = self.workspace_by_id(&record.workspace_id).await?;
        let record = self.record(&ws, Some(&record.login_url)).await?;
        let opened = self.unseal(&record)?;
        let fingerprint = opened.fingerprint.clone();
        if record.rejected_fingerprint.as_deref() == Some(fingerprint.as_slice()) {
            return Err(GuardError::Suspended(
                record.rejected_reason.clone().unwrap_or_default(),
            ));
        }
        let pair = self.pair_fingerprint(&opened, &record.key_id);
        let sends_password = matches!(
            opened.credentials,
            Credentials::Soap { .. } | Credentials::OAuthPassword { .. }
        );
        let made_with = made_with(&record, &fingerprint);
        let fresh = matches!(purpose, Purpose::Test { .. });
        if let Some(client) = self.flights.live(&record.id, &made_with).filter(|_| !fresh) {
            return Ok(Guarded {
                client,
                workspace: ws.name,
                record,
                fingerprint,
                pair,
                sends_password,
            });
        }
        let announced = opened.webhook_key.is_some();
        if announced && !fresh && self.flights.ended_within(&record.id, self.announcement_grace) {
            return Err(GuardError::Waiting);
        }
        self.may_log_in(&ws.name, &record, &opened, purpose).await?;
        let mut client =
            Client::new(&record.login_url, opened.credentials, ca).map_err(|e| GuardError::Crm(e.to_string()))?;
        if announced {
            client = client.without_relogin();
        }
        let guarded = Guarded {
            client: Arc::new(client),
            workspace: ws.name,
            record,
            fingerprint,
            pair,
            sends_password,
        };
        match guarded.client.connect().await {
            Ok(()) => {
                self.accepted(&guarded).await?;
                self.flights
                    .keep(&guarded.record.id, made_with, Arc::clone(&guarded.client));
            }
            Err(e) => {
                self.flights.forget(&guarded.record.id);
                return Err(self.failed(&guarded, e).await);
            }
        }
        Ok(guarded)
    }

    /// Whether the hub may send the opened record's secrets now (see the module docs):
    /// not when the CRM refused this very pair before (the record's connectors are
    /// suspended instead), not for an unconfirmed test after failed logins, and not
    /// beyond the failure budget.
    async fn may_log_in(
        &self,
        workspace: &str,
        record: &SealedCredential,
        opened: &Opened,
        purpose: Purpose,
    ) -> Result<(), GuardError> {
        let now = self.clock.now();
        let failures = hub::login_failures(&mut *self.store.conn().await?, &record.id).await?;
        let mut keyed: HashMap<&str, Option<Vec<u8>>> = HashMap::new();
        for failure in &failures {
            let pair = keyed
                .entry(failure.key_id.as_str())
                .or_insert_with(|| self.pair_fingerprint(opened, &failure.key_id));
            if pair.as_deref() == Some(failure.fingerprint.as_slice()) {
                let reason = failure.reason.clone();
                let happened = format!("rejected these credentials of {} before ({reason})", record.username);
                self.suspend_refused(workspace, record, &opened.fingerprint, &reason, &happened)
                    .await?;
                tracing::warn!(credential = %record.id, "credentials refused before; not sent again");
                return Err(GuardError::Suspended(reason));
            }
        }
        let counted: Vec<&LoginFailure> = failures.iter().filter(|f| f.password_sent).collect();
        let since = record.accepted_at.map_or(i64::MIN, |t| t.timestamp_millis());
        let unaccepted = counted.iter().take_while(|f| f.at >= since).count();
        if purpose == (Purpose::Test { confirmed: false }) && unaccepted > 0 {
            return Err(GuardError::Unconfirmed { failures: unaccepted });
        }
        let window = chrono::Duration::from_std(self.failure_window).unwrap_or(chrono::Duration::MAX);
        let start = now
            .checked_sub_signed(window)
            .map_or(i64::MIN, |t| t.timestamp_millis());
        let recent = counted.iter().take_while(|f| f.at > start).count();
        if recent >= MAX_FAILURES_PER_WINDOW {
            let oldest = counted[MAX_FAILURES_PER_WINDOW - 1].at;
            let retry_at = DateTime::from_timestamp_millis(oldest).unwrap_or(now) + window;
            tracing::warn!(credential = %record.id, recent, %retry_at, "failure budget spent; nothing sent");
            return Err(GuardError::Budget {
                failures: recent,
                window_secs: self.failure_window.as_secs(),
                retry_at,
            });
        }
        Ok(())
    }

    /// The failed logins that carried a password the hub caused with the workspace's
    /// record for `login_url` (the only one when `None`) since the CRM last accepted it.
    pub async fn failures_since_accepted(&self, workspace: &str, login_url: Option<&str>) -> Result<usize, HubError> {
        let ws = self.workspace(workspace).await?;
        let record = self.record(&ws, login_url).await?;
        let since = record.accepted_at.map_or(i64::MIN, |t| t.timestamp_millis());
        let failures = hub::login_failures(&mut *self.store.conn().await?, &record.id).await?;
        Ok(failures
            .iter()
            .filter(|f| f.password_sent)
            .take_while(|f| f.at >= since)
            .count())
    }

    /// An accepted login: a remembered rejection is cleared and suspended or backing-off
    /// connectors resume.
    async fn accepted(&self, guarded: &Guarded) -> Result<(), GuardError> {
        let record = &guarded.record;
        let mut conn = self.store.conn().await?;
        hub::set_accepted(&mut conn, &record.id, self.clock.now()).await?;
        if record.rejected_fingerprint.is_some() || record.rejected_by.is_some() {
            hub::set_rejected(&mut conn, &record.id, None).await?;
        }
        let resumed = hub::move_connectors(
            &mut conn,
            &record.id,
            &[ConnectorState::Suspended, ConnectorState::BackingOff],
            ConnectorState::Enabled,
            None,
            self.clock.now(),
        )
        .await?;
        if resumed > 0 {
            tracing::info!(credential = %record.id, resumed, "credentials accepted; connectors resumed");
        }
        Ok(())
    }

    /// A failed CRM call on a guarded connection, recorded: a rejection is remembered
    /// (connectors suspended, owners told once); a transient failure backs the
    /// connectors off. Returns the error to report.
    pub async fn failed(&self, guarded: &Guarded, error: CrmError) -> GuardError {
        match self.record_failure(guarded, error).await {
            Ok(verdict) | Err(verdict) => verdict,
        }
    }

    async fn record_failure(&self, guarded: &Guarded, error: CrmError) -> Result<GuardError, GuardError> {
        let record = &guarded.record;
        let now = self.clock.now();
        match error {
            CrmError::CredentialsRejected { code, message } => {
                let reason = format!("{code}: {message}");
                let failure = LoginFailure {
                    at: now.timestamp_millis(),
                    key_id: record.key_id.clone(),
                    fingerprint: guarded.pair.clone().unwrap_or_else(|| guarded.fingerprint.clone()),
                    reason: reason.clone(),
                    password_sent: guarded.sends_password,
                };
                hub::record_login_failure(&mut *self.store.conn().await?, &record.id, &failure).await?;
                let happened = format!("rejected the credentials of {} ({reason})", record.username);
                let suspended = self
                    .suspend_refused(&guarded.workspace, record, &guarded.fingerprint, &reason, &happened)
                    .await?;
                tracing::warn!(credential = %record.id, code = %code, suspended, "credentials rejected; connectors suspended");
                Ok(GuardError::Rejected(reason))
            }
            CrmError::LoginUnavailable { code, message } => {
                let reason = format!("{code}: {message}");
                hub::move_connectors(
                    &mut *self.store.conn().await?,
                    &record.id,
                    &[ConnectorState::Enabled],
                    ConnectorState::BackingOff,
                    Some(&format!("Waiting: {UNAVAILABLE_MESSAGE} (the CRM said: {reason})")),
                    now,
                )
                .await?;
                tracing::warn!(credential = %record.id, code = %code, "the CRM does not take this login; connectors wait");
                Ok(GuardError::LoginUnavailable(reason))
            }
            CrmError::SessionEnded => {
                self.flights.session_ended(&record.id);
                tracing::info!(credential = %record.id, "the CRM ended the session; waiting for an announcement");
                Ok(GuardError::Waiting)
            }
            CrmError::Transient(what) => {
                let mut conn = self.store.conn().await?;
                hub::move_connectors(
                    &mut conn,
                    &record.id,
                    &[ConnectorState::Enabled],
                    ConnectorState::BackingOff,
                    Some(&format!("Backing off: the CRM could not be reached ({what})")),
                    now,
                )
                .await?;
                Ok(GuardError::Transient(what))
            }
            e => Ok(GuardError::Crm(e.to_string())),
        }
    }

    /// Suspends the record's connectors because the CRM refused its secrets with
    /// `fingerprint` (`happened`: the clause of the owners' mail); returns how many.
    async fn suspend_refused(
        &self,
        workspace: &str,
        record: &SealedCredential,
        fingerprint: &[u8],
        reason: &str,
        happened: &str,
    ) -> Result<u64, GuardError> {
        let rejection = Rejection {
            fingerprint,
            reason,
            announced_by: None,
            at: self.clock.now(),
        };
        let mail = rejection_mail(workspace, record, happened, &what_to_do(workspace, record));
        self.suspend(record, rejection, REJECTED_MESSAGE, &mail).await
    }

    /// Remembers `rejection` of the record's secrets and suspends its running
    /// connectors with `banner`, mailing `mail` to the workspace's owners once per
    /// rejected secret (a secret rejected before never gets this far); returns how
    /// many connectors were suspended.
    pub(crate) async fn suspend(
        &self,
        record: &SealedCredential,
        rejection: Rejection<'_>,
        banner: &str,
        mail: &str,
    ) -> Result<u64, GuardError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        hub::set_rejected(&mut tx, &record.id, Some(rejection)).await?;
        let suspended = hub::move_connectors(
            &mut tx,
            &record.id,
            &[ConnectorState::Enabled, ConnectorState::BackingOff],
            ConnectorState::Suspended,
            Some(banner),
            now,
        )
        .await?;
        let text = mail.replace("{suspended}", &suspended.to_string());
        for to in hub::owner_emails(&mut tx, &record.workspace_id).await? {
            let mail = NewMail {
                to: &to,
                subject: "Data Sync suspended: the CRM credentials need you",
                text: &text,
                html: None,
            };
            outbox::enqueue(&mut tx, &mail, now).await?;
        }
        latchkey_store::commit(tx).await?;
        self.flights.forget(&record.id);
        Ok(suspended)
    }

    /// Tests the workspace's record for `login_url` (the only one when `None`) once,
    /// through the guard; `confirmed` when the person confirmed a test after failures.
    pub async fn test_credential(
        &self,
        workspace: &str,
        login_url: Option<&str>,
        ca: Option<&[u8]>,
        confirmed: bool,
    ) -> Result<String, GuardError> {
        let ws = self.workspace(workspace).await?;
        let record = self.record(&ws, login_url).await?;
        self.guarded_login(&record, ca, Purpose::Test { confirmed }).await?;
        Ok(record.login_url)
    }

    /// Adds a connector on the workspace's record for `login_url` (the only one when
    /// `None`); it starts enabled.
    pub async fn add_connector(&self, workspace: &str, spec: ConnectorSpec<'_>) -> Result<Connector, HubError> {
        let ws = self.workspace(workspace).await?;
        let name = spec.name.trim();
        if name.is_empty() || name.len() > 80 {
            return Err(HubError::Invalid("connector name must be 1 to 80 characters".into()));
        }
        if !["Contact", "Account", "Lead"].contains(&spec.object) {
            return Err(HubError::Invalid("object must be Contact, Account or Lead".into()));
        }
        let direction: Direction = spec
            .direction
            .parse()
            .map_err(|_| HubError::Invalid("direction must be pull, push or both".into()))?;
        if !(5..=86_400).contains(&spec.interval_secs) {
            return Err(HubError::Invalid("the interval must be between 5 s and 24 h".into()));
        }
        let external_id_field = match (spec.external_id_field, direction) {
            (Some(f), _) if !f.ends_with("__c") || !f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                return Err(HubError::Invalid(format!(
                    "{f:?} is not a custom field name (like {DEFAULT_EXTERNAL_ID_FIELD})"
                )))
            }
            (Some(f), _) => Some(f.to_owned()),
            (None, Direction::Pull) => None,
            (None, _) => Some(DEFAULT_EXTERNAL_ID_FIELD.to_owned()),
        };
        let field_map = checked_field_map(&spec.field_map, external_id_field.as_deref())?;
        let record = self.record(&ws, spec.login_url).await?;
        let connector = Connector {
            id: latchkey_core::ids::generate("0Hk"),
            workspace_id: ws.id,
            credential_id: record.id,
            name: name.to_owned(),
            object: spec.object.to_owned(),
            direction,
            interval_secs: spec.interval_secs,
            state: ConnectorState::Enabled,
            last_error: None,
            external_id_field,
            updated_at: self.clock.now(),
            next_run_at: None,
            failures: 0,
            field_map,
        };
        let mut conn = self.store.conn().await?;
        hub::insert_connector(&mut conn, &connector).await?;
        Ok(connector)
    }

    /// The workspace's connectors.
    pub async fn connectors(&self, workspace: &str) -> Result<Vec<Connector>, HubError> {
        let ws = self.workspace(workspace).await?;
        let mut conn = self.store.conn().await?;
        Ok(hub::connectors(&mut conn, &ws.id).await?)
    }

    /// The workspace's connector `name`.
    pub async fn connector(&self, workspace: &str, name: &str) -> Result<Connector, HubError> {
        self.connectors(workspace)
            .await?
            .into_iter()
            .find(|c| c.name == name.trim())
            .ok_or_else(|| HubError::NotFound(format!("connector {name:?}")))
    }

    /// The user enables or disables a connector. A suspended connector cannot simply be
    /// enabled: its credentials must change first (then it resumes by itself).
    pub async fn set_connector_enabled(
        &self,
        workspace: &str,
        name: &str,
        enabled: bool,
    ) -> Result<Connector, HubError> {
        let c = self.connector(workspace, name).await?;
        if enabled && c.state == ConnectorState::Suspended {
            return Err(HubError::Invalid(REJECTED_MESSAGE.into()));
        }
        let to = if enabled {
            ConnectorState::Enabled
        } else {
            ConnectorState::Disabled
        };
        let mut conn = self.store.conn().await?;
        hub::set_connector_state(&mut conn, &c.id, to, None, self.clock.now()).await?;
        self.connector(workspace, name).await
    }

    /// Tests the connector's credential record once, through the guard; `confirmed`
    /// when the person confirmed a test after failures.
    pub async fn test_connector(
        &self,
        workspace: &str,
        name: &str,
        ca: Option<&[u8]>,
        confirmed: bool,
    ) -> Result<(), GuardError> {
        let (c, record) = self.connector_and_record(workspace, name).await?;
        if c.state == ConnectorState::Disabled {
            return Err(GuardError::Hub(HubError::Invalid(format!(
                "connector {name:?} is disabled"
            ))));
        }
        self.guarded_login(&record, ca, Purpose::Test { confirmed })
            .await
            .map(|_| ())
    }

    /// The connector `name` of `workspace` and its credential record.
    pub(crate) async fn connector_and_record(
        &self,
        workspace: &str,
        name: &str,
    ) -> Result<(Connector, SealedCredential), HubError> {
        let c = self.connector(workspace, name).await?;
        let mut conn = self.store.conn().await?;
        let record = hub::credentials(&mut conn, &c.workspace_id)
            .await?
            .into_iter()
            .find(|r| r.id == c.credential_id)
            .ok_or_else(|| HubError::NotFound("the connector's credential record".into()))?;
        Ok((c, record))
    }

    /// After a record's secrets changed: when any of its connectors is suspended, one
    /// login through the guard resumes them all (`confirmed`: see [`Purpose::Test`]).
    /// Returns the guard's verdict, or `None` when nothing is suspended.
    pub async fn resume_after_change(
        &self,
        workspace: &str,
        login_url: &str,
        ca: Option<&[u8]>,
        confirmed: bool,
    ) -> Result<Option<Result<(), GuardError>>, HubError> {
        let ws = self.workspace(workspace).await?;
        let record = self.record(&ws, Some(login_url)).await?;
        let mut conn = self.store.conn().await?;
        let suspended = hub::connectors(&mut conn, &ws.id)
            .await?
            .iter()
            .any(|c| c.credential_id == record.id && c.state == ConnectorState::Suspended);
        drop(conn);
        if !suspended {
            return Ok(None);
        }
        Ok(Some(
            self.guarded_login(&record, ca, Purpose::Test { confirmed })
                .await
                .map(|_| ()),
        ))
    }
}

/// A connector to add.
#[derive(Debug, Clone)]
pub struct ConnectorSpec<'a> {
    /// Name.
    pub name: &'a str,
    /// CRM object.
    pub object: &'a str,
    /// `pull`, `push` or `both`.
    pub direction: &'a str,
    /// Seconds between runs.
    pub interval_secs: i64,
    /// Which credential record (needed when the workspace has several).
    pub login_url: Option<&'a str>,
    /// The CRM external-id field new contacts are pushed by; pushing connectors
    /// default to [`DEFAULT_EXTERNAL_ID_FIELD`].
    pub external_id_field: Option<&'a str>,
    /// CRM names of the hub fields (`FirstName`, `LastName`, `Email`) whose names
    /// differ in the CRM.
    pub field_map: BTreeMap<String, String>,
}

/// The field map, if every hub field in it exists, every CRM name is a field name, and
/// no CRM field is used twice or is one the sync itself reads or writes.
fn checked_field_map(
    map: &BTreeMap<String, String>,
    external_id_field: Option<&str>,
) -> Result<BTreeMap<String, String>, HubError> {
    let mut crm_names: Vec<&str> = crate::contacts::FIELDS
        .iter()
        .map(|f| map.get(*f).map_or(*f, String::as_str))
        .collect();
    for (hub_field, crm_field) in map {
        if !crate::contacts::FIELDS.contains(&hub_field.as_str()) {
            return Err(HubError::Invalid(format!(
                "{hub_field:?} is not a hub field (FirstName, LastName or Email)"
            )));
        }
        let valid = crm_field.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && crm_field.len() <= 80
            && crm_field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(HubError::Invalid(format!("{crm_field:?} is not a CRM field name")));
        }
    }
    crm_names.extend(["Id", "SystemModstamp"]);
    crm_names.extend(external_id_field);
    crm_names.sort_by_key(|n| n.to_ascii_lowercase());
    if let Some(twice) = crm_names.windows(2).find(|w| w[0].eq_ignore_ascii_case(w[1])) {
        return Err(HubError::Invalid(format!(
            "the CRM field {} would be synced twice",
            twice[0]
        )));
    }
    Ok(map.clone())
}

/// The external-id field pushing connectors use unless told otherwise: a Text(18)
/// custom field on Contact marked External ID (and unique), holding the hub's id.
pub const DEFAULT_EXTERNAL_ID_FIELD: &str = "Latchkey_Hub_Id__c";

/// The owners' mail about a suspension: in `workspace`, the CRM `happened` (a clause
/// after "the CRM at URL"); `{suspended}` is replaced by the number of connectors.
pub(crate) fn rejection_mail(workspace: &str, record: &SealedCredential, happened: &str, what_to_do: &str) -> String {
    format!(
        "In workspace {workspace}, the CRM at {url} {happened}.\n\n\
         {{suspended}} connector(s) using them are suspended. The hub will not send these \
         credentials again, so your CRM account will not be locked by it.\n\n\
         What to do: {what_to_do}\n",
        url = record.login_url,
    )
}

/// What to do about rejected or changed credentials.
pub(crate) fn what_to_do(workspace: &str, record: &SealedCredential) -> String {
    format!(
        "enter the new password and security token in Data Source Properties \
         (or: latchkey hub credential set {workspace} --login-url {url} --username {user} \
         --password-stdin --token-stdin). The hub tests them once and resumes every \
         suspended connector by itself.",
        url = record.login_url,
        user = record.username,
    )
}

/// A PEM file's bytes, for [`Hub::guarded_login`]'s `ca`.
pub fn read_ca(path: Option<&PathBuf>) -> std::io::Result<Option<Vec<u8>>> {
    path.map(std::fs::read).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(h, c)| ((*h).to_owned(), (*c).to_owned())).collect()
    }

    #[test]
    fn a_field_map_names_hub_fields_and_distinct_crm_fields() {
        let key = Some(DEFAULT_EXTERNAL_ID_FIELD);
        let ok = map(&[("Email", "Work_Email__c"), ("FirstName", "Nickname__c")]);
        assert_eq!(checked_field_map(&ok, key).unwrap(), ok);
        for (bad, why) in [
            (map(&[("Phone", "Phone")]), "not a hub field"),
            (map(&[("Email", "Work Email")]), "not a CRM field name"),
            (map(&[("Email", "")]), "not a CRM field name"),
            (map(&[("LastName", "email")]), "synced twice"),
            (map(&[("Email", "Id")]), "synced twice"),
            (map(&[("Email", "latchkey_hub_id__c")]), "synced twice"),
        ] {
            let err = checked_field_map(&bad, key).unwrap_err().to_string();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
    }
}
