use chrono::Duration;
use latchkey_core::ids::{OrgId, UserId};
use latchkey_store::bulk_jobs::{self, Chunk, JobState, NewJob};
use latchkey_store::{commit, Store};

use crate::store_test;
use crate::support::t0;

store_test!(jobs_are_leased_once_saved_by_chunk_and_resumed_after_a_lapse);
async fn jobs_are_leased_once_saved_by_chunk_and_resumed_after_a_lapse(store: &Store) {
    let org = OrgId::generate();
    let user = UserId::generate();
    let mut c = store.conn().await.unwrap();
    let job = bulk_jobs::insert(
        &mut c,
        &NewJob {
            id: "750000000000001AAA",
            org_id: &org,
            user_id: &user,
            operation: "query",
            object: "Contact",
            query: "SELECT Id FROM Contact",
            api_version: "66.0",
            column_delimiter: "COMMA",
            line_ending: "LF",
        },
        t0(),
    )
    .await
    .unwrap();
    assert_eq!(job.state, JobState::UploadComplete);
    let lease = Duration::seconds(30);
    let mut held = bulk_jobs::lease_next(&mut c, t0(), lease)
        .await
        .unwrap()
        .expect("a job");
    assert_eq!(held.state, JobState::InProgress);
    assert!(
        bulk_jobs::lease_next(&mut c, t0(), lease).await.unwrap().is_none(),
        "leased once"
    );

    let lines: Vec<String> = (0..3).map(|i| format!("\"r{i}\"\n")).collect();
    let first = Chunk {
        header: "\"Id\"\n",
        lines: &lines,
        next: Some("cursor-1"),
        processing_ms: 5,
    };
    let mut tx = store.begin().await.unwrap();
    assert!(bulk_jobs::save_chunk(&mut tx, &held, &first, t0(), lease)
        .await
        .unwrap());
    commit(tx).await.unwrap();

    // The server dies; once its lease (renewed by the chunk) lapses, the job is
    // leased again with its cursor and count, and a stale save is refused.
    assert!(bulk_jobs::lease_next(&mut c, t0() + Duration::seconds(29), lease)
        .await
        .unwrap()
        .is_none());
    let resumed = bulk_jobs::lease_next(&mut c, t0() + Duration::seconds(31), lease)
        .await
        .unwrap()
        .expect("resumed");
    assert_eq!(
        (resumed.cursor.as_deref(), resumed.records_processed),
        (Some("cursor-1"), 3)
    );
    let mut tx = store.begin().await.unwrap();
    assert!(
        !bulk_jobs::save_chunk(&mut tx, &held, &first, t0(), lease)
            .await
            .unwrap(),
        "the dead server's view of the job is out of date"
    );
    commit(tx).await.unwrap();
    held = resumed;
    let last = Chunk {
        header: "\"Id\"\n",
        lines: &lines[..1],
        next: None,
        processing_ms: 1,
    };
    let mut tx = store.begin().await.unwrap();
    assert!(bulk_jobs::save_chunk(&mut tx, &held, &last, t0(), lease).await.unwrap());
    commit(tx).await.unwrap();

    let done = bulk_jobs::get(&mut c, &org, &job.id).await.unwrap().unwrap();
    assert_eq!(
        (done.state, done.records_processed, done.processing_ms),
        (JobState::JobComplete, 4, 6)
    );
    let rows = bulk_jobs::rows(&mut c, &job.id, 2, 10).await.unwrap();
    assert_eq!(rows, vec!["\"r2\"\n".to_owned(), "\"r0\"\n".to_owned()]);
    assert!(
        !bulk_jobs::finish(&mut c, &org, &job.id, JobState::Aborted, None, t0())
            .await
            .unwrap(),
        "already ended"
    );
    assert!(
        bulk_jobs::get(&mut c, &OrgId::generate(), &job.id)
            .await
            .unwrap()
            .is_none(),
        "other orgs see nothing"
    );
    assert!(bulk_jobs::delete(&mut c, &org, &job.id).await.unwrap());
    assert!(
        bulk_jobs::rows(&mut c, &job.id, 0, 10).await.unwrap().is_empty(),
        "results go with the job"
    );
}
