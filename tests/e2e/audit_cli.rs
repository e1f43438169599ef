//! `legate audit query` and `legate audit verify` on a real SQLite file and a real PostgreSQL
//! server, before and after someone tampers with the records in SQL.

#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

use legate_audit::{AuditRecord, Chain, ChainedRecord, EventKind, Sink};
use legate_audit_stores::{PgStore, SqliteStore};
use legate_e2e::legate_bin;
use legate_e2e::postgres::Postgres;

/// Record `n`: odd ones allowed `im` with partner-a, even ones denied `presence` with
/// partner-b, a minute apart from 2023-11-14T22:13:20Z.
fn record(n: i64) -> AuditRecord {
    let odd = n % 2 == 1;
    AuditRecord {
        at_micros: 1_700_000_000_000_000 + n * 60_000_000,
        event: if odd {
            EventKind::Request
        } else {
            EventKind::Denied
        },
        method: "MESSAGE".into(),
        call_id: format!("call-{n}"),
        local_internal: Some("a.smith@corp.internal".into()),
        local_federated: Some("alice@acme.example".into()),
        remote: Some(
            if odd {
                "bob@a.example"
            } else {
                "carol@b.example"
            }
            .into(),
        ),
        service: if odd { "im" } else { "presence" }.into(),
        direction: "outbound".into(),
        partner: Some(if odd { "partner-a" } else { "partner-b" }.into()),
        listener: "internal".into(),
        decision: Some(if odd { "allow" } else { "deny" }.into()),
        rule_id: Some(if odd { "allow-a" } else { "deny-b" }.into()),
        status: if odd { 200 } else { 403 },
        config_version: 3,
        trace_id: None,
        body: None,
    }
}

/// node-1 holds records 1..=4, node-2 records 5..=6.
fn records() -> Vec<Vec<ChainedRecord>> {
    let mut one = Chain::resume("node-1", None);
    let mut two = Chain::resume("node-2", None);
    vec![
        (1..=4).map(|n| one.link(record(n))).collect(),
        (5..=6).map(|n| two.link(record(n))).collect(),
    ]
}

async fn fill(sink: &dyn Sink) {
    for batch in records() {
        sink.append(&batch).await.unwrap();
    }
}

fn audit(args: &[&str]) -> Output {
    Command::new(legate_bin())
        .arg("audit")
        .args(args)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The call ids of `query --format json` output.
fn call_ids(output: &Output) -> Vec<String> {
    assert_eq!(output.status.code(), Some(0), "{}", stderr(output));
    let records: Vec<ChainedRecord> = serde_json::from_slice(&output.stdout).unwrap();
    records.into_iter().map(|r| r.record.call_id).collect()
}

#[tokio::test]
async fn query_and_verify_an_sqlite_file_then_catch_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.db");
    fill(&SqliteStore::open(&path, None).await.unwrap()).await;
    let file = path.to_str().unwrap();

    let denied = audit(&[
        "query",
        "--sqlite",
        file,
        "--decision",
        "deny",
        "--format",
        "json",
    ]);
    assert_eq!(call_ids(&denied), ["call-2", "call-4", "call-6"]);
    let window = audit(&[
        "query",
        "--sqlite",
        file,
        "--partner",
        "partner-a",
        "--since",
        "2023-11-14T22:15:20Z",
        "--until",
        "2023-11-14T23:18:20+01:00",
        "--format",
        "json",
    ]);
    assert_eq!(call_ids(&window), ["call-3"]);
    let newest = audit(&[
        "query", "--sqlite", file, "--limit", "2", "--format", "json",
    ]);
    assert_eq!(call_ids(&newest), ["call-5", "call-6"]);

    let table = audit(&["query", "--sqlite", file, "--user", "carol@b.example"]);
    assert_eq!(table.status.code(), Some(0), "{}", stderr(&table));
    let text = stdout(&table);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "a header and three records:\n{text}");
    assert!(lines[0].starts_with("TIME"), "{text}");
    assert!(
        lines[1].starts_with("2023-11-14T22:15:20.000Z")
            && lines[1].contains("carol@b.example")
            && lines[1].contains("deny-b")
            && lines[1].contains(" node-1:2 ")
            && lines[1].ends_with(" -"),
        "{text}"
    );

    let intact = audit(&["verify", "--sqlite", file]);
    assert_eq!(intact.status.code(), Some(0), "{}", stderr(&intact));
    let text = stdout(&intact);
    assert!(
        text.contains("node-1: intact, 4 record(s) (1..4)"),
        "{text}"
    );
    assert!(
        text.contains("node-2: intact, 2 record(s) (1..2)"),
        "{text}"
    );

    let tamper = rusqlite::Connection::open(&path).unwrap();
    tamper
        .execute(
            "UPDATE audit_records SET decision = 'allow' WHERE partition = 'node-1' AND seq = 2",
            [],
        )
        .unwrap();
    let edited = audit(&["verify", "--sqlite", file]);
    assert_eq!(edited.status.code(), Some(1), "{}", stdout(&edited));
    let text = stdout(&edited);
    assert!(
        text.contains("node-1: BROKEN: record 2: contents do not match its hash (edited)"),
        "{text}"
    );
    assert!(text.contains("node-2: intact"), "{text}");

    tamper
        .execute(
            "DELETE FROM audit_records WHERE partition = 'node-2' AND seq = 1",
            [],
        )
        .unwrap();
    let removed = audit(&["verify", "--sqlite", file]);
    assert_eq!(removed.status.code(), Some(1));
    let text = stdout(&removed);
    assert!(
        text.contains("node-2: BROKEN: record 2: expected record 1"),
        "{text}"
    );
    assert!(text.contains("2 of 2 partition(s) BROKEN"), "{text}");
}

