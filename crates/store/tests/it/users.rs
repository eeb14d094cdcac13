use latchkey_core::password::PhcString;
use latchkey_core::secret::SecretDigest;
use latchkey_store::users::{NewUser, PasswordChange};
use latchkey_store::{login_history, orgs, users, Store, StoreError};

use crate::store_test;
use crate::support::t0;

pub async fn org_and_user(store: &Store, username: &str) -> (orgs::Org, users::User) {
    let mut c = store.conn().await.unwrap();
    let org = orgs::create(&mut c, "Acme", t0()).await.unwrap();
    let profile = orgs::profile_by_name(&mut c, &org.id, "Standard User")
        .await
        .unwrap()
        .unwrap();
    let user = users::insert(
        &mut c,
        &NewUser {
            org_id: &org.id,
            profile_id: &profile.id,
            username,
            email: "jane@acme.test",
            first_name: Some("Jane"),
            last_name: "Doe",
        },
        t0(),
    )
    .await
    .unwrap();
    (org, user)
}

store_test!(usernames_are_unique_across_orgs_and_case);
async fn usernames_are_unique_across_orgs_and_case(store: &Store) {
    let (_, user) = org_and_user(store, "Jane@Acme.test").await;
    assert_eq!(user.username, "jane@acme.test");
    assert_eq!(user.full_name(), "Jane Doe");
    assert!(user.active && !user.frozen && user.password_hash.is_none());
    let mut c = store.conn().await.unwrap();
    let found = users::find_by_username(&mut c, " JANE@acme.TEST ").await.unwrap();
    assert_eq!(found.as_ref().map(|u| &u.id), Some(&user.id));
    let other = orgs::create(&mut c, "Other", t0()).await.unwrap();
    let profile = orgs::profile_by_name(&mut c, &other.id, "Standard User")
        .await
        .unwrap()
        .unwrap();
    let again = users::insert(
        &mut c,
        &NewUser {
            org_id: &other.id,
            profile_id: &profile.id,
            username: "jane@ACME.test",
            email: "x@y.z",
            first_name: None,
            last_name: "X",
        },
        t0(),
    )
    .await;
    assert!(matches!(again, Err(StoreError::Duplicate("username"))), "{again:?}");
}

store_test!(password_history_keeps_the_policy_count);
async fn password_history_keeps_the_policy_count(store: &Store) {
    let (_, user) = org_and_user(store, "jane@acme.test").await;
    let mut c = store.conn().await.unwrap();
    for n in 0..5 {
        let hash = PhcString::new(format!("hash-{n}"));
        let change = PasswordChange {
            hash: &hash,
            set_at: t0(),
            expires_at: None,
            history: 3,
        };
        users::set_password(&mut c, &user.id, &change).await.unwrap();
    }
    let kept: Vec<String> = users::recent_password_hashes(&mut c, &user.id, 24)
        .await
        .unwrap()
        .iter()
        .map(|h| h.as_str().to_owned())
        .collect();
    assert_eq!(kept, ["hash-4", "hash-3", "hash-2"]);
    assert_eq!(
        users::get(&mut c, &user.id).await.unwrap().password_hash,
        Some(PhcString::new("hash-4".into()))
    );
}

store_test!(token_freeze_and_unlock);
async fn token_freeze_and_unlock(store: &Store) {
    let (_, user) = org_and_user(store, "jane@acme.test").await;
    let mut c = store.conn().await.unwrap();
    let digest = SecretDigest::of("ABCDEFGHIJKLMNOPQRSTUVWX");
    users::set_token(&mut c, &user.id, &digest).await.unwrap();
    assert_eq!(users::get(&mut c, &user.id).await.unwrap().token_digest, Some(digest));
    assert!(users::set_frozen(&mut c, &user.id, true, t0()).await.unwrap());
    assert!(
        !users::set_frozen(&mut c, &user.id, true, t0()).await.unwrap(),
        "already frozen"
    );
    assert!(users::get(&mut c, &user.id).await.unwrap().frozen);
    assert!(users::set_frozen(&mut c, &user.id, false, t0()).await.unwrap());
    assert!(!users::unlock(&mut c, &user.id, t0()).await.unwrap(), "was not locked");
}

