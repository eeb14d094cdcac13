//! Retry timing shared by the outboxes (mail, webhooks).

use chrono::Duration;
use rand::Rng;

/// Delay before the retry after attempt `attempts`: `first`, doubling per attempt up
/// to `max`, plus up to 10 % jitter so that many failed items do not retry in step.
pub fn backoff(first: Duration, max: Duration, attempts: i64) -> Duration {
    let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 16)).unwrap_or(16);
    let base = first.checked_mul(2i32.saturating_pow(exp)).unwrap_or(max).min(max);
    let jitter_ms = rand::thread_rng().gen_range(0..=base.num_milliseconds() / 10);
    base + Duration::milliseconds(jitter_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_caps() {
        let (first, max) = (Duration::seconds(30), Duration::hours(1));
        for (attempts, base) in [(1, 30), (2, 60), (3, 120), (8, 3600), (50, 3600)] {
            let d = backoff(first, max, attempts).num_milliseconds();
            let b = base * 1000;
            assert!(d >= b && d <= b + b / 10, "attempt {attempts}: {d}ms");
        }
    }
}
