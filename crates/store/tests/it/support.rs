//! Test databases and the macro that runs one body on each backend.

use chrono::{DateTime, Duration, Utc};
use latchkey_core::secret::SecretDigest;
use latchkey_store::sessions::NewSession;
use latchkey_store::users::User;
use latchkey_store::{Store, StoreOptions};

/// A migrated store that cleans up after itself.
pub struct TestDb {
    pub store: Store,
    schema: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&StoreOptions::new(StoreOptions::sqlite_in(dir.path())))
            .await
            .expect("open sqlite");
        Self {
            store,
            schema: None,
            _dir: Some(dir),
        }
    }

    #[allow(dead_code)]
    pub async fn postgres() -> Self {
        let url = std::env::var("LATCHKEY_TEST_POSTGRES_URL").expect("LATCHKEY_TEST_POSTGRES_URL");
        let schema = format!("lk_test_{}", rand::random::<u64>());
        // The connections name themselves after the schema, so that a test can find
        // its own among those of the tests running beside it.
        let separator = if url.contains('?') { '&' } else { '?' };
        let mut options = StoreOptions::new(format!("{url}{separator}application_name={schema}"));
        options.pg_schema = Some(schema.clone());
        let store = Store::open(&options).await.expect("open postgres");
        Self {
            store,
            schema: Some(schema),
            _dir: None,
        }
    }

    /// PostgreSQL only: the schema, which is also its connections' `application_name`.
    #[allow(dead_code)]
    pub fn pg_schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    pub async fn finish(self) {
        if let Some(schema) = &self.schema {
            self.store.drop_schema(schema).await.expect("drop schema");
        }
        self.store.close().await;
    }
}

pub fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_767_225_600_000).expect("valid time")
}

/// Runs `async fn $name(store: &Store)` once per backend, as `$name::sqlite` and
/// `$name::postgres`.
#[macro_export]
macro_rules! store_test {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::support::TestDb::sqlite().await;
                super::$name(&db.store).await;
                db.finish().await;
            }

            #[cfg(pg_tests)]
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let db = $crate::support::TestDb::postgres().await;
                super::$name(&db.store).await;
                db.finish().await;
            }
        }
    };
}

/// A browser session of `user` with a two-hour idle timeout, issued `minutes` after t0.
pub fn two_hour_session(user: &User, digest: SecretDigest, minutes: i64) -> NewSession {
    NewSession {
        digest,
        user_id: user.id.clone(),
        org_id: user.org_id.clone(),
        client_id: None,
        restricted: false,
        idle: Duration::hours(2),
        refresh: None,
        now: t0() + Duration::minutes(minutes),
    }
}
