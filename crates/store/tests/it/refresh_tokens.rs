//! Refresh tokens: redemption by the right app only, last-used bookkeeping, and which
//! tokens a password change or a full revocation takes (with their access tokens);
//! access-token sessions: listing and deleting the expired ones.

use chrono::Duration;
use latchkey_core::secret::SecretDigest;
use latchkey_store::apps::{self, ConnectedApp, Switch};
use latchkey_store::authorization_codes::{self, AuthorizationCode, Spent};
use latchkey_store::refresh_tokens::{self, Redeemed, RefreshToken, Revocation};
use latchkey_store::sessions::{self, NewSession};
use latchkey_store::{Store, Write};

use crate::store_test;
use crate::support::{t0, two_hour_session};
use crate::users::org_and_user;

fn app(org: &latchkey_store::orgs::Org, client_id: &str, survives: bool) -> ConnectedApp {
    ConnectedApp {
        client_id: client_id.to_owned(),
        org_id: org.id.clone(),
        name: client_id.to_owned(),
        secret_digest: SecretDigest::of("secret"),
        run_as: None,
        callback_url: None,
        created_at: t0(),
        refresh_survives_password_change: survives,
        rotate_refresh_tokens: false,
        public_client: false,
        jwt_public_key: None,
        admin_approved_only: false,
        refresh_token_minutes: None,
        relax_ip: false,
        scopes: apps::DEFAULT_SCOPES.to_owned(),
    }
}

fn live(found: Option<Redeemed>) -> RefreshToken {
    match found {
        Some(Redeemed::Live(token)) => token,
        other => panic!("expected a live token, found {other:?}"),
    }
}

store_test!(rotation_replaces_tokens_and_a_replaced_one_gives_the_family_away);
async fn rotation_replaces_tokens_and_a_replaced_one_gives_the_family_away(store: &Store) {
    let (org, user) = org_and_user(store, "jane@acme.test").await;
    let mut c = store.conn().await.unwrap();
    apps::insert(&mut c, &app(&org, "rotates", true)).await.unwrap();
    let (first, second, third) = (
        SecretDigest::of("rt-1"),
        SecretDigest::of("rt-2"),
        SecretDigest::of("rt-3"),
    );
    refresh_tokens::insert(&mut c, &first, "rotates", &user.id, &org.id, t0())
        .await
        .unwrap();
    assert_eq!(
        live(refresh_tokens::redeem(&mut c, &first, "rotates", t0()).await.unwrap()).family,
        first.as_bytes().to_vec()
    );
    assert!(refresh_tokens::replace(&mut c, &first, &second, t0()).await.unwrap());
    assert!(
        !refresh_tokens::replace(&mut c, &first, &third, t0()).await.unwrap(),
        "a replaced token cannot be replaced again (a race is lost, not doubled)"
    );
    let family = first.as_bytes().to_vec();
    assert_eq!(
        refresh_tokens::redeem(&mut c, &first, "rotates", t0()).await.unwrap(),
        Some(Redeemed::Replaced { family: family.clone() })
    );
    assert_eq!(
        live(refresh_tokens::redeem(&mut c, &second, "rotates", t0()).await.unwrap()).family,
        family
    );
    assert_eq!(
        refresh_tokens::delete_family(&mut c, &family).await.unwrap(),
        Some(user.id.clone())
    );
    assert_eq!(
        refresh_tokens::redeem(&mut c, &second, "rotates", t0()).await.unwrap(),
        None
    );
}

