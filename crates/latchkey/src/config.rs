//! One typed configuration, layered: defaults → TOML file → `LATCHKEY_*` environment
//! (with `_FILE` variants for secrets) → command-line flags.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use latchkey_core::password::HashParams;
use latchkey_org::mail::delivery::{SmtpSecurity, SmtpSettings};
use latchkey_org::mail::MailIdentity;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the embedded database, mail folder and generated keys live.
    pub data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL; empty for SQLite in `data_dir`.
    pub database_url: String,
    /// Password hashing.
    pub hashing: Hashing,
    /// Mail.
    pub mail: Mail,
    /// Server secrets.
    pub secrets: Secrets,
    /// Listener settings.
    pub server: Server,
    /// Connection limits of every listener (the org server's and the hub's).
    pub listener: Listener,
    /// Integration hub settings.
    pub hub: HubSettings,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./latchkey-data"),
            database_url: String::new(),
            hashing: Hashing::default(),
            mail: Mail::default(),
            secrets: Secrets::default(),
            server: Server::default(),
            listener: Listener::default(),
            hub: HubSettings::default(),
        }
    }
}

/// argon2id parameters and concurrency.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Hashing {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Iterations.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
    /// Hashes computed at once; 0 = one per core.
    pub concurrency: usize,
}

impl Default for Hashing {
    fn default() -> Self {
        let p = HashParams::default();
        Self {
            memory_kib: p.memory_kib,
            iterations: p.iterations,
            parallelism: p.parallelism,
            concurrency: 0,
        }
    }
}

impl Hashing {
    /// The argon2id parameters.
    pub fn params(&self) -> HashParams {
        HashParams {
            memory_kib: self.memory_kib,
            iterations: self.iterations,
            parallelism: self.parallelism,
        }
    }
}

/// Where mail goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    /// `.eml` files in `<data_dir>/mail`.
    Folder,
    /// The SMTP relay of `[mail.smtp]`.
    Smtp,
}

/// Mail settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Mail {
    /// `folder` or `smtp`.
    pub transport: TransportKind,
    /// `From:` address.
    pub from: String,
    /// Product name in subjects and bodies.
    pub product: String,
    /// Who locked-out users should contact.
    pub admin_contact: String,
    /// SMTP relay.
    pub smtp: SmtpSettings,
}

impl Default for Mail {
    fn default() -> Self {
        Self {
            transport: TransportKind::Folder,
            from: MailIdentity::default().from,
            product: MailIdentity::default().product,
            admin_contact: MailIdentity::default().admin_contact,
            smtp: SmtpSettings {
                host: "localhost".into(),
                port: 587,
                security: SmtpSecurity::Starttls,
                username: None,
                password: None,
                timeout_secs: 20,
            },
        }
    }
}

impl Mail {
    /// Sender and wording for the mail templates.
    pub fn identity(&self) -> MailIdentity {
        MailIdentity {
            from: self.from.clone(),
            product: self.product.clone(),
            admin_contact: self.admin_contact.clone(),
        }
    }
}

/// Server secrets.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Secrets {
    /// File holding the server secret (keys failed-secret fingerprints); empty means
    /// `<data_dir>/secret.key`, created on first run. Instances sharing a database
    /// must share it (or set `LATCHKEY_SECRET_KEY`).
    pub secret_key_file: String,
}

/// Listener settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Server {
    /// TLS certificate chain (PEM); with `tls_key`, `serve` speaks HTTPS.
    pub tls_cert: String,
    /// TLS private key (PEM).
    pub tls_key: String,
    /// Login attempts (SOAP, OAuth token) per client address per minute; 0 = no limit.
    pub login_rate_per_minute: u32,
    /// The URL users reach the server at (`https://login.acme.example`), for links in
    /// mail; empty means the listener's own URL. Never taken from a request's Host
    /// header, which a sender of "forgot password" requests controls.
    pub public_url: String,
    /// Who may read `/metrics`: `off`, `loopback` (clients on this machine) or
    /// `token` (a bearer token from `LATCHKEY_METRICS_TOKEN` or its `_FILE`).
    pub metrics: MetricsSetting,
    /// The CPUs the server's own threads run on (`"1"`, `"0-3"`; Linux), hashing
    /// keeping every core; empty: all (see `cpus.rs`).
    pub runtime_cpus: String,
    /// The newest API version served (REST, SOAP, OAuth identity); 31.0 is the
    /// oldest. Salesforce's current release's by default.
    pub newest_api_version: u32,
    /// Seconds a server's lease on a Bulk API job lasts without a saved chunk (renewed
    /// by every chunk); a server that dies delays its job at most this long.
    pub bulk_lease_secs: u64,
}

