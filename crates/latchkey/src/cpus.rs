//! `[server] runtime_cpus`: the cores the server's own threads (the async runtime's,
//! the database connections') may run on, while the hashing threads keep every core.
//!
//! On a VM a thread woken on another core costs an inter-processor interrupt that
//! preempts whatever runs there; a login hands over between runtime and database
//! threads many times, each time to a core that is busy hashing. Kept on one core, the
//! hand-overs cost less and more of the machine goes to hashing. Off by default: where
//! wake-ups across cores are cheap, one core for the runtime halves what it can serve.
//!
//! The calling thread is restricted before the runtime starts, so that every thread
//! started later inherits the set; the threads that must not keep it (hashing, and the
//! bench's argon2 and load-generator threads, which stand for the machine and for
//! outside clients) call [`widen`] first.

use anyhow::{bail, Context};
#[cfg(target_os = "linux")]
use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
#[cfg(target_os = "linux")]
use nix::unistd::Pid;

/// The set the process had before [`restrict`], once it has been called.
#[cfg(target_os = "linux")]
static BEFORE: std::sync::OnceLock<CpuSet> = std::sync::OnceLock::new();

/// Parses a CPU list as Linux writes one: `1`, `0-3`, `0,2-3`.
pub fn parse(list: &str) -> anyhow::Result<Vec<usize>> {
    let mut cpus = Vec::new();
    for part in list.split(',').map(str::trim) {
        let (first, last) = part.split_once('-').unwrap_or((part, part));
        let number = |s: &str| {
            s.trim()
                .parse::<usize>()
                .with_context(|| format!("runtime_cpus: {part:?} is not a CPU number or range"))
        };
        let (first, last) = (number(first)?, number(last)?);
        if first > last {
            bail!("runtime_cpus: the range {part:?} runs backwards");
        }
        cpus.extend(first..=last);
    }
    Ok(cpus)
}

/// Restricts the calling thread, and every thread it starts from now on, to `cpus`
/// (see [`parse`]), remembering the set it had for [`widen`].
#[cfg(target_os = "linux")]
pub fn restrict(cpus: &[usize]) -> anyhow::Result<()> {
    if cpus.is_empty() {
        bail!("runtime_cpus: no CPU given");
    }
    let before = sched_getaffinity(Pid::from_raw(0)).context("read this process's CPUs")?;
    let mut set = CpuSet::new();
    for &cpu in cpus {
        if !before.is_set(cpu).unwrap_or(false) {
            bail!("runtime_cpus: CPU {cpu} is not one this process may run on");
        }
        set.set(cpu).context("runtime_cpus")?;
    }
    sched_setaffinity(Pid::from_raw(0), &set).context("runtime_cpus: set the CPUs")?;
    let _ = BEFORE.set(before);
    Ok(())
}

/// Gives the calling thread back the CPUs the process had before [`restrict`]; does
/// nothing when it was never called.
#[cfg(target_os = "linux")]
pub fn widen() {
    if let Some(before) = BEFORE.get() {
        if let Err(e) = sched_setaffinity(Pid::from_raw(0), before) {
            tracing::warn!(error = %e, "a thread could not be given back every CPU");
        }
    }
}

/// How many CPUs the process may use: those it had before [`restrict`] (which the
/// standard library's `available_parallelism`, reading the calling thread's set,
/// would not count).
pub fn available() -> usize {
    #[cfg(target_os = "linux")]
    if let Some(before) = BEFORE.get() {
        return (0..CpuSet::count())
            .filter(|&cpu| before.is_set(cpu).unwrap_or(false))
            .count();
    }
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}

/// Elsewhere than on Linux the setting is refused.
#[cfg(not(target_os = "linux"))]
pub fn restrict(_cpus: &[usize]) -> anyhow::Result<()> {
    bail!("runtime_cpus is supported on Linux only")
}

/// Elsewhere than on Linux there is nothing to give back.
#[cfg(not(target_os = "linux"))]
pub fn widen() {}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn parses_the_lists_linux_writes() {
        assert_eq!(parse("1").unwrap(), vec![1]);
        assert_eq!(parse("0-2").unwrap(), vec![0, 1, 2]);
        assert_eq!(parse("0, 2-3").unwrap(), vec![0, 2, 3]);
    }

    #[test]
    fn refuses_what_is_not_a_list() {
        for bad in ["", "x", "3-1", "1-", "-1", "1,,2"] {
            assert!(parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
