//! `latchkey-bench`: the benchmark harness. It builds the org server (and the hub)
//! exactly as `latchkey serve` does, from the same configuration, in this process,
//! loads it over loopback, and prints each figure beside its physical limit or its
//! peer, as `BENCHMARKS.md` records them.
//!
//! It is not part of the product: nothing here ships in the `latchkey` binary, and no
//! figure is asserted by a test (the tests check that every figure is reported).

mod load;
mod process;
mod records;
mod report;
mod sync;
mod throughput;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use latchkey::config::{Config, Overrides};

/// mimalloc, as the `latchkey` binary has, so that the server measured allocates as the
/// one that ships.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Latchkey's benchmarks: login and records throughput, and the hub's sync.
#[derive(Debug, Parser)]
#[command(name = "latchkey-bench", version, about)]
struct Cli {
    /// Data directory whose `latchkey.toml` settings the measured server takes (its
    /// data is not touched: every run works in a directory or schema of its own).
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Database URL: postgres://… (default: SQLite in a scratch directory).
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    /// Configuration file (default: ./latchkey.toml when present).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Which benchmark.
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Login throughput against the argon2 limit, and the records figures.
    Throughput(throughput::Args),
    /// The hub's sync: initial pull of many contacts, incremental sync of 10.
    Sync(sync::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    latchkey::init_tracing();
    let overrides = Overrides {
        data_dir: cli.data_dir,
        database_url: cli.database_url,
        config: cli.config,
    };
    let outcome = Config::load(&overrides)
        .and_then(|config| latchkey::restrict_cpus(&config).map(|()| config))
        .and_then(|config| {
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            runtime.block_on(async {
                match &cli.command {
                    Command::Throughput(args) => throughput::run(args, &config).await,
                    Command::Sync(args) => sync::run(args, &config).await,
                }
            })
        });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let chain: Vec<String> = e.chain().map(ToString::to_string).collect();
            eprintln!("error: {}", chain.join(": "));
            ExitCode::FAILURE
        }
    }
}
