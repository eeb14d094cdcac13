//! `latchkey bench`: login throughput against the physical limit.
//!
//! (a) raw argon2id verifications per second on all cores at the configured parameters;
//! (b) successful OAuth password-grant logins per second through the HTTP server, and
//!     its ratio to (a); (c) client-credentials and refresh-token grants per second; (d) rejected attempts
//!     per second for a locked user, with the hashes they cost (must be zero); (e) peak
//!     RSS. Each figure is the median of several runs, with the CPU time spent per
//!     request beside it; each run measures (a) and (b) in alternating slices, and
//!     (b)'s ratio is taken run by run. The load generator is a
//!     keep-alive HTTP/1.1 client in this process, on loopback, on a thread and runtime
//!     of its own: it shares the machine's cores with the server, as an external wrk or
//!     oha would, but not the server's runtime.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use anyhow::Context;
use latchkey_core::password::PasswordHasher;
use latchkey_org::accounts::CreateUser;
use latchkey_org::http::{app, HttpState};
use latchkey_org::login::hashing::THREAD_NAME_PREFIX;
use latchkey_org::login::{Intent, LoginRequest};
use latchkey_org::Services;
use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{bench_records, Failure};
use crate::cli::BenchArgs;
use crate::config::Config;
use crate::wiring;

const PASSWORD: &str = "violet-kettle-42";
/// How many alternating slices each run measures (a) and (b) in: (a), (b), (a), (b)…
/// On a shared machine the speed of the cores drifts within seconds, as neighbours come
/// and go; measured in turns, both figures see the same drift, and their ratio, taken
/// run by run, follows the server rather than the neighbours.
const SLICES: u32 = 4;
/// The heading of the section `--output` rewrites.
const SECTION: &str = "## Login and records throughput";

/// `old` with its generated section `heading` replaced by `report` (which starts with
/// `heading`); every other section (other stores' pasted runs, the analysis) stays.
fn replace_section(old: &str, heading: &str, report: &str) -> String {
    let Some(start) = old.find(heading) else {
        return format!(
            "# Benchmarks\n\n{report}\n{}",
            old.trim_start_matches("# Benchmarks").trim_start()
        );
    };
    let rest = &old[start + heading.len()..];
    let end = rest.find("\n## ").map_or(old.len(), |i| start + heading.len() + i + 1);
    format!("{}{report}\n{}", &old[..start], &old[end..])
}

/// One measured figure: the runs, their median, and the CPU time per request.
struct Figure {
    name: &'static str,
    runs: Vec<f64>,
    cpu_us: Vec<f64>,
    switches: Vec<f64>,
}

/// One run of one figure: its value and, for throughput figures, the CPU time the
/// whole process (server and load generator) spent per request.
pub(super) struct Measured {
    pub value: f64,
    pub cpu_us: Option<f64>,
    /// Thread switches (voluntary and not) of the whole process per request.
    pub switches: Option<f64>,
}

/// CPU seconds (user + system) this process has used so far, all threads, from
/// `/proc/self/stat` (in clock ticks of 1/100 s, Linux's fixed `USER_HZ`). On a shared
/// machine the CPU time per request varies less than requests per second, which also
/// follow what the neighbours are doing.
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the command name (which may contain spaces) in parentheses.
            let rest = &s[s.rfind(')')? + 2..];
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
            Some((ticks(11)? + ticks(12)?) / 100.0)
        })
        .unwrap_or(0.0)
}

/// CPU seconds the server's password-hashing threads (named by the hashing pool,
/// [`THREAD_NAME_PREFIX`]) have used so far, from each one's `schedstat` (nanoseconds on a core).
/// Over a (b) window, their share of the process's CPU time is the ratio (b)/(a) would
/// have on cores nobody else uses, if hashing in the server ran as fast as in (a): what
/// the HTTP, SQLite and load-generator threads take is the rest.
fn hashing_cpu_seconds() -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    let nanos: f64 = tasks
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm")).is_ok_and(|c| c.starts_with(THREAD_NAME_PREFIX))
        })
        .filter_map(|task| {
            let stat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
            stat.split_whitespace().next()?.parse::<f64>().ok()
        })
        .sum();
    nanos / 1e9
}

