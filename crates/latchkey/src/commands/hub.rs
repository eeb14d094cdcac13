//! `latchkey hub …`: workspaces and CRM credential records, straight against the
//! configured database. Secrets come in on standard input and never go out.

use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use latchkey_hub::credentials::{CredentialInput, CredentialView};
use latchkey_hub::guard::{read_ca, ConnectorSpec, GuardError};
use latchkey_hub::scheduler::Schedule;
use latchkey_hub::sync::{Progress, SyncReport};
use latchkey_hub::vault::Vault;
use latchkey_hub::Hub;
use latchkey_store::hub::sync::SyncRun;
use latchkey_store::hub::Connector;
use secrecy::{ExposeSecret, SecretString};

use super::{usage, Failure};
use crate::cli::{ConnectorCommand, CredentialCommand, CredentialSet, HubCommand, HubUserCommand, WorkspaceCommand};
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
        "  password: {}  security token: {}  client id: {}  client secret: {}  refresh token: {}  webhook secret: {}  updated: {}",
        set(v.password_set),
        set(v.security_token_set),
        v.client_id.as_deref().unwrap_or("-"),
        set(v.client_secret_set),
        set(v.refresh_token_set),
        set(v.webhook_secret_set),
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
        HubCommand::Credential(cmd) => credential(cmd, &hub, config).await?,
        HubCommand::Connector(cmd) => {
            let result = connector(cmd, &hub).await;
            // A suspension queued mail for the owners: send it now.
            deliver(config).await?;
            result?;
        }
        HubCommand::User(HubUserCommand::Create {
            workspace, email, role, ..
        }) => {
            let password = super::read_password_stdin()?;
            println!("{}", hub.create_user(&workspace, &email, &role, &password).await?);
        }
        HubCommand::User(HubUserCommand::SetPassword { workspace, email, .. }) => {
            let password = super::read_password_stdin()?;
            let ended = hub.set_user_password(&workspace, &email, &password).await?;
            println!("password set; {}", sessions_ended(ended));
        }
        HubCommand::User(HubUserCommand::EndSessions { workspace, email }) => {
            let ended = hub.end_user_sessions(&workspace, &email).await?;
            println!("{}", sessions_ended(ended));
        }
        HubCommand::Contacts(cmd) => super::hub_contacts::run(cmd, &hub).await?,
        HubCommand::Run {
            ca,
            tick,
            concurrency,
            listen,
        } => {
            run_connectors(
                &hub,
                ca,
                &tick,
                concurrency,
                listen.map(|a| (a, config.listener.limits())),
            )
            .await?
        }
        HubCommand::RotateKey => unreachable!("handled above"),
    }
    Ok(())
}

/// `hub credential …`.
async fn credential(cmd: CredentialCommand, hub: &Hub, config: &Config) -> Result<(), Failure> {
    match cmd {
        CredentialCommand::Set(set) => credential_set(hub, config, set).await?,
        CredentialCommand::Webhook {
            workspace,
            login_url,
            remove,
        } => {
            let secret = if remove {
                None
            } else {
                stdin_lines(1)?.into_iter().next()
            };
            let id = hub
                .set_webhook_secret(&workspace, login_url.as_deref(), secret.as_ref())
                .await?;
            if remove {
                println!("webhook secret removed from record {id}");
            } else {
                println!("/webhooks/{id}");
                eprintln!(
                    "register this path under the hub's --listen URL at the org (latchkey org webhook add --url …)"
                );
            }
        }
        CredentialCommand::Show { workspace, json } => {
            let views = hub.credential_views(&workspace).await?;
            if json {
                output::json(&views)?;
            } else {
                views.iter().for_each(print_view);
            }
        }
        CredentialCommand::Test {
            workspace,
            login_url,
            ca,
            confirm,
        } => {
            let pem = read_ca(ca.as_ref()).map_err(|e| usage(format!("reading the CA file: {e}")))?;
            let result = hub
                .test_credential(&workspace, login_url.as_deref(), pem.as_deref(), confirm)
                .await;
            deliver(config).await?;
            println!("connected to {}", result.map_err(guard_failure)?);
        }
    }
    Ok(())
}

