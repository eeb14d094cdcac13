//! `latchkey-bench sync`: the hub's sync against an org server on loopback.
//!
//! (a) the peer: reading every page of the pull query with the CRM client and storing
//! nothing — what the org server and the wire alone cost; (b) the hub's initial pull of
//! all the org's contacts into an empty hub, and its ratio to (a); (c) one login through
//! the guard (a connection test; a sync run needs one only when it has no live
//! session); (d) an incremental sync (pull and push), on the kept session,
//! after 10 contacts changed in the org, with the records it read. Each figure is the
//! median of several runs; org and hub keep separate databases, as separate systems do.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use latchkey::config::Config;
use latchkey::wiring;
use latchkey_core::records::{CustomField, CustomType, ObjectKind};
use latchkey_hub::credentials::CredentialInput;
use latchkey_hub::guard::{ConnectorSpec, DEFAULT_EXTERNAL_ID_FIELD};
use latchkey_hub::Hub;
use latchkey_org::accounts::CreateUser;
use latchkey_org::http::{app, HttpState};
use latchkey_org::records::collections::Operation;
use latchkey_org::records::Caller;
use latchkey_org::Services;
use latchkey_sfclient::{Client, Credentials};
use secrecy::SecretString;
use serde_json::json;

use crate::load::serve_in_background;
use crate::report::{machine, median, publish, scratch_dir};

/// Options of `sync`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Contacts in the org.
    #[arg(long, default_value_t = 100_000)]
    pub contacts: usize,
    /// Runs per figure (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Also write the report over its section of this file (e.g. BENCHMARKS.md).
    #[arg(long)]
    pub output: Option<std::path::PathBuf>,
}

const USER: &str = "sync@bench.test";
const PASSWORD: &str = "violet-kettle-42";
/// The heading of the section `--output` rewrites, per store.
fn section(postgres: bool) -> &'static str {
    if postgres {
        "## Hub sync on PostgreSQL"
    } else {
        "## Hub sync on SQLite"
    }
}

/// An org with the sync user (loopback trusted), the hub's external-id field and
/// `contacts` contacts; returns the services and the caller that owns the contacts.
async fn seed_org(services: &Services, contacts: usize) -> anyhow::Result<(Caller, Vec<String>)> {
    let org = services.console().create_org("Bench").await?;
    services
        .console()
        .add_trusted_range(&org.id, &"127.0.0.0/8".parse()?)
        .await?;
    services.console().set_api_allowance(&org.id, i64::MAX / 4).await?;
    let field = CustomField {
        object: ObjectKind::Contact,
        name: DEFAULT_EXTERNAL_ID_FIELD.into(),
        label: "Latchkey hub id".into(),
        custom_type: CustomType::Text,
        length: 18,
        required: false,
        external_id: true,
        unique: true,
    };
    services.console().add_custom_field(&org.id, &field).await?;
    let user = services
        .console()
        .create_user(CreateUser {
            org: None,
            username: USER.into(),
            email: USER.into(),
            first_name: None,
            last_name: Some("Sync".into()),
            profile: None,
            password: Some(SecretString::from(PASSWORD)),
            settings: Default::default(),
        })
        .await?;
    let caller = Caller {
        org_id: org.id.clone(),
        user_id: user.id.clone(),
        api_enabled: true,
        admin: true,
        restricted: false,
    };
    let mut ids = Vec::with_capacity(contacts);
    for chunk in (0..contacts).collect::<Vec<_>>().chunks(200) {
        let records: Vec<serde_json::Value> = chunk
            .iter()
            .map(|n| {
                json!({"attributes": {"type": "Contact"}, "FirstName": format!("F{n}"),
                       "LastName": format!("Bench {n:06}"), "Email": format!("b{n}@bench.test")})
            })
            .collect();
        let results = services
            .save_collection(&caller, Operation::Create, &records, true)
            .await
            .map_err(|e| anyhow::anyhow!("seeding contacts: {e}"))?;
        ids.extend(results.into_iter().filter_map(|r| r.id));
    }
    Ok((caller, ids))
}