/// Thread switches so far, summed over this process's live threads (from
/// `/proc/self/task/*/status`). Every hand-over between threads — a query to SQLite's
/// connection thread, a hash to the hashing pool, a wake-up of a parked runtime worker —
/// costs one or two, and on cores busy hashing each one also preempts a hash. Unlike a
/// rate, their number per request hardly depends on what the neighbours are doing.
fn context_switches() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("status")).ok())
        .flat_map(|status| {
            status
                .lines()
                .filter(|l| l.starts_with("voluntary_ctxt_switches:") || l.starts_with("nonvoluntary_ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .collect::<Vec<_>>()
        })
        .sum()
}

/// Prints `report` and, with `output`, writes it over the file's section `heading`.
pub(super) fn publish(report: &str, heading: &str, output: Option<&std::path::Path>) -> anyhow::Result<()> {
    println!("{report}");
    if let Some(path) = output {
        let old = std::fs::read_to_string(path).unwrap_or_default();
        std::fs::write(path, replace_section(&old, heading, report))
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("written to {}", path.display());
    }
    Ok(())
}

/// The median of `runs` (the upper one of an even count).
pub(super) fn median(runs: &[f64]) -> f64 {
    let mut v = runs.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
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
    let threads = crate::cpus::available();
    let window = Duration::from_secs_f64(seconds);
    let count = AtomicU64::new(0);
    let ready = Barrier::new(threads + 1);
    let (started, cpu) = std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                crate::cpus::widen();
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

/// What one timed window counted: requests answered, over how long, with how much of
/// the process's CPU time and how many thread switches (`None`: not counted, as for
/// (a), whose threads are gone before the count is taken). Windows add up, so a figure
/// can be measured in slices.
#[derive(Debug, Clone, Copy)]
pub(super) struct Tally {
    requests: u64,
    seconds: f64,
    cpu_seconds: f64,
    switches: Option<u64>,
}

impl Tally {
    /// Nothing counted yet, the start of a sum of slices (its switches are zero, not
    /// "not counted", so that slices that count them add up).
    const ZERO: Self = Self {
        requests: 0,
        seconds: 0.0,
        cpu_seconds: 0.0,
        switches: Some(0),
    };

    /// `requests` answered since `started`, when the process had used `cpu` seconds and
    /// its threads had switched `switches` times.
    fn since(requests: u64, started: Instant, cpu: f64, switches: Option<u64>) -> Self {
        Self {
            requests,
            seconds: started.elapsed().as_secs_f64(),
            cpu_seconds: cpu_seconds() - cpu,
            switches: switches.map(|before| context_switches().saturating_sub(before)),
        }
    }

    /// Both windows together.
    fn add(self, other: Self) -> Self {
        Self {
            requests: self.requests + other.requests,
            seconds: self.seconds + other.seconds,
            cpu_seconds: self.cpu_seconds + other.cpu_seconds,
            switches: self.switches.zip(other.switches).map(|(a, b)| a + b),
        }
    }

    /// Requests per second, with the CPU time and switches per request.
    pub(super) fn measured(&self) -> Measured {
        let n = self.requests.max(1) as f64;
        Measured {
            value: self.requests as f64 / self.seconds.max(f64::MIN_POSITIVE),
            cpu_us: Some(self.cpu_seconds * 1e6 / n),
            switches: self.switches.map(|s| s as f64 / n),
        }
    }
}

/// Reads one HTTP/1.1 response (status and body length) from a keep-alive stream.
pub(super) async fn read_response(stream: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> std::io::Result<u16> {
    buf.clear();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + length {
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Ok(status);
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The requests answered with `expect` in `seconds`, from `connections` keep-alive
/// clients (those in flight at the end are awaited and counted, with their time).
/// The clients run on a thread and runtime of their own, as an external load generator
/// (`wrk -t1`) would: on the server's runtime a request and its answer could pass
/// between client and server tasks on one worker without a thread switch, which no
/// real client allows (with one worker, (b) read 0.95 of (a) that way against 0.89
/// with the clients on their own thread; BENCHMARKS.md).
pub(super) async fn load(
    addr: SocketAddr,
    request: Arc<Vec<u8>>,
    expect: u16,
    connections: usize,
    seconds: f64,
) -> anyhow::Result<Tally> {
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("bench-load".into())
        .spawn(move || {
            crate::cpus::widen();
            let outcome = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("load generator runtime")
                .and_then(|rt| rt.block_on(drive(addr, request, expect, connections, seconds)));
            let _ = done.send(outcome);
        })
        .context("load generator thread")?;
    result.await.context("load generator")?
}

/// The load generator's clients (see [`load`]).
async fn drive(
    addr: SocketAddr,
    request: Arc<Vec<u8>>,
    expect: u16,
    connections: usize,
    seconds: f64,
) -> anyhow::Result<Tally> {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let (started, cpu, switches) = (Instant::now(), cpu_seconds(), context_switches());
    let ok = Arc::new(AtomicU64::new(0));
    let bad = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (request, ok, bad) = (Arc::clone(&request), Arc::clone(&ok), Arc::clone(&bad));
        tasks.push(tokio::spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let mut buf = Vec::with_capacity(16 * 1024);
            while Instant::now() < deadline {
                stream.write_all(&request).await?;
                let status = read_response(&mut stream, &mut buf).await?;
                if status == expect { &ok } else { &bad }.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<_, std::io::Error>(())
        }));
    }
    for t in tasks {
        t.await.context("load task")?.context("load connection")?;
    }
    let bad = bad.load(Ordering::Relaxed);
    anyhow::ensure!(bad == 0, "{bad} responses were not HTTP {expect}");
    Ok(Tally::since(ok.load(Ordering::Relaxed), started, cpu, Some(switches)))
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

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("VmHWM:")).map(str::to_owned))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

pub(super) fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = crate::cpus::available();
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_owned())
        })
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    format!("{cpu}, {cores} cores, {mem:.0} GiB")
}