impl Default for Server {
    fn default() -> Self {
        Self {
            tls_cert: String::new(),
            tls_key: String::new(),
            login_rate_per_minute: 600,
            public_url: String::new(),
            metrics: MetricsSetting::Loopback,
            runtime_cpus: String::new(),
            newest_api_version: latchkey_org::http::versions::NEWEST_DEFAULT,
            bulk_lease_secs: 30,
        }
    }
}

/// Who may read `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricsSetting {
    /// Nobody: `/metrics` answers 404.
    Off,
    /// Clients connecting from the loopback interface.
    Loopback,
    /// Requests bearing `LATCHKEY_METRICS_TOKEN`.
    Token,
}

impl Config {
    /// The API versions the server serves.
    pub fn api_versions(&self) -> anyhow::Result<latchkey_org::http::versions::ApiVersions> {
        latchkey_org::http::versions::ApiVersions::through(self.server.newest_api_version)
            .map_err(|e| anyhow::anyhow!("[server] newest_api_version: {e}"))
    }

    /// The `/metrics` access the server enforces; `token` without a token is an error.
    pub fn metrics_access(&self) -> anyhow::Result<latchkey_org::http::MetricsAccess> {
        use latchkey_org::http::MetricsAccess;
        Ok(match self.server.metrics {
            MetricsSetting::Off => MetricsAccess::Off,
            MetricsSetting::Loopback => MetricsAccess::Loopback,
            MetricsSetting::Token => match env_secret("LATCHKEY_METRICS_TOKEN")? {
                Some(token) if !secrecy::ExposeSecret::expose_secret(&token).trim().is_empty() => {
                    MetricsAccess::Bearer(SecretString::from(
                        secrecy::ExposeSecret::expose_secret(&token).trim().to_owned(),
                    ))
                }
                _ => bail!("[server] metrics = \"token\" needs LATCHKEY_METRICS_TOKEN or LATCHKEY_METRICS_TOKEN_FILE"),
            },
        })
    }
}

/// Connection limits of a listener.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Listener {
    /// Seconds a client has for the TLS handshake and for each request's headers
    /// (also how long a kept-alive HTTP/1.1 connection may wait for its next request).
    pub header_read_timeout_secs: u64,
    /// Seconds without a byte moving after which a connection is closed.
    pub idle_timeout_secs: u64,
    /// Connections open at once.
    pub max_connections: usize,
    /// Connections open at once from one client address.
    pub max_connections_per_address: usize,
}

impl Default for Listener {
    fn default() -> Self {
        let d = latchkey_web::listener::Limits::default();
        Self {
            header_read_timeout_secs: d.header_read_timeout.as_secs(),
            idle_timeout_secs: d.idle_timeout.as_secs(),
            max_connections: d.max_connections,
            max_connections_per_address: d.max_per_address,
        }
    }
}

impl Listener {
    /// The limits, each at least 1.
    pub fn limits(&self) -> latchkey_web::listener::Limits {
        latchkey_web::listener::Limits {
            header_read_timeout: std::time::Duration::from_secs(self.header_read_timeout_secs.max(1)),
            idle_timeout: std::time::Duration::from_secs(self.idle_timeout_secs.max(1)),
            max_connections: self.max_connections.max(1),
            max_per_address: self.max_connections_per_address.max(1),
        }
    }
}

/// Integration hub settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HubSettings {
    /// How long a sync run's lease on its connector lasts without renewal (it is
    /// renewed after every page); a hub instance that dies holds it at most this long.
    pub sync_lease_secs: u64,
    /// The window in which the hub causes at most two failed logins per CRM credential
    /// record (the CRM may lock its user after three). Set it to the CRM org's lockout
    /// period when that is longer than 15 minutes.
    pub failure_window_secs: u64,
}

impl Default for HubSettings {
    fn default() -> Self {
        Self {
            sync_lease_secs: 30,
            failure_window_secs: latchkey_hub::guard::DEFAULT_FAILURE_WINDOW.as_secs(),
        }
    }
}

/// Flags that override everything else.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--database-url`.
    pub database_url: Option<String>,
    /// `--config`.
    pub config: Option<PathBuf>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Reads a secret from `NAME` or the file named by `NAME_FILE`.
pub fn env_secret(name: &str) -> anyhow::Result<Option<SecretString>> {
    if let Some(v) = env(name) {
        return Ok(Some(SecretString::from(v)));
    }
    match env(&format!("{name}_FILE")) {
        Some(path) => {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {name}_FILE {path}"))?;
            Ok(Some(SecretString::from(text.trim_end_matches(['\r', '\n']).to_owned())))
        }
        None => Ok(None),
    }
}

