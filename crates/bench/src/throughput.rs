//! `latchkey-bench throughput`: login throughput against the physical limit, and the
//! records figures beside their peer.
//!
//! (a) raw argon2id verifications per second on all cores at the configured parameters;
//! (b) successful OAuth password-grant logins per second through the HTTP server, and
//!     its ratio to (a); (c) client-credentials and refresh-token grants per second; (d)
//!     rejected attempts per second for a locked user, with the hashes they cost (must be
//!     zero); (e) peak RSS; (f)–(i) the records figures ([`crate::records`]). Each figure
//!     is the median of several runs, with the CPU time spent per request beside it; each
//!     run measures (a) and (b) in alternating slices, and (b)'s ratio is taken run by
//!     run. The load generator ([`crate::load`]) shares the machine's cores with the
//!     server, as an external wrk or oha would, but not the server's runtime.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use anyhow::Context;
use latchkey::config::{Config, TransportKind};
use latchkey::wiring;
use latchkey_core::password::PasswordHasher;
use latchkey_org::accounts::CreateUser;
use latchkey_org::http::{app, HttpState};
use latchkey_org::login::{Intent, LoginRequest};
use latchkey_org::Services;
use secrecy::{ExposeSecret, SecretString};

use crate::load::{load, serve_in_background, Measured, Tally};
use crate::process::{cpu_seconds, hashing_cpu_seconds, peak_rss_mib};
use crate::records;
use crate::report::{machine, median, publish, scratch_dir};

/// Options of `throughput`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Runs per figure (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Seconds per run of each figure; (a) and (b) spend them in four alternating
    /// slices.
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,
    /// Concurrent keep-alive connections of the load generator.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Also write the report over its section of this file (e.g. BENCHMARKS.md).
    #[arg(long)]
    pub output: Option<std::path::PathBuf>,
}

const PASSWORD: &str = "violet-kettle-42";
/// How many alternating slices each run measures (a) and (b) in: (a), (b), (a), (b)…
/// On a shared machine the speed of the cores drifts within seconds, as neighbours come
/// and go; measured in turns, both figures see the same drift, and their ratio, taken
/// run by run, follows the server rather than the neighbours.
const SLICES: u32 = 4;
/// The heading of the section `--output` rewrites.
const SECTION: &str = "## Login and records throughput";

/// One measured figure: the runs, their median, and the CPU time per request.
struct Figure {
    name: &'static str,
    runs: Vec<f64>,
    cpu_us: Vec<f64>,
    switches: Vec<f64>,
}

impl Figure {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            runs: vec![],
            cpu_us: vec![],
            switches: vec![],
        }
    }

    fn median(&self) -> f64 {
        median(&self.runs)
    }

    fn push(&mut self, m: Measured) {
        self.runs.push(m.value);
        self.cpu_us.extend(m.cpu_us);
        self.switches.extend(m.switches);
    }
}

/// Raw argon2id verifications per second with one thread per core. Each thread
/// verifies once before the window opens, so that its argon2 memory is allocated and
/// touched, as the server's hashing threads' is, and short windows are not charged
/// for it.
fn argon2_rate(config: &Config, seconds: f64) -> anyhow::Result<Tally> {
    let hasher = PasswordHasher::new(config.hashing.params()).context("hash parameters")?;
    let phc = hasher.hash(PASSWORD).context("hash")?;
    let threads = latchkey::cpus::available();
    let window = Duration::from_secs_f64(seconds);
    let count = AtomicU64::new(0);
    let ready = Barrier::new(threads + 1);
    let (started, cpu) = std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                latchkey::cpus::widen();
                let _ = hasher.verify(PASSWORD, &phc);
                ready.wait();
                let deadline = Instant::now() + window;
                while Instant::now() < deadline {
                    let _ = hasher.verify(PASSWORD, &phc);
                    count.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        ready.wait();
        (Instant::now(), cpu_seconds())
    });
    Ok(Tally::since(count.load(Ordering::Relaxed), started, cpu, None))
}

