//! The hub's sync tables on both backends: a contact's write is refused when its
//! pending changes moved on (no local edit is ever lost), leases pass only on expiry,
//! checkpoints only move forward.

use chrono::Duration;
use latchkey_core::connectors::{ConnectorState, Direction};
use latchkey_store::hub::sync::{self as hub_sync, HubContact, KeyColumn, Pending};
use latchkey_store::hub::{self, Connector, SealedCredential};
use latchkey_store::Store;

use crate::store_test;
use crate::support::t0;

/// A workspace with one credential record and one connector; returns their ids.
async fn workspace_and_connector(store: &Store) -> (String, String) {
    let mut conn = store.conn().await.unwrap();
    let ws = hub::create_workspace(&mut conn, "0Hw1", "GatorMail", t0())
        .await
        .unwrap();
    let credential = SealedCredential {
        id: "0Hk1".into(),
        workspace_id: ws.id.clone(),
        login_url: "https://crm.test".into(),
        username: "sync@acme.test".into(),
        client_id: None,
        sealed: vec![1, 2, 3],
        key_id: "k1".into(),
        updated_at: t0(),
        rejected_fingerprint: None,
        rejected_reason: None,
        rejected_by: None,
        rejected_at: None,
        accepted_at: None,
    };
    hub::put_credential(&mut conn, &credential).await.unwrap();
    let connector = Connector {
        id: "0Hn1".into(),
        workspace_id: ws.id.clone(),
        credential_id: credential.id,
        name: "Contacts".into(),
        object: "Contact".into(),
        direction: Direction::Both,
        interval_secs: 60,
        state: ConnectorState::Enabled,
        last_error: None,
        external_id_field: Some("Latchkey_Hub_Id__c".into()),
        updated_at: t0(),
        next_run_at: None,
        failures: 0,
        field_map: [("Email".to_owned(), "Work_Email__c".to_owned())].into(),
    };
    hub::insert_connector(&mut conn, &connector).await.unwrap();
    (ws.id, connector.id)
}

fn contact(id: &str, crm_id: Option<&str>, pending: &[(&str, i64)]) -> HubContact {
    HubContact {
        id: id.into(),
        crm_id: crm_id.map(str::to_owned),
        first_name: None,
        last_name: format!("Contact {id}"),
        email: None,
        crm_modstamp: None,
        pending: pending.iter().map(|(f, t)| ((*f).to_owned(), *t)).collect(),
    }
}

store_test!(contact_writes_never_lose_a_local_edit);
async fn contact_writes_never_lose_a_local_edit(store: &Store) {
    let (ws, _) = workspace_and_connector(store).await;
    let mut conn = store.conn().await.unwrap();
    let rows = [
        contact("0Hc1", Some("003A"), &[]),
        contact("0Hc2", None, &[("LastName", 5)]),
    ];
    hub_sync::insert_contacts(&mut conn, &ws, &rows, t0()).await.unwrap();
    assert_eq!(hub_sync::pending_count(&mut conn, &ws).await.unwrap(), 1);
    let by_crm = hub_sync::contacts_where(&mut conn, &ws, KeyColumn::CrmId, &["003A", "003Z"])
        .await
        .unwrap();
    assert_eq!(by_crm, vec![rows[0].clone()]);

    // Expected "no pending changes": written.
    let mut pulled = rows[0].clone();
    pulled.email = Some("a@crm.test".into());
    pulled.crm_modstamp = Some(10);
    assert!(hub_sync::update_contact(&mut conn, &pulled, &Pending::new(), t0())
        .await
        .unwrap());
    // Expected changes that are no longer there: refused, nothing written.
    let mut stale = rows[1].clone();
    stale.pending.clear();
    assert!(
        !hub_sync::update_contact(&mut conn, &stale, &Pending::from([("Email".into(), 1)]), t0())
            .await
            .unwrap()
    );
    assert!(hub_sync::update_contact(&mut conn, &stale, &rows[1].pending, t0())
        .await
        .unwrap());
    assert_eq!(hub_sync::pending_count(&mut conn, &ws).await.unwrap(), 0);
    assert_eq!(hub_sync::contacts(&mut conn, &ws).await.unwrap().len(), 2);
    assert_eq!(hub_sync::contact(&mut conn, &ws, "0Hc1").await.unwrap(), Some(pulled));

    let dup = hub_sync::insert_contacts(&mut conn, &ws, &[contact("0Hc3", Some("003A"), &[])], t0()).await;
    assert!(dup.is_err(), "one hub contact per CRM record");
}

