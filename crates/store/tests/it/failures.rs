//! The atomic failure statement against the core's reference model, and under
//! parallel attempts.

use chrono::Duration;
use latchkey_core::login::{FailureEffect, Lockout, LockoutRule};
use latchkey_core::policy::{LockCounter, LockoutPeriod, MaxInvalidAttempts};
use latchkey_store::{users, Store};
use rand::{Rng, SeedableRng};

use crate::store_test;
use crate::support::t0;
use crate::users::org_and_user;

const RULE5: LockoutRule = LockoutRule {
    max: MaxInvalidAttempts::Limit(5),
    period: LockoutPeriod::Minutes(15),
};

/// Either lock, one time in three the unfamiliar one.
fn counter_of(rng: &mut impl Rng) -> LockCounter {
    if rng.gen_range(0..3) == 0 {
        LockCounter::Unfamiliar
    } else {
        LockCounter::Every
    }
}

store_test!(store_matches_the_reference_model);
/// Random sequences of failures and successes from familiar and unfamiliar sources,
/// unlocks and waits: the store's effects and both locks equal the model's at every
/// step.
async fn store_matches_the_reference_model(store: &Store) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x1a7c4);
    for round in 0..6 {
        let (_, user) = org_and_user(store, &format!("user{round}@acme.test")).await;
        let rule = [
            RULE5,
            LockoutRule {
                max: MaxInvalidAttempts::Limit(3),
                period: LockoutPeriod::Forever,
            },
            LockoutRule {
                max: MaxInvalidAttempts::NoLimit,
                period: LockoutPeriod::Minutes(30),
            },
        ][round % 3];
        let mut model = Lockout::default();
        let mut now = t0();
        for step in 0..60 {
            match rng.gen_range(0..10) {
                0 => now += Duration::minutes(rng.gen_range(1..40)),
                1 => {
                    let counter = counter_of(&mut rng);
                    let mut c = store.conn().await.unwrap();
                    let ok = users::record_success(&mut c, &user.id, counter, now).await.unwrap();
                    assert_eq!(
                        ok,
                        model.record_success(counter, now),
                        "round {round} step {step}: success"
                    );
                }
                2 => {
                    let mut c = store.conn().await.unwrap();
                    users::unlock(&mut c, &user.id, now).await.unwrap();
                    model.unlock();
                }
                _ => {
                    let fp = [rng.gen_range(0..9u8); 32];
                    let counter = counter_of(&mut rng);
                    let mut tx = store.begin().await.unwrap();
                    let effect = users::record_failure(&mut tx, &user.id, &fp, counter, rule, now)
                        .await
                        .unwrap();
                    tx.commit().await.unwrap();
                    let expected = model.record_failure(fp, counter, rule, now);
                    assert_eq!(effect, expected, "round {round} step {step}");
                }
            }
            let mut c = store.conn().await.unwrap();
            let stored = users::get(&mut c, &user.id).await.unwrap();
            assert_eq!(
                (stored.failed_attempts, stored.locked_until),
                (i64::from(model.every.failures), model.every.locked_until),
                "round {round} step {step}: the lock of every source"
            );
            assert_eq!(
                (stored.unfamiliar_failed_attempts, stored.unfamiliar_locked_until),
                (i64::from(model.unfamiliar.failures), model.unfamiliar.locked_until),
                "round {round} step {step}: the lock of unfamiliar sources"
            );
        }
    }
}

store_test!(parallel_failures_never_count_past_the_maximum);
/// 200 concurrent distinct wrong secrets against a maximum of 5: exactly five are
/// counted and the user ends locked.
async fn parallel_failures_never_count_past_the_maximum(store: &Store) {
    let (_, user) = org_and_user(store, "jane@acme.test").await;
    let mut tasks = Vec::new();
    for n in 0..200u32 {
        let store = store.clone();
        let id = user.id.clone();
        tasks.push(tokio::spawn(async move {
            let mut fp = [0u8; 32];
            fp[..4].copy_from_slice(&n.to_be_bytes());
            let mut tx = store.begin().await.unwrap();
            let effect = users::record_failure(&mut tx, &id, &fp, LockCounter::Every, RULE5, t0())
                .await
                .unwrap();
            tx.commit().await.unwrap();
            effect
        }));
    }
    let mut counted = 0;
    let mut locked = 0;
    for t in tasks {
        match t.await.unwrap() {
            FailureEffect::Counted(_) => counted += 1,
            FailureEffect::Locked(n, _) => {
                assert_eq!(n, 5);
                locked += 1;
            }
            FailureEffect::AlreadyLocked => {}
            FailureEffect::Repeated => panic!("all secrets were distinct"),
        }
    }
    assert_eq!((counted, locked), (4, 1));
    let mut c = store.conn().await.unwrap();
    let stored = users::get(&mut c, &user.id).await.unwrap();
    assert_eq!(stored.failed_attempts, 5);
    assert!(stored.is_locked(t0()));
}

store_test!(parallel_identical_secrets_count_once);
async fn parallel_identical_secrets_count_once(store: &Store) {
    let (_, user) = org_and_user(store, "jane@acme.test").await;
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let store = store.clone();
        let id = user.id.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = store.begin().await.unwrap();
            let effect = users::record_failure(&mut tx, &id, &[42; 32], LockCounter::Every, RULE5, t0())
                .await
                .unwrap();
            tx.commit().await.unwrap();
            effect
        }));
    }
    let mut effects = Vec::new();
    for t in tasks {
        effects.push(t.await.unwrap());
    }
    assert_eq!(effects.iter().filter(|e| **e == FailureEffect::Counted(1)).count(), 1);
    assert_eq!(effects.iter().filter(|e| **e == FailureEffect::Repeated).count(), 49);
}

store_test!(familiar_sources_are_remembered_up_to_the_cap);
/// An address that logged a user in is familiar to that user only; past the cap the
/// least recently seen address is forgotten, and seeing one again keeps it.
async fn familiar_sources_are_remembered_up_to_the_cap(store: &Store) {
    let (_, jane) = org_and_user(store, "jane@acme.test").await;
    let (_, joe) = org_and_user(store, "joe@acme.test").await;
    let mut c = store.conn().await.unwrap();
    assert!(!users::is_familiar(&mut c, &jane.id, "192.0.2.1").await.unwrap());
    users::remember_source(&mut c, &jane.id, "192.0.2.1", t0())
        .await
        .unwrap();
    assert!(users::is_familiar(&mut c, &jane.id, "192.0.2.1").await.unwrap());
    assert!(!users::is_familiar(&mut c, &joe.id, "192.0.2.1").await.unwrap());
    for n in 0..users::FAMILIAR_SOURCES_KEPT {
        let at = t0() + Duration::seconds(n + 1);
        users::remember_source(&mut c, &jane.id, &format!("198.51.100.{n}"), at)
            .await
            .unwrap();
        if n == 10 {
            users::remember_source(&mut c, &jane.id, "192.0.2.1", at).await.unwrap();
        }
    }
    assert!(
        users::is_familiar(&mut c, &jane.id, "192.0.2.1").await.unwrap(),
        "seen again"
    );
    assert!(
        !users::is_familiar(&mut c, &jane.id, "198.51.100.0").await.unwrap(),
        "least recently seen"
    );
    assert!(users::is_familiar(&mut c, &jane.id, "198.51.100.49").await.unwrap());
}