/// `hub credential set`: saves the record, then tests it when connectors are suspended.
async fn credential_set(hub: &Hub, config: &Config, set: CredentialSet) -> Result<(), Failure> {
    let CredentialSet {
        workspace,
        login_url,
        username,
        password_stdin,
        token_stdin,
        client_id,
        client_secret_stdin,
        refresh_token_stdin,
        jwt_key_file,
        ca,
        confirm,
    } = set;
    let jwt_private_key = match &jwt_key_file {
        Some(path) => Some(SecretString::from(
            std::fs::read_to_string(path).map_err(|e| usage(format!("cannot read {}: {e}", path.display())))?,
        )),
        None => None,
    };
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
        jwt_private_key,
    };
    let saved = hub.set_credential(&workspace, input).await?;
    if let Some(note) = saved.trimmed_note() {
        eprintln!("{note}");
    }
    let view = saved.view;
    print_view(&view);
    let pem = read_ca(ca.as_ref()).map_err(|e| usage(format!("reading the CA file: {e}")))?;
    let verdict = hub
        .resume_after_change(&workspace, &view.login_url, pem.as_deref(), confirm)
        .await?;
    deliver(config).await?;
    match verdict {
        None => {}
        Some(Ok(())) => println!("the new credentials work: suspended connectors resumed"),
        Some(Err(e)) => return Err(guard_failure(e)),
    }
    Ok(())
}

/// Sends what the guard queued for the owners (through the configured transport).
async fn deliver(config: &Config) -> Result<(), Failure> {
    let services = wiring::services(config).await?;
    super::mail::deliver_now(&services, config).await
}

/// A guard verdict as a failure: rejections and bad input are the user's to fix (2),
/// the rest exit 1.
fn guard_failure(e: GuardError) -> Failure {
    match e {
        GuardError::Unconfirmed { .. } => usage(format!("not tested: {e} (--confirm)")),
        GuardError::Suspended(_)
        | GuardError::Rejected(_)
        | GuardError::LoginUnavailable(_)
        | GuardError::Crm(_)
        | GuardError::Budget { .. } => usage(e.to_string()),
        GuardError::Hub(e) => e.into(),
        GuardError::Transient(_) | GuardError::Waiting => Failure::Internal(e.into()),
    }
}

/// "1 session ended", "3 sessions ended".
fn sessions_ended(n: u64) -> String {
    format!("{n} session{} ended", if n == 1 { "" } else { "s" })
}

/// `60s`, `5m`, `1h` (or plain seconds) in seconds.
fn parse_interval(text: &str) -> Result<i64, Failure> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => text.split_at(i),
        None => (text, "s"),
    };
    let n: i64 = number
        .parse()
        .map_err(|_| usage(format!("interval {text:?}: use 60s, 5m or 1h")))?;
    match unit {
        "s" => Ok(n),
        "m" => Ok(n * 60),
        "h" => Ok(n * 3600),
        _ => Err(usage(format!("interval {text:?}: use 60s, 5m or 1h"))),
    }
}

