//! `latchkey hub …`: workspaces and CRM credential records, straight against the
//! configured database. Secrets come in on standard input and never go out.

use std::io::Read;

use latchkey_hub::credentials::{CredentialInput, CredentialView};
use latchkey_hub::vault::Vault;
use latchkey_sfclient::{Client, Error as CrmError};
use secrecy::{ExposeSecret, SecretString};

use super::{usage, Failure};
use crate::cli::{CredentialCommand, HubCommand, WorkspaceCommand};
use crate::config::Config;
use crate::output;
use crate::wiring::{self, HubKeys};

/// Reads `n` lines from standard input (one per `--*-stdin` flag, in order).
fn stdin_lines(n: usize) -> Result<Vec<SecretString>, Failure> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| usage(format!("reading standard input: {e}")))?;
    let lines: Vec<SecretString> = text.lines().take(n).map(|l| SecretString::from(l.to_owned())).collect();
    drop(text);
    if lines.len() < n || lines.iter().any(|l| l.expose_secret().is_empty()) {
        return Err(usage(format!("expected {n} non-empty lines on standard input")));
    }
    Ok(lines)
}

fn print_view(v: &CredentialView) {
    let set = |b: bool| if b { "set" } else { "-" };
    println!("{}  {}  {}  ({})", v.id, v.login_url, v.username, v.method);
    println!(
        "  password: {}  security token: {}  client id: {}  client secret: {}  refresh token: {}  updated: {}",
        set(v.password_set),
        set(v.security_token_set),
        v.client_id.as_deref().unwrap_or("-"),
        set(v.client_secret_set),
        set(v.refresh_token_set),
        v.updated_at
    );
}

pub async fn run(cmd: HubCommand, config: &Config) -> Result<(), Failure> {
    if let HubCommand::RotateKey = cmd {
        return rotate_key(config).await;
    }
    let (vault, _) = wiring::hub_vault(config)?;
    let hub = wiring::hub_with(config, vault).await?;
    match cmd {
        HubCommand::Workspace(WorkspaceCommand::Create { name }) => {
            let ws = hub.create_workspace(&name).await?;
            println!("{}", ws.id);
        }
        HubCommand::Workspace(WorkspaceCommand::List { json }) => {
            let all = hub.workspaces().await?;
            if json {
                let rows: Vec<_> = all
                    .iter()
                    .map(|w| serde_json::json!({"id": w.id, "name": w.name}))
                    .collect();
                output::json(&rows)?;
            } else {
                for w in &all {
                    println!("{}  {}", w.id, w.name);
                }
            }
        }
        HubCommand::Credential(CredentialCommand::Set {
            workspace,
            login_url,
            username,
            password_stdin,
            token_stdin,
            client_id,
            client_secret_stdin,
            refresh_token_stdin,
        }) => {
            let flags = [password_stdin, token_stdin, client_secret_stdin, refresh_token_stdin];
            let mut lines = stdin_lines(flags.iter().filter(|f| **f).count())?.into_iter();
            let mut take = |flag: bool| if flag { lines.next() } else { None };
            let input = CredentialInput {
                login_url,
                username,
                password: take(password_stdin),
                security_token: take(token_stdin),
                client_id,
                client_secret: take(client_secret_stdin),
                refresh_token: take(refresh_token_stdin),
            };
            let view = hub.set_credential(&workspace, input).await?;
            print_view(&view);
        }
        HubCommand::Credential(CredentialCommand::Show { workspace, json }) => {
            let views = hub.credential_views(&workspace).await?;
            if json {
                output::json(&views)?;
            } else {
                views.iter().for_each(print_view);
            }
        }
        HubCommand::Credential(CredentialCommand::Test {
            workspace,
            login_url,
            ca,
        }) => {
            let (url, credentials) = hub.login_credentials(&workspace, login_url.as_deref()).await?;
            let pem = match &ca {
                Some(path) => Some(std::fs::read(path).map_err(|e| usage(format!("reading {}: {e}", path.display())))?),
                None => None,
            };
            let client = Client::new(&url, credentials, pem.as_deref()).map_err(|e| usage(e.to_string()))?;
            match client.connect().await {
                Ok(()) => println!("connected to {url}"),
                Err(e @ CrmError::CredentialsRejected { .. }) => {
                    return Err(usage(format!(
                        "the CRM rejected the credentials ({e}); enter the new password and security token"
                    )))
                }
                Err(e) => return Err(Failure::Internal(anyhow::anyhow!("could not reach the CRM: {e}"))),
            }
        }
        HubCommand::RotateKey => unreachable!("handled above"),
    }
    Ok(())
}

/// Seals every record under a new key. With a key file: the new key is added in front
/// of the old ones first (so every record opens whatever happens next), the records are
/// re-sealed in one transaction, then the old keys are dropped from the file. With
/// `LATCHKEY_HUB_KEY`: the first key listed is the new one; drop the others afterwards.
async fn rotate_key(config: &Config) -> Result<(), Failure> {
    let (vault, keys) = wiring::hub_vault(config)?;
    match keys {
        HubKeys::Env => {
            let hub = wiring::hub_with(config, vault).await?;
            let n = hub.reseal_all().await?;
            println!(
                "re-sealed {n} credential records under key {}; remove the older keys from LATCHKEY_HUB_KEY",
                hub.vault.current_id()
            );
        }
        HubKeys::File(path) => {
            let old = std::fs::read_to_string(&path).map_err(anyhow::Error::from)?;
            let new = Vault::generate_key();
            let both = format!("{}\n{}", new.as_str(), old.trim());
            wiring::replace_private(&path, &both)?;
            let hub = wiring::hub_with(config, Vault::from_encoded(&both).map_err(anyhow::Error::from)?).await?;
            let n = hub.reseal_all().await?;
            wiring::replace_private(&path, &format!("{}\n", new.as_str()))?;
            println!("re-sealed {n} credential records under key {}", hub.vault.current_id());
        }
    }
    Ok(())
}
