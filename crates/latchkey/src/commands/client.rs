//! `latchkey client …`: the desktop client for one person at a terminal. Secrets are
//! asked for without echo (or read from standard input by scripts) and never printed.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::Path;

use chrono::{DateTime, Utc};
use latchkey_desktop::connect::{self, NewSettings};
use latchkey_desktop::profile::Profile;
use latchkey_desktop::profile::Storage;
use latchkey_desktop::save::Saved;
use latchkey_desktop::secrets::{Preference, Secrets};
use latchkey_desktop::{save, sync, DesktopError};
use secrecy::SecretString;

use super::{client_oauth, usage, Failure};
use crate::cli::{ClientArgs, ClientCommand, ContactCommand, StorageChoice};

impl From<DesktopError> for Failure {
    fn from(e: DesktopError) -> Self {
        match e {
            DesktopError::Rejected(text) | DesktopError::Refused(text) => Self::Refused(text),
            DesktopError::Invalid(_) | DesktopError::NoSettings | DesktopError::Crm(_) => Self::Usage(e.into()),
            DesktopError::Transient(_) | DesktopError::Local(_) => Self::Internal(e.into()),
        }
    }
}

/// Runs a client command.
pub async fn run(args: ClientArgs) -> Result<(), Failure> {
    let dir = match args.dir.or_else(Profile::default_dir) {
        Some(dir) => dir,
        None => return Err(usage("no configuration directory is known here: give --dir")),
    };
    let profile = Profile::at(dir);
    match args.command {
        ClientCommand::Settings {
            login_url,
            username,
            password_stdin,
            token_stdin,
            ca_file,
            storage,
            oauth,
            client_id,
            no_browser,
        } => {
            let entered = Entered {
                login_url,
                username,
                password_stdin,
                token_stdin,
                oauth: oauth.then_some(client_id).flatten(),
                browser: !no_browser,
            };
            settings(&profile, entered, ca_file, storage).await
        }
        ClientCommand::Status => status(&profile).await,
        ClientCommand::Contact(ContactCommand::Save { file }) => save_file(&profile, &file).await,
        ClientCommand::Contact(ContactCommand::Sync { folder }) => sync_folder(&profile, &folder).await,
    }
}

/// What the command line gave for the settings.
struct Entered {
    login_url: Option<String>,
    username: Option<String>,
    password_stdin: bool,
    token_stdin: bool,
    /// The client id, when connecting by OAuth.
    oauth: Option<String>,
    /// Whether to start the system browser (OAuth).
    browser: bool,
}

/// Asks for one line, showing `default`; returns the default for an empty answer.
fn ask(question: &str, default: Option<&str>) -> Result<String, Failure> {
    if !std::io::stdin().is_terminal() {
        return Err(usage(format!(
            "{question}: not given, and standard input is not a terminal to ask at"
        )));
    }
    match default {
        Some(d) => print!("{question} [{d}]: "),
        None => print!("{question}: "),
    }
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| usage(format!("reading {question}: {e}")))?;
    match (line.trim(), default) {
        ("", Some(d)) => Ok(d.to_owned()),
        (answer, _) => Ok(answer.to_owned()),
    }
}

/// Asks for a secret without echo.
fn ask_secret(question: &str) -> Result<SecretString, Failure> {
    rpassword::prompt_password(format!("{question}: "))
        .map(SecretString::from)
        .map_err(|e| {
            usage(format!(
                "cannot ask for the {question} (no terminal?): {e}; use the --*-stdin flags"
            ))
        })
}

/// The secrets: from standard input where the flags say, else asked for without echo.
fn read_secrets(entered: &Entered) -> Result<Secrets, Failure> {
    let mut lines = Vec::new();
    if entered.password_stdin || entered.token_stdin {
        let mut text = zeroize::Zeroizing::new(String::new());
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| usage(format!("reading standard input: {e}")))?;
        lines = text.lines().map(|l| SecretString::from(l.to_owned())).collect();
    }
    let mut lines = lines.into_iter();
    let password = if entered.password_stdin {
        lines.next().ok_or_else(|| usage("no password on standard input"))?
    } else {
        ask_secret("Password")?
    };
    let security_token = if entered.token_stdin {
        lines.next().unwrap_or_else(|| SecretString::from(String::new()))
    } else {
        ask_secret("Security token (from the e-mail sent at your last password change; empty on a trusted network)")?
    };
    Ok(Secrets::password(password, security_token))
}

