//! A service stack on a fresh SQLite database with a manual clock, and a real SMTP
//! sink process.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::DateTime;
use latchkey_core::clock::ManualClock;
use latchkey_core::password::HashParams;
use latchkey_core::secret::FingerprintKey;
use latchkey_core::status::Channel;
use latchkey_org::accounts::CreateUser;
use latchkey_org::login::hashing::HashPool;
use latchkey_org::login::{Intent, LoginOutcome, LoginRequest};
use latchkey_org::mail::delivery::{Deliverer, Transport};
use latchkey_org::mail::MailIdentity;
use latchkey_org::{Parts, Services};
use latchkey_store::apps::ConnectedApp;
use latchkey_store::login_history::{Filter, LoginRecord};
use latchkey_store::{Store, StoreOptions};
use secrecy::SecretString;

pub use crate::smtp_sink::SmtpSink;

pub const PASSWORD: &str = "violet-kettle-42";
pub const UNTRUSTED: &str = "203.0.113.9";

pub struct Stack {
    pub services: Services,
    /// The services' database, for what a test inspects below them.
    pub store: Store,
    pub clock: Arc<ManualClock>,
    pub dir: tempfile::TempDir,
}

impl Stack {
    pub async fn new() -> Self {
        Self::with_params(HashParams::FAST_INSECURE).await
    }

    pub async fn with_params(params: HashParams) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&StoreOptions::new(StoreOptions::sqlite_in(dir.path())))
            .await
            .expect("store");
        let clock = Arc::new(ManualClock::new(
            DateTime::from_timestamp_millis(1_767_225_600_000).expect("time"),
        ));
        let services = Services::new(Parts {
            store: store.clone(),
            hasher: HashPool::new(params, 2).expect("hasher"),
            clock: clock.clone(),
            fingerprint_key: FingerprintKey::new([9; 32]),
            mail: MailIdentity::default(),
            webhooks: latchkey_org::webhooks::Signing::new(FingerprintKey::new([8; 32])),
        });
        Self {
            services,
            store,
            clock,
            dir,
        }
    }

    /// The same database with other hashing parameters.
    pub fn rehashing(&self, params: HashParams) -> Services {
        self.services.with_hasher(HashPool::new(params, 2).expect("hasher"))
    }

    pub fn mail_dir(&self) -> PathBuf {
        self.dir.path().join("mail")
    }

    /// Delivers the outbox into the mail folder.
    pub async fn deliver(&self) {
        Deliverer::new(self.services.clone(), Transport::Folder(self.mail_dir()))
            .expect("deliverer")
            .deliver_due()
            .await
            .expect("delivery");
    }

    pub async fn org_with_user(&self, username: &str) {
        self.services.console().create_org("Acme").await.expect("org");
        self.services
            .console()
            .create_user(CreateUser {
                org: None,
                username: username.into(),
                email: "jane@acme.test".into(),
                first_name: Some("Jane".into()),
                last_name: Some("Doe".into()),
                profile: None,
                password: Some(SecretString::from(PASSWORD)),
                settings: Default::default(),
            })
            .await
            .expect("user");
    }

    /// A second org, "Beta", with one user `username` (password [`PASSWORD`]).
    pub async fn beta_with_user(&self, username: &str) -> latchkey_store::orgs::Org {
        let beta = self.services.console().create_org("Beta").await.expect("org");
        self.services
            .console()
            .create_user(CreateUser {
                org: Some(beta.id.as_str().to_owned()),
                username: username.into(),
                email: username.into(),
                first_name: None,
                last_name: Some("Beta".into()),
                profile: None,
                password: Some(SecretString::from(PASSWORD)),
                settings: Default::default(),
            })
            .await
            .expect("user");
        beta
    }

    /// Sets the default org's maximum of invalid attempts, its lockout period and the
    /// sources a lock shuts out.
    pub async fn set_max(
        &self,
        max: latchkey_core::policy::MaxInvalidAttempts,
        lockout: latchkey_core::policy::LockoutPeriod,
        lockout_scope: latchkey_core::policy::LockoutScope,
    ) {
        let org = self.services.resolve_org(None).await.expect("org");
        let policy = latchkey_core::policy::PasswordPolicy {
            max_invalid_attempts: max,
            lockout,
            lockout_scope,
            ..org.policy
        };
        self.services
            .console()
            .set_policy(&org.id, &policy)
            .await
            .expect("policy");
    }

    /// The newest login-history rows (at most ten), newest first.
    pub async fn recent_logins(&self) -> Vec<LoginRecord> {
        let filter = Filter {
            limit: 10,
            ..Filter::default()
        };
        self.services
            .console()
            .login_history(&filter)
            .await
            .expect("login history")
    }

    pub async fn login(&self, username: &str, secret: &str, channel: Channel, ip: &str) -> LoginOutcome {
        let secret = SecretString::from(secret);
        let ip: IpAddr = ip.parse().expect("ip");
        let app;
        let intent = match channel {
            Channel::Soap => Intent::Soap {
                api_type: "SOAP Partner",
                api_version: "59.0",
                client: "test",
            },
            Channel::Ui => Intent::Page { device_verified: false },
            Channel::OAuth => {
                app = self.test_app().await;
                Intent::OAuthPassword(&app)
            }
        };
        let req = LoginRequest {
            username,
            secret: &secret,
            ip,
            intent,
        };
        self.services.login(&req).await.expect("login runs").outcome
    }

    /// The default org's connected app "test", created on first use.
    pub async fn test_app(&self) -> ConnectedApp {
        let org = self.services.resolve_org(None).await.expect("default org");
        let apps = self.services.apps(&org.id).await.expect("apps");
        match apps.into_iter().find(|a| a.name == "test") {
            Some(app) => app,
            None => {
                self.services
                    .console()
                    .create_app(&org.id, "test", None, None)
                    .await
                    .expect("app")
                    .0
            }
        }
    }
}

/// Extracts the security token from a token e-mail's text.
pub fn token_in(text: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.trim().strip_prefix("Security token (case-sensitive): "))
        .map(|t| t.trim().to_owned())
}
