//! The PostgreSQL store against a real server the test starts (see `legate_e2e::postgres`).

// Test helpers unwrap too: a failure there is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{link, START_MICROS, STEP_MICROS};
use legate_audit::{verify, verify_from, Chain, Query, Sink, SinkError, Store};
use legate_audit_stores::PgStore;
use legate_e2e::postgres::Postgres;
use legate_e2e::tls::Ca;

#[tokio::test]
async fn records_come_back_as_appended_and_a_retried_batch_is_stored_once() {
    let server = Postgres::start();
    let store = PgStore::connect(&server.url(), 2).await.unwrap();
    assert_eq!(store.last("node-1").await.unwrap(), None);

    let mut chain = Chain::resume("node-1", None);
    let first = link(&mut chain, 1, 3);
    store.append(&first).await.unwrap();
    // The same batch again (an unknown outcome retried) plus more.
    let mut retry = first.clone();
    retry.extend(link(&mut chain, 4, 5));
    store.append(&retry).await.unwrap();
    let mut other = Chain::resume("node-2", None);
    store.append(&link(&mut other, 6, 6)).await.unwrap();

    let stored = store.chain("node-1").await.unwrap();
    assert_eq!(stored, retry);
    assert_eq!(verify("node-1", &stored), Ok(5));
    assert_eq!(
        store.last("node-1").await.unwrap(),
        Some((5, retry[4].hash.clone()))
    );
    assert_eq!(store.partitions().await.unwrap(), ["node-1", "node-2"]);

    let query = Query {
        partner: Some("partner-b".into()),
        decision: Some("deny".into()),
        since_micros: Some(START_MICROS + 3 * STEP_MICROS),
        ..Query::default()
    };
    let calls: Vec<String> = store
        .query(&query)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.record.call_id)
        .collect();
    assert_eq!(calls, ["call-4", "call-6"]);
    let newest = Query {
        user: Some("a.smith@corp.internal".into()),
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

    let mut impostor = Chain::resume("node-1", None);
    let error = store.append(&link(&mut impostor, 9, 9)).await.unwrap_err();
    assert!(
        matches!(&error, SinkError::Invalid { reason, .. } if reason.contains("partition node-1, record 1")),
        "{error}"
    );
}

#[tokio::test]
async fn migrations_run_once_however_many_replicas_start_and_however_often() {
    let server = Postgres::start();
    let url = server.url();
    let (a, b, c) = tokio::join!(
        PgStore::connect(&url, 1),
        PgStore::connect(&url, 1),
        PgStore::connect(&url, 1)
    );
    let (a, _b, _c) = (a.unwrap(), b.unwrap(), c.unwrap());
    let mut chain = Chain::resume("p", None);
    a.append(&link(&mut chain, 1, 2)).await.unwrap();

    let again = PgStore::connect(&url, 1).await.unwrap();
    assert_eq!(again.schema_versions().await.unwrap(), [1]);
    assert_eq!(server.psql("SELECT count(*) FROM schema_migrations"), "1");
    assert_eq!(again.chain("p").await.unwrap().len(), 2, "data kept");
}

#[tokio::test]
async fn verify_finds_rows_edited_or_deleted_with_psql() {
    let server = Postgres::start();
    let store = PgStore::connect(&server.url(), 1).await.unwrap();
    let mut chain = Chain::resume("p", None);
    store.append(&link(&mut chain, 1, 5)).await.unwrap();
    assert_eq!(verify("p", &store.chain("p").await.unwrap()), Ok(5));

    server.psql("UPDATE audit_records SET remote = 'mallory@b.example' WHERE seq = 4");
    let error = verify("p", &store.chain("p").await.unwrap()).unwrap_err();
    assert_eq!(error.seq, 4);
    assert!(error.reason.contains("edited"), "{error}");

    server.psql("DELETE FROM audit_records WHERE seq = 2");
    let error = verify("p", &store.chain("p").await.unwrap()).unwrap_err();
    assert_eq!(error.seq, 3);
    assert!(error.reason.contains("removed"), "{error}");
}

#[tokio::test]
async fn a_stopped_server_makes_the_store_unavailable_until_it_is_back() {
    let mut server = Postgres::start();
    let store = PgStore::connect(&server.url(), 2).await.unwrap();
    let mut chain = Chain::resume("p", None);
    store.append(&link(&mut chain, 1, 2)).await.unwrap();

    server.stop();
    let pending = link(&mut chain, 3, 4);
    let error = store.append(&pending).await.unwrap_err();
    match &error {
        SinkError::Unavailable { sink, reason } => {
            assert_eq!(sink, "postgres");
            assert!(
                reason.contains("connect") || reason.contains("closed"),
                "the reason names the cause: {reason}"
            );
        }
        other => panic!("expected Unavailable, got {other}"),
    }
    assert!(matches!(
        store.last("p").await,
        Err(SinkError::Unavailable { .. })
    ));

    server.start_again();
    store.append(&pending).await.unwrap();
    assert_eq!(verify("p", &store.chain("p").await.unwrap()), Ok(4));
}

