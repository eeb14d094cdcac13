//! The hub's sync against a real org server on a loopback port (with injected
//! transient faults where a test asks for them).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use latchkey_core::clock::SystemClock;
use latchkey_core::connectors::ConnectorState;
use latchkey_core::password::HashParams;
use latchkey_core::records::{CustomField, CustomType, ObjectKind};
use latchkey_core::secret::FingerprintKey;
use latchkey_hub::contacts::ContactChanges;
use latchkey_hub::credentials::CredentialInput;
use latchkey_hub::guard::{ConnectorSpec, GuardError, DEFAULT_EXTERNAL_ID_FIELD};
use latchkey_hub::sync::SyncReport;
use latchkey_hub::vault::Vault;
use latchkey_hub::Hub;
use latchkey_hub::HubError;
use latchkey_org::accounts::CreateUser;
use latchkey_org::http::{app, HttpState};
use latchkey_org::login::hashing::HashPool;
use latchkey_org::mail::MailIdentity;
use latchkey_org::Services;
use latchkey_sfclient::{Client, Credentials};
use latchkey_store::{Store, StoreOptions};
use secrecy::SecretString;
use serde_json::json;

const USER: &str = "sync@acme.test";
const PASSWORD: &str = "violet-kettle-42";

async fn store(dir: &std::path::Path) -> Store {
    Store::open(&StoreOptions::new(StoreOptions::sqlite_in(dir)))
        .await
        .unwrap()
}

/// Faults an org server answers with while they are set: a status for every request
/// (logins too, or not), and a delay before each answer.
#[derive(Debug, Default)]
struct Faults {
    status: AtomicU16,
    logins_too: AtomicBool,
    delay_ms: AtomicU64,
}

impl Faults {
    fn set(&self, status: u16, logins_too: bool) {
        self.status.store(status, Ordering::SeqCst);
        self.logins_too.store(logins_too, Ordering::SeqCst);
    }
}

async fn inject(State(faults): State<Arc<Faults>>, request: Request, next: Next) -> Response {
    let delay = faults.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
    }
    let path = request.uri().path();
    let login = path.starts_with("/services/Soap") || path.starts_with("/services/oauth2");
    let status = faults.status.load(Ordering::SeqCst);
    if status == 0 || (login && !faults.logins_too.load(Ordering::SeqCst)) {
        return next.run(request).await;
    }
    let body = json!([{"errorCode": "SERVER_UNAVAILABLE", "message": "injected fault"}]);
    let mut response = (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    response
}

/// An org server with one user (loopback trusted) on a free port; returns its URL.
async fn org(dir: &std::path::Path) -> String {
    org_behind(dir, Arc::default()).await.0
}

/// [`org`] answering with `faults` while they are set; also returns its services.
async fn org_behind(dir: &std::path::Path, faults: Arc<Faults>) -> (String, Services) {
    let services = Services::new(latchkey_org::Parts {
        store: store(dir).await,
        hasher: HashPool::new(HashParams::FAST_INSECURE, 2).unwrap(),
        clock: Arc::new(SystemClock),
        fingerprint_key: FingerprintKey::new([7; 32]),
        mail: MailIdentity::default(),
        webhooks: latchkey_org::webhooks::Signing::new(FingerprintKey::new([6; 32])),
    });
    let acme = services.console().create_org("Acme").await.unwrap();
    let key_field = CustomField {
        object: ObjectKind::Contact,
        name: DEFAULT_EXTERNAL_ID_FIELD.into(),
        label: "Latchkey hub id".into(),
        custom_type: CustomType::Text,
        length: 18,
        required: false,
        external_id: true,
        unique: true,
    };
    services.console().add_custom_field(&acme.id, &key_field).await.unwrap();
    services
        .console()
        .add_trusted_range(&acme.id, &"127.0.0.0/8".parse().unwrap())
        .await
        .unwrap();
    services
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
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = app(HttpState {
        services: Arc::new(services.clone()),
        scheme: "http",
        login_rate: None,
        public_url: None,
        metrics: Default::default(),
        api_versions: Default::default(),
    })
    .layer(axum::middleware::from_fn_with_state(faults, inject));
    tokio::spawn(
        async move { axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await },
    );
    (url, services)
}

fn soap() -> Credentials {
    Credentials::Soap {
        username: USER.into(),
        password: SecretString::from(PASSWORD),
        security_token: SecretString::from(""),
    }
}

/// A hub with workspace GatorMail, the sync user's credentials and connector
/// "Contacts" in `direction`.
async fn hub(dir: &std::path::Path, url: &str, direction: &str) -> Hub {
    hub_mapped(dir, url, direction, BTreeMap::new()).await
}

