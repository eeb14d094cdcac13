//! Per-org daily REST API request counts. Requests are counted in memory and added to
//! the store in batches (every 100 requests or every second per org), so counting
//! costs no write per request; each flush returns the org's total across all nodes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use latchkey_core::ids::OrgId;

use crate::{AccountError, Services};

const FLUSH_EVERY: i64 = 100;
const FLUSH_AFTER: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
struct OrgCount {
    day: i64,
    /// Total as of the last flush, plus what is pending.
    known: i64,
    pending: i64,
    allowance: i64,
    flushed_at: Instant,
}

/// The in-memory counters.
#[derive(Debug, Default)]
pub struct ApiUsage {
    counts: Mutex<HashMap<OrgId, OrgCount>>,
}

impl ApiUsage {
    /// Drops an org's counter so the next request reads the allowance again.
    pub fn forget(&self, org: &OrgId) {
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(org);
    }
}

/// An org's usage today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Requests today, this one included.
    pub used: i64,
    /// The daily allowance.
    pub allowance: i64,
}

impl Usage {
    /// Whether this request is over the allowance.
    pub fn exceeded(&self) -> bool {
        self.used > self.allowance
    }
}

impl Services {
    /// Counts one REST request of `org` and reports the day's usage.
    pub async fn count_api_request(&self, org: &OrgId) -> Result<Usage, AccountError> {
        let day = self.clock.now().timestamp().div_euclid(86_400);
        let flush = {
            let mut counts = self
                .caches
                .api_usage
                .counts
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match counts.get_mut(org) {
                Some(c) if c.day == day => {
                    c.pending += 1;
                    c.known += 1;
                    if c.pending < FLUSH_EVERY && c.flushed_at.elapsed() < FLUSH_AFTER {
                        return Ok(Usage {
                            used: c.known,
                            allowance: c.allowance,
                        });
                    }
                    let pending = c.pending;
                    c.pending = 0;
                    c.flushed_at = Instant::now();
                    pending
                }
                _ => 1,
            }
        };
        let mut conn = self.store.conn().await?;
        let (total, allowance) = latchkey_store::records::add_api_requests(&mut conn, org, day, flush).await?;
        let mut counts = self
            .caches
            .api_usage
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = counts.entry(org.clone()).or_insert(OrgCount {
            day,
            known: total,
            pending: 0,
            allowance,
            flushed_at: Instant::now(),
        });
        if entry.day != day {
            *entry = OrgCount {
                day,
                known: total,
                pending: 0,
                allowance,
                flushed_at: Instant::now(),
            };
        }
        entry.known = entry.known.max(total + entry.pending);
        entry.allowance = allowance;
        Ok(Usage {
            used: entry.known,
            allowance,
        })
    }
}
