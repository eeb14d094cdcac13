//! Command handlers. Each returns a [`Failure`] that decides the exit status: 2 for
//! bad input (unknown user, malformed range, a value outside its set), 3 when an org
//! refused the desktop client's credentials, 1 for anything else. Messages are one
//! line (but the explanation of refused credentials) and never carry a secret.

mod client;
mod client_oauth;
mod demo;
mod hub;
mod hub_contacts;
mod mail;
mod org;
mod serve;
mod webhooks;

use std::io::Read;
use std::process::ExitCode;

use latchkey_org::AccountError;
use secrecy::SecretString;

use crate::cli::Command;
use crate::config::Config;

/// Why a command failed.
#[derive(Debug)]
pub enum Failure {
    /// The input was wrong; exit status 2.
    Usage(anyhow::Error),
    /// Something else broke; exit status 1.
    Internal(anyhow::Error),
    /// An org refused the credentials; the explanation is printed as it is; exit status 3.
    Refused(String),
}

impl Failure {
    /// Prints the error on one line and returns the exit status.
    pub fn report(self) -> ExitCode {
        let (e, code) = match self {
            Self::Usage(e) => (e, 2),
            Self::Internal(e) => (e, 1),
            Self::Refused(explanation) => {
                eprintln!("{explanation}");
                return ExitCode::from(3);
            }
        };
        let chain: Vec<String> = e.chain().map(ToString::to_string).collect();
        eprintln!("error: {}", chain.join(": "));
        ExitCode::from(code)
    }
}

impl From<AccountError> for Failure {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Store(_) | AccountError::Hash => Self::Internal(e.into()),
            _ => Self::Usage(e.into()),
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Self::Internal(e)
    }
}

impl From<latchkey_store::StoreError> for Failure {
    fn from(e: latchkey_store::StoreError) -> Self {
        Self::Internal(e.into())
    }
}

impl From<latchkey_hub::HubError> for Failure {
    fn from(e: latchkey_hub::HubError) -> Self {
        match e {
            latchkey_hub::HubError::Store(_) => Self::Internal(e.into()),
            _ => Self::Usage(e.into()),
        }
    }
}

/// A bad-input failure with `message`.
pub fn usage(message: impl Into<String>) -> Failure {
    Failure::Usage(anyhow::anyhow!(message.into()))
}

/// Reads a password from standard input: the first line, without its line ending.
pub fn read_password_stdin() -> Result<SecretString, Failure> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| usage(format!("reading the password from standard input: {e}")))?;
    let line = text.lines().next().unwrap_or_default().to_owned();
    drop(text);
    if line.is_empty() {
        return Err(usage("no password on standard input"));
    }
    Ok(SecretString::from(line))
}

/// Runs one command.
pub async fn run(command: Command, config: &Config) -> Result<(), Failure> {
    match command {
        Command::Demo(args) => demo::run(&args, config).await,
        Command::Serve(args) => serve::run(&args, config).await,
        Command::Healthcheck { url, ca } => serve::healthcheck(&url, ca.as_deref()).await,
        Command::Migrate => {
            let store = crate::wiring::store(config).await?;
            println!("database is up to date ({:?})", store.backend());
            Ok(())
        }
        Command::HashPassword { .. } => {
            let password = read_password_stdin()?;
            let pool = latchkey_org::login::hashing::HashPool::new(config.hashing.params(), 1)?;
            println!("{}", pool.hash(&password).await?.as_str());
            Ok(())
        }
        Command::Mail(cmd) => mail::run(cmd, config).await,
        Command::Org(cmd) => org::run(cmd, config).await,
        Command::Hub(cmd) => hub::run(cmd, config).await,
        Command::Client(args) => client::run(args).await,
    }
}