fn form_request(addr: SocketAddr, form: &str) -> Arc<Vec<u8>> {
    Arc::new(
        format!(
            "POST /services/oauth2/token HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\n\r\n{form}",
            form.len()
        )
        .into_bytes(),
    )
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// What the bench's requests need: an app's client id and secret, and a refresh token
/// of that app for the bench user.
struct Seeded {
    client_id: String,
    client_secret: SecretString,
    refresh_token: SecretString,
}

/// Seeds a bench org: a user, a locked user, a trusted loopback, an app.
async fn seed(services: &Services) -> anyhow::Result<Seeded> {
    let org = services.console().create_org("Bench").await?;
    for username in ["bench@bench.test", "locked@bench.test"] {
        services
            .console()
            .create_user(CreateUser {
                org: None,
                username: username.into(),
                email: username.into(),
                first_name: None,
                last_name: None,
                profile: None,
                password: Some(SecretString::from(PASSWORD)),
                settings: Default::default(),
            })
            .await?;
    }
    services
        .console()
        .add_trusted_range(&org.id, &"127.0.0.0/8".parse()?)
        .await?;
    let policy = latchkey_core::policy::PasswordPolicy {
        max_invalid_attempts: latchkey_core::policy::MaxInvalidAttempts::Limit(3),
        lockout: latchkey_core::policy::LockoutPeriod::Forever,
        ..org.policy
    };
    services.console().set_policy(&org.id, &policy).await?;
    let (app, secret) = services
        .console()
        .create_app(&org.id, "Bench", Some("bench@bench.test"), None)
        .await?;
    for n in 0..3 {
        let secret = SecretString::from(format!("wrong-{n}"));
        services
            .login(&LoginRequest {
                username: "locked@bench.test",
                secret: &secret,
                ip: "127.0.0.1".parse()?,
                intent: Intent::OAuthPassword(&app),
            })
            .await?;
    }
    let (_, refresh_token) = services
        .console()
        .authorize_app(&org.id, "Bench", "bench@bench.test")
        .await?;
    Ok(Seeded {
        client_id: app.client_id,
        client_secret: secret,
        refresh_token,
    })
}

/// Measures every figure and publishes the report.
pub async fn run(args: &Args, config: &Config) -> anyhow::Result<()> {
    let dir = scratch_dir()?;
    let mut config = config.clone();
    config.data_dir = dir.clone();
    config.mail.transport = TransportKind::Folder;
    // On PostgreSQL the bench works in a schema of its own, dropped afterwards.
    let schema = (!config.database_url.is_empty()).then(|| format!("latchkey_bench_{}", std::process::id()));
    let db = wiring::store_in_schema(&config, schema.clone()).await?;
    let services = wiring::services_on(&config, db.clone())?;
    let Seeded {
        client_id,
        client_secret,
        refresh_token,
    } = seed(&services).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("bind")?;
    let addr = listener.local_addr().context("address")?;
    // No login rate limit: the load generator is one address sending thousands a second.
    let router = app(HttpState {
        services: std::sync::Arc::new(services.clone()),
        scheme: "http",
        login_rate: None,
        public_url: None,
        metrics: Default::default(),
        api_versions: Default::default(),
    });
    let server = serve_in_background(listener, router);

    let requests = Requests::new(addr, &client_id, &client_secret, &refresh_token);

    let records = records::seed(&services, addr, "bench@bench.test").await?;
    let measured = measure(args, &config, &services, addr, &requests, &records).await?;
    server.abort();
    let table = table(&measured);
    if let Some(s) = &schema {
        db.flush().await.context("committing queued writes")?;
        db.drop_schema(s).await.context("dropping the bench schema")?;
    }
    let report = report(&config, args, schema.is_some(), &table);
    publish(&report, SECTION, args.output.as_deref())?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// The requests the bench sends, each one whole HTTP request.
struct Requests {
    password_grant: Arc<Vec<u8>>,
    client_credentials: Arc<Vec<u8>>,
    refresh: Arc<Vec<u8>>,
    locked: Arc<Vec<u8>>,
}

impl Requests {
    fn new(addr: SocketAddr, client_id: &str, client_secret: &SecretString, refresh_token: &SecretString) -> Self {
        let cs = client_secret.expose_secret();
        let password_grant = form_request(
            addr,
            &format!(
                "grant_type=password&client_id={client_id}&client_secret={cs}&username={}&password={PASSWORD}",
                enc("bench@bench.test")
            ),
        );
        let client_credentials = form_request(
            addr,
            &format!("grant_type=client_credentials&client_id={client_id}&client_secret={cs}"),
        );
        let refresh = form_request(
            addr,
            &format!(
                "grant_type=refresh_token&client_id={client_id}&client_secret={cs}&refresh_token={}",
                refresh_token.expose_secret()
            ),
        );
        let locked = form_request(
            addr,
            &format!(
                "grant_type=password&client_id={client_id}&client_secret={cs}&username={}&password={PASSWORD}",
                enc("locked@bench.test")
            ),
        );
        Self {
            password_grant,
            client_credentials,
            refresh,
            locked,
        }
    }
}

/// What the runs measured.
struct Results {
    figures: [Figure; 9],
    hashes_for_rejections: u64,
    hashing_shares: Vec<f64>,
}

/// Runs the figures `args.runs` times over the server at `addr`.
async fn measure(
    args: &Args,
    config: &Config,
    services: &Services,
    addr: SocketAddr,
    requests: &Requests,
    records: &records::RecordRequests,
) -> anyhow::Result<Results> {
    let secs = args.seconds;
    let mut figures = [
        Figure::new("(a) argon2id verifications/s, all cores (physical limit)"),
        Figure::new("(b) OAuth password-grant logins/s over HTTP"),
        Figure::new("(c) client-credentials grants/s over HTTP"),
        Figure::new("(c) refresh-token grants/s over HTTP"),
        Figure::new("(d) rejected logins/s, locked user"),
        Figure::new("(f) HTTP floor: GET /healthz/s (peer of g)"),
        Figure::new("(g) REST GET sobjects/Contact/{id}/s, bearer session"),
        Figure::new("(h) REST query page of 2,000 records, ms"),
        Figure::new("(i) REST 200-record collection insert, ms"),
    ];
    let mut hashes_for_rejections = 0;
    let mut hashing_shares = Vec::new();
    for run in 1..=args.runs {
        let (mut limit, mut logins, mut hashing) = (Tally::ZERO, Tally::ZERO, 0.0);
        let slice = secs / f64::from(SLICES);
        for i in 1..=SLICES {
            eprintln!("run {run}/{}: argon2id, slice {i}/{SLICES}…", args.runs);
            limit = limit.add(argon2_rate(config, slice)?);
            eprintln!("run {run}/{}: password grant, slice {i}/{SLICES}…", args.runs);
            let before = hashing_cpu_seconds();
            logins = logins.add(load(addr, Arc::clone(&requests.password_grant), 200, args.connections, slice).await?);
            hashing += hashing_cpu_seconds() - before;
        }
        hashing_shares.push(hashing / logins.cpu_seconds.max(f64::MIN_POSITIVE));
        figures[0].push(limit.measured());
        figures[1].push(logins.measured());
        eprintln!("run {run}/{}: client credentials…", args.runs);
        figures[2].push(
            load(
                addr,
                Arc::clone(&requests.client_credentials),
                200,
                args.connections,
                secs,
            )
            .await?
            .measured(),
        );
        eprintln!("run {run}/{}: refresh token…", args.runs);
        figures[3].push(
            load(addr, Arc::clone(&requests.refresh), 200, args.connections, secs)
                .await?
                .measured(),
        );
        eprintln!("run {run}/{}: locked user…", args.runs);
        let before = services.hash_counts().total();
        figures[4].push(
            load(addr, Arc::clone(&requests.locked), 400, args.connections, secs)
                .await?
                .measured(),
        );
        hashes_for_rejections += services.hash_counts().total() - before;
        eprintln!("run {run}/{}: records…", args.runs);
        let r = records::measure(addr, records, args.connections, secs).await?;
        for (figure, m) in figures[5..].iter_mut().zip(r) {
            figure.push(m);
        }
    }
    Ok(Results {
        figures,
        hashes_for_rejections,
        hashing_shares,
    })
}

/// The figures as the Markdown table of the report.
fn table(measured: &Results) -> String {
    let Results {
        figures,
        hashes_for_rejections,
        hashing_shares,
    } = measured;
    let rss = peak_rss_mib();
    // Each run measures (a) and (b) in alternating slices, so the ratio is taken run by
    // run: the shared machine's speed drifts between runs more than within one.
    let paired: Vec<f64> = figures[1]
        .runs
        .iter()
        .zip(&figures[0].runs)
        .map(|(b, a)| b / a)
        .collect();
    let mut table = String::from(
        "| figure | median | runs | CPU µs per request (median) | thread switches per request (median) | ratio / target |\n\
         |---|---:|---|---:|---:|---|\n",
    );
    for (i, f) in figures.iter().enumerate() {
        let precision = if i >= 7 { 1 } else { 0 };
        let runs: Vec<String> = f.runs.iter().map(|r| format!("{r:.precision$}")).collect();
        let median_of = |v: &[f64], precision: usize| {
            if v.is_empty() {
                String::new()
            } else {
                format!("{:.precision$}", median(v))
            }
        };
        let (cpu, switches) = (median_of(&f.cpu_us, 0), median_of(&f.switches, 1));
        let note = match i {
            0 => "the physical limit".to_owned(),
            1 => format!(
                "{:.2} of (a), run by run: {}; target ≥ 0.95; hashing's share of the CPU: {:.1}%",
                median(&paired),
                paired.iter().map(|r| format!("{r:.2}")).collect::<Vec<_>>().join(", "),
                median(hashing_shares) * 100.0
            ),
            2 | 3 => "target ≥ 10,000/s".to_owned(),
            4 => format!("target ≥ 20,000/s; hashes spent: {hashes_for_rejections}"),
            5 => "what HTTP alone allows here".to_owned(),
            6 => format!("{:.2} of (f); target ≥ 15,000/s", f.median() / figures[5].median()),
            7 => "target ≤ 20 ms".to_owned(),
            _ => format!("{:.2} ms per record", f.median() / 200.0),
        };
        table.push_str(&format!(
            "| {} | {:.precision$} | {} | {cpu} | {switches} | {} |\n",
            f.name,
            f.median(),
            runs.join(", "),
            note
        ));
    }
    table.push_str(&format!(
        "| (e) peak RSS of the bench process (server + load generator) | {rss:.0} MiB | | | | |\n"
    ));
    table
}

/// The report: how the figures are measured, then the table.
fn report(config: &Config, args: &Args, on_postgres: bool, table: &str) -> String {
    let store = if config.database_url.is_empty() {
        "SQLite (embedded default)"
    } else {
        "PostgreSQL"
    };
    // A `runtime_cpus` setting changes what (b) to (g) measure: the report says so.
    let (cpus, env) = match config.server.runtime_cpus.trim() {
        "" => (String::new(), String::new()),
        list => (
            format!(" The server's own threads on CPU {list} (`runtime_cpus`); hashing, (a) and the load generator on every CPU."),
            format!("LATCHKEY_RUNTIME_CPUS={list} "),
        ),
    };
    format!(
        "{SECTION}\n\nMachine: {}. Store: {store}. argon2id m={} KiB, t={}, p={}.{cpus}\n\
         Command: `{env}cargo run --release -p latchkey-bench -- throughput{} --runs {} --seconds {} --connections {}` \
         (median of {} runs of {} s each; each run measures (a) and (b) in {SLICES} alternating slices of {} s each, (a), (b), (a), (b)…, \
         so that both see the same drift of a shared machine's speed; the load generator runs in the same process, on a thread of its own, on loopback). \
         CPU µs per request: user + system time of the whole process (server and load generator) \
         over the requests answered; on a shared machine it varies less than the rate does. Thread switches per \
         request: voluntary and involuntary switches of all the process's threads over the requests answered, \
         which count the hand-overs between threads a request costs. Hashing's share: the CPU time of the server's argon2 threads \
         over the whole process's during (b), what the rest of the server and the load generator leave to hashing.\n\n{table}",
        machine(),
        config.hashing.memory_kib,
        config.hashing.iterations,
        config.hashing.parallelism,
        // The URL itself may hold a password: it is never printed.
        if on_postgres {
            " --database-url postgres://…"
        } else {
            ""
        },
        args.runs,
        args.seconds,
        args.connections,
        args.runs,
        args.seconds,
        args.seconds / f64::from(SLICES),
    )
}