store_test!(authorization_codes_work_once_and_expire);
async fn authorization_codes_work_once_and_expire(store: &Store) {
    let (org, user) = org_and_user(store, "jane@acme.test").await;
    let mut c = store.conn().await.unwrap();
    apps::insert(&mut c, &app(&org, "web", true)).await.unwrap();
    let code = AuthorizationCode {
        client_id: "web".into(),
        user_id: user.id.clone(),
        redirect_uri: "https://app.example/cb".into(),
        scope: "api refresh_token".into(),
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
    };
    let (fresh, stale) = (SecretDigest::of("code-1"), SecretDigest::of("code-2"));
    let expires = t0() + Duration::minutes(15);
    authorization_codes::insert(&mut c, &fresh, &code, t0(), expires)
        .await
        .unwrap();
    authorization_codes::insert(&mut c, &stale, &code, t0(), expires)
        .await
        .unwrap();
    assert_eq!(
        authorization_codes::spend(&mut c, &fresh, "another-app", t0())
            .await
            .unwrap(),
        Spent::Invalid
    );
    assert_eq!(
        authorization_codes::spend(&mut c, &fresh, "web", t0()).await.unwrap(),
        Spent::Fresh(code.clone())
    );
    authorization_codes::set_family(&mut c, &fresh, b"family")
        .await
        .unwrap();
    assert_eq!(
        authorization_codes::spend(&mut c, &fresh, "web", t0()).await.unwrap(),
        Spent::Replayed {
            family: Some(b"family".to_vec())
        }
    );
    assert_eq!(
        authorization_codes::spend(&mut c, &stale, "web", expires)
            .await
            .unwrap(),
        Spent::Invalid,
        "expired at 15 minutes"
    );
}

store_test!(refresh_tokens_follow_their_app_policy);
async fn refresh_tokens_follow_their_app_policy(store: &Store) {
    let (org, user) = org_and_user(store, "jane@acme.test").await;
    let mut c = store.conn().await.unwrap();
    apps::insert(&mut c, &app(&org, "keeps", true)).await.unwrap();
    apps::insert(&mut c, &app(&org, "drops", true)).await.unwrap();
    assert!(
        apps::set_switch(&mut c, "drops", Switch::RefreshSurvivesPasswordChange, false)
            .await
            .unwrap()
    );
    assert!(
        !apps::find(&mut c, "drops")
            .await
            .unwrap()
            .unwrap()
            .refresh_survives_password_change
    );
    let (keeps, drops) = (SecretDigest::of("rt-keeps"), SecretDigest::of("rt-drops"));
    refresh_tokens::insert(&mut c, &keeps, "keeps", &user.id, &org.id, t0())
        .await
        .unwrap();
    refresh_tokens::insert(&mut c, &drops, "drops", &user.id, &org.id, t0())
        .await
        .unwrap();

    assert!(
        refresh_tokens::redeem(&mut c, &keeps, "drops", t0())
            .await
            .unwrap()
            .is_none(),
        "only the app it was issued to redeems it"
    );
    let soon = t0() + Duration::seconds(30);
    let later = t0() + Duration::minutes(5);
    let used = live(refresh_tokens::redeem(&mut c, &keeps, "keeps", soon).await.unwrap());
    assert_eq!(
        (used.user_id.clone(), used.org_id.clone()),
        (user.id.clone(), org.id.clone())
    );
    refresh_tokens::redeem(&mut c, &keeps, "keeps", later).await.unwrap();
    let seen = live(refresh_tokens::redeem(&mut c, &keeps, "keeps", later).await.unwrap());
    assert_eq!(
        (seen.created_at, seen.last_used_at),
        (t0(), later),
        "last use is written when a minute stale, not on every redemption"
    );

    // An access token issued from `keeps`, and one not from any refresh token.
    let (from_refresh, plain) = (SecretDigest::of("at-1"), SecretDigest::of("at-2"));
    for (digest, refresh) in [(&from_refresh, Some(&keeps)), (&plain, None)] {
        let new = NewSession {
            digest: digest.clone(),
            user_id: user.id.clone(),
            org_id: org.id.clone(),
            client_id: Some("keeps".into()),
            restricted: false,
            idle: Duration::hours(2),
            refresh: refresh.cloned(),
            now: t0(),
        };
        store.write(Write::Session(new)).await.unwrap();
    }

    assert_eq!(
        refresh_tokens::delete_for_user(&mut c, &user.id, Revocation::PasswordChanged)
            .await
            .unwrap(),
        1
    );
    assert!(refresh_tokens::redeem(&mut c, &drops, "drops", later)
        .await
        .unwrap()
        .is_none());
    assert!(refresh_tokens::redeem(&mut c, &keeps, "keeps", later)
        .await
        .unwrap()
        .is_some());

    assert_eq!(
        refresh_tokens::delete(&mut c, &keeps).await.unwrap(),
        Some(user.id.clone()),
        "revocation says whose token it was"
    );
    assert!(sessions::touch(&mut c, &from_refresh, later, Duration::hours(2))
        .await
        .unwrap()
        .is_none());
    assert!(
        sessions::touch(&mut c, &plain, later, Duration::hours(2))
            .await
            .unwrap()
            .is_some(),
        "other access tokens stay"
    );
    assert_eq!(refresh_tokens::delete(&mut c, &keeps).await.unwrap(), None);

    refresh_tokens::insert(&mut c, &keeps, "keeps", &user.id, &org.id, t0())
        .await
        .unwrap();
    assert_eq!(
        refresh_tokens::delete_for_user(&mut c, &user.id, Revocation::All)
            .await
            .unwrap(),
        1
    );
}

