//! The hub's pull against a real org server on a loopback port.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use latchkey_core::clock::SystemClock;
use latchkey_core::password::HashParams;
use latchkey_core::secret::FingerprintKey;
use latchkey_hub::credentials::CredentialInput;
use latchkey_hub::guard::ConnectorSpec;
use latchkey_hub::vault::Vault;
use latchkey_hub::Hub;
use latchkey_org::accounts::CreateUser;
use latchkey_org::hashing::HashPool;
use latchkey_org::http::{app, HttpState};
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

/// An org server with one user (loopback trusted) on a free port; returns its URL.
async fn org(dir: &std::path::Path) -> String {
    let services = Services {
        store: store(dir).await,
        hasher: HashPool::new(HashParams::FAST_INSECURE, 2).unwrap(),
        clock: Arc::new(SystemClock),
        fingerprint_key: FingerprintKey::new([7; 32]),
        mail: MailIdentity::default(),
        caches: Default::default(),
    };
    let acme = services.create_org("Acme").await.unwrap();
    services
        .add_trusted_range(&acme.id, &"127.0.0.0/8".parse().unwrap())
        .await
        .unwrap();
    services
        .create_user(CreateUser {
            org: None,
            username: USER.into(),
            email: USER.into(),
            first_name: None,
            last_name: Some("Sync".into()),
            profile: None,
            password: Some(SecretString::from(PASSWORD)),
        })
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = app(HttpState {
        services: Arc::new(services),
        scheme: "http",
        login_rate: None,
    });
    tokio::spawn(
        async move { axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await },
    );
    url
}

fn soap() -> Credentials {
    Credentials::Soap {
        username: USER.into(),
        password: SecretString::from(PASSWORD),
        security_token: SecretString::from(""),
    }
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
    let hub = Hub {
        store: store(hub_dir.path()).await,
        vault: Arc::new(Vault::from_encoded(&Vault::generate_key()).unwrap()),
        clock: Arc::new(SystemClock),
        flights: Default::default(),
        password_params: HashParams::FAST_INSECURE,
    };
    hub.create_workspace("GatorMail").await.unwrap();
    hub.set_credential(
        "GatorMail",
        CredentialInput {
            login_url: url.clone(),
            username: USER.into(),
            password: Some(SecretString::from(PASSWORD)),
            security_token: None,
            client_id: None,
            client_secret: None,
            refresh_token: None,
        },
    )
    .await
    .unwrap();
    let spec = ConnectorSpec {
        name: "Contacts",
        object: "Contact",
        direction: "pull",
        interval_secs: 60,
        login_url: None,
    };
    hub.add_connector("GatorMail", spec).await.unwrap();

    let first = hub.pull("GatorMail", "Contacts", None).await.unwrap();
    assert_eq!((first.records, first.changed), (2_600, 2_600), "{first:?}");
    assert_eq!(first.pages, 2, "2,000 per page");
    assert_eq!(hub.contacts("GatorMail").await.unwrap().len(), 2_600);

    let replay = hub.pull("GatorMail", "Contacts", None).await.unwrap();
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
    let delta = hub.pull("GatorMail", "Contacts", None).await.unwrap();
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
    let late = hub.pull("GatorMail", "Contacts", None).await.unwrap();
    assert_eq!(late.changed, 1, "{late:?}");
    assert!(late.records <= 11, "cost grows with changes, not with size: {late:?}");
}