/// [`hub`] with a connector whose hub fields have the CRM names of `field_map`.
async fn hub_mapped(dir: &std::path::Path, url: &str, direction: &str, field_map: BTreeMap<String, String>) -> Hub {
    let hub = Hub::new(latchkey_hub::HubParts {
        store: store(dir).await,
        vault: Vault::from_encoded(&Vault::generate_key()).unwrap(),
        clock: Arc::new(SystemClock),
        hashing: latchkey_hub::hashing::HashThreads::new(HashParams::FAST_INSECURE, 2),
        sync_lease: std::time::Duration::from_secs(30),
        announcement_grace: std::time::Duration::from_secs(1),
        failure_window: latchkey_hub::guard::DEFAULT_FAILURE_WINDOW,
    });
    hub.create_workspace("GatorMail").await.unwrap();
    hub.set_credential(
        "GatorMail",
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
    .await
    .unwrap();
    let spec = ConnectorSpec {
        name: "Contacts",
        object: "Contact",
        direction,
        interval_secs: 60,
        login_url: None,
        external_id_field: None,
        field_map,
    };
    hub.add_connector("GatorMail", spec).await.unwrap();
    hub
}

async fn sync(hub: &Hub) -> SyncReport {
    hub.sync("GatorMail", "Contacts", None, &|_| {}).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulls_incrementally_and_a_replay_changes_nothing() {
    let org_dir = tempfile::tempdir().unwrap();
    let url = org(org_dir.path()).await;
    let crm = Client::new(&url, soap(), None).unwrap();
    let mut ids = Vec::new();
    for chunk in 0..13 {
        let records: Vec<_> = (0..200)
            .map(|i| json!({"attributes": {"type": "Contact"}, "LastName": format!("Pulled {}", chunk * 200 + i)}))
            .collect();
        let results = crm.create_many(&records, true).await.unwrap();
        ids.extend(results.into_iter().map(|r| r.id.unwrap()));
    }

    let hub_dir = tempfile::tempdir().unwrap();
    let hub = hub(hub_dir.path(), &url, "pull").await;

    let first = sync(&hub).await.pull;
    assert_eq!((first.records, first.changed), (2_600, 2_600), "{first:?}");
    assert_eq!(first.pages, 2, "2,000 per page");
    assert_eq!(hub.contacts("GatorMail").await.unwrap().len(), 2_600);

    let replay = sync(&hub).await.pull;
    assert_eq!(
        replay.changed, 0,
        "the look-back re-reads, but changes nothing: {replay:?}"
    );

    // The look-back reaches at most two seconds behind the checkpoint; wait that long so
    // the later pulls' figures count changes, not the look-back's window.
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    for id in &ids[..10] {
        crm.update("Contact", id, &json!({"Email": "changed@example.org"}))
            .await
            .unwrap();
    }
    let delta = sync(&hub).await.pull;
    assert_eq!(delta.changed, 10, "{delta:?}");
    let changed = hub
        .contacts("GatorMail")
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.email.as_deref() == Some("changed@example.org"))
        .count();
    assert_eq!(changed, 10);
    assert_eq!(
        hub.contacts("GatorMail").await.unwrap().len(),
        2_600,
        "nothing duplicated"
    );

    // Later, one more change: the pull reads it and the look-back window, not the org.
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    crm.update("Contact", &ids[100], &json!({"FirstName": "Late"}))
        .await
        .unwrap();
    let late = sync(&hub).await.pull;
    assert_eq!(late.changed, 1, "{late:?}");
    assert!(late.records <= 11, "cost grows with changes, not with size: {late:?}");
}

/// Field values of every CRM contact and every hub contact, sorted, to compare sides.
async fn both_sides(crm: &Client, hub: &Hub) -> (Vec<String>, Vec<String>) {
    let show = |f: Option<&str>, l: &str, e: Option<&str>| format!("{}|{l}|{}", f.unwrap_or(""), e.unwrap_or(""));
    let mut crm_side: Vec<String> = crm
        .query("SELECT FirstName, LastName, Email FROM Contact")
        .await
        .unwrap()
        .iter()
        .map(|r| {
            show(
                r["FirstName"].as_str(),
                r["LastName"].as_str().unwrap(),
                r["Email"].as_str(),
            )
        })
        .collect();
    let mut hub_side: Vec<String> = hub
        .contacts("GatorMail")
        .await
        .unwrap()
        .iter()
        .map(|c| show(c.first_name.as_deref(), &c.last_name, c.email.as_deref()))
        .collect();
    crm_side.sort();
    hub_side.sort();
    (crm_side, hub_side)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_way_sync_merges_field_by_field_without_echo() {
    let org_dir = tempfile::tempdir().unwrap();
    let url = org(org_dir.path()).await;
    let crm = Client::new(&url, soap(), None).unwrap();
    let ann = crm
        .create(
            "Contact",
            &json!({"FirstName": "Ann", "LastName": "Lee", "Email": "ann@crm.test"}),
        )
        .await
        .unwrap();
    crm.create("Contact", &json!({"LastName": "Only In CRM"}))
        .await
        .unwrap();

    let hub_dir = tempfile::tempdir().unwrap();
    let hub = hub(hub_dir.path(), &url, "both").await;
    let local = |last: &str| ContactChanges {
        last_name: Some(last.into()),
        ..ContactChanges::default()
    };
    hub.create_contact("GatorMail", &local("Only In Hub")).await.unwrap();

    let first = sync(&hub).await;
    assert_eq!((first.pull.changed, first.push.created), (2, 1), "{first:?}");
    let (crm_side, hub_side) = both_sides(&crm, &hub).await;
    assert_eq!(crm_side, hub_side);
    assert_eq!(crm_side.len(), 3);

    // No echo: the pushed contact comes back but changes nothing, and nothing goes out.
    let quiet = sync(&hub).await;
    assert_eq!(
        (quiet.pull.changed, quiet.push.created, quiet.push.updated),
        (0, 0, 0),
        "{quiet:?}"
    );

    // Different fields edited on each side: both edits survive.
    let hub_ann = hub
        .contacts("GatorMail")
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.crm_id.as_deref() == Some(ann.as_str()))
        .unwrap();
    crm.update("Contact", &ann, &json!({"FirstName": "Annie"}))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let edit = ContactChanges {
        email: Some(Some("ann@hub.test".into())),
        ..ContactChanges::default()
    };
    hub.edit_contact("GatorMail", &hub_ann.id, &edit).await.unwrap();
    let merged = sync(&hub).await;
    assert_eq!((merged.pull.changed, merged.push.updated), (1, 1), "{merged:?}");
    let in_crm = crm.get("Contact", &ann).await.unwrap();
    assert_eq!(
        (in_crm["FirstName"].as_str(), in_crm["Email"].as_str()),
        (Some("Annie"), Some("ann@hub.test"))
    );

    // The same field on both sides: the later edit wins, here the CRM's.
    hub.edit_contact(
        "GatorMail",
        &hub_ann.id,
        &ContactChanges {
            email: Some(Some("older@hub.test".into())),
            ..ContactChanges::default()
        },
    )
    .await
    .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    crm.update("Contact", &ann, &json!({"Email": "newer@crm.test"}))
        .await
        .unwrap();
    sync(&hub).await;
    assert_eq!(
        crm.get("Contact", &ann).await.unwrap()["Email"].as_str(),
        Some("newer@crm.test")
    );
    let (crm_side, hub_side) = both_sides(&crm, &hub).await;
    assert_eq!(crm_side, hub_side);
    assert!(hub
        .contacts("GatorMail")
        .await
        .unwrap()
        .iter()
        .all(|c| c.pending.is_empty()));
    let runs = hub.runs("GatorMail", "Contacts", 10).await.unwrap();
    assert_eq!(runs.len(), 4);
    assert!(runs.iter().all(|r| r.outcome == "ok"), "{runs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_hub_instance_waits_for_the_lease() {
    let org_dir = tempfile::tempdir().unwrap();
    let url = org(org_dir.path()).await;
    let hub_dir = tempfile::tempdir().unwrap();
    let hub = hub(hub_dir.path(), &url, "both").await;
    let c = hub.connector("GatorMail", "Contacts").await.unwrap();
    // Another instance holds the lease (as one that died mid-run would, until expiry).
    let now = latchkey_core::clock::Clock::now(&SystemClock);
    let below = store(hub_dir.path()).await;
    let mut conn = below.conn().await.unwrap();
    let until = now + chrono::Duration::seconds(30);
    assert!(
        latchkey_store::hub::sync::take_lease(&mut conn, &c.id, "other", now, until)
            .await
            .unwrap()
    );
    drop(conn);
    let refused = hub.sync("GatorMail", "Contacts", None, &|_| {}).await;
    assert!(
        matches!(refused, Err(GuardError::Hub(HubError::Busy(_)))),
        "{refused:?}"
    );
    // Once it expires, the lease passes on.
    let mut conn = below.conn().await.unwrap();
    let past = now - chrono::Duration::seconds(1);
    assert!(
        latchkey_store::hub::sync::take_lease(&mut conn, &c.id, "other", past, past)
            .await
            .unwrap()
    );
    drop(conn);
    sync(&hub).await;
}

/// 503s and 429s — on the data API, then on the login itself — are transient: the
/// connector backs off, is never suspended, no login fails at the org; slow answers
/// are only slow; and once the org answers again one run catches up both ways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_faults_back_off_never_suspend_and_the_sync_catches_up() {
    let org_dir = tempfile::tempdir().unwrap();
    let faults = Arc::new(Faults::default());
    let (url, services) = org_behind(org_dir.path(), Arc::clone(&faults)).await;
    let crm = Client::new(&url, soap(), None).unwrap();
    crm.create("Contact", &json!({"LastName": "Before"})).await.unwrap();
    let hub_dir = tempfile::tempdir().unwrap();
    let hub = hub(hub_dir.path(), &url, "both").await;
    sync(&hub).await;
    crm.create("Contact", &json!({"LastName": "Made In CRM During Faults"}))
        .await
        .unwrap();

    for (round, (status, logins_too)) in [(503, false), (429, false), (503, true), (429, true)]
        .into_iter()
        .enumerate()
    {
        faults.set(status, logins_too);
        let local = ContactChanges {
            last_name: Some(format!("Made In Hub During Fault {round}")),
            ..ContactChanges::default()
        };
        hub.create_contact("GatorMail", &local).await.unwrap();
        let error = hub.sync("GatorMail", "Contacts", None, &|_| {}).await.unwrap_err();
        assert!(matches!(error, GuardError::Transient(_)), "{status}: {error}");
        let c = hub.connector("GatorMail", "Contacts").await.unwrap();
        assert_eq!(
            c.state,
            ConnectorState::BackingOff,
            "{status}, logins too: {logins_too}"
        );
        assert!(
            c.last_error
                .as_deref()
                .unwrap_or_default()
                .contains("could not be reached"),
            "{c:?}"
        );
    }
    faults.set(0, false);
    faults.delay_ms.store(300, Ordering::SeqCst);
    let caught_up = sync(&hub).await;
    faults.delay_ms.store(0, Ordering::SeqCst);
    assert_eq!(
        (caught_up.pull.changed, caught_up.push.created),
        (1, 4),
        "{caught_up:?}"
    );
    assert_eq!(
        hub.connector("GatorMail", "Contacts").await.unwrap().state,
        ConnectorState::Enabled
    );
    let (crm_side, hub_side) = both_sides(&crm, &hub).await;
    assert_eq!(crm_side, hub_side);
    assert_eq!(crm_side.len(), 6);
    let user = services.user(USER).await.unwrap();
    assert_eq!(user.failed_attempts, 0, "no fault counted as a failed login");
}

/// The org's login history: (attempts, failed attempts).
async fn login_history(services: &Services) -> (usize, usize) {
    let filter = latchkey_store::login_history::Filter {
        org_id: None,
        user_id: None,
        limit: 1_000,
    };
    let rows = services.console().login_history(&filter).await.unwrap();
    let failed = rows
        .iter()
        .filter(|r| r.status != latchkey_core::status::LoginStatus::Success.as_str())
        .count();
    (rows.len(), failed)
}

/// Sync runs reuse the record's session: three runs, one login at the org. A session
/// the org ended costs exactly one new login; a connection test always logs in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_runs_reuse_the_session_until_the_org_ends_it() {
    let org_dir = tempfile::tempdir().unwrap();
    let (url, services) = org_behind(org_dir.path(), Arc::default()).await;
    let logins = || async { login_history(&services).await.0 };
    let hub_dir = tempfile::tempdir().unwrap();
    let hub = hub(hub_dir.path(), &url, "both").await;
    for _ in 0..3 {
        sync(&hub).await;
    }
    assert_eq!(logins().await, 1, "three runs, one login");
    services.console().revoke_sessions(USER).await.unwrap();
    sync(&hub).await;
    sync(&hub).await;
    assert_eq!(logins().await, 2, "one new login after the org ended the session");
    hub.test_connector("GatorMail", "Contacts", None, false).await.unwrap();
    assert_eq!(logins().await, 3, "a connection test logs in");
}

