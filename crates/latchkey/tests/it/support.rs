//! Runs the real binary against a temporary data directory.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// One finished invocation.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A data directory and every output the binary printed into it.
pub struct Cli {
    pub dir: tempfile::TempDir,
    pub transcript: std::cell::RefCell<String>,
    /// `--database-url` for every command (PostgreSQL tests).
    pub database_url: Option<String>,
}

impl Cli {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
            transcript: Default::default(),
            database_url: None,
        }
    }

    fn base_args(&self) -> Vec<String> {
        let mut args = vec!["--data-dir".to_owned(), self.data_dir().display().to_string()];
        if let Some(url) = &self.database_url {
            args.extend(["--database-url".to_owned(), url.clone()]);
        }
        args
    }

    /// A CLI whose mail goes by SMTP to `port` on loopback (a test sink).
    pub fn with_smtp(port: u16) -> Self {
        Self::with_config(&format!(
            "[mail]\ntransport = \"smtp\"\n[mail.smtp]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\n"
        ))
    }

    /// A CLI whose config file has `toml` after the suite's cheap hashing.
    pub fn with_config(toml: &str) -> Self {
        let cli = Self::new();
        std::fs::write(cli.dir.path().join("latchkey.toml"), format!("{FAST_HASHING}{toml}")).expect("write config");
        cli
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs `latchkey --data-dir DIR ARGS…` with `stdin`, logging at TRACE.
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Run {
        self.run_with(args, stdin, &[])
    }

    /// Like [`Cli::run`] with extra environment variables and no input.
    pub fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        self.run_with(args, None, env)
    }

    /// Like [`Cli::run`] with extra environment variables.
    pub fn run_with(&self, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Run {
        let mut child = self.spawn(args, env);
        if let Some(mut input) = child.stdin.take() {
            if let Some(text) = stdin {
                input.write_all(text.as_bytes()).expect("write stdin");
            }
        }
        let out = child.wait_with_output().expect("latchkey runs");
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        let mut t = self.transcript.borrow_mut();
        t.push_str(&format!("$ latchkey {}\n{}{}", args.join(" "), run.stdout, run.stderr));
        run
    }

    /// Starts `latchkey --data-dir DIR ARGS…` with piped standard streams and returns
    /// at once (for tests that kill it).
    pub fn spawn(&self, args: &[&str], env: &[(&str, &str)]) -> std::process::Child {
        Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .args(self.base_args())
            .args(args)
            .current_dir(self.dir.path())
            .env("LATCHKEY_LOG", "trace")
            .env_remove("LATCHKEY_DATABASE_URL")
            .env("LATCHKEY_CONFIG", write_fast_config(self.dir.path()))
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn latchkey")
    }

    /// Starts a long-running `latchkey ARGS…` with stdout piped and stderr logged where
    /// [`Cli::server_logs`] reads.
    fn launch(&self, args: &[&str], env: &[(&str, &str)]) -> std::process::Child {
        Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .args(self.base_args())
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("LATCHKEY_DATABASE_URL")
            .env("LATCHKEY_CONFIG", write_fast_config(self.dir.path()))
            .env("LATCHKEY_LOG", "trace")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(
                std::fs::File::create(self.dir.path().join(format!("server-{}.log", rand_suffix())))
                    .map_or(Stdio::null(), Stdio::from),
            )
            .spawn()
            .expect("spawn latchkey")
    }

    /// Starts `latchkey serve` on a free loopback port and waits until it is healthy.
    pub fn serve(&self) -> Server {
        self.start(&["serve", "--org-listen", "127.0.0.1:0"])
    }

    /// Starts a long-running command (`serve`, `demo`) whose output ends with the
    /// `org server: URL` line, and waits until the server is healthy.
    pub fn start(&self, args: &[&str]) -> Server {
        self.start_with(args, &[])
    }

    /// Like [`Cli::start`], with more environment variables.
    pub fn start_with(&self, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut child = self.launch(args, env);
        let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        let mut printed = String::new();
        let url = loop {
            let mut line = String::new();
            let n = std::io::BufRead::read_line(&mut stdout, &mut line).expect("read output");
            assert!(n > 0, "latchkey {args:?} ended before serving: {printed}");
            printed.push_str(&line);
            if let Some(url) = line.trim().strip_prefix("org server: ") {
                break url.to_owned();
            }
        };
        self.transcript.borrow_mut().push_str(&printed);
        let ca = values_after(&printed, "CA certificate: ").pop();
        let server = Server {
            process: Process(child),
            url,
            printed,
            ca,
        };
        let mut check = vec!["healthcheck", "--url", server.url.as_str()];
        if let Some(ca) = &server.ca {
            check.extend(["--ca", ca.as_str()]);
        }
        for _ in 0..100 {
            if self.run(&check, None).code == 0 {
                return server;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("server at {} never became healthy", server.url);
    }

    /// Starts a long-running command that serves nothing (`hub run`), logging where
    /// [`Cli::server_logs`] reads, and waits for its first line of output.
    pub fn start_worker(&self, args: &[&str]) -> Process {
        self.start_printing(args).0
    }

    /// Like [`Cli::start_worker`], also returning the first line it printed.
    pub fn start_printing(&self, args: &[&str]) -> (Process, String) {
        let mut child = self.launch(args, &[]);
        let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        std::io::BufRead::read_line(&mut stdout, &mut line).expect("read output");
        assert!(!line.is_empty(), "latchkey {args:?} ended at once");
        self.transcript.borrow_mut().push_str(&line);
        // Keep the pipe open: a process whose later output hits a closed pipe fails.
        child.stdout = Some(stdout.into_inner());
        (Process(child), line.trim().to_owned())
    }

    /// Everything the servers started by [`Cli::start`] logged so far.
    pub fn server_logs(&self) -> String {
        let mut logs = String::new();
        for entry in std::fs::read_dir(self.dir.path()).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("server-") && name.ends_with(".log") {
                logs.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
            }
        }
        logs
    }

    /// Runs and expects exit status 0.
    pub fn ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let run = self.run(args, stdin);
        assert_eq!(run.code, 0, "latchkey {args:?} failed: {}", run.stderr);
        run.stdout
    }

    /// The messages in the mail folder, as text.
    pub fn mails(&self) -> Vec<String> {
        let dir = self.data_dir().join("mail");
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        paths.sort();
        paths.iter().filter_map(|p| std::fs::read_to_string(p).ok()).collect()
    }
}

