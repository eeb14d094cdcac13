//! Kept connections: handed from one user to the next as they are (no round trip to
//! the pool), closed when discarded, and never more than [`MAX_KEPT`] at once; and,
//! kept and pooled alike, replaced unnoticed when the server ended them while unused.

use std::time::Duration;

use latchkey_store::{Kept, Store, MAX_KEPT};

use crate::store_test;

/// Whether `conn` is the connection that made the temporary table `marker` (temporary
/// tables live and die with their connection on both backends).
async fn has_marker(conn: &mut Kept) -> bool {
    sqlx::query("SELECT COUNT(*) FROM marker")
        .execute(&mut **conn)
        .await
        .is_ok()
}

async fn mark(conn: &mut Kept) {
    sqlx::query("CREATE TEMPORARY TABLE marker (n INTEGER)")
        .execute(&mut **conn)
        .await
        .expect("create the marker");
}

async fn handed_on_as_they_are(store: &Store) {
    let mut first = store.kept().await.expect("kept");
    mark(&mut first).await;
    drop(first);
    let mut again = store.kept().await.expect("kept");
    assert!(
        has_marker(&mut again).await,
        "the connection returned is the next one handed out"
    );

    again.discard();
    let mut fresh = store.kept().await.expect("kept");
    assert!(
        !has_marker(&mut fresh).await,
        "a discarded connection is never handed out again"
    );
}
store_test!(handed_on_as_they_are);

async fn at_most_the_bound_at_once(store: &Store) {
    let mut held = Vec::new();
    for _ in 0..MAX_KEPT {
        held.push(store.kept().await.expect("kept"));
    }
    mark(&mut held[0]).await;
    assert!(
        tokio::time::timeout(Duration::from_millis(200), store.kept())
            .await
            .is_err(),
        "one more than the bound waits"
    );
    let waiting = tokio::spawn({
        let store = store.clone();
        async move { store.kept().await.expect("kept") }
    });
    drop(held.remove(0));
    let mut next = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("a returned connection ends the wait")
        .expect("task");
    assert!(has_marker(&mut next).await, "the waiter gets the connection returned");
}
store_test!(at_most_the_bound_at_once);

/// PostgreSQL only: the server ends every connection of the store while none is in
/// use (as a restart, or an administrator's `pg_terminate_backend`, would). The next
/// use of each path (a kept connection, a pooled one, the group commit's) finds out
/// by its ping, not by failing a request.
#[cfg(pg_tests)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_ended_while_unused_are_replaced_unnoticed() {
    use latchkey_store::login_history::NewLogin;
    use latchkey_store::{Write, PING_AFTER_IDLE};
    use sqlx::Connection;

    let db = crate::support::TestDb::postgres().await;
    let store = &db.store;
    let row = |n: usize| {
        Write::Login(NewLogin {
            org_id: None,
            user_id: None,
            username: format!("nobody #{n}"),
            login_time: crate::support::t0(),
            source_ip: "192.0.2.7".into(),
            login_type: "Remote Access 2.0",
            status: "Invalid Password",
            application: "kept".into(),
            api_type: "N/A".into(),
            api_version: "N/A".into(),
        })
    };
    let select_one = "SELECT 1";
    // One use of each path, so that each holds a connection of its own to end (the
    // committing task takes a kept one while the test holds the other).
    let mut kept = store.kept().await.expect("kept");
    sqlx::query(select_one).execute(&mut *kept).await.expect("kept query");
    store.write(row(1)).await.expect("group commit");
    drop(kept);
    sqlx::query(select_one)
        .execute(&mut *store.conn().await.expect("pooled"))
        .await
        .expect("pooled query");
    // Let the pooled connection's release (a spawned task) finish.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;

    let url = std::env::var("LATCHKEY_TEST_POSTGRES_URL").expect("LATCHKEY_TEST_POSTGRES_URL");
    let mut admin = sqlx::AnyConnection::connect(&url).await.expect("connect");
    let ended: Vec<(bool,)> =
        sqlx::query_as("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1")
            .bind(db.pg_schema().expect("a PostgreSQL test database"))
            .fetch_all(&mut admin)
            .await
            .expect("terminate");
    assert!(
        ended.iter().filter(|(done,)| *done).count() >= 3,
        "the kept, pooled and committing connections were ended: {ended:?}"
    );
    admin.close().await.expect("close");
    tokio::time::sleep(PING_AFTER_IDLE + std::time::Duration::from_millis(200)).await;

    let mut kept = store.kept().await.expect("kept after the end");
    sqlx::query(select_one)
        .execute(&mut *kept)
        .await
        .expect("a kept connection's first query after the end");
    drop(kept);
    sqlx::query(select_one)
        .execute(&mut *store.conn().await.expect("pooled after the end"))
        .await
        .expect("a pooled connection's first query after the end");
    store.write(row(2)).await.expect("the first group commit after the end");
    db.finish().await;
}
