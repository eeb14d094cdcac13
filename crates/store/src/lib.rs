//! Latchkey's persistence. SQLite (embedded default) and PostgreSQL (scale-out) behind
//! one [`Store`]; one migrations folder per backend. Repositories are functions over a
//! connection ([`Conn`]), so callers compose them inside one transaction ([`Store::begin`]).
//! This is the only crate that contains SQL.

pub mod app_authorizations;
pub mod apps;
pub mod authorization_codes;
pub mod bulk_jobs;
pub mod challenges;
pub mod engine;
pub mod hub;
pub mod login_history;
pub mod orgs;
pub mod outbox;
pub mod password_resets;
pub mod records;
pub mod refresh_tokens;
pub mod sessions;
pub mod users;
pub mod webhooks;

mod text;
mod time;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};

pub use engine::epoch;
pub use engine::kept::{Kept, MAX_KEPT, PING_AFTER_IDLE};
pub use engine::writer::Write;
pub use sqlx::AnyConnection as Conn;

/// A transaction; derefs to [`Conn`] for the repository functions.
pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// Commits a transaction.
pub async fn commit(tx: Tx) -> Result<(), StoreError> {
    Ok(tx.commit().await?)
}

/// Which database a [`Store`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite.
    Sqlite,
    /// PostgreSQL (or a PostgreSQL-compatible database).
    Postgres,
}

impl Backend {
    /// The backend a database URL names.
    pub fn of_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }

    pub(crate) fn of_connection(conn: &Conn) -> Self {
        if conn.backend_name().eq_ignore_ascii_case("postgresql") {
            Self::Postgres
        } else {
            Self::Sqlite
        }
    }

    /// The row-lock clause that lets queue workers lease distinct rows at once
    /// (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has one writer anyway).
    pub(crate) fn skip_locked(conn: &Conn) -> &'static str {
        match Self::of_connection(conn) {
            Self::Postgres => "FOR UPDATE SKIP LOCKED",
            Self::Sqlite => "",
        }
    }

    fn migrator(self) -> &'static Migrator {
        match self {
            Self::Sqlite => &SQLITE_MIGRATIONS,
            Self::Postgres => &POSTGRES_MIGRATIONS,
        }
    }
}

/// Errors from the store. Their text names what failed, never a value.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL is neither `sqlite:` nor `postgres://`.
    #[error("unsupported database URL: use sqlite:PATH or postgres://…")]
    UnsupportedUrl,
    /// A uniqueness rule was broken (for example a username already taken).
    #[error("{0} already exists")]
    Duplicate(&'static str),
    /// A row read back does not make sense (corrupt or hand-edited data).
    #[error("stored {0} is invalid")]
    Corrupt(&'static str),
    /// Migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The store was closed while a write waited.
    #[error("the store is closed")]
    Closed,
}

impl StoreError {
    /// Maps a unique-violation to [`StoreError::Duplicate`].
    fn duplicate_as(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
        move |e| match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Duplicate(what),
            _ => StoreError::Database(e),
        }
    }
}

/// How to open a store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// `sqlite:PATH` or `postgres://…`.
    pub url: String,
    /// Most pooled connections.
    pub max_connections: u32,
    /// PostgreSQL only: work inside this schema (created if missing). Tests use a
    /// fresh schema each; deployments may share one database between products.
    pub pg_schema: Option<String>,
}

impl StoreOptions {
    /// Options for `url` with defaults.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 16,
            pg_schema: None,
        }
    }

    /// The SQLite URL of the embedded default database in `data_dir`.
    pub fn sqlite_in(data_dir: &Path) -> String {
        format!("sqlite://{}?mode=rwc", data_dir.join("latchkey.db").display())
    }
}

/// A pool on one of the backends.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    kept: Arc<engine::kept::KeptConns>,
    writer: engine::writer::Writer,
}

