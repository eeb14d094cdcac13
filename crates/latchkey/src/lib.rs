//! What a Latchkey process is made of: its configuration, the wiring that builds the
//! store, the org server's services and the hub from it, and the process's own setup
//! (tracing, CPU placement). The `latchkey` binary and the benchmark harness
//! (`latchkey-bench`) both start from here, so a benchmark measures the server as it
//! ships.
//!
//! It must not decide anything a service decides: it reads settings and connects parts.

pub mod config;
pub mod cpus;
pub mod wiring;

use config::Config;

/// Logs to standard error at the level `LATCHKEY_LOG` (or `RUST_LOG`) names, `warn`
/// by default.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LATCHKEY_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

/// Applies `[server] runtime_cpus` to this thread before the runtime starts, so that
/// its threads, and the database's, inherit it.
pub fn restrict_cpus(config: &Config) -> anyhow::Result<()> {
    match config.server.runtime_cpus.trim() {
        "" => Ok(()),
        list => cpus::restrict(&cpus::parse(list)?),
    }
}
