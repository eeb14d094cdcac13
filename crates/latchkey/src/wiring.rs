//! Builds the services from the configuration.

use std::path::PathBuf;

use anyhow::Context;
use latchkey_core::clock::SystemClock;
use latchkey_core::secret::{random_alphanumeric, FingerprintKey};
use latchkey_hub::vault::Vault;
use latchkey_hub::Hub;
use latchkey_org::login::hashing::HashPool;
use latchkey_org::mail::delivery::Transport;
use latchkey_org::Services;
use latchkey_store::{Store, StoreOptions};
use secrecy::{ExposeSecret, SecretString};

use crate::config::{env_secret, Config, TransportKind};

/// Where the embedded mail folder is.
pub fn mail_dir(config: &Config) -> PathBuf {
    config.data_dir.join("mail")
}

/// The mail transport the configuration selects.
pub fn transport(config: &Config) -> Transport {
    match config.mail.transport {
        TransportKind::Folder => Transport::Folder(mail_dir(config)),
        TransportKind::Smtp => Transport::Smtp(config.mail.smtp.clone()),
    }
}

/// Opens the database (creating the data directory for SQLite) and migrates it.
pub async fn store(config: &Config) -> anyhow::Result<Store> {
    store_in_schema(config, None).await
}

/// Like [`store`]; on PostgreSQL, inside `pg_schema` (created if missing).
pub async fn store_in_schema(config: &Config, pg_schema: Option<String>) -> anyhow::Result<Store> {
    let url = if config.database_url.is_empty() {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
        StoreOptions::sqlite_in(&config.data_dir)
    } else {
        config.database_url.clone()
    };
    let mut options = StoreOptions::new(url);
    options.pg_schema = pg_schema;
    let store = Store::open(&options).await.context("opening the database")?;
    Ok(store)
}

/// The server secret: `LATCHKEY_SECRET_KEY(_FILE)`, the configured file, or
/// `<data_dir>/secret.key` generated on first use (mode 0600).
fn server_secret(config: &Config) -> anyhow::Result<SecretString> {
    if let Some(s) = env_secret("LATCHKEY_SECRET_KEY")? {
        return Ok(s);
    }
    let path = if config.secrets.secret_key_file.is_empty() {
        config.data_dir.join("secret.key")
    } else {
        PathBuf::from(&config.secrets.secret_key_file)
    };
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => return Ok(SecretString::from(text.trim().to_owned())),
        Ok(_) => anyhow::bail!("secret key file {} is empty", path.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let secret = random_alphanumeric(48);
    write_private(&path, secret.expose_secret())?;
    Ok(secret)
}

/// Creates `path` with `text`, readable by its owner only; an existing file is an error.
#[cfg(unix)]
pub fn write_private(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

/// Creates `path` with `text` (no owner-only mode off Unix).
#[cfg(not(unix))]
pub fn write_private(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("creating {}", path.display()))
}

/// The org services over the configured database.
pub async fn services(config: &Config) -> anyhow::Result<Services> {
    services_on(config, store(config).await?)
}

/// The org services over an opened store.
pub fn services_on(config: &Config, store: Store) -> anyhow::Result<Services> {
    let secret = server_secret(config)?;
    // One hashing thread per core the process has, not per core its runtime has.
    let concurrency = match config.hashing.concurrency {
        0 => crate::cpus::available(),
        n => n,
    };
    let hasher = HashPool::with_thread_start(config.hashing.params(), concurrency, crate::cpus::widen)
        .context("hashing parameters out of range")?;
    Ok(Services::new(latchkey_org::Parts {
        store,
        hasher,
        clock: std::sync::Arc::new(SystemClock),
        fingerprint_key: FingerprintKey::derive(&secret, "latchkey failed-secret fingerprint v1"),
        mail: config.mail.identity(),
        webhooks: latchkey_org::webhooks::Signing::new(FingerprintKey::derive(&secret, "latchkey webhook signing v1")),
    })
    .with_bulk_lease(chrono::Duration::seconds(
        i64::try_from(config.server.bulk_lease_secs.max(1)).unwrap_or(i64::MAX),
    )))
}

/// Where the hub's vault keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HubKeys {
    /// `LATCHKEY_HUB_KEY` (or `LATCHKEY_HUB_KEY_FILE`): base64 keys separated by commas,
    /// the first sealing.
    Env,
    /// A key file, one base64 key per line, the first sealing; created with a fresh
    /// key on first use.
    File(PathBuf),
}

/// The hub's key file in the data directory.
pub fn hub_key_file(config: &Config) -> PathBuf {
    config.data_dir.join("hub.key")
}

/// Replaces `path` with `text` (mode 0600) through a temporary file and a rename, so a
/// crash leaves either the old or the new content.
pub fn replace_private(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    let temp = path.with_extension("key.tmp");
    let _ = std::fs::remove_file(&temp);
    write_private(&temp, text)?;
    std::fs::rename(&temp, path).with_context(|| format!("replacing {}", path.display()))
}

/// The hub's vault and where its keys came from.
pub fn hub_vault(config: &Config) -> anyhow::Result<(Vault, HubKeys)> {
    if let Some(keys) = env_secret("LATCHKEY_HUB_KEY")? {
        return Ok((Vault::from_encoded(keys.expose_secret())?, HubKeys::Env));
    }
    let path = hub_key_file(config);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(&config.data_dir)?;
            let key = Vault::generate_key();
            write_private(&path, &format!("{}\n", key.as_str()))?;
            key.to_string()
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let vault = Vault::from_encoded(&text).with_context(|| format!("hub key file {}", path.display()))?;
    Ok((vault, HubKeys::File(path)))
}

/// The hub's services over the configured database, with `vault`.
pub async fn hub_with(config: &Config, vault: Vault) -> anyhow::Result<Hub> {
    Ok(Hub::new(latchkey_hub::HubParts {
        store: store(config).await?,
        vault,
        clock: std::sync::Arc::new(SystemClock),
        hashing: latchkey_hub::hashing::HashThreads::new(config.hashing.params(), config.hashing.concurrency),
        sync_lease: std::time::Duration::from_secs(config.hub.sync_lease_secs.max(1)),
        announcement_grace: latchkey_hub::guard::DEFAULT_ANNOUNCEMENT_GRACE,
        failure_window: std::time::Duration::from_secs(config.hub.failure_window_secs.max(1)),
    }))
}