/// `latchkey hub run`: the scheduler until SIGTERM or Ctrl-C.
async fn run_connectors(
    hub: &Hub,
    ca: Option<std::path::PathBuf>,
    tick: &str,
    concurrency: u16,
    listen: Option<(std::net::SocketAddr, latchkey_web::listener::Limits)>,
) -> Result<(), Failure> {
    let pem: Option<std::sync::Arc<[u8]>> = read_ca(ca.as_ref())
        .map_err(|e| usage(format!("reading the CA file: {e}")))?
        .map(Into::into);
    let server = match listen {
        Some((addr, limits)) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| usage(format!("cannot listen on {addr}: {e}")))?;
            let base_url = format!("http://{}", listener.local_addr().context("listener address")?);
            println!("hub: {base_url}");
            let app = latchkey_hub::http::router(latchkey_hub::http::ui::Web {
                hub: hub.clone(),
                ca: pem.clone(),
                login_rate: latchkey_web::LoginRateLimit::per_minute(latchkey_hub::http::ui::LOGINS_PER_MINUTE),
                base_url,
            });
            Some(tokio::spawn(latchkey_web::listener::serve(
                listener,
                None,
                app,
                limits,
                super::serve::shutdown_signal(),
            )))
        }
        None => None,
    };
    let secs = parse_interval(tick)?;
    if !(1..=3600).contains(&secs) {
        return Err(usage("--tick must be between 1s and 1h"));
    }
    let schedule = Schedule {
        tick: std::time::Duration::from_secs(secs.unsigned_abs()),
        concurrency: usize::from(concurrency),
        ca: pem,
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let scheduler = {
        let hub = hub.clone();
        tokio::spawn(async move { hub.run_connectors(schedule, stop_rx).await })
    };
    println!("hub: running connectors (looking every {secs}s, at most {concurrency} at once)");
    super::serve::shutdown_signal().await;
    let _ = stop_tx.send(true);
    scheduler
        .await
        .map_err(|e| anyhow::anyhow!("the scheduler ended abnormally: {e}"))?;
    if let Some(server) = server {
        server
            .await
            .map_err(|e| anyhow::anyhow!("the hub's listener ended abnormally: {e}"))?
            .context("serving the hub")?;
    }
    eprintln!("hub stopped");
    Ok(())
}

fn connector_json(c: &Connector) -> serde_json::Value {
    serde_json::json!({
        "name": c.name, "object": c.object, "direction": c.direction, "every_seconds": c.interval_secs,
        "state": c.state, "last_error": c.last_error,
        "next_run_at": c.next_run_at.map(|t| t.to_rfc3339()), "failures_in_a_row": c.failures,
        "field_map": c.field_map,
    })
}

fn run_json(r: &SyncRun) -> serde_json::Value {
    serde_json::json!({
        "started_at": r.started_at.to_rfc3339(), "finished_at": r.finished_at.to_rfc3339(),
        "outcome": r.outcome, "records_in": r.records_in, "records_out": r.records_out, "error": r.error,
    })
}

/// One sync, with a progress bar on a terminal (nothing drawn otherwise).
async fn sync_with_progress(hub: &Hub, workspace: &str, name: &str, ca: Option<&[u8]>) -> Result<SyncReport, Failure> {
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{msg:>8} [{bar:40}] {pos}/{len}")
            .map_err(|e| Failure::Internal(e.into()))?
            .progress_chars("=> "),
    );
    let show = |p: Progress| {
        let (what, done, total) = match p {
            Progress::Pulled(done, total) => ("pulling", done, total),
            Progress::Pushed(done, total) => ("pushing", done, total),
        };
        bar.set_message(what);
        bar.set_length(total);
        bar.set_position(done);
    };
    let report = hub.sync(workspace, name, ca, &show).await.map_err(guard_failure);
    bar.finish_and_clear();
    report
}

fn print_connector(c: &Connector) {
    println!(
        "{:<24} {:<8} {:<5} every {:>5}s  {}{}",
        c.name,
        c.object,
        c.direction,
        c.interval_secs,
        c.state,
        c.last_error.as_deref().map(|e| format!("  — {e}")).unwrap_or_default()
    );
}

