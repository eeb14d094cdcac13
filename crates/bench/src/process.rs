//! What this process has spent so far, read from `/proc`: CPU time, the hashing
//! threads' share of it, thread switches and peak memory. Linux only; elsewhere the
//! readings are zero.

use latchkey_org::login::hashing::THREAD_NAME_PREFIX;

/// CPU seconds (user + system) this process has used so far, all threads, from
/// `/proc/self/stat` (in clock ticks of 1/100 s, Linux's fixed `USER_HZ`). On a shared
/// machine the CPU time per request varies less than requests per second, which also
/// follow what the neighbours are doing.
pub fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the command name (which may contain spaces) in parentheses.
            let rest = &s[s.rfind(')')? + 2..];
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
            Some((ticks(11)? + ticks(12)?) / 100.0)
        })
        .unwrap_or(0.0)
}

/// CPU seconds the server's password-hashing threads (named by the hashing pool,
/// [`THREAD_NAME_PREFIX`]) have used so far, from each one's `schedstat` (nanoseconds on a core).
/// Over a (b) window, their share of the process's CPU time is the ratio (b)/(a) would
/// have on cores nobody else uses, if hashing in the server ran as fast as in (a): what
/// the HTTP, SQLite and load-generator threads take is the rest.
pub fn hashing_cpu_seconds() -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    let nanos: f64 = tasks
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm")).is_ok_and(|c| c.starts_with(THREAD_NAME_PREFIX))
        })
        .filter_map(|task| {
            let stat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
            stat.split_whitespace().next()?.parse::<f64>().ok()
        })
        .sum();
    nanos / 1e9
}

/// Thread switches so far, summed over this process's live threads (from
/// `/proc/self/task/*/status`). Every hand-over between threads — a query to SQLite's
/// connection thread, a hash to the hashing pool, a wake-up of a parked runtime worker —
/// costs one or two, and on cores busy hashing each one also preempts a hash. Unlike a
/// rate, their number per request hardly depends on what the neighbours are doing.
pub fn context_switches() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("status")).ok())
        .flat_map(|status| {
            status
                .lines()
                .filter(|l| l.starts_with("voluntary_ctxt_switches:") || l.starts_with("nonvoluntary_ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .collect::<Vec<_>>()
        })
        .sum()
}

/// The process's peak resident memory in MiB (`VmHWM`).
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("VmHWM:")).map(str::to_owned))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::{cpu_seconds, hashing_cpu_seconds, THREAD_NAME_PREFIX};

    /// Keeps this thread's core busy until `done` holds, or ten seconds of wall time
    /// have passed (so that a reading that never moves fails its test, not hangs it);
    /// returns how long it spun.
    fn spin_until(done: impl Fn() -> bool) -> std::time::Duration {
        let started = Instant::now();
        let mut x = 0u64;
        while !done() && started.elapsed() < std::time::Duration::from_secs(10) {
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
        }
        started.elapsed()
    }

    #[test]
    fn cpu_time_counts_work_done() {
        // Spins until the reading counts a twentieth of a second; a reading that never
        // moves fails the test instead of hanging it.
        let before = cpu_seconds();
        let spun = spin_until(|| cpu_seconds() - before >= 0.05);
        let spent = cpu_seconds() - before;
        assert!(spent >= 0.05, "{spun:?} of spinning counted as {spent} s");
    }

    #[test]
    fn hashing_time_counts_only_the_hashing_threads() {
        // A thread named as the pool names its threads spins for a twentieth of a
        // second of its own CPU time; the thread that watches it is not counted.
        let before = hashing_cpu_seconds();
        let spun = std::thread::Builder::new()
            .name(format!("{THREAD_NAME_PREFIX}test"))
            .spawn(move || {
                spin_until(|| hashing_cpu_seconds() - before >= 0.05);
                hashing_cpu_seconds() - before
            })
            .unwrap()
            .join()
            .unwrap();
        assert!(spun >= 0.05, "spinning counted as {spun} s");
        // Its task is gone with it; this thread, spinning as long, is not counted.
        let cpu = cpu_seconds();
        spin_until(|| cpu_seconds() - cpu >= 0.05);
        assert_eq!(hashing_cpu_seconds(), 0.0);
    }
}
