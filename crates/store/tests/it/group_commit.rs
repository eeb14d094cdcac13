//! The group commit: concurrent writes share transactions (on PostgreSQL, one
//! statement), each is answered only once it is committed, and a bad write fails
//! alone.

use latchkey_core::secret::SecretDigest;
use latchkey_store::login_history::{self, Filter, NewLogin};
use latchkey_store::sessions;
use latchkey_store::{Store, Write};

use crate::store_test;
use crate::support::{t0, two_hour_session};
use crate::users::org_and_user;

store_test!(concurrent_writes_all_land_and_a_bad_one_fails_alone);
async fn concurrent_writes_all_land_and_a_bad_one_fails_alone(store: &Store) {
    let (org, user) = org_and_user(store, "jane@acme.test").await;
    let login = |n: usize| {
        Write::Login(NewLogin {
            org_id: Some(org.id.clone()),
            user_id: Some(user.id.clone()),
            username: format!("Jane@Acme.test #{n}"),
            login_time: t0(),
            source_ip: "192.0.2.7".into(),
            login_type: "Remote Access 2.0",
            status: "Success",
            application: "group commit".into(),
            api_type: "N/A".into(),
            api_version: "N/A".into(),
        })
    };
    let session = |name: &str| Write::Session(two_hour_session(&user, SecretDigest::of(name), 0));
    // Logins alone, sessions alone, and a login with its session; twice the same
    // session digest, which only one of the two may store.
    let mut jobs: Vec<Vec<Write>> = (0..60)
        .map(|n| match n % 3 {
            0 => vec![login(n)],
            1 => vec![session(&format!("sid-{n}"))],
            _ => vec![login(n), session(&format!("sid-{n}"))],
        })
        .collect();
    jobs.push(vec![login(60), session("sid-1")]);
    let tasks: Vec<_> = jobs
        .into_iter()
        .map(|writes| {
            let store = store.clone();
            tokio::spawn(async move { store.write_all(writes).await })
        })
        .collect();
    let mut failed = vec![];
    for (n, task) in tasks.into_iter().enumerate() {
        if task.await.unwrap().is_err() {
            failed.push(n);
        }
    }
    assert!(
        failed == [1] || failed == [60],
        "exactly one write of sid-1 fails: {failed:?}"
    );

    let mut c = store.conn().await.unwrap();
    let rows = login_history::list(
        &mut c,
        &Filter {
            user_id: Some(&user.id),
            limit: 1000,
            ..Filter::default()
        },
    )
    .await
    .unwrap();
    // 40 logins from the first 60 jobs; the last job's login lands with its session
    // or not at all.
    let last_landed = failed == [1];
    assert_eq!(rows.iter().any(|r| r.username == "jane@acme.test #60"), last_landed);
    assert_eq!(rows.len(), 40 + usize::from(last_landed));
    assert!(
        rows.iter().all(|r| r.username.starts_with("jane@acme.test #")),
        "stored trimmed, lower-cased"
    );
    let stored = sessions::for_user(&mut c, &user.id, t0()).await.unwrap();
    assert_eq!(stored.len(), 40, "40 distinct session digests");
}