#[tokio::test]
async fn verify_checks_what_retention_kept_from_where_it_cut() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.db");
    let store = SqliteStore::open(&path, Some(std::time::Duration::from_secs(90)))
        .await
        .unwrap();
    fill(&store).await;
    // 90 s before record 4's time: node-1's records 1 and 2 are older and go; node-2's are
    // newer and stay.
    let now = std::time::UNIX_EPOCH + std::time::Duration::from_micros(1_700_000_240_000_000);
    assert_eq!(store.prune(now).await.unwrap(), 2);
    let file = path.to_str().unwrap();
    let verified = audit(&["verify", "--sqlite", file]);
    assert_eq!(verified.status.code(), Some(0), "{}", stdout(&verified));
    let text = stdout(&verified);
    assert!(
        text.contains("node-1: intact, 2 record(s) (3..4), 1..2 removed by retention"),
        "{text}"
    );

    // Removing the first record retention kept is still found.
    let tamper = rusqlite::Connection::open(&path).unwrap();
    tamper
        .execute(
            "DELETE FROM audit_records WHERE partition = 'node-1' AND seq = 3",
            [],
        )
        .unwrap();
    let removed = audit(&["verify", "--sqlite", file]);
    assert_eq!(removed.status.code(), Some(1));
    assert!(
        stdout(&removed).contains("node-1: BROKEN: record 4: expected record 3 here"),
        "{}",
        stdout(&removed)
    );
}

#[test]
fn a_missing_file_or_a_bad_time_is_refused_before_anything_runs() {
    let missing = audit(&["verify", "--sqlite", "/nonexistent/audit.db"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("/nonexistent/audit.db: no such file"));

    let bad_time = audit(&["query", "--sqlite", "x.db", "--since", "last tuesday"]);
    assert_eq!(bad_time.status.code(), Some(2));
    assert!(
        stderr(&bad_time).contains("RFC 3339"),
        "{}",
        stderr(&bad_time)
    );

    let no_store = audit(&["verify"]);
    assert_eq!(no_store.status.code(), Some(2));
}

#[tokio::test]
async fn query_and_verify_postgresql_then_catch_tampering_and_an_outage() {
    let mut server = Postgres::start();
    let url = server.url();
    fill(&PgStore::connect(&url, 1).await.unwrap()).await;

    let presence = audit(&[
        "query",
        "--postgres",
        &url,
        "--service",
        "presence",
        "--format",
        "json",
    ]);
    assert_eq!(call_ids(&presence), ["call-2", "call-4", "call-6"]);

    // The URL from a file, as a deployment keeps its password.
    let dir = tempfile::tempdir().unwrap();
    let url_file = dir.path().join("audit-url");
    std::fs::write(&url_file, format!("{url}\n")).unwrap();
    let url_file = url_file.to_str().unwrap();
    let intact = audit(&["verify", "--postgres-url-file", url_file]);
    assert_eq!(intact.status.code(), Some(0), "{}", stderr(&intact));
    assert!(
        stdout(&intact).contains("2 partition(s) intact"),
        "{}",
        stdout(&intact)
    );

    server.psql("DELETE FROM audit_records WHERE partition = 'node-1' AND seq = 3");
    let removed = audit(&["verify", "--postgres", &url]);
    assert_eq!(removed.status.code(), Some(1));
    let text = stdout(&removed);
    assert!(
        text.contains("node-1: BROKEN: record 4: expected record 3 here"),
        "{text}"
    );

    server.stop();
    let down = audit(&["verify", "--postgres", &url]);
    assert_eq!(down.status.code(), Some(2));
    assert!(
        stderr(&down).contains("postgres unavailable"),
        "{}",
        stderr(&down)
    );
}