#[tokio::test]
async fn a_server_down_at_start_is_migrated_once_it_is_up() {
    let mut server = Postgres::start();
    server.stop();
    let store = PgStore::connect(&server.url(), 1).await.unwrap();
    let mut chain = Chain::resume("p", None);
    let records = link(&mut chain, 1, 1);
    assert!(matches!(
        store.append(&records).await,
        Err(SinkError::Unavailable { .. })
    ));
    server.start_again();
    store.append(&records).await.unwrap();
    assert_eq!(store.schema_versions().await.unwrap(), [1]);
}

#[tokio::test]
async fn a_malformed_url_or_a_ca_for_a_plain_connection_is_invalid_and_the_password_is_not_echoed()
{
    let error = PgStore::connect("postgres://legate:s3cret@127.0.0.1:notaport/db", 1)
        .await
        .unwrap_err();
    assert!(matches!(&error, SinkError::Invalid { .. }), "{error}");
    assert!(!error.to_string().contains("s3cret"), "{error}");

    let dir = tempfile::tempdir().unwrap();
    let tls = trusting(&Ca::new(dir.path(), "db"));
    let url = "postgres://legate:s3cret@127.0.0.1:1/db?sslmode=disable";
    let error = PgStore::connect_with_tls(url, 1, Some(tls))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, SinkError::Invalid { reason, .. } if reason.contains("sslmode=disable")),
        "{error}"
    );
    assert!(!error.to_string().contains("s3cret"), "{error}");
}

/// A client configuration trusting only `ca`.
fn trusting(ca: &Ca) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

#[tokio::test]
async fn over_tls_records_travel_encrypted_and_an_unverified_server_gets_none() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, stranger) = (Ca::new(dir.path(), "db"), Ca::new(dir.path(), "stranger"));
    let mut server = Postgres::start();
    server.serve_tls(&ca.server("db"));
    let mut chain = Chain::resume("p", None);

    let store = PgStore::connect_with_tls(&server.url(), 1, Some(trusting(&ca)))
        .await
        .unwrap();
    store.append(&link(&mut chain, 1, 2)).await.unwrap();
    let encrypted = server.psql(
        "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
         WHERE s.ssl AND a.usename = 'legate'",
    );
    assert_eq!(encrypted, "1", "the pooled connection is not encrypted");

    // A server whose certificate another CA issued is never written to.
    let misplaced = PgStore::connect_with_tls(&server.url(), 1, Some(trusting(&stranger)))
        .await
        .unwrap();
    let error = misplaced.append(&link(&mut chain, 3, 3)).await.unwrap_err();
    assert!(matches!(&error, SinkError::Unavailable { .. }), "{error}");
    assert_eq!(store.chain("p").await.unwrap().len(), 2);
}

#[tokio::test]
async fn retention_removes_the_head_and_the_rest_still_verifies_and_continues() {
    let server = Postgres::start();
    let store = PgStore::connect(&server.url(), 1)
        .await
        .unwrap()
        .with_retention(Duration::from_secs(180));
    let mut chain = Chain::resume("p", None);
    let records = link(&mut chain, 1, 6);
    store.append(&records).await.unwrap();

    // Three minutes back from record 6 is record 3: records 1 and 2 go.
    let now = at_micros(START_MICROS + 6 * STEP_MICROS);
    assert_eq!(store.prune(now).await.unwrap(), 2);
    let kept = store.chain("p").await.unwrap();
    assert_eq!(kept, records[2..]);
    assert_eq!(
        store.pruned_through("p").await.unwrap(),
        Some((2, records[1].hash.clone()))
    );
    assert_eq!(verify_from("p", 2, &records[1].hash, &kept), Ok(4));

    let later = at_micros(START_MICROS + 1_000 * STEP_MICROS);
    assert_eq!(store.prune(later).await.unwrap(), 4);
    let last = store.last("p").await.unwrap();
    assert_eq!(last, Some((6, records[5].hash.clone())));
    let mut resumed = Chain::resume("p", last);
    store.append(&link(&mut resumed, 7, 7)).await.unwrap();
    assert_eq!(store.partitions().await.unwrap(), ["p"]);
}

fn at_micros(micros: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_micros(micros.unsigned_abs())
}