/// An empty hub with the sync user's credentials and a two-way Contacts connector, and
/// the PostgreSQL schema it lives in (to drop after).
async fn fresh_hub(config: &Config, url: &str, n: usize) -> anyhow::Result<(Hub, Option<String>)> {
    let mut hub_config = config.clone();
    hub_config.data_dir = config.data_dir.join(format!("hub-{n}"));
    let schema = (!config.database_url.is_empty()).then(|| format!("latchkey_bench_hub_{}_{n}", std::process::id()));
    let store = wiring::store_in_schema(&hub_config, schema.clone()).await?;
    let hub = Hub::new(latchkey_hub::HubParts {
        store,
        vault: latchkey_hub::vault::Vault::from_encoded(&latchkey_hub::vault::Vault::generate_key())?,
        clock: Arc::new(latchkey_core::clock::SystemClock),
        hashing: latchkey_hub::hashing::HashThreads::new(config.hashing.params(), config.hashing.concurrency),
        sync_lease: Duration::from_secs(30),
        announcement_grace: latchkey_hub::guard::DEFAULT_ANNOUNCEMENT_GRACE,
        failure_window: latchkey_hub::guard::DEFAULT_FAILURE_WINDOW,
    });
    hub.create_workspace("Bench").await?;
    hub.set_credential(
        "Bench",
        CredentialInput {
            login_url: url.to_owned(),
            username: USER.into(),
            password: Some(SecretString::from(PASSWORD)),
            security_token: None,
            client_id: None,
            client_secret: None,
            refresh_token: None,
            jwt_private_key: None,
        },
    )
    .await?;
    let spec = ConnectorSpec {
        name: "Contacts",
        object: "Contact",
        direction: "both",
        interval_secs: 60,
        login_url: None,
        external_id_field: None,
        field_map: Default::default(),
    };
    hub.add_connector("Bench", spec).await?;
    Ok((hub, schema))
}

async fn sync(hub: &Hub) -> anyhow::Result<latchkey_hub::sync::SyncReport> {
    hub.sync("Bench", "Contacts", None, &|_| {})
        .await
        .map_err(|e| anyhow::anyhow!("sync: {e}"))
}