/// A connector whose Email is the CRM's Work_Email__c pulls and pushes that field and
/// leaves the CRM's own Email alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mapped_field_syncs_under_its_crm_name() {
    let org_dir = tempfile::tempdir().unwrap();
    let (url, services) = org_behind(org_dir.path(), Arc::default()).await;
    let org_id = services.user(USER).await.unwrap().org_id;
    let work_email = CustomField {
        object: ObjectKind::Contact,
        name: "Work_Email__c".into(),
        label: "Work e-mail".into(),
        custom_type: CustomType::Email,
        length: 80,
        required: false,
        external_id: false,
        unique: false,
    };
    services.console().add_custom_field(&org_id, &work_email).await.unwrap();
    let crm = Client::new(&url, soap(), None).unwrap();
    let ann = crm
        .create(
            "Contact",
            &json!({"LastName": "Lee", "Email": "ann@home.test", "Work_Email__c": "ann@work.test"}),
        )
        .await
        .unwrap();
    let hub_dir = tempfile::tempdir().unwrap();
    let map = [("Email".to_owned(), "Work_Email__c".to_owned())].into();
    let hub = hub_mapped(hub_dir.path(), &url, "both", map).await;
    sync(&hub).await;
    let local = hub.contacts("GatorMail").await.unwrap().remove(0);
    assert_eq!(local.email.as_deref(), Some("ann@work.test"));

    let change = ContactChanges {
        email: Some(Some("ann@new-work.test".into())),
        ..ContactChanges::default()
    };
    hub.edit_contact("GatorMail", &local.id, &change).await.unwrap();
    let pushed = sync(&hub).await;
    assert_eq!(pushed.push.updated, 1, "{pushed:?}");
    let record = crm.get("Contact", &ann).await.unwrap();
    assert_eq!(record["Work_Email__c"], "ann@new-work.test");
    assert_eq!(record["Email"], "ann@home.test", "the unmapped CRM field is untouched");
}

