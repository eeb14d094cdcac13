//! The failed-vs-successful logins chart of Setup → Login History: one bar per hour
//! of the last seven days, drawn as SVG on the server (no script, nothing inline for
//! the CSP to refuse: colours are presentation attributes).

use chrono::{DateTime, Duration, DurationRound, Utc};
use latchkey_store::login_history::HourCount;

/// Hours shown.
pub(super) const HOURS: i64 = 7 * 24;
const BAR_WIDTH: i64 = 5;
const HEIGHT: i64 = 160;

/// One hour's bar: successful logins from the bottom, failed ones on top.
pub(super) struct Bar {
    pub x: i64,
    pub ok_y: i64,
    pub ok_h: i64,
    pub failed_y: i64,
    pub failed_h: i64,
    /// Tooltip: the hour and its counts.
    pub label: String,
}

/// A day boundary with its date.
pub(super) struct Day {
    pub x: i64,
    pub label: String,
}

/// The chart as the template draws it.
pub(super) struct Chart {
    pub width: i64,
    pub height: i64,
    pub bar_width: i64,
    pub bars: Vec<Bar>,
    pub days: Vec<Day>,
    pub succeeded: i64,
    pub failed: i64,
    /// The busiest hour's logins.
    pub max: i64,
}

/// The first hour shown for a chart ending at `now`.
pub(super) fn start(now: DateTime<Utc>) -> DateTime<Utc> {
    now.duration_trunc(Duration::hours(1)).unwrap_or(now) - Duration::hours(HOURS - 1)
}

/// Scales `n` of `max` to the chart's height (at least 1 px for a non-zero count).
fn scaled(n: i64, max: i64) -> i64 {
    if n == 0 || max == 0 {
        0
    } else {
        (n * HEIGHT / max).max(1)
    }
}

/// The chart of `counts` (hours without logins left out) for the week ending `now`.
pub(super) fn chart(counts: &[HourCount], now: DateTime<Utc>) -> Chart {
    let first = start(now);
    let shown: Vec<(i64, &HourCount)> = counts
        .iter()
        .map(|c| ((c.hour - first).num_hours(), c))
        .filter(|(slot, _)| (0..HOURS).contains(slot))
        .collect();
    let max = shown.iter().map(|(_, c)| c.succeeded + c.failed).max().unwrap_or(0);
    let bars = shown
        .iter()
        .map(|&(slot, c)| {
            let ok_h = scaled(c.succeeded, max);
            let failed_h = scaled(c.failed, max);
            Bar {
                x: slot * BAR_WIDTH,
                ok_y: HEIGHT - ok_h,
                ok_h,
                failed_y: HEIGHT - ok_h - failed_h,
                failed_h,
                label: format!(
                    "{}: {} successful, {} failed",
                    c.hour.format("%Y-%m-%d %H:00"),
                    c.succeeded,
                    c.failed
                ),
            }
        })
        .collect();
    let days = (0..HOURS)
        .filter(|h| (first + Duration::hours(*h)).format("%H").to_string() == "00")
        .map(|h| Day {
            x: h * BAR_WIDTH,
            label: (first + Duration::hours(h)).format("%b %d").to_string(),
        })
        .collect();
    Chart {
        width: HOURS * BAR_WIDTH,
        height: HEIGHT,
        bar_width: BAR_WIDTH - 1,
        bars,
        days,
        succeeded: shown.iter().map(|(_, c)| c.succeeded).sum(),
        failed: shown.iter().map(|(_, c)| c.failed).sum(),
        max,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn bars_sit_in_their_hour_scaled_to_the_busiest_one() {
        let now = at("2026-11-23T09:30:00Z");
        let counts = [
            HourCount {
                hour: at("2026-11-23T09:00:00Z"),
                succeeded: 3,
                failed: 1,
            },
            HourCount {
                hour: at("2026-11-16T10:00:00Z"),
                succeeded: 0,
                failed: 8,
            },
            // Older than the week: left out.
            HourCount {
                hour: at("2026-11-16T09:00:00Z"),
                succeeded: 50,
                failed: 0,
            },
        ];
        let c = chart(&counts[..2], now);
        assert_eq!((c.succeeded, c.failed, c.max), (3, 9, 8));
        assert_eq!(c.bars.len(), 2);
        let latest = &c.bars[0];
        assert_eq!(latest.x, (HOURS - 1) * BAR_WIDTH, "the current hour is the last slot");
        assert_eq!((latest.ok_h, latest.failed_h), (3 * HEIGHT / 8, HEIGHT / 8));
        assert_eq!(
            latest.failed_y + latest.failed_h,
            latest.ok_y,
            "failed sits on successful"
        );
        assert_eq!(c.bars[1].x, 0, "a week ago is the first slot");
        assert_eq!(c.bars[1].failed_h, HEIGHT);
        assert_eq!(chart(&counts, now).bars.len(), 2);
        assert_eq!(c.days.len(), 7);
        assert_eq!(c.days[0].label, "Nov 17");
        assert!(c.bars[0].label.contains("3 successful, 1 failed"));
    }

    #[test]
    fn an_empty_week_draws_no_bars() {
        let c = chart(&[], at("2026-11-23T09:30:00Z"));
        assert!(c.bars.is_empty());
        assert_eq!((c.succeeded, c.failed, c.max), (0, 0, 0));
    }
}