/// Measures every figure and publishes the report.
pub async fn run(args: &Args, config: &Config) -> anyhow::Result<()> {
    let dir = scratch_dir()?;
    let mut config = config.clone();
    config.data_dir = dir.join("org");
    let org_schema = (!config.database_url.is_empty()).then(|| format!("latchkey_bench_org_{}", std::process::id()));
    let org_store = wiring::store_in_schema(&config, org_schema.clone()).await?;
    let services = wiring::services_on(&config, org_store.clone())?;
    eprintln!("seeding {} contacts in the org…", args.contacts);
    let (caller, ids) = seed_org(&services, args.contacts).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("bind")?;
    let url = format!("http://{}", listener.local_addr().context("address")?);
    let router = app(HttpState {
        services: Arc::new(services.clone()),
        scheme: "http",
        login_rate: None,
        public_url: None,
        metrics: Default::default(),
        api_versions: Default::default(),
    });
    let server = serve_in_background(listener, router);
    config.data_dir = dir.clone();

    // (a) The peer: the same pages, read and dropped.
    let soql = latchkey_hub::sync::pull_query(
        None,
        &latchkey_hub::sync::CrmFields::plain(Some(DEFAULT_EXTERNAL_ID_FIELD)),
    );
    let read_only = peer_reads(args, &url, &soql).await?;

    // (b) Initial pulls into empty hubs; (c) logins.
    let mut initial = Vec::new();
    let mut logins = Vec::new();
    let mut last = None;
    let mut hub_schemas = Vec::new();
    for n in 0..args.runs {
        let (hub, schema) = fresh_hub(&config, &url, n).await?;
        hub_schemas.extend(schema.map(|s| (hub.clone(), s)));
        let started = Instant::now();
        let report = sync(&hub).await?;
        initial.push(started.elapsed().as_secs_f64());
        anyhow::ensure!(report.pull.changed == args.contacts as u64, "pulled {:?}", report.pull);
        let started = Instant::now();
        hub.test_connector("Bench", "Contacts", None, false)
            .await
            .map_err(|e| anyhow::anyhow!("login: {e}"))?;
        logins.push(started.elapsed().as_secs_f64() * 1_000.0);
        last = Some(hub);
    }
    let hub = last.context("at least one run")?;

    let (incremental, read) = incremental_syncs(args, &services, &caller, &ids, &hub).await?;
    server.abort();

    let figures = Figures {
        read_only,
        initial,
        logins,
        incremental,
        read,
    };
    let postgres = !config.database_url.is_empty();
    let section = section(postgres);
    let report = report(args, &config, postgres, &figures);
    publish(&report, section, args.output.as_deref())?;
    for (hub, schema) in hub_schemas {
        hub.drop_schema(&schema).await.context("dropping a bench hub schema")?;
    }
    if let Some(s) = &org_schema {
        org_store.drop_schema(s).await.context("dropping the bench schema")?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// (a) The peer: the pull's pages read with the CRM client and dropped, in seconds.
async fn peer_reads(args: &Args, url: &str, soql: &str) -> anyhow::Result<Vec<f64>> {
    let mut read_only = Vec::new();
    for _ in 0..args.runs {
        let client = Client::new(
            url,
            Credentials::Soap {
                username: USER.into(),
                password: SecretString::from(PASSWORD),
                security_token: SecretString::from(""),
            },
            None,
        )?;
        let started = Instant::now();
        let records = client.query(soql).await?;
        anyhow::ensure!(records.len() == args.contacts, "read {} contacts", records.len());
        read_only.push(started.elapsed().as_secs_f64());
    }
    Ok(read_only)
}

/// (d) Incremental syncs, in milliseconds, and the records each read: 10 contacts
/// change in the org, then the hub syncs. The pause first lets the look-back window
/// pass the previous changes. Round 0 is a warm-up, not measured: its pull also
/// re-reads the seed's last second, which the look-back covers.
async fn incremental_syncs(
    args: &Args,
    services: &Services,
    caller: &Caller,
    ids: &[String],
    hub: &Hub,
) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    let mut incremental = Vec::new();
    let mut read = Vec::new();
    for run in 0..=args.runs {
        tokio::time::sleep(Duration::from_millis(2_100)).await;
        let records: Vec<serde_json::Value> = ids
            .iter()
            .skip(run * 10)
            .take(10)
            .map(|id| json!({"attributes": {"type": "Contact"}, "id": id, "Email": format!("run{run}@changed.test")}))
            .collect();
        services
            .save_collection(caller, Operation::Update, &records, true)
            .await
            .map_err(|e| anyhow::anyhow!("changing contacts: {e}"))?;
        let started = Instant::now();
        let report = sync(hub).await?;
        let elapsed = started.elapsed().as_secs_f64() * 1_000.0;
        anyhow::ensure!(report.pull.changed == 10, "changed {:?}", report.pull);
        if run > 0 {
            incremental.push(elapsed);
            read.push(report.pull.records as f64);
        }
    }
    Ok((incremental, read))
}

/// What the runs measured.
struct Figures {
    read_only: Vec<f64>,
    initial: Vec<f64>,
    logins: Vec<f64>,
    incremental: Vec<f64>,
    read: Vec<f64>,
}

/// The report: how the figures are measured, then their table.
fn report(args: &Args, config: &Config, postgres: bool, f: &Figures) -> String {
    let section = section(postgres);
    let fmt = |runs: &[f64], precision: usize| {
        runs.iter()
            .map(|r| format!("{r:.precision$}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let n = args.contacts;
    let mut table = String::from("| Figure | Median | Runs | Notes |\n|---|---|---|---|\n");
    table.push_str(&format!(
        "| (a) peer: read all {n} contacts' pages with the CRM client, store nothing | {:.2} s | {} | {:.0} records/s |\n",
        median(&f.read_only),
        fmt(&f.read_only, 2),
        n as f64 / median(&f.read_only)
    ));
    table.push_str(&format!(
        "| (b) initial pull of {n} contacts into an empty hub | {:.2} s | {} | {:.2} of (a); target ≤ 15 s |\n",
        median(&f.initial),
        fmt(&f.initial, 2),
        median(&f.initial) / median(&f.read_only)
    ));
    table.push_str(&format!(
        "| (c) one login through the guard (SOAP login(), argon2id at the org) | {:.1} ms | {} | a connection test; sync runs reuse the session until the org ends it |\n",
        median(&f.logins),
        fmt(&f.logins, 1)
    ));
    table.push_str(&format!(
        "| (d) incremental sync, 10 of {n} contacts changed | {:.1} ms | {} | records read: {}; target ≤ 200 ms |\n",
        median(&f.incremental),
        fmt(&f.incremental, 1),
        fmt(&f.read, 0)
    ));
    let (store, env) = if postgres {
        (
            "PostgreSQL, org and hub in separate schemas",
            "LATCHKEY_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test ",
        )
    } else {
        ("SQLite (embedded default), org and hub in separate files", "")
    };
    format!(
        "{section}\n\nMachine: {}. Store: {store}. argon2id m={} KiB, t={}, p={}.\n\
         Command: `{env}cargo run --release -p latchkey-bench -- sync --contacts {n} --runs {}` (median of {} runs; org server \
         and hub in one process, over loopback HTTP).\n\n{table}",
        machine(),
        config.hashing.memory_kib,
        config.hashing.iterations,
        config.hashing.parallelism,
        args.runs,
        args.runs,
    )
}