/// Serves the hub's HTTP routes on a loopback port; returns its URL.
async fn hub_listening(hub: &Hub) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = latchkey_hub::http::router(latchkey_hub::http::ui::Web {
        hub: hub.clone(),
        ca: None,
        login_rate: None,
        base_url: url.clone(),
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// With the org's webhooks wired to the hub: a session the org ended without an
/// announcement makes sync runs wait out the grace, then log in once; a freeze,
/// announced, suspends the connector with no login at all, and the unfreeze resumes it;
/// a password reset, announced, suspends it before the stale password is ever sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn announcements_suspend_before_any_login_and_an_ended_session_waits_for_them() {
    let org_dir = tempfile::tempdir().unwrap();
    let (url, services) = org_behind(org_dir.path(), Arc::default()).await;
    let history = || login_history(&services);
    let hub_dir = tempfile::tempdir().unwrap();
    let hub = hub(hub_dir.path(), &url, "pull").await;
    let hub_url = hub_listening(&hub).await;
    let record = hub.credential_views("GatorMail").await.unwrap().remove(0);
    let org_id = services.user(USER).await.unwrap().org_id;
    let (_, secret) = services
        .console()
        .create_webhook(&org_id, &format!("{hub_url}/webhooks/{}", record.id), &[])
        .await
        .unwrap();
    hub.set_webhook_secret("GatorMail", None, Some(&secret)).await.unwrap();
    let deliverer = latchkey_org::webhooks::delivery::WebhookDeliverer::new(services.clone(), None).unwrap();
    let state = || async { hub.connector("GatorMail", "Contacts").await.unwrap() };

    sync(&hub).await;
    assert_eq!(history().await, (1, 0));
    // Ended without an announcement: wait out the grace, then one login.
    services.console().revoke_sessions(USER).await.unwrap();
    let waiting = hub.sync("GatorMail", "Contacts", None, &|_| {}).await;
    assert!(matches!(waiting, Err(GuardError::Waiting)), "{waiting:?}");
    assert!(matches!(
        hub.sync("GatorMail", "Contacts", None, &|_| {}).await,
        Err(GuardError::Waiting)
    ));
    assert_eq!(history().await, (1, 0), "nothing sent during the grace");
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    sync(&hub).await;
    assert_eq!(history().await, (2, 0), "one login after the grace");

    // A freeze, announced: suspended without a login; the unfreeze resumes.
    services.console().set_frozen(USER, true).await.unwrap();
    assert_eq!(deliverer.deliver_due().await.unwrap().delivered, 1);
    let c = state().await;
    assert_eq!(c.state, ConnectorState::Suspended);
    assert_eq!(
        c.last_error.as_deref(),
        Some(latchkey_hub::announcements::locked_message(USER, true).as_str())
    );
    // Not even a connection test sends the secrets now.
    assert!(matches!(
        hub.test_connector("GatorMail", "Contacts", None, false).await,
        Err(GuardError::Suspended(_))
    ));
    services.console().set_frozen(USER, false).await.unwrap();
    assert_eq!(deliverer.deliver_due().await.unwrap().delivered, 1);
    assert_eq!(state().await.state, ConnectorState::Enabled);
    sync(&hub).await;
    assert_eq!(history().await, (3, 0), "one login, after the unfreeze");

    // A password reset, announced: suspended before the stale password is sent.
    services.console().reset_password(USER).await.unwrap();
    let report = deliverer.deliver_due().await.unwrap();
    assert_eq!(report.delivered, 2, "password.changed and security_token.reset");
    let c = state().await;
    assert_eq!(c.state, ConnectorState::Suspended);
    assert!(c.last_error.unwrap().contains("Data Source Properties"));
    for _ in 0..3 {
        assert!(matches!(
            hub.test_connector("GatorMail", "Contacts", None, false).await,
            Err(GuardError::Suspended(_))
        ));
    }
    // An unlock does not lift a suspension it did not cause.
    services.console().unlock(USER).await.unwrap();
    deliverer.deliver_due().await.unwrap();
    assert_eq!(state().await.state, ConnectorState::Suspended);
    assert_eq!(history().await, (3, 0), "the stale password was never sent");
    assert!(hub.credential_views("GatorMail").await.unwrap()[0].webhook_secret_set);
}

/// The hub's login page limits attempts per client address: over the limit it answers
/// 429 with Retry-After before it looks at the form at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_logins_are_limited_per_address() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let hub_dir = tempfile::tempdir().unwrap();
    let hub = hub(hub_dir.path(), "http://127.0.0.1:9", "pull").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = latchkey_hub::http::router(latchkey_hub::http::ui::Web {
        hub: hub.clone(),
        ca: None,
        login_rate: latchkey_web::LoginRateLimit::per_minute(3),
        base_url: format!("http://{addr}"),
    })
    .into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut answers = Vec::new();
    for _ in 0..4 {
        let body = "workspace=GatorMail&email=a%40b.test&password=guess";
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!(
            "POST /login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        answers.push(response);
    }
    let statuses: Vec<&str> = answers.iter().map(|r| r.split_whitespace().nth(1).unwrap()).collect();
    assert_eq!(statuses, ["403", "403", "403", "429"], "no token, then over the limit");
    assert!(answers[3].to_lowercase().contains("retry-after:"), "{}", answers[3]);
}

/// The hub's pages in process, as a browser that keeps its cookies.
struct Browser {
    app: axum::Router,
    cookies: BTreeMap<String, String>,
}

impl Browser {
    /// Sends a request with the browser's cookies; keeps what it sets. Returns the
    /// status, the `Set-Cookie` headers and the body.
    async fn send(&mut self, method: &str, path: &str, form: Option<String>) -> (u16, Vec<String>, String) {
        use tower::ServiceExt;
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut req = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .header("cookie", cookie);
        if form.is_some() {
            req = req.header("content-type", "application/x-www-form-urlencoded");
        }
        let req = req.body(axum::body::Body::from(form.unwrap_or_default())).unwrap();
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status().as_u16();
        let set: Vec<String> = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        for c in &set {
            let (name, value) = c.split(';').next().unwrap().split_once('=').unwrap();
            self.cookies.insert(name.to_owned(), value.to_owned());
        }
        let body = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
        (status, set, String::from_utf8_lossy(&body).into_owned())
    }

    /// The CSRF token of the page at `path`.
    async fn csrf(&mut self, path: &str) -> String {
        let (_, _, page) = self.send("GET", path, None).await;
        let marker = "name=\"_csrf\" value=\"";
        let start = page.find(marker).expect("a form") + marker.len();
        page[start..start + page[start..].find('"').unwrap()].to_owned()
    }

    async fn log_in(&mut self, password: &str) -> Vec<String> {
        let csrf = self.csrf("/").await;
        let form = format!("workspace=GatorMail&email=owner%40gatormail.test&password={password}&_csrf={csrf}");
        let (status, set, body) = self.send("POST", "/login", Some(form)).await;
        assert_eq!(status, 303, "{body}");
        set
    }

    /// Whether the Data Sync page opens (else the browser is sent to log in).
    async fn signed_in(&mut self) -> bool {
        self.send("GET", "/data-sync", None).await.0 == 200
    }
}

/// A hub login is a server-side session: a cookie saved before Log Out, a password
/// change or an owner's "end sessions" is refused after it; over https the cookie is
/// Secure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_sessions_end_at_log_out_at_a_password_change_and_when_ended() {
    let hub_dir = tempfile::tempdir().unwrap();
    let hub = hub(hub_dir.path(), "http://127.0.0.1:9", "pull").await;
    let first = SecretString::from("a-long-hub-password");
    hub.create_user("GatorMail", "owner@gatormail.test", "owner", &first)
        .await
        .unwrap();
    let app = latchkey_hub::http::router(latchkey_hub::http::ui::Web {
        hub: hub.clone(),
        ca: None,
        login_rate: None,
        base_url: "https://hub.example".into(),
    });
    let mut browser = Browser {
        app,
        cookies: BTreeMap::new(),
    };

    let set = browser.log_in("a-long-hub-password").await;
    let session = set
        .iter()
        .find(|c| c.starts_with("hub_session="))
        .expect("a session cookie");
    assert!(session.contains("HttpOnly") && session.contains("Secure"), "{session}");
    assert!(browser.signed_in().await);
    let saved = browser.cookies.clone();
    let csrf = browser.csrf("/data-sync").await;
    assert_eq!(
        browser.send("POST", "/logout", Some(format!("_csrf={csrf}"))).await.0,
        303
    );
    assert!(!browser.signed_in().await, "logged out");
    browser.cookies = saved;
    assert!(!browser.signed_in().await, "the cookie saved before Log Out is refused");

    browser.log_in("a-long-hub-password").await;
    assert!(browser.signed_in().await);
    let ended = hub
        .set_user_password(
            "GatorMail",
            "owner@gatormail.test",
            &SecretString::from("a-new-hub-password"),
        )
        .await
        .unwrap();
    assert_eq!(ended, 1);
    assert!(!browser.signed_in().await, "a password change ends the session");

    browser.log_in("a-new-hub-password").await;
    assert!(browser.signed_in().await);
    assert_eq!(
        hub.end_user_sessions("GatorMail", "owner@gatormail.test")
            .await
            .unwrap(),
        1
    );
    assert!(!browser.signed_in().await, "ended by an owner");
}