fn valid_schema_name(name: &str) -> bool {
    !name.is_empty() && name.len() < 64 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

impl Store {
    /// Opens the pool (creating a SQLite file if needed). Does not migrate.
    pub async fn connect(options: &StoreOptions) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(&options.url)?;
        let schema = options.pg_schema.clone().filter(|_| backend == Backend::Postgres);
        if let Some(s) = &schema {
            if !valid_schema_name(s) {
                return Err(StoreError::UnsupportedUrl);
            }
            let mut conn = <Conn as sqlx::Connection>::connect(&options.url).await?;
            conn.execute(format!("CREATE SCHEMA IF NOT EXISTS \"{s}\"").as_str())
                .await?;
        }
        let connect = AnyConnectOptions::from_str(&options.url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(Duration::from_secs(30))
            // No ping before every checkout, only after a second unused (see
            // `engine::kept::ping_if_idle`): on a busy server a ping per query would cost a
            // round trip per query.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| Box::pin(async move { engine::kept::ping_if_idle(conn, meta.idle_for).await.map(|()| true) }))
            .after_connect(move |conn, _meta| {
                let schema = schema.clone();
                Box::pin(async move {
                    match backend {
                        Backend::Sqlite => {
                            // temp_store: a multi-row INSERT in a transaction keeps a
                            // statement journal, which past 64 KiB spilled to a temporary
                            // file created and deleted on every group commit.
                            // secure_delete: content deleted or blanked (a sent mail's
                            // body, with the token in it) is overwritten with zeros, not
                            // left on a free page.
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; \
                                 PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 10000; \
                                 PRAGMA temp_store = MEMORY; PRAGMA secure_delete = ON;",
                            )
                            .await?;
                        }
                        Backend::Postgres => {
                            if let Some(s) = schema {
                                conn.execute(format!("SET search_path TO \"{s}\"").as_str()).await?;
                            }
                        }
                    }
                    Ok(())
                })
            })
            .connect_with(connect)
            .await?;
        let kept = engine::kept::KeptConns::new(pool.clone(), engine::writer::kept_setup(backend));
        let writer = engine::writer::Writer::spawn(Arc::clone(&kept), backend);
        Ok(Self {
            pool,
            backend,
            kept,
            writer,
        })
    }

    /// Opens the pool and brings the schema up to date.
    pub async fn open(options: &StoreOptions) -> Result<Self, StoreError> {
        let store = Self::connect(options).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Applies pending migrations of this backend.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        self.backend.migrator().run(&self.pool).await?;
        Ok(())
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a transaction.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(self.pool.begin().await?)
    }

    /// Commits `write`, sharing a transaction with whatever other such writes are
    /// queued (group commit); returns once it is committed.
    pub async fn write(&self, write: Write) -> Result<(), StoreError> {
        self.writer.write(vec![write]).await
    }

    /// Like [`Store::write`] for writes that must land together (in one transaction).
    pub async fn write_all(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.writer.write(writes).await
    }

    /// Queues `write` for the next group commit and returns without waiting for it,
    /// for a write the caller's answer does not depend on (a refused attempt's
    /// login-history row). Waits only while the queue is full. Reads of what may be
    /// queued see it after [`Store::flush`]; a failed commit is logged.
    pub async fn queue(&self, write: Write) -> Result<(), StoreError> {
        self.writer.queue(vec![write]).await
    }

    /// Returns once every write sent before (queued or not) is committed. Readers of
    /// the login history call it first; the server calls it before it exits.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.writer.flush().await
    }

    /// Takes a connection from the pool for auto-committed statements.
    pub async fn conn(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Any>, StoreError> {
        Ok(self.pool.acquire().await?)
    }

    /// Takes a connection kept out of the pool (see [`Kept`]), for a hot path whose
    /// concurrency is bounded elsewhere: it is handed on without the ping sqlx sends
    /// every connection returned to its pool. [`Kept::discard`] it after an error.
    pub async fn kept(&self) -> Result<Kept, StoreError> {
        self.kept.take().await
    }

    /// Makes content just deleted or blanked unrecoverable from the files. On SQLite
    /// (which zeroes it in the database file) the write-ahead log still holds the pages
    /// as they were, so it is checkpointed and truncated; waits for readers at most the
    /// busy timeout, then leaves the rest to the next call. PostgreSQL: nothing.
    pub async fn forget_cleared(&self) -> Result<(), StoreError> {
        if self.backend == Backend::Sqlite {
            let mut conn = self.conn().await?;
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").await?;
        }
        Ok(())
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// PostgreSQL only: drops `schema` and everything in it (test clean-up).
    pub async fn drop_schema(&self, schema: &str) -> Result<(), StoreError> {
        if self.backend == Backend::Postgres && valid_schema_name(schema) {
            self.pool
                .execute(format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE").as_str())
                .await?;
        }
        Ok(())
    }
}
