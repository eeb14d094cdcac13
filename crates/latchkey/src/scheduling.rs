//! How the operating system schedules the process's threads (`[server] scheduling`).
//!
//! A login server spends nearly all of its CPU in argon2id, and every other thread
//! (the HTTP workers, SQLite's, the group commit) wakes several times per login. Under
//! the normal policy each such wake-up preempts a running hash at once, so a login
//! costs about twenty thread switches. Under Linux's `SCHED_BATCH` a thread that wakes
//! does not preempt: it runs when a core falls free or the running thread's slice ends,
//! and wake-ups come in batches (BENCHMARKS.md: half the switches per login). The price
//! is latency, not throughput: while the cores are busy hashing, a request may wait up
//! to a scheduler tick (4 ms at 250 Hz) at each hand-over; on idle cores it waits for
//! nothing.

use serde::{Deserialize, Serialize};

/// The scheduling policy of the process's threads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheduling {
    /// The system's time sharing (`SCHED_OTHER`): a thread that wakes may preempt the
    /// one running.
    #[default]
    Normal,
    /// Linux's `SCHED_BATCH`: a thread that wakes waits for a free core or the end of the
    /// running thread's slice.
    Batch,
}

impl Scheduling {
    /// Parses a setting's text (`normal`, `batch`).
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        match text {
            "normal" => Ok(Self::Normal),
            "batch" => Ok(Self::Batch),
            other => anyhow::bail!("scheduling must be normal or batch, not {other:?}"),
        }
    }

    /// Puts the calling thread under this policy, keeping its nice value; threads it
    /// starts afterwards inherit the policy. Call it before the runtime starts its
    /// threads, so that every thread of the process shares it.
    pub fn apply_to_current_thread(self) -> anyhow::Result<()> {
        os::apply(self)
    }

    /// The calling thread's policy, when it is one of these.
    #[cfg(test)]
    pub fn of_current_thread() -> anyhow::Result<Self> {
        os::current()
    }
}

#[cfg(target_os = "linux")]
mod os {
    use thread_priority::{
        set_thread_priority_and_policy, thread_native_id, NormalThreadSchedulePolicy, ThreadPriority,
        ThreadPriorityValue, ThreadSchedulePolicy,
    };

    use super::Scheduling;

    pub(super) fn apply(scheduling: Scheduling) -> anyhow::Result<()> {
        let policy = ThreadSchedulePolicy::Normal(match scheduling {
            Scheduling::Normal => NormalThreadSchedulePolicy::Other,
            Scheduling::Batch => NormalThreadSchedulePolicy::Batch,
        });
        // For the normal policies the crate sets the nice value as well: give it the
        // thread's own, so that `nice latchkey serve` stays nice.
        let nice = nice_of_current_thread()?;
        let priority = (0..=u8::from(ThreadPriorityValue::MAX))
            .filter_map(|p| ThreadPriorityValue::try_from(p).ok().map(ThreadPriority::Crossplatform))
            .find(|p| p.to_posix(policy).ok() == Some(nice))
            .ok_or_else(|| anyhow::anyhow!("nice value {nice} has no priority to keep it"))?;
        set_thread_priority_and_policy(thread_native_id(), priority, policy)
            .map_err(|e| anyhow::anyhow!("cannot set the {scheduling:?} scheduling policy: {e:?}"))
    }

    #[cfg(test)]
    pub(super) fn current() -> anyhow::Result<Scheduling> {
        match thread_priority::thread_schedule_policy()
            .map_err(|e| anyhow::anyhow!("cannot read the scheduling policy: {e:?}"))?
        {
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Batch) => Ok(Scheduling::Batch),
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other) => Ok(Scheduling::Normal),
            other => anyhow::bail!("the thread runs under {other:?}, neither normal nor batch"),
        }
    }

    /// The calling thread's nice value, field 19 of `/proc/thread-self/stat` (the
    /// fields after the command's closing parenthesis start at field 3).
    pub(super) fn nice_of_current_thread() -> anyhow::Result<i32> {
        let stat = std::fs::read_to_string("/proc/thread-self/stat")?;
        stat.rsplit_once(')')
            .and_then(|(_, fields)| fields.split_whitespace().nth(19 - 3))
            .and_then(|nice| nice.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("no nice value in /proc/thread-self/stat"))
    }
}

#[cfg(not(target_os = "linux"))]
mod os {
    use super::Scheduling;

    pub(super) fn apply(scheduling: Scheduling) -> anyhow::Result<()> {
        match scheduling {
            Scheduling::Normal => Ok(()),
            Scheduling::Batch => anyhow::bail!("batch scheduling needs Linux"),
        }
    }

    #[cfg(test)]
    pub(super) fn current() -> anyhow::Result<Scheduling> {
        Ok(Scheduling::Normal)
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::Scheduling;

    /// Runs `f` on a thread of its own, so that the test runner's thread keeps its policy.
    fn on_own_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::spawn(f)
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    }

    #[test]
    fn batch_is_set_inherited_by_new_threads_and_undone() {
        let seen = on_own_thread(|| {
            let before = Scheduling::of_current_thread()?;
            Scheduling::Batch.apply_to_current_thread()?;
            let own = Scheduling::of_current_thread()?;
            let child = on_own_thread(Scheduling::of_current_thread)?;
            Scheduling::Normal.apply_to_current_thread()?;
            let after = Scheduling::of_current_thread()?;
            anyhow::Ok((before, own, child, after))
        });
        let (before, own, child, after) = seen.unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(before, Scheduling::Normal);
        assert_eq!((own, child), (Scheduling::Batch, Scheduling::Batch));
        assert_eq!(after, Scheduling::Normal);
    }

    #[test]
    fn the_nice_value_is_kept() {
        let seen = on_own_thread(|| {
            // The lowest priority, nice 19, which any process may take.
            thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Min)
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let before = super::os::nice_of_current_thread()?;
            Scheduling::Batch.apply_to_current_thread()?;
            let batch = super::os::nice_of_current_thread()?;
            Scheduling::Normal.apply_to_current_thread()?;
            anyhow::Ok((before, batch, super::os::nice_of_current_thread()?))
        });
        assert_eq!(seen.unwrap_or_else(|e| panic!("{e:#}")), (19, 19, 19));
    }

    #[test]
    fn settings_parse() {
        assert_eq!(Scheduling::parse("batch").ok(), Some(Scheduling::Batch));
        assert_eq!(Scheduling::parse("normal").ok(), Some(Scheduling::Normal));
        let e = Scheduling::parse("fifo").err().map(|e| e.to_string());
        assert_eq!(e.as_deref(), Some("scheduling must be normal or batch, not \"fifo\""));
    }
}