store_test!(pending_contacts_page_by_hub_id);
async fn pending_contacts_page_by_hub_id(store: &Store) {
    let (ws, _) = workspace_and_connector(store).await;
    let mut conn = store.conn().await.unwrap();
    let rows: Vec<HubContact> = (0..5)
        .map(|i| contact(&format!("0Hc{i}"), None, if i == 2 { &[] } else { &[("LastName", 1)] }))
        .collect();
    hub_sync::insert_contacts(&mut conn, &ws, &rows, t0()).await.unwrap();
    let first = hub_sync::pending_contacts(&mut conn, &ws, "", 2).await.unwrap();
    let ids: Vec<&str> = first.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["0Hc0", "0Hc1"]);
    let rest = hub_sync::pending_contacts(&mut conn, &ws, "0Hc1", 10).await.unwrap();
    let ids: Vec<&str> = rest.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["0Hc3", "0Hc4"], "the clean one is skipped");
}

store_test!(leases_pass_on_expiry_and_checkpoints_only_advance);
async fn leases_pass_on_expiry_and_checkpoints_only_advance(store: &Store) {
    let (_, connector) = workspace_and_connector(store).await;
    let mut conn = store.conn().await.unwrap();
    let later = t0() + Duration::seconds(30);
    assert!(hub_sync::take_lease(&mut conn, &connector, "a", t0(), later)
        .await
        .unwrap());
    assert!(
        hub_sync::take_lease(&mut conn, &connector, "a", t0(), later)
            .await
            .unwrap(),
        "renewal"
    );
    assert!(!hub_sync::take_lease(&mut conn, &connector, "b", t0(), later)
        .await
        .unwrap());
    assert!(
        hub_sync::take_lease(&mut conn, &connector, "b", later, later + Duration::seconds(30))
            .await
            .unwrap()
    );
    hub_sync::release_lease(&mut conn, &connector, "a").await.unwrap();
    assert!(
        !hub_sync::take_lease(&mut conn, &connector, "a", later, later)
            .await
            .unwrap(),
        "b still holds it"
    );
    hub_sync::release_lease(&mut conn, &connector, "b").await.unwrap();
    assert!(hub_sync::take_lease(&mut conn, &connector, "a", later, later)
        .await
        .unwrap());

    assert_eq!(hub_sync::pull_checkpoint(&mut conn, &connector).await.unwrap(), None);
    hub_sync::advance_pull_checkpoint(&mut conn, &connector, 20)
        .await
        .unwrap();
    hub_sync::advance_pull_checkpoint(&mut conn, &connector, 10)
        .await
        .unwrap();
    assert_eq!(
        hub_sync::pull_checkpoint(&mut conn, &connector).await.unwrap(),
        Some(20)
    );
}

