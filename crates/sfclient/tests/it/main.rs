//! The client against a real org server on a loopback port.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use latchkey_core::clock::SystemClock;
use latchkey_core::password::HashParams;
use latchkey_core::secret::FingerprintKey;
use latchkey_org::accounts::CreateUser;
use latchkey_org::http::{app, HttpState};
use latchkey_org::login::hashing::HashPool;
use latchkey_org::mail::MailIdentity;
use latchkey_org::Services;
use latchkey_sfclient::{Client, Credentials, Error};
use latchkey_store::{Store, StoreOptions};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

const USER: &str = "sync@acme.test";
const PASSWORD: &str = "violet-kettle-42";

struct Org {
    services: Services,
    url: String,
    _dir: tempfile::TempDir,
}

/// An org server with one user, loopback trusted (no token needed), on a free port.
async fn org() -> Org {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&StoreOptions::new(StoreOptions::sqlite_in(dir.path())))
        .await
        .unwrap();
    let services = Services::new(latchkey_org::Parts {
        store,
        hasher: HashPool::new(HashParams::FAST_INSECURE, 2).unwrap(),
        clock: Arc::new(SystemClock),
        fingerprint_key: FingerprintKey::new([7; 32]),
        mail: MailIdentity::default(),
        webhooks: latchkey_org::webhooks::Signing::new(FingerprintKey::new([5; 32])),
    });
    let acme = services.console().create_org("Acme").await.unwrap();
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
        services: std::sync::Arc::new(services.clone()),
        scheme: "http",
        login_rate: None,
        public_url: None,
        metrics: Default::default(),
        api_versions: Default::default(),
    });
    tokio::spawn(
        async move { axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await },
    );
    Org {
        services,
        url,
        _dir: dir,
    }
}

fn soap(password: &str) -> Credentials {
    Credentials::Soap {
        username: USER.into(),
        password: SecretString::from(password),
        security_token: SecretString::from(""),
    }
}

async fn failed_attempts(org: &Org) -> i64 {
    let user = org.services.user(USER).await.unwrap();
    user.failed_attempts + user.unfamiliar_failed_attempts
}

#[tokio::test]
async fn logs_in_by_soap_and_oauth_and_works_with_records() {
    let org = org().await;
    let client = Client::new(&org.url, soap(PASSWORD), None).unwrap();
    let id = client
        .create("Contact", &json!({"LastName": "Lovelace", "Email": "ada@example.org"}))
        .await
        .unwrap();
    assert_eq!(client.get("Contact", &id).await.unwrap()["Email"], "ada@example.org");
    client
        .update("Contact", &id, &json!({"FirstName": "Ada"}))
        .await
        .unwrap();
    assert_eq!(client.get("Contact", &id).await.unwrap()["Name"], "Ada Lovelace");

    for chunk in 0..11 {
        let records: Vec<_> = (0..200)
            .map(|i| json!({"attributes": {"type": "Contact"}, "LastName": format!("Bulk {}", chunk * 200 + i)}))
            .collect();
        let results = client.create_many(&records, true).await.unwrap();
        assert!(results.iter().all(|r| r.id.is_some() && r.error.is_none()));
    }
    let all = client
        .query("SELECT Id, Name FROM Contact WHERE LastName LIKE 'Bulk %'")
        .await
        .unwrap();
    assert_eq!(all.len(), 2_200, "the client follows nextRecordsUrl");
    let ids = client
        .updated("Contact", "2020-01-01T00:00:00+00:00", "2999-01-01T00:00:00+00:00")
        .await;
    assert!(
        matches!(&ids, Err(Error::Request { code, .. }) if code == "INVALID_REPLICATION_DATE"),
        "a window older than 30 days is a request error, not a credentials problem: {ids:?}"
    );
    let err = client.get("Contact", "003bogus").await.unwrap_err();
    assert!(
        matches!(&err, Error::Request { status: 400, code, .. } if code == "MALFORMED_ID"),
        "{err:?}"
    );
    client.delete("Contact", &id).await.unwrap();
    assert_eq!(client.login_attempts(), 1, "one session served every call");

    let org_id = org.services.resolve_org(None).await.unwrap().id;
    let (app, secret) = org
        .services
        .console()
        .create_app(&org_id, "Sync", None, None)
        .await
        .unwrap();
    let oauth = Client::new(
        &org.url,
        Credentials::OAuthPassword {
            username: USER.into(),
            password: SecretString::from(PASSWORD),
            security_token: SecretString::from(""),
            client_id: app.client_id,
            client_secret: SecretString::from(secret.expose_secret().to_owned()),
        },
        None,
    )
    .unwrap();
    assert_eq!(oauth.query("SELECT COUNT() FROM Contact").await.unwrap().len(), 0);
}