/// Cheap hashing, so that the suite stays fast.
const FAST_HASHING: &str = "[hashing]\nmemory_kib = 64\niterations = 1\nparallelism = 1\nconcurrency = 2\n";

/// A config file with cheap hashing, so that the suite stays fast.
fn write_fast_config(dir: &Path) -> PathBuf {
    let path = dir.join("latchkey.toml");
    if !path.exists() {
        std::fs::write(&path, FAST_HASHING).expect("write config");
    }
    path
}

/// A CLI org with `users` (password `password`) and the connected app "Server Sync"
/// of [`jwt_app`], pre-authorised for `authorised`; with the app's client id and the
/// path of the key that signs its assertions.
pub fn jwt_org(users: &[&str], password: &str, authorised: &str) -> (Cli, String, PathBuf) {
    let org = Cli::new();
    org.ok(&["org", "create", "Acme"], None);
    for user in users {
        org.ok(
            &["org", "user", "create", user, "--email", user, "--password-stdin"],
            Some(&format!("{password}\n")),
        );
    }
    let (client_id, key) = jwt_app(&org, "Server Sync", authorised);
    (org, client_id, key)
}

/// Creates the connected app `name` in `org` holding the suite's JWT certificate,
/// pre-authorised for `authorised`; returns its client id and the path of the key that
/// signs its assertions.
pub fn jwt_app(org: &Cli, name: &str, authorised: &str) -> (String, PathBuf) {
    let created: serde_json::Value =
        serde_json::from_str(&org.ok(&["org", "app", "create", "--name", name, "--json"], None)).unwrap();
    let client_id = created["client_id"].as_str().unwrap().to_owned();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../org/tests/fixtures");
    let certificate = fixtures.join("jwt_app.crt");
    org.ok(
        &[
            "org",
            "app",
            "certificate",
            "--name",
            name,
            "--file",
            certificate.to_str().unwrap(),
        ],
        None,
    );
    org.ok(&["org", "app", "authorize", "--name", name, "--user", authorised], None);
    (client_id, fixtures.join("jwt_app.key"))
}