store_test!(connectors_are_due_when_runnable_and_their_time_has_come);
async fn connectors_are_due_when_runnable_and_their_time_has_come(store: &Store) {
    let (_, id) = workspace_and_connector(store).await;
    let mut conn = store.conn().await.unwrap();
    let due = |at: i64| {
        let store = store.clone();
        async move {
            let mut conn = store.conn().await.unwrap();
            let later = t0() + Duration::seconds(at);
            hub::due_connectors(&mut conn, later, 10)
                .await
                .unwrap()
                .into_iter()
                .map(|c| (c.id, c.failures))
                .collect::<Vec<_>>()
        }
    };
    // Never run: due at once.
    assert_eq!(due(0).await, vec![(id.clone(), 0)]);
    let stored = hub::due_connectors(&mut conn, t0(), 1).await.unwrap().remove(0);
    assert_eq!(stored.field_map.get("Email").map(String::as_str), Some("Work_Email__c"));
    hub::schedule_connector(&mut conn, &id, t0() + Duration::seconds(60), 2)
        .await
        .unwrap();
    assert_eq!(due(59).await, vec![]);
    assert_eq!(due(60).await, vec![(id.clone(), 2)]);
    // Backing off still runs; disabled and suspended do not.
    for (state, runs) in [
        (ConnectorState::BackingOff, true),
        (ConnectorState::Disabled, false),
        (ConnectorState::Suspended, false),
    ] {
        hub::set_connector_state(&mut conn, &id, state, None, t0())
            .await
            .unwrap();
        assert_eq!(!due(60).await.is_empty(), runs, "{state}");
    }
}

store_test!(refused_pairs_are_recorded_once_and_read_newest_first);
async fn refused_pairs_are_recorded_once_and_read_newest_first(store: &Store) {
    use latchkey_store::hub::LoginFailure;
    workspace_and_connector(store).await;
    let mut conn = store.conn().await.unwrap();
    let failure = |minute: i64, fingerprint: u8, password_sent: bool| LoginFailure {
        at: (t0() + Duration::minutes(minute)).timestamp_millis(),
        key_id: "k1".into(),
        fingerprint: vec![fingerprint; 32],
        reason: "INVALID_LOGIN".into(),
        password_sent,
    };
    hub::record_login_failure(&mut conn, "0Hk1", &failure(0, 1, true))
        .await
        .unwrap();
    // The same refusal reported by a second connector: still one failure.
    hub::record_login_failure(&mut conn, "0Hk1", &failure(0, 1, true))
        .await
        .unwrap();
    hub::record_login_failure(&mut conn, "0Hk1", &failure(2, 2, false))
        .await
        .unwrap();
    let read = hub::login_failures(&mut conn, "0Hk1").await.unwrap();
    assert_eq!(read, [failure(2, 2, false), failure(0, 1, true)]);
    assert!(hub::login_failures(&mut conn, "0Hk-other").await.unwrap().is_empty());

    hub::set_accepted(&mut conn, "0Hk1", t0() + Duration::minutes(3))
        .await
        .unwrap();
    let record = hub::credential(&mut conn, "0Hk1").await.unwrap().unwrap();
    assert_eq!(record.accepted_at, Some(t0() + Duration::minutes(3)));
}

store_test!(hub_user_failures_count_and_a_lock_only_grows);
async fn hub_user_failures_count_and_a_lock_only_grows(store: &Store) {
    let (ws, _) = workspace_and_connector(store).await;
    let mut conn = store.conn().await.unwrap();
    let user = hub::NewHubUser {
        id: "0Hu1",
        workspace_id: &ws,
        email: "owner@gatormail.test",
        role: "owner",
        password_hash: "$argon2id$placeholder",
    };
    hub::insert_user(&mut conn, &user, t0()).await.unwrap();
    for n in 1..=3 {
        assert_eq!(hub::count_user_failure(&mut conn, "0Hu1").await.unwrap(), n);
    }
    let later = t0() + Duration::minutes(4);
    hub::lock_user(&mut conn, "0Hu1", later).await.unwrap();
    hub::lock_user(&mut conn, "0Hu1", t0() + Duration::minutes(1))
        .await
        .unwrap();
    let read = hub::user_by_email(&mut conn, &ws, "OWNER@gatormail.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (read.failed_logins, read.locked_until),
        (3, Some(later.timestamp_millis()))
    );
    hub::clear_user_failures(&mut conn, "0Hu1").await.unwrap();
    let read = hub::user_by_email(&mut conn, &ws, "owner@gatormail.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((read.failed_logins, read.locked_until), (0, None));
}