#[tokio::test]
async fn a_wrong_secret_is_one_attempt_and_a_rejection() {
    let org = org().await;
    let client = Client::new(&org.url, soap("not-the-password"), None).unwrap();
    let err = client.query("SELECT Id FROM Contact").await.unwrap_err();
    assert!(
        matches!(&err, Error::CredentialsRejected { code, .. } if code == "INVALID_LOGIN"),
        "{err:?}"
    );
    assert!(!err.to_string().contains("not-the-password"), "no secret in errors");
    assert!(
        !format!("{client:?}").contains("not-the-password"),
        "no secret in Debug"
    );
    assert_eq!(client.login_attempts(), 1);
    assert_eq!(
        failed_attempts(&org).await,
        1,
        "exactly one failed login reached the org"
    );
}

#[tokio::test]
async fn a_dead_session_is_renewed_once_and_a_changed_password_is_a_rejection_not_a_loop() {
    let org = org().await;
    let client = Client::new(&org.url, soap(PASSWORD), None).unwrap();
    client.connect().await.unwrap();
    org.services.console().revoke_sessions(USER).await.unwrap();
    client.query("SELECT Id FROM Contact").await.unwrap();
    assert_eq!(client.login_attempts(), 2, "one re-login after the session was revoked");

    // A password change ends the session; the stored password is now wrong.
    org.services
        .console()
        .set_password(USER, &SecretString::from("new-kettle-43"))
        .await
        .unwrap();
    let err = client.query("SELECT Id FROM Contact").await.unwrap_err();
    assert!(err.is_rejection(), "{err:?}");
    assert_eq!(client.login_attempts(), 3, "one re-login attempt, no loop");
    assert_eq!(failed_attempts(&org).await, 1);
}

/// Tasks sharing one client that all hold the session a password change ended: one
/// re-login is tried, every task gets the rejection, and no second attempt is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_sharing_a_dead_session_cause_one_failed_login_between_them() {
    let org = org().await;
    let client = std::sync::Arc::new(Client::new(&org.url, soap(PASSWORD), None).unwrap());
    client.connect().await.unwrap();
    org.services
        .console()
        .set_password(USER, &SecretString::from("new-kettle-43"))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let client = std::sync::Arc::clone(&client);
            tokio::spawn(async move { client.query("SELECT Id FROM Contact").await })
        })
        .collect();
    for task in tasks {
        let err = task.await.unwrap().unwrap_err();
        assert!(err.is_rejection(), "{err:?}");
    }
    assert!(client.connect().await.unwrap_err().is_rejection());
    assert_eq!(client.login_attempts(), 2, "the first login and one re-login");
    assert_eq!(failed_attempts(&org).await, 1);
}

#[tokio::test]
async fn an_unreachable_org_is_transient() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = Client::new(&url, soap(PASSWORD), None).unwrap();
    let err = client.connect().await.unwrap_err();
    assert!(matches!(err, Error::Transient(_)), "{err:?}");
    assert!(!err.is_rejection());
}

#[tokio::test]
async fn a_refresh_token_outlives_a_password_change_and_its_revocation_is_a_rejection() {
    let org = org().await;
    let org_id = org.services.resolve_org(None).await.unwrap().id;
    let (app, secret) = org
        .services
        .console()
        .create_app(&org_id, "Sync", None, None)
        .await
        .unwrap();
    let (_, refresh) = org
        .services
        .console()
        .authorize_app(&org_id, "Sync", USER)
        .await
        .unwrap();
    let client = Client::new(
        &org.url,
        Credentials::OAuthRefresh {
            refresh_token: refresh.clone(),
            client_id: app.client_id.clone(),
            client_secret: secret,
        },
        None,
    )
    .unwrap();
    client.query("SELECT Id FROM Contact").await.unwrap();

    // The password changes: the session ends, the refresh token does not.
    org.services
        .console()
        .set_password(USER, &SecretString::from("new-kettle-43"))
        .await
        .unwrap();
    client.query("SELECT Id FROM Contact").await.unwrap();
    assert_eq!(client.login_attempts(), 2, "one refresh after the session ended");

    assert!(org
        .services
        .revoke_refresh_token(refresh.expose_secret())
        .await
        .unwrap());
    let err = client.query("SELECT Id FROM Contact").await.unwrap_err();
    assert!(
        matches!(&err, Error::CredentialsRejected { code, .. } if code == "invalid_grant"),
        "a revoked refresh token is a rejection for the guard: {err:?}"
    );
    assert!(
        !err.to_string().contains(refresh.expose_secret()),
        "no secret in errors"
    );
    assert_eq!(client.login_attempts(), 3, "one attempt, no loop");
    assert_eq!(failed_attempts(&org).await, 0, "no password was ever sent");
}
