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
            job_type: "V2Query",
            operation: "query",
            object: "Contact",
            query: Some("SELECT Id FROM Contact"),
            external_id_field: None,
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

store_test!(ingest_rows_are_uploaded_while_open_then_processed_in_chunks);
async fn ingest_rows_are_uploaded_while_open_then_processed_in_chunks(store: &Store) {
    let org = OrgId::generate();
    let user = UserId::generate();
    let mut c = store.conn().await.unwrap();
    let new = NewJob {
        id: "750000000000002AAA",
        org_id: &org,
        user_id: &user,
        job_type: "V2Ingest",
        operation: "insert",
        object: "Contact",
        query: None,
        external_id_field: None,
        api_version: "66.0",
        column_delimiter: "COMMA",
        line_ending: "LF",
    };
    let job = bulk_jobs::insert(&mut c, &new, t0()).await.unwrap();
    assert_eq!(job.state, JobState::Open);
    assert!(
        bulk_jobs::lease_next(&mut c, t0(), Duration::seconds(30))
            .await
            .unwrap()
            .is_none(),
        "open jobs wait"
    );
    let lines: Vec<String> = (0..3).map(|i| format!("L{i}\n")).collect();
    assert!(bulk_jobs::upload(&mut c, &job, "LastName\n", &lines).await.unwrap());
    let job = bulk_jobs::get(&mut c, &org, &job.id).await.unwrap().unwrap();
    assert!(
        !bulk_jobs::upload(&mut c, &job, "Email\n", &lines).await.unwrap(),
        "one header per job"
    );
    assert!(bulk_jobs::close(&mut c, &org, &job.id, t0()).await.unwrap());
    assert!(
        !bulk_jobs::upload(&mut c, &job, "LastName\n", &lines).await.unwrap(),
        "closed"
    );

    let held = bulk_jobs::lease_next(&mut c, t0(), Duration::seconds(30))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(held.records_uploaded, 3);
    let ok = [
        bulk_jobs::Outcome {
            n: 0,
            record_id: Some("003A"),
            created: true,
            error: None,
        },
        bulk_jobs::Outcome {
            n: 1,
            record_id: None,
            created: false,
            error: Some("REQUIRED_FIELD_MISSING:x:LastName --"),
        },
    ];
    let mut tx = store.begin().await.unwrap();
    assert!(
        bulk_jobs::save_outcomes(&mut tx, &held, &ok, t0(), Duration::seconds(30), 2)
            .await
            .unwrap()
    );
    commit(tx).await.unwrap();
    let now = bulk_jobs::get(&mut c, &org, &job.id).await.unwrap().unwrap();
    assert_eq!(
        (now.state, now.records_processed, now.records_failed),
        (JobState::InProgress, 2, 1)
    );
    let mut tx = store.begin().await.unwrap();
    assert!(
        !bulk_jobs::save_outcomes(&mut tx, &held, &ok, t0(), Duration::seconds(30), 2)
            .await
            .unwrap(),
        "stale"
    );
    commit(tx).await.unwrap();
    let last = [bulk_jobs::Outcome {
        n: 2,
        record_id: Some("003B"),
        created: false,
        error: None,
    }];
    let mut tx = store.begin().await.unwrap();
    assert!(
        bulk_jobs::save_outcomes(&mut tx, &now, &last, t0(), Duration::seconds(30), 1)
            .await
            .unwrap()
    );
    commit(tx).await.unwrap();
    let done = bulk_jobs::get(&mut c, &org, &job.id).await.unwrap().unwrap();
    assert_eq!(
        (done.state, done.records_processed, done.records_failed),
        (JobState::JobComplete, 3, 1)
    );
    let ok_rows = bulk_jobs::ingest_rows_with(&mut c, &job.id, Some("ok")).await.unwrap();
    assert_eq!(
        ok_rows.iter().map(|r| (r.n, r.created)).collect::<Vec<_>>(),
        vec![(0, Some(1)), (2, Some(0))]
    );
    let failed = bulk_jobs::ingest_rows_with(&mut c, &job.id, Some("failed"))
        .await
        .unwrap();
    assert_eq!(failed[0].error.as_deref(), Some("REQUIRED_FIELD_MISSING:x:LastName --"));
    assert!(bulk_jobs::ingest_rows_with(&mut c, &job.id, None)
        .await
        .unwrap()
        .is_empty());

    // Uploads past one INSERT's worth of rows keep their order and numbers.
    let big = bulk_jobs::insert(
        &mut c,
        &NewJob {
            id: "750000000000003AAA",
            ..new
        },
        t0(),
    )
    .await
    .unwrap();
    let lines: Vec<String> = (0..1_201).map(|i| format!("L{i}\n")).collect();
    assert!(bulk_jobs::upload(&mut c, &big, "LastName\n", &lines).await.unwrap());
    let tail = bulk_jobs::ingest_rows(&mut c, &big.id, 1_199, 5).await.unwrap();
    assert_eq!(
        tail.iter().map(|r| (r.n, r.line.as_str())).collect::<Vec<_>>(),
        vec![(1_199, "L1199\n"), (1_200, "L1200\n")]
    );
}