async fn settings(
    profile: &Profile,
    entered: Entered,
    ca_file: Option<std::path::PathBuf>,
    storage: StorageChoice,
) -> Result<(), Failure> {
    let old = profile.settings()?;
    let login_url = match &entered.login_url {
        Some(url) => url.clone(),
        None => ask("Login URL", old.as_ref().map(|s| s.login_url.as_str()))?,
    };
    let ca_file = ca_file.or_else(|| old.as_ref().and_then(|s| s.ca_file.clone()));
    let (username, secrets) = match &entered.oauth {
        Some(client_id) => {
            let ca = match &ca_file {
                Some(path) => {
                    Some(std::fs::read(path).map_err(|e| usage(format!("cannot read {}: {e}", path.display())))?)
                }
                None => None,
            };
            let refresh = client_oauth::authorize(&login_url, client_id, ca.as_deref(), entered.browser).await?;
            (String::new(), Secrets::oauth(refresh))
        }
        None => {
            let username = match &entered.username {
                Some(name) => name.clone(),
                None => ask("Username", old.as_ref().map(|s| s.username.as_str()))?,
            };
            (username, read_secrets(&entered)?)
        }
    };
    let preference = match storage {
        StorageChoice::Auto => Preference::Auto,
        StorageChoice::Keyring => Preference::Keyring,
        StorageChoice::File => Preference::File,
    };
    println!("Checking with one login…");
    let saved = connect::save_settings(
        profile,
        NewSettings {
            login_url,
            username,
            ca_file,
            client_id: entered.oauth.clone(),
            secrets,
            preference,
        },
    )
    .await?;
    println!("Logged in as {} ({}).", saved.me.name, saved.me.username);
    println!("Settings saved in {}.", profile.dir().display());
    println!("{}", saved.placement.description);
    Ok(())
}

fn ago(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let days = (now - then).num_days();
    match days {
        0 => "today".to_owned(),
        1 => "1 day ago".to_owned(),
        d => format!("{d} days ago"),
    }
}

async fn status(profile: &Profile) -> Result<(), Failure> {
    let settings = profile.settings()?.ok_or(DesktopError::NoSettings)?;
    let now = profile.now();
    println!("Login URL:       {}", settings.login_url);
    println!("Username:        {}", settings.username);
    if let Some(client_id) = &settings.client_id {
        println!("Connected by:    OAuth (app {client_id}); no password is held, so a password change does not stop this client");
    }
    println!(
        "Secrets:         {}",
        match settings.storage {
            Storage::Keyring => "in the system keyring".to_owned(),
            Storage::File => format!("sealed in {}", profile.secrets_path().display()),
        }
    );
    let what = if settings.client_id.is_some() {
        "OAuth token:     issued"
    } else {
        "Security token:  entered"
    };
    println!(
        "{what} {} ({})",
        settings.saved_at.format("%Y-%m-%d %H:%M UTC"),
        ago(settings.saved_at, now)
    );
    let connection = connect::connect(profile).await?;
    println!(
        "Logged in as:    {} ({}; user {}, org {})",
        connection.me.name, connection.me.username, connection.me.user_id, connection.me.organization_id
    );
    let expiry = connection.me.password_expires_at.as_deref().map(|text| {
        match DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z") {
            Ok(at) => {
                let days = (at.with_timezone(&Utc) - now).num_days();
                let when = if days < 0 {
                    "expired".to_owned()
                } else {
                    format!("in {days} days")
                };
                format!(
                    "expires {} ({when}); the security token changes with it — update these settings then",
                    at.format("%Y-%m-%d")
                )
            }
            Err(_) => format!("expires {text}"),
        }
    });
    println!(
        "Password:        {}",
        expiry.unwrap_or_else(|| "no expiry reported by the server".to_owned())
    );
    Ok(())
}

async fn save_file(profile: &Profile, file: &Path) -> Result<(), Failure> {
    let (name, text) = if file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| usage(format!("reading standard input: {e}")))?;
        ("<stdin>".to_owned(), text)
    } else {
        let bytes = std::fs::read(file).map_err(|e| usage(format!("cannot read {}: {e}", file.display())))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| usage(format!("{} is not UTF-8 text; save it as UTF-8", file.display())))?;
        (file.display().to_string(), text)
    };
    let connection = connect::connect(profile).await?;
    let report = save::save(&connection, &text).await?;
    for outcome in &report.outcomes {
        match &outcome.result {
            Ok(Saved::Created(id)) => println!("{name}:{}: created {id} {}", outcome.line, outcome.name),
            Ok(Saved::Updated(id)) => println!("{name}:{}: updated {id} {}", outcome.line, outcome.name),
            Err(why) => eprintln!("{name}:{}: not saved: {} ({why})", outcome.line, outcome.name),
        }
    }
    for error in &report.errors {
        eprintln!("{name}:{}: not saved: {}", error.line, error.message);
    }
    let saved = report.outcomes.iter().filter(|o| o.result.is_ok()).count();
    let total = report.outcomes.len() + report.errors.len();
    println!("Saved {saved} of {total} card(s).");
    if report.all_saved() {
        Ok(())
    } else {
        Err(usage(format!("{} card(s) not saved", total - saved)))
    }
}

async fn sync_folder(profile: &Profile, folder: &Path) -> Result<(), Failure> {
    std::fs::create_dir_all(folder).map_err(|e| usage(format!("cannot create {}: {e}", folder.display())))?;
    let connection = connect::connect(profile).await?;
    println!(
        "Syncing {} with the contacts of {}…",
        folder.display(),
        connection.me.username
    );
    let summary = sync::sync(&connection, folder).await?;
    println!("{summary}");
    if summary.problems.is_empty() {
        Ok(())
    } else {
        Err(usage(format!(
            "{} item(s) not synced; they are tried again next time",
            summary.problems.len()
        )))
    }
}
