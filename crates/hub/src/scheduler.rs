//! The scheduler: runs every due connector of every workspace on its interval.
//!
//! A connector is due when it is enabled or backing off and its `next_run_at` has come.
//! After a run, the next one is set from how it ended: on time after a success (or
//! anything not transient), and after an exponential, jittered, capped backoff after a
//! transient failure — so a CRM that comes back is not met by every connector in the
//! same second. Suspended connectors never run: the guard resumes them when their
//! credentials change. Several hub instances may run schedulers on one database:
//! the sync lease lets one of them run a connector, and the others find it busy.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use latchkey_store::hub::{self, Connector};
use rand::Rng;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::guard::GuardError;
use crate::{Hub, HubError};

/// Backoff never waits longer than this (or the connector's interval, if longer).
pub const BACKOFF_CAP: Duration = Duration::from_secs(15 * 60);

/// How long a stopping scheduler lets running syncs finish before it aborts them
/// (an aborted run loses nothing: each committed page carries its checkpoint).
const STOP_GRACE: Duration = Duration::from_secs(10);

/// How the scheduler runs.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// How often it looks for due connectors.
    pub tick: Duration,
    /// Most connectors syncing at once in this process.
    pub concurrency: usize,
    /// A PEM root to trust for https:// login URLs (besides the system's).
    pub ca: Option<Arc<[u8]>>,
}

