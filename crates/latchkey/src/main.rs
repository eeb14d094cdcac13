//! The `latchkey` binary: CLI parsing, configuration and wiring. Work happens in the
//! library crates.

mod cli;
mod commands;
mod output;
mod tls;

use std::process::ExitCode;

use clap::Parser;

use latchkey::config::{Config, Overrides};
use latchkey::{config, init_tracing, restrict_cpus, wiring};

use crate::cli::Cli;

/// mimalloc instead of the C library's allocator: the request paths allocate small
/// buffers on one thread and free them on another, which glibc's malloc handles
/// slowly.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