store_test!(login_history_filters_by_user_newest_first);
async fn login_history_filters_by_user_newest_first(store: &Store) {
    let (org, user) = org_and_user(store, "jane@acme.test").await;
    let mut c = store.conn().await.unwrap();
    for (n, status) in ["Invalid Password", "Success"].iter().enumerate() {
        let row = login_history::NewLogin {
            org_id: Some(org.id.clone()),
            user_id: Some(user.id.clone()),
            username: "Jane@acme.test".into(),
            login_time: t0() + chrono::Duration::seconds(n as i64),
            source_ip: "127.0.0.1".into(),
            login_type: "Other Apex API",
            status,
            application: "jsforce".into(),
            api_type: "SOAP Partner".into(),
            api_version: "59.0".into(),
        };
        login_history::insert(&mut c, &row).await.unwrap();
    }
    let unknown = login_history::NewLogin {
        org_id: None,
        user_id: None,
        username: "nobody@x.test".into(),
        login_time: t0(),
        source_ip: "::1".into(),
        login_type: "Application",
        status: "Invalid login",
        application: "Browser".into(),
        api_type: "N/A".into(),
        api_version: "N/A".into(),
    };
    login_history::insert(&mut c, &unknown).await.unwrap();
    let mine = login_history::list(
        store,
        &login_history::Filter {
            user_id: Some(&user.id),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let statuses: Vec<_> = mine.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(statuses, ["Success", "Invalid Password"]);
    assert_eq!(mine[0].username, "jane@acme.test");
    assert!(mine[0].id.starts_with("0Ya"));
    let all = login_history::list(
        store,
        &login_history::Filter {
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(all.len(), 3);
    let one = login_history::list(
        store,
        &login_history::Filter {
            limit: 1,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(one.len(), 1);
}

store_test!(login_history_searches_by_outcome_user_and_time_and_counts_per_hour);
async fn login_history_searches_by_outcome_user_and_time_and_counts_per_hour(store: &Store) {
    let (org, user) = org_and_user(store, "jane@acme.test").await;
    let mut c = store.conn().await.unwrap();
    // Two hours apart: 2 failures and a success, then a success of another name.
    let attempts = [
        (0, "Jane@acme.test", "Invalid Password"),
        (60, "jane@acme.test", "Password Lockout"),
        (120, "jane@acme.test", "Success"),
        (7_200, "ada@acme.test", "Success"),
    ];
    for (secs, username, status) in attempts {
        let row = login_history::NewLogin {
            org_id: Some(org.id.clone()),
            user_id: Some(user.id.clone()),
            username: username.into(),
            login_time: t0() + chrono::Duration::seconds(secs),
            source_ip: "127.0.0.1".into(),
            login_type: "Application",
            status,
            application: "Browser".into(),
            api_type: "N/A".into(),
            api_version: "N/A".into(),
        };
        login_history::insert(&mut c, &row).await.unwrap();
    }
    let search = |username, outcome, since| login_history::Search {
        org_id: &org.id,
        username,
        outcome,
        since,
        limit: 100,
    };
    let found = |rows: Vec<login_history::LoginRecord>| rows.iter().map(|r| r.status.clone()).collect::<Vec<_>>();
    let all = login_history::search(store, &search(None, login_history::Outcome::Any, t0()))
        .await
        .unwrap();
    assert_eq!(
        found(all),
        ["Success", "Success", "Password Lockout", "Invalid Password"]
    );
    let failed = login_history::search(
        store,
        &search(Some("JANE@acme.test"), login_history::Outcome::Failed, t0()),
    )
    .await
    .unwrap();
    assert_eq!(found(failed), ["Password Lockout", "Invalid Password"], "any case");
    let ok = login_history::search(
        store,
        &search(Some("jane@acme.test"), login_history::Outcome::Succeeded, t0()),
    )
    .await
    .unwrap();
    assert_eq!(found(ok), ["Success"]);
    let later = login_history::search(
        store,
        &search(None, login_history::Outcome::Any, t0() + chrono::Duration::seconds(100)),
    )
    .await
    .unwrap();
    assert_eq!(later.len(), 2);

    let hours = login_history::hourly(store, &org.id, t0()).await.unwrap();
    let counts: Vec<(i64, i64)> = hours.iter().map(|h| (h.succeeded, h.failed)).collect();
    assert_eq!(counts, [(1, 2), (1, 0)]);
    assert_eq!(hours[1].hour - hours[0].hour, chrono::Duration::hours(2));
    assert_eq!(hours[0].hour.timestamp() % 3600, 0, "on the hour");
}

store_test!(expiring_passwords_and_reminders_claimed_once);
async fn expiring_passwords_and_reminders_claimed_once(store: &Store) {
    let (_, user) = org_and_user(store, "jane@acme.test").await;
    let mut c = store.conn().await.unwrap();
    let hash = latchkey_core::password::PhcString::new("$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA".into());
    let expires = t0() + chrono::Duration::days(5);
    let change = users::PasswordChange {
        hash: &hash,
        set_at: t0(),
        expires_at: Some(expires),
        history: 3,
    };
    users::set_password(&mut c, &user.id, &change).await.unwrap();
    let week = users::expiring(&mut c, t0(), t0() + chrono::Duration::days(7));
    assert_eq!(week.await.unwrap().len(), 1);
    let later = t0() + chrono::Duration::days(6);
    assert!(
        users::expiring(&mut c, later, later + chrono::Duration::days(7))
            .await
            .unwrap()
            .is_empty(),
        "expired already"
    );
    users::set_frozen(&mut c, &user.id, true, t0()).await.unwrap();
    assert!(
        users::expiring(&mut c, t0(), t0() + chrono::Duration::days(7))
            .await
            .unwrap()
            .is_empty(),
        "frozen"
    );
    assert!(users::claim_reminder(&mut c, &user.id, expires, 7, t0()).await.unwrap());
    assert!(
        !users::claim_reminder(&mut c, &user.id, expires, 7, t0()).await.unwrap(),
        "once"
    );
    assert!(users::claim_reminder(&mut c, &user.id, expires, 1, t0()).await.unwrap());
}
