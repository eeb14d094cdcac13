//! The change epoch moves (by trigger) when a login-decision input changes, and only
//! then: counting a failure, a success, a login-history row or a session leave it.

use latchkey_core::login::{FailureEffect, LockoutRule};
use latchkey_core::policy::{LockCounter, LockoutPeriod, MaxInvalidAttempts};
use latchkey_core::secret::SecretDigest;
use latchkey_store::{epoch, orgs, users, Store, Write};

use crate::store_test;
use crate::support::{t0, two_hour_session};
use crate::users::org_and_user;

async fn current(store: &Store) -> i64 {
    let mut c = store.conn().await.unwrap();
    epoch::current(&mut c).await.unwrap()
}

store_test!(the_epoch_moves_with_decision_inputs_only);
async fn the_epoch_moves_with_decision_inputs_only(store: &Store) {
    let (org, user) = org_and_user(store, "jane@acme.test").await;
    let rule = LockoutRule {
        max: MaxInvalidAttempts::Limit(2),
        period: LockoutPeriod::Minutes(15),
    };
    let start = current(store).await;

    // Not decision inputs: a counted failure, a session, a login-history row.
    let mut tx = store.begin().await.unwrap();
    let effect = users::record_failure(&mut tx, &user.id, &[1; 32], LockCounter::Every, rule, t0())
        .await
        .unwrap();
    latchkey_store::commit(tx).await.unwrap();
    assert_eq!(effect, FailureEffect::Counted(1));
    store
        .write(Write::Session(two_hour_session(&user, SecretDigest::of("s"), 0)))
        .await
        .unwrap();
    assert_eq!(current(store).await, start, "counting and sessions leave the epoch");

    // Decision inputs: the lock, the unlock, a trusted range, the policy.
    let mut tx = store.begin().await.unwrap();
    let effect = users::record_failure(&mut tx, &user.id, &[2; 32], LockCounter::Every, rule, t0())
        .await
        .unwrap();
    latchkey_store::commit(tx).await.unwrap();
    assert!(matches!(effect, FailureEffect::Locked(..)), "{effect:?}");
    let locked = current(store).await;
    assert!(locked > start, "a lock moves the epoch");
    let mut c = store.conn().await.unwrap();
    users::unlock(&mut c, &user.id, t0()).await.unwrap();
    let unlocked = epoch::current(&mut c).await.unwrap();
    assert!(unlocked > locked, "an unlock moves it");
    orgs::add_trusted_range(&mut c, &org.id, &"10.0.0.0/8".parse().unwrap())
        .await
        .unwrap();
    let ranged = epoch::current(&mut c).await.unwrap();
    assert!(ranged > unlocked, "a trusted range moves it");
    orgs::set_policy(&mut c, &org.id, &org.policy).await.unwrap();
    let saved = epoch::current(&mut c).await.unwrap();
    assert!(saved > ranged, "a policy save moves it");
    users::remember_source(&mut c, &user.id, "192.0.2.7", t0())
        .await
        .unwrap();
    assert!(
        epoch::current(&mut c).await.unwrap() > saved,
        "a newly familiar address moves it"
    );
}