store_test!(a_user_lists_her_live_sessions_and_ends_only_her_own);
async fn a_user_lists_her_live_sessions_and_ends_only_her_own(store: &Store) {
    let (_, jane) = crate::users::org_and_user(store, "jane@acme.test").await;
    let mut c = store.conn().await.unwrap();
    let (laptop, phone) = (SecretDigest::of("sid-laptop"), SecretDigest::of("sid-phone"));
    for (n, digest) in [&laptop, &phone].into_iter().enumerate() {
        let new = two_hour_session(&jane, digest.clone(), n as i64);
        store.write(Write::Session(new)).await.unwrap();
    }
    let listed = sessions::for_user(&mut c, &jane.id, t0() + Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|s| s.digest.clone()).collect::<Vec<_>>(),
        [phone.clone(), laptop.clone()]
    );
    assert!(
        sessions::for_user(&mut c, &jane.id, t0() + Duration::hours(3))
            .await
            .unwrap()
            .is_empty(),
        "expired"
    );
    let stranger: latchkey_core::ids::UserId = latchkey_core::ids::UserId::generate();
    assert!(!sessions::delete_for_user_by_digest(&mut c, &stranger, &phone)
        .await
        .unwrap());
    assert!(sessions::delete_for_user_by_digest(&mut c, &jane.id, &phone)
        .await
        .unwrap());
    let left = sessions::for_user(&mut c, &jane.id, t0() + Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].digest, laptop);
}

store_test!(expired_sessions_are_deleted_in_batches_and_live_ones_stay);
async fn expired_sessions_are_deleted_in_batches_and_live_ones_stay(store: &Store) {
    let (_, jane) = crate::users::org_and_user(store, "jane@acme.test").await;
    let mut c = store.conn().await.unwrap();
    let issued_at = [0, 10, 90];
    for minutes in issued_at {
        let new = two_hour_session(&jane, SecretDigest::of(&format!("sid-{minutes}")), minutes);
        store.write(Write::Session(new)).await.unwrap();
    }
    let now = t0() + Duration::minutes(150);
    assert_eq!(
        sessions::delete_expired(&mut c, now, 1).await.unwrap(),
        1,
        "one per batch"
    );
    assert_eq!(sessions::delete_expired(&mut c, now, 1).await.unwrap(), 1);
    assert_eq!(
        sessions::delete_expired(&mut c, now, 1).await.unwrap(),
        0,
        "the live one stays"
    );
    let left = sessions::for_user(&mut c, &jane.id, now).await.unwrap();
    assert_eq!(
        left.iter().map(|s| s.digest.clone()).collect::<Vec<_>>(),
        [SecretDigest::of("sid-90")]
    );
}
