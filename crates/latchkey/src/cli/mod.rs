//! The command line: the product and the operator's toolbox.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

mod client;
mod hub;
mod org;

pub use client::*;
pub use hub::*;
pub use org::*;

/// Latchkey: an org server that never lets a password reset silently break an
/// integration, and the tools to run it.
#[derive(Debug, Parser)]
#[command(name = "latchkey", version, about)]
pub struct Cli {
    /// Global options.
    #[command(flatten)]
    pub global: Global,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// Data directory (embedded database, mail folder, keys).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL: postgres://… (default: SQLite in the data directory).
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Configuration file (default: ./latchkey.toml when present).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Set up a demo org (administrator, standard user, connected app), print how to
    /// use it, and run the server.
    Demo(ServeArgs),
    /// Run the org server until SIGTERM or Ctrl-C.
    Serve(ServeArgs),
    /// Exit 0 when the server at URL answers its health check.
    Healthcheck {
        /// Base URL of the server.
        #[arg(long, default_value = "http://127.0.0.1:8440")]
        url: String,
        /// CA certificate to trust for an https:// URL.
        #[arg(long, value_name = "PEM")]
        ca: Option<PathBuf>,
    },
    /// Apply database migrations.
    Migrate,
    /// Hash a password read from standard input and print the PHC string.
    HashPassword {
        /// Read the password from standard input (required; passwords never go in argv).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// The embedded mail folder and the outbox.
    #[command(subcommand)]
    Mail(MailCommand),
    /// Administer orgs, users, policies and network access.
    #[command(subcommand)]
    Org(OrgCommand),
    /// The integration hub: workspaces and their CRM credential records.
    #[command(subcommand)]
    Hub(HubCommand),
    /// The desktop client: one user's CRM login, and contacts from vCards.
    Client(ClientArgs),
}

/// Listener options.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address of the org server's listener (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8440")]
    pub org_listen: std::net::SocketAddr,
    /// TLS certificate chain (PEM); with --tls-key, serve HTTPS.
    #[arg(long, value_name = "PEM")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, value_name = "PEM")]
    pub tls_key: Option<PathBuf>,
    /// demo only: serve plain HTTP instead of HTTPS with the demo CA.
    #[arg(long)]
    pub plain_http: bool,
}

/// `latchkey mail …`
#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// List the messages in the mail folder.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one message.
    Show {
        /// Message id, as `mail list` prints it.
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Deliver every due message in the outbox now.
    Deliver,
    /// Send a test message to ADDRESS through the configured transport, and say
    /// whether the relay takes it (exit 1 with the relay's answer if not).
    SendTest {
        /// Recipient.
        address: String,
    },
}
