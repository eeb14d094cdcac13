//! The `latchkey` binary: CLI parsing, configuration and wiring. Work happens in the
//! library crates.

mod cli;
mod commands;
mod config;
mod cpus;
mod output;
mod tls;
mod wiring;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;
use crate::config::{Config, Overrides};

/// mimalloc instead of the C library's allocator: the request paths allocate small
/// buffers on one thread and free them on another, which glibc's malloc handles
/// slowly.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LATCHKEY_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let overrides = Overrides {
        data_dir: cli.global.data_dir.clone(),
        database_url: cli.global.database_url.clone(),
        config: cli.global.config.clone(),
    };
    let config = match Config::load(&overrides).and_then(|config| restrict_cpus(&config).map(|()| config)) {
        Ok(config) => config,
        Err(e) => return commands::Failure::Usage(e).report(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli.command, &config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

/// Applies `[server] runtime_cpus` to this thread before the runtime starts, so that
/// its threads, and the database's, inherit it.
fn restrict_cpus(config: &Config) -> anyhow::Result<()> {
    match config.server.runtime_cpus.trim() {
        "" => Ok(()),
        list => cpus::restrict(&cpus::parse(list)?),
    }
}
