use std::collections::HashSet;

use chrono::Duration;
use latchkey_store::outbox::{self, NewMail, OutboxCounts};
use latchkey_store::Store;

use crate::store_test;
use crate::support::t0;

fn mail(n: usize) -> String {
    format!("message {n}")
}

store_test!(lease_send_and_retry);
async fn lease_send_and_retry(store: &Store) {
    let mut c = store.conn().await.unwrap();
    let id = outbox::enqueue(
        &mut c,
        &NewMail {
            to: "a@b.test",
            subject: "Hi",
            text: "secret body",
            html: Some("<p>hi</p>"),
        },
        t0(),
    )
    .await
    .unwrap();
    let leased = outbox::lease_due(&mut c, t0(), Duration::seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(leased.len(), 1);
    assert_eq!(
        (leased[0].id, leased[0].attempts, leased[0].body_text.as_str()),
        (id, 1, "secret body")
    );
    assert!(
        !format!("{:?}", leased[0]).contains("secret body"),
        "Debug hides the body"
    );
    assert!(
        outbox::lease_due(&mut c, t0(), Duration::seconds(60), 10)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );

    outbox::mark_failed(
        &mut c,
        id,
        "connection refused",
        Some(t0() + Duration::seconds(30)),
        t0(),
    )
    .await
    .unwrap();
    assert!(
        outbox::lease_due(&mut c, t0() + Duration::seconds(29), Duration::seconds(60), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = outbox::lease_due(&mut c, t0() + Duration::seconds(30), Duration::seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(again[0].attempts, 2);

    outbox::mark_sent(&mut c, id, t0()).await.unwrap();
    assert_eq!(
        outbox::counts(&mut c).await.unwrap(),
        OutboxCounts {
            pending: 0,
            sent: 1,
            failed: 0
        }
    );
    let expired_lease = t0() + Duration::hours(1);
    assert!(
        outbox::lease_due(&mut c, expired_lease, Duration::seconds(60), 10)
            .await
            .unwrap()
            .is_empty(),
        "sent is final"
    );
}

store_test!(an_expired_lease_is_taken_over_and_giving_up_is_final);
async fn an_expired_lease_is_taken_over_and_giving_up_is_final(store: &Store) {
    let mut c = store.conn().await.unwrap();
    let id = outbox::enqueue(
        &mut c,
        &NewMail {
            to: "a@b.test",
            subject: "Hi",
            text: "x",
            html: None,
        },
        t0(),
    )
    .await
    .unwrap();
    outbox::lease_due(&mut c, t0(), Duration::seconds(60), 10)
        .await
        .unwrap();
    let taken = outbox::lease_due(&mut c, t0() + Duration::seconds(61), Duration::seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(taken.len(), 1, "a crashed worker's lease runs out");
    outbox::mark_failed(&mut c, id, "mailbox unavailable", None, t0())
        .await
        .unwrap();
    assert_eq!(
        outbox::counts(&mut c).await.unwrap(),
        OutboxCounts {
            pending: 0,
            sent: 0,
            failed: 1
        }
    );
}

store_test!(concurrent_workers_never_lease_the_same_message);
async fn concurrent_workers_never_lease_the_same_message(store: &Store) {
    {
        let mut c = store.conn().await.unwrap();
        for n in 0..60 {
            let text = mail(n);
            outbox::enqueue(
                &mut c,
                &NewMail {
                    to: "a@b.test",
                    subject: "s",
                    text: &text,
                    html: None,
                },
                t0(),
            )
            .await
            .unwrap();
        }
    }
    let mut workers = Vec::new();
    for _ in 0..4 {
        let store = store.clone();
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let mut c = store.conn().await.unwrap();
                let batch = outbox::lease_due(&mut c, t0(), Duration::seconds(60), 7).await.unwrap();
                if batch.is_empty() {
                    return mine;
                }
                mine.extend(batch.into_iter().map(|m| m.id));
            }
        }));
    }
    let mut seen = HashSet::new();
    for w in workers {
        for id in w.await.unwrap() {
            assert!(seen.insert(id), "message {id} leased twice");
        }
    }
    assert_eq!(seen.len(), 60);
}