pub async fn run(args: &BenchArgs, config: &Config) -> Result<(), Failure> {
    let dir = tempfile_dir()?;
    let mut config = config.clone();
    config.data_dir = dir.clone();
    config.mail.transport = crate::config::TransportKind::Folder;
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
    });
    let server = serve_in_background(listener, router);

    let requests = Requests::new(addr, &client_id, &client_secret, &refresh_token);

    let records = bench_records::seed(&services, addr, "bench@bench.test").await?;
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
    args: &BenchArgs,
    config: &Config,
    services: &Services,
    addr: SocketAddr,
    requests: &Requests,
    records: &bench_records::RecordRequests,
) -> Result<Results, Failure> {
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
        let r = bench_records::measure(addr, records, args.connections, secs).await?;
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
fn report(config: &Config, args: &BenchArgs, on_postgres: bool, table: &str) -> String {
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
         Command: `{env}cargo run --release -- bench{} --runs {} --seconds {} --connections {}` \
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

pub(super) fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("latchkey-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Serves `router` on `listener` in a task, through the production listener with the
/// production limits, until the task is aborted.
pub(super) fn serve_in_background(
    listener: tokio::net::TcpListener,
    router: axum::Router,
) -> tokio::task::JoinHandle<std::io::Result<()>> {
    tokio::spawn(latchkey_web::listener::serve(
        listener,
        None,
        router,
        latchkey_web::listener::Limits::default(),
        std::future::pending(),
    ))
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::{cpu_seconds, hashing_cpu_seconds, replace_section, Tally, SECTION, THREAD_NAME_PREFIX};

    #[test]
    fn slices_add_up_to_one_window() {
        let started = Instant::now();
        let a = Tally::since(30, started, cpu_seconds(), Some(0));
        let b = Tally::since(10, started, cpu_seconds(), Some(0));
        let both = Tally::ZERO.add(a).add(b);
        assert_eq!(both.requests, 40);
        assert!((both.seconds - (a.seconds + b.seconds)).abs() < 1e-12);
        let m = both.measured();
        assert!((m.value - 40.0 / both.seconds).abs() < 1e-6 * m.value);
        assert!(m.switches.is_some());
        // A window that counts no switches leaves the sum without them.
        assert!(Tally::ZERO
            .add(Tally::since(1, started, cpu_seconds(), None))
            .switches
            .is_none());
    }

    /// Keeps this thread's core busy until `done` holds, or ten seconds of wall time
    /// have passed (so that a reading that never moves fails its test, not hangs it);
    /// returns how long it spun.
    fn spin_until(done: impl Fn() -> bool) -> std::time::Duration {
        let started = Instant::now();
        let mut x = 0u64;
        while !done() && started.elapsed() < std::time::Duration::from_secs(10) {
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
        }
        started.elapsed()
    }

    #[test]
    fn cpu_time_counts_work_done() {
        // Spins until 50 ms of CPU time are counted; a reading that never moves fails
        // after ten seconds of wall time.
        let before = cpu_seconds();
        let spun = spin_until(|| cpu_seconds() - before >= 0.05);
        let spent = cpu_seconds() - before;
        assert!(spent >= 0.05, "{spun:?} of spinning counted as {spent} s");
    }

    #[test]
    fn hashing_time_counts_only_the_hashing_threads() {
        // A thread named as the pool names its threads spins for 50 ms of its own CPU
        // time; the thread that watches it is not counted.
        let before = hashing_cpu_seconds();
        let spun = std::thread::Builder::new()
            .name(format!("{THREAD_NAME_PREFIX}test"))
            .spawn(move || {
                spin_until(|| hashing_cpu_seconds() - before >= 0.05);
                hashing_cpu_seconds() - before
            })
            .unwrap()
            .join()
            .unwrap();
        assert!(spun >= 0.05, "spinning counted as {spun} s");
        // Its task is gone with it; this thread, spinning as long, is not counted.
        let cpu = cpu_seconds();
        spin_until(|| cpu_seconds() - cpu >= 0.05);
        assert_eq!(hashing_cpu_seconds(), 0.0);
    }

    #[test]
    fn output_rewrites_only_its_own_section() {
        let old = "# Benchmarks\n\n## Login and records throughput\n\nold table\n\n## On PostgreSQL\n\npg\n\n## Analysis\n\nwhy\n";
        let new = replace_section(old, SECTION, "## Login and records throughput\n\nnew table\n");
        assert_eq!(
            new,
            "# Benchmarks\n\n## Login and records throughput\n\nnew table\n\n## On PostgreSQL\n\npg\n\n## Analysis\n\nwhy\n"
        );
        assert_eq!(
            replace_section("", SECTION, "## Login and records throughput\n\nt\n"),
            "# Benchmarks\n\n## Login and records throughput\n\nt\n\n"
        );
    }
}