/// Saves the record's password as typed (`password`), as Data Source Properties does.
async fn type_password(hub: &Hub, url: &str, password: &str) -> Vec<&'static str> {
    let input = CredentialInput {
        login_url: url.to_owned(),
        username: USER.into(),
        password: Some(SecretString::from(password)),
        security_token: None,
        client_id: None,
        client_secret: None,
        refresh_token: None,
        jwt_private_key: None,
    };
    hub.set_credential("GatorMail", input).await.unwrap().trimmed
}

/// The story at the service level: after a password reset, a person types
/// wrong passwords again and again, one of them twice and some with a pasted space,
/// confirming every test. The hub causes at most two failed logins in the window,
/// never sends a refused pair again, asks before a test after a failure, and the
/// user (lockout at 3) is never locked; after the window the right password resumes
/// the connector.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_secrets_cost_at_most_two_failed_logins_a_window_and_never_lock() {
    use latchkey_core::policy::{LockoutScope, MaxInvalidAttempts, PasswordPolicy};
    let dir = tempfile::tempdir().unwrap();
    let (url, services) = org_behind(dir.path(), Arc::default()).await;
    let org = services.resolve_org(None).await.unwrap();
    let policy = PasswordPolicy {
        max_invalid_attempts: MaxInvalidAttempts::Limit(3),
        lockout_scope: LockoutScope::AllSources,
        ..org.policy
    };
    services.console().set_policy(&org.id, &policy).await.unwrap();
    let clock = Arc::new(latchkey_core::clock::ManualClock::new(
        latchkey_core::clock::Clock::now(&SystemClock),
    ));
    let hub = hub(dir.path(), &url, "pull").await.with_clock(clock.clone());
    sync(&hub).await;
    let state = || async { hub.connector("GatorMail", "Contacts").await.unwrap().state };
    let failed = || async { login_history(&services).await.1 };

    // The reset: the next run's login is the one failed login it costs.
    let new_password = "amber-lantern-77";
    services
        .console()
        .set_password(USER, &SecretString::from(new_password))
        .await
        .unwrap();
    assert!(hub.sync("GatorMail", "Contacts", None, &|_| {}).await.is_err());
    assert_eq!(state().await, ConnectorState::Suspended);
    assert_eq!(failed().await, 1);

    // A typo with a pasted space: trimmed, and the test waits for confirmation.
    assert_eq!(type_password(&hub, &url, "amber-lantern-7 ").await, ["password"]);
    let verdict = hub.resume_after_change("GatorMail", &url, None, false).await.unwrap();
    assert!(
        matches!(verdict, Some(Err(GuardError::Unconfirmed { failures: 1 }))),
        "{verdict:?}"
    );
    assert_eq!(failed().await, 1, "nothing sent before the confirmation");
    let verdict = hub.resume_after_change("GatorMail", &url, None, true).await.unwrap();
    assert!(matches!(verdict, Some(Err(GuardError::Rejected(_)))), "{verdict:?}");
    assert_eq!(failed().await, 2);
    assert_eq!(hub.failures_since_accepted("GatorMail", None).await.unwrap(), 2);

    // A different typo: over the budget, refused without sending.
    type_password(&hub, &url, "amber-lantern-78").await;
    let verdict = hub.resume_after_change("GatorMail", &url, None, true).await.unwrap();
    assert!(
        matches!(verdict, Some(Err(GuardError::Budget { failures: 2, .. }))),
        "{verdict:?}"
    );
    // The first typo again, pasted space and all: refused before, never sent again,
    // not even after the window.
    clock.advance(chrono::Duration::minutes(16));
    type_password(&hub, &url, " amber-lantern-7").await;
    let verdict = hub.resume_after_change("GatorMail", &url, None, true).await.unwrap();
    assert!(matches!(verdict, Some(Err(GuardError::Suspended(_)))), "{verdict:?}");
    assert!(matches!(
        hub.test_connector("GatorMail", "Contacts", None, true).await,
        Err(GuardError::Suspended(_))
    ));
    assert_eq!(failed().await, 2);
    let user = services.user(USER).await.unwrap();
    assert_eq!(user.failed_attempts, 2, "{user:?}");
    assert!(user.locked_until.is_none(), "never locked");

    // After the window, the right password (confirmed) resumes the connector; the
    // count since the last success starts again.
    type_password(&hub, &url, new_password).await;
    let verdict = hub.resume_after_change("GatorMail", &url, None, true).await.unwrap();
    assert!(matches!(verdict, Some(Ok(()))), "{verdict:?}");
    assert_eq!(state().await, ConnectorState::Enabled);
    assert_eq!(hub.failures_since_accepted("GatorMail", None).await.unwrap(), 0);
    assert_eq!(failed().await, 2);
    sync(&hub).await;
}