/// How many of `user`'s logins in the org's login history failed.
pub fn failed_logins(org: &Cli, user: &str) -> usize {
    let history: serde_json::Value =
        serde_json::from_str(&org.ok(&["org", "login-history", "--user", user, "--json"], None)).unwrap();
    history
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] != "Success")
        .count()
}

/// Values after `prefix` on any line of `text`.
pub fn values_after(text: &str, prefix: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix(prefix))
        .map(|v| v.trim().to_owned())
        .collect()
}

/// A running `latchkey serve`, killed on drop.
pub struct Server {
    process: Process,
    pub url: String,
    /// What it printed up to and including the URL line.
    pub printed: String,
    /// The CA certificate to trust, when it serves HTTPS with the demo CA.
    pub ca: Option<String>,
}

impl Server {
    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.process.0.id()
    }

    /// Sends SIGTERM and waits; returns the exit code.
    #[cfg(unix)]
    pub fn terminate(&mut self) -> Option<i32> {
        self.process.terminate()
    }
}

/// A long-running `latchkey` process, killed when dropped.
pub struct Process(std::process::Child);

impl Process {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    /// Sends SIGTERM and waits; returns the exit code.
    #[cfg(unix)]
    pub fn terminate(&mut self) -> Option<i32> {
        let pid = self.0.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
        assert!(sent.success());
        self.0.wait().expect("process exits").code()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `done` every 100 ms until it holds; panics with `what` after `secs` seconds.
pub fn wait_until(what: &str, secs: u64, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "waited {secs} s for {what}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(0);
    h.finish()
}

/// Runs an interoperability driver (`node …` or `python3 …`) from `tools/interop`, feeds
/// it `stdin` (the secrets), and parses the JSON line it prints last.
pub fn run_driver(program: &str, script: &str, args: &[&str], env: &[(&str, &str)], stdin: &str) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tools/interop")
        .join(script);
    let mut child = Command::new(program)
        .arg(&script)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} (scripts/test installs the interop packages): {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("driver runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap_or_else(|_| {
        panic!(
            "{script:?} printed {stdout:?}; stderr {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// A real headless Chromium driven by `tools/interop/ui_browser.js` (playwright-core),
/// one command at a time. Screenshots go to `target/ui-screenshots/` (kept by CI).
pub struct Browser {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: std::io::BufReader<std::process::ChildStdout>,
    test: String,
}

impl Browser {
    /// A browser for the test named `test` (prefix of its screenshots).
    pub fn start(test: &str) -> Self {
        Self::launch(test, false)
    }

    /// A phone-sized browser (390 × 844).
    pub fn start_mobile(test: &str) -> Self {
        Self::launch(test, true)
    }

    fn launch(test: &str, mobile: bool) -> Self {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/interop/ui_browser.js");
        let mut command = Command::new("node");
        if mobile {
            command.env("UI_MOBILE", "1");
        }
        let mut child = command
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("node with playwright-core (scripts/test installs it)");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        Self {
            child,
            stdin,
            stdout,
            test: test.to_owned(),
        }
    }

    /// Sends one command; returns the answer, which must be `ok`.
    pub fn send(&mut self, command: serde_json::Value) -> serde_json::Value {
        writeln!(self.stdin, "{command}").expect("browser stdin");
        let mut line = String::new();
        std::io::BufRead::read_line(&mut self.stdout, &mut line).expect("browser stdout");
        let answer: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("the browser driver said {line:?} to {command}"));
        assert_eq!(answer["ok"], true, "{command} → {answer}");
        answer
    }

    /// Opens `url`; returns the HTTP status.
    pub fn goto(&mut self, url: &str) -> u64 {
        self.send(serde_json::json!({"op": "goto", "url": url}))["status"]
            .as_u64()
            .unwrap_or(0)
    }

    /// Types `value` into the field `selector`.
    pub fn fill(&mut self, selector: &str, value: &str) {
        self.send(serde_json::json!({"op": "fill", "selector": selector, "value": value}));
    }

    /// Clicks `selector` and waits for the next page; returns its path.
    pub fn click(&mut self, selector: &str) -> String {
        let answer = self.send(serde_json::json!({"op": "click", "selector": selector}));
        let url = answer["url"].as_str().unwrap_or_default();
        url.splitn(4, '/').nth(3).map_or("/".to_owned(), |p| format!("/{p}"))
    }

    /// The text of `selector`, if it is on the page.
    pub fn text(&mut self, selector: &str) -> Option<String> {
        self.send(serde_json::json!({"op": "text", "selector": selector}))["text"]
            .as_str()
            .map(str::to_owned)
    }

    /// Saves a full-page screenshot as `target/ui-screenshots/{test}-{name}.png`.
    pub fn screenshot(&mut self, name: &str) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ui-screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot folder");
        let path = dir.join(format!("{}-{name}.png", self.test));
        self.send(serde_json::json!({"op": "screenshot", "path": path}));
    }

    /// POSTs `form` to `url` from outside the page (no CSRF token); returns the status.
    pub fn post(&mut self, url: &str, form: serde_json::Value) -> u64 {
        self.send(serde_json::json!({"op": "post", "url": url, "form": form}))["status"]
            .as_u64()
            .unwrap_or(0)
    }

    /// GETs `url` with the browser's cookies, outside the page; returns the answer
    /// (`status`, `type`, `body`).
    pub fn get(&mut self, url: &str) -> serde_json::Value {
        self.send(serde_json::json!({"op": "get", "url": url}))
    }

    /// Whether the page fits the window's width (nothing to scroll sideways).
    pub fn fits_width(&mut self) -> bool {
        self.send(serde_json::json!({"op": "eval",
            "expression": "document.documentElement.scrollWidth <= window.innerWidth"}))["value"]
            == true
    }

    /// The computed background colour of `selector` (`rgb(…)`), if it is on the page.
    pub fn background(&mut self, selector: &str) -> Option<String> {
        let expression = format!(
            "(() => {{ const e = document.querySelector({}); return e && getComputedStyle(e).backgroundColor; }})()",
            serde_json::Value::String(selector.to_owned())
        );
        self.send(serde_json::json!({"op": "eval", "expression": expression}))["value"]
            .as_str()
            .map(str::to_owned)
    }

    /// The browser's cookies (name and attributes).
    pub fn cookies(&mut self) -> Vec<serde_json::Value> {
        self.send(serde_json::json!({"op": "cookies"}))["cookies"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Becomes a new browser: no cookies.
    pub fn forget(&mut self) {
        self.send(serde_json::json!({"op": "forget"}));
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh PostgreSQL schema for a CLI test (`LATCHKEY_TEST_POSTGRES_URL`), dropped
/// by [`PgSchema::drop_now`].
#[cfg(pg_tests)]
pub struct PgSchema {
    rt: tokio::runtime::Runtime,
    store: latchkey_store::Store,
    schema: String,
}

#[cfg(pg_tests)]
impl PgSchema {
    /// Creates schema `{prefix}_{pid}` and returns it with a CLI whose commands use it.
    pub fn cli(prefix: &str) -> (Self, Cli) {
        let base = std::env::var("LATCHKEY_TEST_POSTGRES_URL").expect("LATCHKEY_TEST_POSTGRES_URL");
        let schema = format!("{prefix}_{}", std::process::id());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let store = rt.block_on(async {
            let mut options = latchkey_store::StoreOptions::new(base.clone());
            options.pg_schema = Some(schema.clone());
            latchkey_store::Store::open(&options).await.expect("schema")
        });
        let sep = if base.contains('?') { '&' } else { '?' };
        let mut cli = Cli::new();
        cli.database_url = Some(format!("{base}{sep}options=-c%20search_path%3D{schema}"));
        (Self { rt, store, schema }, cli)
    }

    /// Drops the schema and everything in it.
    pub fn drop_now(self) {
        self.rt
            .block_on(async { self.store.drop_schema(&self.schema).await.expect("drop schema") });
    }
}

/// One HTTP/1.1 request over a fresh connection to `base` (`http://host:port`), with
/// `headers` and `body`; the status and the body of the answer.
pub async fn request(base: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    request_from("127.0.0.1", base, method, path, headers, body).await
}

/// [`request`] from the loopback address `from` (`127.0.0.2`…): another client, as the
/// server sees it.
pub async fn request_from(
    from: &str,
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = base.strip_prefix("http://").expect("http URL");
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(std::net::SocketAddr::new(from.parse().expect("address"), 0))
        .expect("bind");
    let addr = tokio::net::lookup_host(host)
        .await
        .expect("resolve")
        .next()
        .expect("an address");
    let mut stream = socket.connect(addr).await.expect("connect");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.expect("send");
    stream.write_all(body).await.expect("send body");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}
