//! Kept connections: handed from one user to the next as they are (no round trip to
//! the pool), closed when discarded, and never more than [`MAX_KEPT`] at once.

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