/// An org that switches SOAP `login()` off: the hub's record, which logs in with its
/// password that way, gets the org's refusal, counts no failed login, suspends
/// nothing and says what to do — its connectors wait. Given the org's connected app,
/// the record logs in by OAuth and the connectors run again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_soap_login_suspends_nothing_and_oauth_takes_over() {
    let org_dir = tempfile::tempdir().unwrap();
    let (url, services) = org_behind(org_dir.path(), Arc::default()).await;
    let hub_dir = tempfile::tempdir().unwrap();
    let hub = hub(hub_dir.path(), &url, "both").await;
    let acme = services.resolve_org(None).await.unwrap();
    let closed = latchkey_core::policy::LoginFlows {
        soap_login: false,
        oauth_username_password: true,
    };
    services.console().set_login_flows(&acme.id, closed).await.unwrap();

    for _ in 0..3 {
        let error = hub.sync("GatorMail", "Contacts", None, &|_| {}).await.unwrap_err();
        assert!(matches!(error, GuardError::LoginUnavailable(_)), "{error}");
        assert!(error.to_string().contains("SOAP API login() is disabled"), "{error}");
        let c = hub.connector("GatorMail", "Contacts").await.unwrap();
        assert_eq!(c.state, ConnectorState::BackingOff, "{c:?}");
        let said = c.last_error.unwrap_or_default();
        assert!(
            said.contains("connected app") && said.contains("nothing was counted"),
            "{said}"
        );
    }
    assert_eq!(hub.failures_since_accepted("GatorMail", None).await.unwrap(), 0);
    assert_eq!(services.user(USER).await.unwrap().failed_attempts, 0);

    let (app, secret) = services
        .console()
        .create_app(&acme.id, "GatorMail Sync", None, None)
        .await
        .unwrap();
    hub.set_credential("GatorMail", password_record(&url, Some((app.client_id, secret))))
        .await
        .unwrap();
    sync(&hub).await;
    assert_eq!(
        hub.connector("GatorMail", "Contacts").await.unwrap().state,
        ConnectorState::Enabled
    );
}

/// The sync user's password record, with a connected app's client id and secret when
/// given (the hub then logs in by the OAuth password grant).
fn password_record(url: &str, app: Option<(String, SecretString)>) -> CredentialInput {
    let (client_id, client_secret) = app.unzip();
    CredentialInput {
        login_url: url.to_owned(),
        username: USER.into(),
        password: Some(SecretString::from(PASSWORD)),
        security_token: None,
        client_id,
        client_secret,
        refresh_token: None,
        jwt_private_key: None,
    }
}