async fn connector(cmd: ConnectorCommand, hub: &Hub) -> Result<(), Failure> {
    match cmd {
        ConnectorCommand::Add {
            workspace,
            name,
            object,
            direction,
            every,
            login_url,
            external_id_field,
            field_map,
        } => {
            let field_map = field_map
                .iter()
                .map(|pair| {
                    pair.split_once('=')
                        .map(|(h, c)| (h.trim().to_owned(), c.trim().to_owned()))
                        .ok_or_else(|| usage(format!("--map {pair:?}: use HUB=CRM, like Email=Work_Email__c")))
                })
                .collect::<Result<_, _>>()?;
            let spec = ConnectorSpec {
                name: &name,
                object: &object,
                direction: &direction,
                interval_secs: parse_interval(&every)?,
                login_url: login_url.as_deref(),
                external_id_field: external_id_field.as_deref(),
                field_map,
            };
            print_connector(&hub.add_connector(&workspace, spec).await?);
        }
        ConnectorCommand::List { workspace, json } => {
            let all = hub.connectors(&workspace).await?;
            if json {
                output::json(&all.iter().map(connector_json).collect::<Vec<_>>())?;
            } else {
                all.iter().for_each(print_connector);
            }
        }
        ConnectorCommand::Show { workspace, name, json } => connector_show(hub, workspace, name, json).await?,
        ConnectorCommand::Sync {
            workspace,
            name,
            ca,
            json,
        } => connector_sync(hub, workspace, name, ca, json).await?,

        ConnectorCommand::State { workspace, name, state } => {
            print_connector(&hub.set_connector_enabled(&workspace, &name, state == "enabled").await?);
        }
        ConnectorCommand::Test {
            workspace,
            name,
            ca,
            confirm,
        } => {
            let pem = read_ca(ca.as_ref()).map_err(|e| usage(format!("reading the CA file: {e}")))?;
            hub.test_connector(&workspace, &name, pem.as_deref(), confirm)
                .await
                .map_err(guard_failure)?;
            println!("connector {name:?} connected");
        }
    }
    Ok(())
}

/// `hub connector show WORKSPACE NAME`: the connector and its last runs.
async fn connector_show(hub: &Hub, workspace: String, name: String, json: bool) -> Result<(), Failure> {
    let c = hub.connector(&workspace, &name).await?;
    let runs = hub.runs(&workspace, &name, 10).await?;
    if json {
        let mut out = connector_json(&c);
        out["external_id_field"] = serde_json::json!(c.external_id_field);
        out["runs"] = runs.iter().map(run_json).collect();
        output::json(&out)?;
    } else {
        print_connector(&c);
        for r in &runs {
            println!(
                "  {}  {:<6} in {:>6}  out {:>6}  {} ms{}",
                r.started_at.format("%Y-%m-%d %H:%M:%S"),
                r.outcome,
                r.records_in,
                r.records_out,
                (r.finished_at - r.started_at).num_milliseconds(),
                r.error.as_deref().map(|e| format!("  — {e}")).unwrap_or_default()
            );
        }
    }
    Ok(())
}

/// `hub connector sync WORKSPACE NAME`: one run now, with its progress.
async fn connector_sync(
    hub: &Hub,
    workspace: String,
    name: String,
    ca: Option<PathBuf>,
    json: bool,
) -> Result<(), Failure> {
    let pem = read_ca(ca.as_ref()).map_err(|e| usage(format!("reading the CA file: {e}")))?;
    let report = sync_with_progress(hub, &workspace, &name, pem.as_deref()).await?;
    if json {
        output::json(&serde_json::json!({
            "pulled": report.pull.records, "changed_in_hub": report.pull.changed,
            "created_in_crm": report.push.created, "updated_in_crm": report.push.updated,
            "refused_by_crm": report.push.failed, "first_error": report.push.first_error,
        }))?;
    } else {
        println!(
            "pulled {} ({} changed in the hub); pushed {} new and {} changed{}",
            report.pull.records,
            report.pull.changed,
            report.push.created,
            report.push.updated,
            report
                .push
                .first_error
                .as_deref()
                .map(|e| format!("; {} refused, first: {e}", report.push.failed))
                .unwrap_or_default()
        );
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
                hub.current_key_id()
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
            println!("re-sealed {n} credential records under key {}", hub.current_key_id());
        }
    }
    Ok(())
}