/// The wait before retrying after `failures` transient failures in a row (≥ 1):
/// `interval · 2^failures` capped at [`BACKOFF_CAP`] (or the interval, if longer),
/// then scaled by `jitter` ∈ [0, 1] into its upper half.
pub fn backoff(interval: Duration, failures: u32, jitter: f64) -> Duration {
    let cap = BACKOFF_CAP.max(interval);
    let grown = interval.saturating_mul(2u32.saturating_pow(failures.min(20)));
    grown.min(cap).mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// When a connector runs next after a run that ended with `outcome`, and its new count
/// of transient failures in a row.
fn next_run(c: &Connector, outcome: &Result<(), GuardError>, jitter: f64) -> (Duration, i64) {
    let interval = Duration::from_secs(c.interval_secs.max(1).unsigned_abs());
    match outcome {
        Err(GuardError::Transient(_) | GuardError::LoginUnavailable(_)) => {
            let failures = c.failures.saturating_add(1);
            let exponent = u32::try_from(failures).unwrap_or(u32::MAX);
            (backoff(interval, exponent, jitter), failures)
        }
        // Another instance holds the lease and schedules it when done.
        Err(GuardError::Hub(HubError::Busy(_))) => (interval, c.failures),
        _ => (interval, 0),
    }
}

impl Hub {
    /// Runs one due connector and schedules its next run.
    async fn run_scheduled(&self, c: Connector, ca: Option<&[u8]>) -> Result<(), HubError> {
        let record = {
            let mut conn = self.store.conn().await?;
            hub::credentials(&mut conn, &c.workspace_id)
                .await?
                .into_iter()
                .find(|r| r.id == c.credential_id)
                .ok_or_else(|| HubError::NotFound("the connector's credential record".into()))?
        };
        let outcome = self.sync_connector(c.clone(), &record, ca, &|_| {}).await;
        match &outcome {
            Ok(report) => tracing::info!(
                connector = %c.id, name = %c.name, pulled = report.pull.changed,
                pushed = report.push.created + report.push.updated, "sync run"
            ),
            Err(e) => tracing::warn!(connector = %c.id, name = %c.name, error = %e, "sync run failed"),
        }
        let (wait, failures) = next_run(&c, &outcome.map(|_| ()), rand::thread_rng().gen());
        let next = self.clock.now() + wait;
        let mut conn = self.store.conn().await?;
        hub::schedule_connector(&mut conn, &c.id, next, failures).await?;
        Ok(())
    }

    /// Runs due connectors until `stop` turns true, as `schedule` says.
    pub async fn run_connectors(&self, schedule: Schedule, mut stop: watch::Receiver<bool>) {
        let mut running: JoinSet<()> = JoinSet::new();
        let mut running_ids: HashMap<tokio::task::Id, String> = HashMap::new();
        loop {
            while let Some(done) = running.try_join_next_with_id() {
                let id = match done {
                    Ok((id, ())) => id,
                    Err(e) => {
                        tracing::error!(error = %e, "a sync run ended abnormally");
                        e.id()
                    }
                };
                running_ids.remove(&id);
            }
            let room = schedule.concurrency.saturating_sub(running_ids.len());
            if room > 0 {
                if let Err(e) = self.start_due(&schedule, room, &mut running, &mut running_ids).await {
                    tracing::warn!(error = %e, "looking for due connectors failed");
                }
            }
            tokio::select! {
                () = tokio::time::sleep(schedule.tick) => {}
                _ = stop.changed() => break,
            }
        }
        if tokio::time::timeout(STOP_GRACE, async { while running.join_next().await.is_some() {} })
            .await
            .is_err()
        {
            running.abort_all();
        }
    }

    /// Starts up to `room` due connectors that are not already running here.
    async fn start_due(
        &self,
        schedule: &Schedule,
        room: usize,
        running: &mut JoinSet<()>,
        running_ids: &mut HashMap<tokio::task::Id, String>,
    ) -> Result<(), HubError> {
        let limit = i64::try_from(room + running_ids.len()).unwrap_or(i64::MAX);
        let due = {
            let mut conn = self.store.conn().await?;
            hub::due_connectors(&mut conn, self.clock.now(), limit).await?
        };
        let idle: Vec<Connector> = due
            .into_iter()
            .filter(|c| !running_ids.values().any(|id| *id == c.id))
            .take(room)
            .collect();
        for c in idle {
            let hub = self.clone();
            let ca = schedule.ca.clone();
            let id = c.id.clone();
            let task = running.spawn(async move {
                if let Err(e) = hub.run_scheduled(c, ca.as_deref()).await {
                    tracing::warn!(error = %e, "scheduling a connector failed");
                }
            });
            running_ids.insert(task.id(), id);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_interval_with_jitter_in_its_upper_half_and_a_cap() {
        let minute = Duration::from_secs(60);
        assert_eq!(backoff(minute, 1, 1.0), Duration::from_secs(120));
        assert_eq!(backoff(minute, 1, 0.0), Duration::from_secs(60));
        assert_eq!(backoff(minute, 3, 1.0), Duration::from_secs(480));
        assert_eq!(backoff(minute, 30, 1.0), BACKOFF_CAP);
        assert_eq!(backoff(minute, 30, 0.0), BACKOFF_CAP / 2);
        // A connector that runs daily never waits less than its day at the cap.
        let day = Duration::from_secs(86_400);
        assert_eq!(backoff(day, 5, 1.0), day);
    }

    fn connector(failures: i64) -> Connector {
        Connector {
            id: "0Hk1".into(),
            workspace_id: "0Hw1".into(),
            credential_id: "0Hc1".into(),
            name: "Contacts".into(),
            object: "Contact".into(),
            direction: latchkey_core::connectors::Direction::Both,
            interval_secs: 10,
            state: latchkey_core::connectors::ConnectorState::Enabled,
            last_error: None,
            external_id_field: None,
            updated_at: chrono::DateTime::UNIX_EPOCH,
            next_run_at: None,
            failures,
            field_map: Default::default(),
        }
    }

    #[test]
    fn transient_failures_back_off_and_anything_else_runs_on_time() {
        let ten = Duration::from_secs(10);
        let transient = Err(GuardError::Transient("connection refused".into()));
        assert_eq!(next_run(&connector(0), &transient, 1.0), (Duration::from_secs(20), 1));
        assert_eq!(next_run(&connector(2), &transient, 1.0), (Duration::from_secs(80), 3));
        assert_eq!(next_run(&connector(3), &Ok(()), 1.0), (ten, 0));
        let rejected = Err(GuardError::Rejected("INVALID_LOGIN".into()));
        assert_eq!(next_run(&connector(3), &rejected, 1.0), (ten, 0));
        let busy = Err(GuardError::Hub(HubError::Busy("another instance".into())));
        assert_eq!(next_run(&connector(2), &busy, 1.0), (ten, 2));
    }
}
