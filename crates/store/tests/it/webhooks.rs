use chrono::Duration;
use latchkey_store::webhooks::{self, NewEvent, Outcome, Webhook};
use latchkey_store::{orgs, Store};

use crate::store_test;
use crate::support::t0;

fn endpoint(id: &str, org_id: &str, events: &[&str]) -> Webhook {
    Webhook {
        id: id.into(),
        org_id: org_id.into(),
        url: format!("http://127.0.0.1:9/{id}"),
        events: events.iter().map(|e| (*e).to_owned()).collect(),
        secret_version: 1,
        created_at: t0(),
    }
}

fn event<'a>(org_id: &'a str, id: &'a str, event_type: &'a str) -> NewEvent<'a> {
    NewEvent {
        org_id,
        event_id: id,
        event_type,
        payload: "{}",
    }
}

store_test!(events_reach_subscribed_endpoints_and_retry_until_delivered);
async fn events_reach_subscribed_endpoints_and_retry_until_delivered(store: &Store) {
    let mut c = store.conn().await.unwrap();
    let acme = orgs::create(&mut c, "Acme", t0()).await.unwrap();
    let other = orgs::create(&mut c, "Other", t0()).await.unwrap();
    let (acme, other) = (acme.id.as_str(), other.id.as_str());
    webhooks::create(&mut c, &endpoint("whk_all", acme, &["password.changed", "user.locked"]))
        .await
        .unwrap();
    webhooks::create(&mut c, &endpoint("whk_locks", acme, &["user.locked"]))
        .await
        .unwrap();
    webhooks::create(&mut c, &endpoint("whk_other", other, &["password.changed"]))
        .await
        .unwrap();
    assert_eq!(webhooks::for_org(&mut c, acme).await.unwrap().len(), 2);

    // A type only some endpoints take, one no endpoint takes, and a prefix of a
    // subscribed name (the list is matched by whole names).
    let queued = webhooks::enqueue(&mut c, &event(acme, "evt_1", "password.changed"), t0())
        .await
        .unwrap();
    assert_eq!(queued, 1, "only whk_all of Acme");
    assert_eq!(
        webhooks::enqueue(&mut c, &event(acme, "evt_2", "user.locked"), t0())
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        webhooks::enqueue(&mut c, &event(acme, "evt_3", "user.lock"), t0())
            .await
            .unwrap(),
        0
    );

    let lease = Duration::seconds(60);
    let due = webhooks::lease_due(&mut c, t0(), lease, 10).await.unwrap();
    assert_eq!(due.len(), 3);
    assert!(due.iter().all(|d| d.attempts == 1 && d.url.ends_with(&d.webhook_id)));
    assert!(
        webhooks::lease_due(&mut c, t0(), lease, 10).await.unwrap().is_empty(),
        "leased"
    );

    let first = &due[0];
    webhooks::finish(
        &mut c,
        first.id,
        Outcome::Failed {
            status: Some(503),
            error: "the endpoint answered 503",
            retry_at: Some(t0() + Duration::seconds(5)),
        },
        t0(),
    )
    .await
    .unwrap();
    for d in &due[1..] {
        webhooks::finish(&mut c, d.id, Outcome::Delivered { status: 204 }, t0())
            .await
            .unwrap();
    }
    assert!(webhooks::lease_due(&mut c, t0() + Duration::seconds(4), lease, 10)
        .await
        .unwrap()
        .is_empty());
    let retry = webhooks::lease_due(&mut c, t0() + Duration::seconds(5), lease, 10)
        .await
        .unwrap();
    assert_eq!(retry.len(), 1);
    assert_eq!(
        (retry[0].event_id.as_str(), retry[0].attempts),
        (first.event_id.as_str(), 2)
    );
    webhooks::finish(&mut c, retry[0].id, Outcome::Delivered { status: 200 }, t0())
        .await
        .unwrap();

    let recent = webhooks::recent(&mut c, "whk_all", 10).await.unwrap();
    assert_eq!(recent.len(), 2);
    assert!(recent.iter().all(|d| d.status == "delivered"));
    assert_eq!(recent[1].event_id, "evt_1", "newest first");
    assert_eq!((recent[1].attempts, recent[1].last_status), (2, Some(200)));
    assert_eq!(recent[1].last_error, None);

    assert_eq!(webhooks::bump_secret_version(&mut c, "whk_all").await.unwrap(), Some(2));
    assert!(webhooks::delete(&mut c, "whk_all").await.unwrap());
    assert!(webhooks::recent(&mut c, "whk_all", 10).await.unwrap().is_empty());
    assert_eq!(webhooks::get(&mut c, "whk_all").await.unwrap(), None);
    assert_eq!(webhooks::bump_secret_version(&mut c, "whk_all").await.unwrap(), None);
}
