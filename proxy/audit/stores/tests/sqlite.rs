//! The SQLite store against real database files.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{link, START_MICROS, STEP_MICROS};
use legate_audit::{verify, verify_from, Chain, Query, Sink, SinkError, Store};
use legate_audit_stores::SqliteStore;

fn at_micros(micros: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_micros(micros as u64)
}

#[tokio::test]
async fn records_come_back_as_appended_and_the_chain_resumes_after_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.db");
    let store = SqliteStore::open(&path, None).await.unwrap();
    assert_eq!(store.last("node-1").await.unwrap(), None);

    let mut chain = Chain::resume("node-1", None);
    let first = link(&mut chain, 1, 3);
    store.append(&first).await.unwrap();
    let mut other = Chain::resume("node-2", None);
    let theirs = link(&mut other, 4, 4);
    store.append(&theirs).await.unwrap();
    drop(store);

    let store = SqliteStore::open(&path, None).await.unwrap();
    let last = store.last("node-1").await.unwrap();
    assert_eq!(last, Some((3, first[2].hash.clone())));
    let mut chain = Chain::resume("node-1", last);
    let second = link(&mut chain, 5, 6);
    store.append(&second).await.unwrap();

    let stored = store.chain("node-1").await.unwrap();
    assert_eq!(stored, [first, second].concat());
    assert_eq!(verify("node-1", &stored), Ok(5));
    assert_eq!(store.partitions().await.unwrap(), ["node-1", "node-2"]);

    // Everything, oldest first across partitions.
    let all = store.query(&Query::default()).await.unwrap();
    let calls: Vec<&str> = all.iter().map(|r| r.record.call_id.as_str()).collect();
    assert_eq!(
        calls,
        ["call-1", "call-2", "call-3", "call-4", "call-5", "call-6"]
    );

    let denied = Query {
        decision: Some("deny".into()),
        ..Query::default()
    };
    let calls: Vec<String> = store
        .query(&denied)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.record.call_id)
        .collect();
    assert_eq!(calls, ["call-2", "call-4", "call-6"]);

    let narrow = Query {
        user: Some("bob@a.example".into()),
        partner: Some("partner-a".into()),
        service: Some("im".into()),
        since_micros: Some(START_MICROS + 2 * STEP_MICROS),
        until_micros: Some(START_MICROS + 5 * STEP_MICROS),
        ..Query::default()
    };
    let calls: Vec<String> = store
        .query(&narrow)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.record.call_id)
        .collect();
    assert_eq!(calls, ["call-3"], "until is exclusive");

    // A limit keeps the newest, still oldest first.
    let newest = Query {
        user: Some("alice@acme.example".into()),
        limit: Some(2),
        ..Query::default()
    };
    let calls: Vec<String> = store
        .query(&newest)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.record.call_id)
        .collect();
    assert_eq!(calls, ["call-5", "call-6"]);
}

#[tokio::test]
async fn appending_the_same_batch_again_is_fine_but_a_different_record_in_its_place_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("audit.db"), None)
        .await
        .unwrap();
    let mut chain = Chain::resume("p", None);
    let batch = link(&mut chain, 1, 3);
    store.append(&batch).await.unwrap();
    // A retry after an unknown outcome, overlapping what is stored and adding one more.
    let mut retry = batch[1..].to_vec();
    retry.extend(link(&mut chain, 4, 4));
    store.append(&retry).await.unwrap();
    assert_eq!(verify("p", &store.chain("p").await.unwrap()), Ok(4));

    let mut impostor = Chain::resume("p", None);
    let clash = link(&mut impostor, 9, 9);
    let error = store.append(&clash).await.unwrap_err();
    assert!(
        matches!(&error, SinkError::Invalid { reason, .. } if reason.contains("partition p, record 1")),
        "{error}"
    );
    assert_eq!(
        store.chain("p").await.unwrap().len(),
        4,
        "nothing of it stored"
    );
}

#[tokio::test]
async fn retention_removes_the_head_and_the_rest_still_verifies_and_continues() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("audit.db"), Some(Duration::from_secs(180)))
        .await
        .unwrap();
    let mut chain = Chain::resume("p", None);
    let records = link(&mut chain, 1, 6);
    store.append(&records).await.unwrap();

    // Three minutes back from record 6 is record 3: records 1 and 2 go.
    let now = at_micros(START_MICROS + 6 * STEP_MICROS);
    assert_eq!(store.prune(now).await.unwrap(), 2);
    let kept = store.chain("p").await.unwrap();
    assert_eq!(kept, records[2..]);
    let marker = store.pruned_through("p").await.unwrap();
    assert_eq!(marker, Some((2, records[1].hash.clone())));
    assert_eq!(verify_from("p", 2, &records[1].hash, &kept), Ok(4));
    assert_eq!(
        store.prune(now).await.unwrap(),
        0,
        "nothing more is old enough"
    );

    // Long after, everything goes, and the chain still continues where it was.
    let later = at_micros(START_MICROS + 1_000 * STEP_MICROS);
    assert_eq!(store.prune(later).await.unwrap(), 4);
    assert!(store.chain("p").await.unwrap().is_empty());
    let last = store.last("p").await.unwrap();
    assert_eq!(last, Some((6, records[5].hash.clone())));
    let mut resumed = Chain::resume("p", last);
    let next = link(&mut resumed, 7, 7);
    store.append(&next).await.unwrap();
    assert_eq!(verify_from("p", 6, &records[5].hash, &next), Ok(1));
    assert_eq!(store.partitions().await.unwrap(), ["p"]);
}

#[tokio::test]
async fn without_a_retention_nothing_is_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("audit.db"), None)
        .await
        .unwrap();
    let mut chain = Chain::resume("p", None);
    store.append(&link(&mut chain, 1, 2)).await.unwrap();
    assert_eq!(store.prune(SystemTime::now()).await.unwrap(), 0);
    assert_eq!(store.chain("p").await.unwrap().len(), 2);
}

#[tokio::test]
async fn verify_finds_rows_edited_or_deleted_with_plain_sql() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.db");
    let store = SqliteStore::open(&path, None).await.unwrap();
    let mut chain = Chain::resume("p", None);
    store.append(&link(&mut chain, 1, 5)).await.unwrap();
    assert_eq!(verify("p", &store.chain("p").await.unwrap()), Ok(5));

    let tamper = rusqlite::Connection::open(&path).unwrap();
    tamper
        .execute(
            "UPDATE audit_records SET decision = 'allow' WHERE partition = 'p' AND seq = 4",
            [],
        )
        .unwrap();
    let error = verify("p", &store.chain("p").await.unwrap()).unwrap_err();
    assert_eq!(error.seq, 4);
    assert!(error.reason.contains("edited"), "{error}");

    tamper
        .execute(
            "DELETE FROM audit_records WHERE partition = 'p' AND seq = 2",
            [],
        )
        .unwrap();
    let error = verify("p", &store.chain("p").await.unwrap()).unwrap_err();
    assert_eq!(error.seq, 3);
    assert!(error.reason.contains("removed"), "{error}");
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_refused_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(
        &path,
        "not a database, just some text that is long enough ".repeat(40),
    )
    .unwrap();
    let error = SqliteStore::open(&path, None).await.unwrap_err();
    assert!(
        matches!(&error, SinkError::Invalid { reason, .. } if reason.contains("notes.txt")),
        "{error}"
    );
}
