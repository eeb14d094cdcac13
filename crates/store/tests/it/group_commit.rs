//! The group commit: concurrent writes share transactions (one statement on either
//! backend), each is answered only once it is committed, and a bad write fails
//! alone.

use chrono::Duration;
use latchkey_core::secret::SecretDigest;
use latchkey_store::login_history::{self, Filter, NewLogin};
use latchkey_store::orgs::Org;
use latchkey_store::refresh_tokens;
use latchkey_store::sessions::{self, NewSession};
use latchkey_store::users::User;
use latchkey_store::{Store, Write};

use crate::store_test;
use crate::support::{t0, two_hour_session};
use crate::users::org_and_user;

/// Attempt number `n` of `user`, as a login-history write (`Jane@Acme.test #n`).
fn numbered_attempt(org: &Org, user: &User, n: usize, status: &'static str) -> Write {
    Write::Login(NewLogin {
        org_id: Some(org.id.clone()),
        user_id: Some(user.id.clone()),
        username: format!("Jane@Acme.test #{n}"),
        login_time: t0(),
        source_ip: "192.0.2.7".into(),
        login_type: "Remote Access 2.0",
        status,
        application: "group commit".into(),
        api_type: "N/A".into(),
        api_version: "N/A".into(),
    })
}

/// `user`'s login history, newest first.
async fn history_of(store: &Store, user: &User) -> Vec<login_history::LoginRecord> {
    let filter = Filter {
        user_id: Some(&user.id),
        limit: 10_000,
        ..Filter::default()
    };
    login_history::list(store, &filter).await.unwrap()
}

store_test!(concurrent_writes_all_land_and_a_bad_one_fails_alone);
async fn concurrent_writes_all_land_and_a_bad_one_fails_alone(store: &Store) {
    let (org, user) = org_and_user(store, "jane@acme.test").await;
    let login = |n: usize| numbered_attempt(&org, &user, n, "Success");
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
    let rows = history_of(store, &user).await;
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

store_test!(group_committed_rows_read_back_field_by_field);
async fn group_committed_rows_read_back_field_by_field(store: &Store) {
    let (org, user) = org_and_user(store, "jane@acme.test").await;
    // An attempt by an unknown username with characters JSON must escape, and a
    // restricted session issued from a refresh token.
    let attempt = NewLogin {
        org_id: None,
        user_id: None,
        username: "  O'Brien \"Zoë\" \\ \u{1F511}@Acme.test ".into(),
        login_time: t0(),
        source_ip: "2001:db8::7".into(),
        login_type: "Application",
        status: "Invalid Password",
        application: "Browser; \"quoted\"".into(),
        api_type: "SOAP Partner".into(),
        api_version: "62.0".into(),
    };
    let refresh = SecretDigest::of("refresh token");
    let session = NewSession {
        restricted: true,
        refresh: Some(refresh.clone()),
        ..two_hour_session(&user, SecretDigest::of("sid"), 5)
    };
    store
        .write_all(vec![Write::Login(attempt), Write::Session(session)])
        .await
        .unwrap();

    let mut c = store.conn().await.unwrap();
    let rows = login_history::list(
        store,
        &Filter {
            limit: 10,
            ..Filter::default()
        },
    )
    .await
    .unwrap();
    let row = rows
        .iter()
        .find(|r| r.user_id.is_none())
        .expect("the unknown user's attempt");
    assert_eq!(
        (row.org_id.as_deref(), row.username.as_str(), row.login_time),
        (None, "o'brien \"zoë\" \\ \u{1F511}@acme.test", t0())
    );
    assert_eq!(
        [
            &row.source_ip,
            &row.login_type,
            &row.status,
            &row.application,
            &row.api_type,
            &row.api_version
        ],
        [
            "2001:db8::7",
            "Application",
            "Invalid Password",
            "Browser; \"quoted\"",
            "SOAP Partner",
            "62.0"
        ]
    );

    let listed = sessions::for_user(&mut c, &user.id, t0()).await.unwrap();
    assert_eq!(listed.len(), 1);
    let issued = t0() + Duration::minutes(5);
    assert_eq!(listed[0].digest, SecretDigest::of("sid"));
    assert_eq!(
        (listed[0].created_at, listed[0].last_used_at, listed[0].expires_at),
        (issued, issued, issued + Duration::hours(2))
    );
    let live = sessions::touch(&mut c, &SecretDigest::of("sid"), issued, Duration::hours(2))
        .await
        .unwrap()
        .expect("live");
    assert_eq!(
        (&live.user_id, &live.org_id, live.restricted),
        (&user.id, &org.id, true)
    );
    // The refresh token's digest was stored as bytes: revoking the token ends the session.
    refresh_tokens::delete(&mut c, &refresh).await.unwrap();
    assert!(sessions::for_user(&mut c, &user.id, t0()).await.unwrap().is_empty());
}

store_test!(queued_writes_land_without_waiting_and_readers_see_them);
async fn queued_writes_land_without_waiting_and_readers_see_them(store: &Store) {
    let (org, user) = org_and_user(store, "jane@acme.test").await;
    let refused = |n: usize| numbered_attempt(&org, &user, n, "Password Lockout");
    let taken = SecretDigest::of("sid-taken");
    store
        .write(Write::Session(two_hour_session(&user, taken.clone(), 0)))
        .await
        .unwrap();
    // More than the queue holds (the sender then waits for commits to free room), and
    // in the middle a write that cannot be committed (a session digest already
    // stored): it is logged and the rows batched with it still land.
    const ROWS: usize = 5_000;
    for n in 0..ROWS {
        store.queue(refused(n)).await.unwrap();
        if n == ROWS / 2 {
            store
                .queue(Write::Session(two_hour_session(&user, taken.clone(), 0)))
                .await
                .unwrap();
        }
    }
    let rows = history_of(store, &user).await;
    assert_eq!(rows.len(), ROWS, "every queued row, once");
    let mut numbers: Vec<usize> = rows
        .iter()
        .map(|r| r.username.rsplit('#').next().unwrap().parse().unwrap())
        .collect();
    numbers.sort_unstable();
    assert!(numbers.iter().copied().eq(0..ROWS));
    assert!(rows.iter().all(|r| r.status == "Password Lockout"));
}
