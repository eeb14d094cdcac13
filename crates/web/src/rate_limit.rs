//! A per-client-address limit on login attempts, shared by the org's login surfaces
//! and the hub's login page.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Login attempts allowed per client address.
#[derive(Debug)]
pub struct LoginRateLimit {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
    checks: AtomicU64,
}

impl LoginRateLimit {
    /// `per_minute` attempts per address per minute, in bursts of up to as many;
    /// `None` when 0 (no limit).
    pub fn per_minute(per_minute: u32) -> Option<Arc<Self>> {
        let n = NonZeroU32::new(per_minute)?;
        Some(Arc::new(Self {
            limiter: RateLimiter::keyed(Quota::per_minute(n)),
            clock: DefaultClock::default(),
            checks: AtomicU64::new(0),
        }))
    }

    /// Whole seconds to wait when `ip` is over the limit now.
    pub fn check(&self, ip: IpAddr) -> Option<u64> {
        // Forget idle addresses now and then so the table stays small.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&ip)
            .err()
            .map(|not_until| not_until.wait_time_from(self.clock.now()).as_secs().max(1))
    }
}