impl Config {
    /// Loads the layers in order.
    pub fn load(flags: &Overrides) -> anyhow::Result<Self> {
        let file = flags
            .config
            .clone()
            .or_else(|| env("LATCHKEY_CONFIG").map(PathBuf::from))
            .or_else(|| Some(PathBuf::from("latchkey.toml")).filter(|p| p.exists()));
        let mut config = match &file {
            Some(path) => Self::from_file(path)?,
            None => Self::default(),
        };
        config.apply_env()?;
        if let Some(d) = &flags.data_dir {
            config.data_dir = d.clone();
        }
        if let Some(u) = &flags.database_url {
            config.database_url = u.clone();
        }
        Ok(config)
    }

    /// Parses a TOML file.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading config {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("config {}", path.display()))
    }

    fn apply_env(&mut self) -> anyhow::Result<()> {
        if let Some(v) = env("LATCHKEY_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = env("LATCHKEY_PUBLIC_URL") {
            self.server.public_url = v;
        }
        if let Some(v) = env("LATCHKEY_RUNTIME_CPUS") {
            self.server.runtime_cpus = v;
        }
        if let Some(v) = env("LATCHKEY_DATABASE_URL") {
            self.database_url = v;
        }
        if let Some(v) = env("LATCHKEY_MAIL_TRANSPORT") {
            self.mail.transport = match v.as_str() {
                "folder" => TransportKind::Folder,
                "smtp" => TransportKind::Smtp,
                other => bail!("LATCHKEY_MAIL_TRANSPORT must be folder or smtp, not {other:?}"),
            };
        }
        if let Some(v) = env("LATCHKEY_SMTP_HOST") {
            self.mail.smtp.host = v;
        }
        if let Some(v) = env("LATCHKEY_SMTP_PORT") {
            self.mail.smtp.port = v.parse().context("LATCHKEY_SMTP_PORT")?;
        }
        if let Some(v) = env("LATCHKEY_SMTP_SECURITY") {
            self.mail.smtp.security = match v.as_str() {
                "none" => SmtpSecurity::None,
                "starttls" => SmtpSecurity::Starttls,
                "tls" => SmtpSecurity::Tls,
                other => bail!("LATCHKEY_SMTP_SECURITY must be none, starttls or tls, not {other:?}"),
            };
        }
        if let Some(v) = env("LATCHKEY_SMTP_USERNAME") {
            self.mail.smtp.username = Some(v);
        }
        if let Some(p) = env_secret("LATCHKEY_SMTP_PASSWORD")? {
            self.mail.smtp.password = Some(p);
        }
        if let Some(v) = env("LATCHKEY_SECRET_KEY_FILE") {
            self.secrets.secret_key_file = v;
        }
        if let Some(v) = env("LATCHKEY_BULK_LEASE_SECS") {
            self.server.bulk_lease_secs = v.parse().context("LATCHKEY_BULK_LEASE_SECS")?;
        }
        if let Some(v) = env("LATCHKEY_HUB_SYNC_LEASE_SECS") {
            self.hub.sync_lease_secs = v.parse().context("LATCHKEY_HUB_SYNC_LEASE_SECS")?;
        }
        if let Some(v) = env("LATCHKEY_HUB_FAILURE_WINDOW_SECS") {
            self.hub.failure_window_secs = v.parse().context("LATCHKEY_HUB_FAILURE_WINDOW_SECS")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(prefix: &str, v: &toml::Value, out: &mut Vec<String>) {
        if let toml::Value::Table(t) = v {
            for (k, child) in t {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                out.push(path.clone());
                keys(&path, child, out);
            }
        }
    }

    /// `latchkey.example.toml` parses, equals the defaults, and mentions every key.
    #[test]
    fn example_config_is_in_sync() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../latchkey.example.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let example: Config = toml::from_str(&text).unwrap();
        let as_value = |c: &Config| toml::Value::try_from(c).unwrap();
        assert_eq!(
            as_value(&example),
            as_value(&Config::default()),
            "example values are the defaults"
        );
        let mut want = Vec::new();
        keys("", &as_value(&Config::default()), &mut want);
        let mut have = Vec::new();
        keys("", &toml::from_str::<toml::Value>(&text).unwrap(), &mut have);
        for k in want {
            assert!(have.contains(&k), "latchkey.example.toml lacks {k}");
        }
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<Config>("data_dir = 'x'\nsurprise = 1").is_err());
        assert!(toml::from_str::<Config>("[mail.smtp]\nhost = 'h'\nport = 25\nbogus = 1").is_err());
    }
}
