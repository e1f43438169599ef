//! Audit into real stores through a running Legate: sipp traffic recorded in an SQLite file
//! and in a PostgreSQL server the test starts, read back and verified with `legate audit`, and
//! tampering found; records reaching PostgreSQL over verified TLS; PostgreSQL and a webhook receiver going down and coming back mid-traffic,
//! in open mode (requests pass, records wait in the spool and all arrive, in order) and in
//! closed mode (requests are refused with 503 and never reach the upstream until the store is
//! back).

#![allow(clippy::unwrap_used, clippy::disallowed_types)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use legate_audit::{verify, ChainedRecord, EventKind};
use legate_e2e::config::{proxy_config, udp_cluster, Ports};
use legate_e2e::postgres::Postgres;
use legate_e2e::tls::Ca;
use legate_e2e::upstream::{final_response, AcceptingUpstream};
use legate_e2e::webhook::WebhookReceiver;
use legate_e2e::{legate_bin, play, wait_until, Legate};

const PARTITION: &str = "e2e";
/// The sink's name in every config here, as `/metrics` labels it.
const SINK: &str = "store";

/// The default config routing `remote.example` to `upstream`, with the audit filter in
/// `fail_mode` on the internal listener and the one sink `sink` (a YAML flow mapping body).
fn audit_config(p: &Ports, upstream: u16, fail_mode: &str, spool: &Path, sink: &str) -> String {
    let base = proxy_config(p, &udp_cluster(&[upstream]), "", "");
    let chain = base.replacen(
        "    filters:\n      - name: legate.filters.sip.header_mutation",
        &format!(
            "    filters:\n      - name: legate.filters.sip.audit\n        config: {{ fail_mode: {fail_mode} }}\n      - name: legate.filters.sip.header_mutation"
        ),
        1,
    );
    format!(
        "{chain}audit:\n  partition: {PARTITION}\n  spool_dir: \"{}\"\n  sinks:\n    - {{ name: {SINK}, {sink} }}\n",
        spool.display()
    )
}

fn sqlite_sink(file: &Path) -> String {
    format!("sqlite: {{ file: \"{}\" }}", file.display())
}

fn postgres_sink(server: &Postgres) -> String {
    format!(
        "postgres: {{ url: {{ value: \"{}\" }}, pool_size: 2 }}",
        server.url()
    )
}

fn webhook_sink(receiver: &WebhookReceiver) -> String {
    format!("webhook: {{ url: \"{}\", timeout: 1s }}", receiver.url())
}

/// A MESSAGE from alice@local.example to bob@remote.example with Call-ID `call_id`.
fn message(call_id: &str) -> String {
    format!(
        "MESSAGE sip:bob@remote.example SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-{call_id};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@local.example>;tag=f-{call_id}\r\n\
         To: <sip:bob@remote.example>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 MESSAGE\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

/// Sends a MESSAGE with each of `call_ids` and asserts each gets `status`.
fn send_all(p: &Ports, call_ids: &[String], status: u16) {
    for call_id in call_ids {
        let answer = final_response(p.internal, &message(call_id));
        assert!(
            answer.starts_with(&format!("SIP/2.0 {status} ")),
            "{call_id}: expected {status}, got {answer}"
        );
    }
}

fn call_ids(prefix: &str, range: std::ops::RangeInclusive<u32>) -> Vec<String> {
    range.map(|n| format!("{prefix}-{n}")).collect()
}

/// The Call-IDs of the requests the upstream received since the last look.
fn reached(upstream: &AcceptingUpstream) -> Vec<String> {
    upstream
        .drain()
        .iter()
        .filter_map(|request| {
            request.lines().find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("call-id")
                    .then(|| value.trim().to_string())
            })
        })
        .collect()
}

fn metric(legate: &Legate, name: &str) -> Option<f64> {
    legate.metric(&format!("{name}{{sink=\"{SINK}\"}}"))
}

fn audit(args: &[&str]) -> Output {
    Command::new(legate_bin())
        .arg("audit")
        .args(args)
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Everything in the store `store` (`--sqlite FILE` or `--postgres URL`), by seq, read with
/// `legate audit query`.
fn stored(store: &[&str]) -> Vec<ChainedRecord> {
    let mut args = vec!["query"];
    args.extend_from_slice(store);
    args.extend_from_slice(&["--format", "json"]);
    let output = audit(&args);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let mut records: Vec<ChainedRecord> = serde_json::from_slice(&output.stdout).unwrap();
    records.sort_by_key(|r| r.seq);
    records
}

/// Waits (bounded) until the store holds `count` records, and returns them.
fn stored_count(store: &[&str], count: usize) -> Vec<ChainedRecord> {
    let mut records = Vec::new();
    wait_until(
        &format!("{count} records in the store"),
        Duration::from_secs(15),
        || {
            records = stored(store);
            records.len() >= count
        },
    );
    records
}

/// `legate audit verify` on `store`: its exit code and output.
fn verify_store(store: &[&str]) -> (Option<i32>, String) {
    let mut args = vec!["verify"];
    args.extend_from_slice(store);
    let output = audit(&args);
    (output.status.code(), text(&output))
}

fn assert_intact(store: &[&str], count: usize) {
    let (code, out) = verify_store(store);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!(
            "{PARTITION}: intact, {count} record(s) (1..{count})"
        )),
        "{out}"
    );
}

/// Each record's seq is its place in the chain: 1, 2, 3… with nothing missing.
fn assert_continuous(records: &[ChainedRecord]) {
    let seqs: Vec<i64> = records.iter().map(|r| r.seq).collect();
    let expected: Vec<i64> = (1..=records.len() as i64).collect();
    assert_eq!(seqs, expected);
}

/// Two MESSAGEs and a call (INVITE, BYE) with sipp through a Legate writing to `sink`; the
/// four records in `store`, intact; then a row edited with `tamper`'s SQL (and put back) and
/// a row deleted, each making `verify` exit 1 naming the record.
fn sipp_traffic_recorded_then_tampering_found(
    p: &Ports,
    sink: &str,
    store: &[&str],
    tamper: &dyn Fn(&str),
) {
    let spool = tempfile::tempdir().unwrap();
    let legate = Legate::start(
        &audit_config(p, p.peer, "open", spool.path(), sink),
        p.admin,
    );
    play(p, "uas_message.xml", "uac_message.xml", 2, &[]);
    play(p, "uas_invite.xml", "uac_invite.xml", 1, &[]);

    let records = stored_count(store, 4);
    assert_eq!(records.len(), 4, "{records:#?}");
    assert_continuous(&records);
    let events: Vec<_> = records
        .iter()
        .map(|r| {
            let r = &r.record;
            (r.event, r.method.as_str(), r.service.as_str(), r.status)
        })
        .collect();
    assert_eq!(
        events,
        [
            (EventKind::Request, "MESSAGE", "im", 200),
            (EventKind::Request, "MESSAGE", "im", 200),
            (EventKind::DialogStart, "INVITE", "voice", 200),
            (EventKind::DialogEnd, "BYE", "voice", 200),
        ]
    );
    for chained in &records {
        let record = &chained.record;
        assert_eq!(chained.partition, PARTITION);
        assert_eq!(
            record.local_internal.as_deref(),
            Some("alice@local.example")
        );
        assert_eq!(record.remote.as_deref(), Some("bob@remote.example"));
        assert_eq!(
            (record.direction.as_str(), record.listener.as_str()),
            ("outbound", "internal")
        );
    }
    assert_ne!(records[0].record.call_id, records[1].record.call_id);
    assert_eq!(records[2].record.call_id, records[3].record.call_id);
    assert_eq!(metric(&legate, "legate_audit_records_total"), Some(4.0));
    assert!(legate.terminate().success());

    assert_intact(store, 4);

    tamper(&format!(
        "UPDATE audit_records SET status = 202 WHERE partition = '{PARTITION}' AND seq = 2"
    ));
    let (code, out) = verify_store(store);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "{PARTITION}: BROKEN: record 2: contents do not match its hash (edited)"
        )),
        "{out}"
    );
    // Put back exactly, the chain holds again: it was that one change.
    tamper(&format!(
        "UPDATE audit_records SET status = 200 WHERE partition = '{PARTITION}' AND seq = 2"
    ));
    assert_intact(store, 4);

    tamper(&format!(
        "DELETE FROM audit_records WHERE partition = '{PARTITION}' AND seq = 2"
    ));
    let (code, out) = verify_store(store);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!("{PARTITION}: BROKEN: record 3: expected record 2")),
        "{out}"
    );
}

#[test]
fn sipp_traffic_lands_in_sqlite_and_tampering_is_found() {
    let p = Ports::pick();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("audit.db");
    let path = file.to_str().unwrap();
    let tamper = |sql: &str| {
        let connection = rusqlite::Connection::open(&file).unwrap();
        assert_eq!(connection.execute(sql, []).unwrap(), 1, "{sql}");
    };
    sipp_traffic_recorded_then_tampering_found(
        &p,
        &sqlite_sink(&file),
        &["--sqlite", path],
        &tamper,
    );
}

#[test]
fn sipp_traffic_lands_in_postgres_and_tampering_is_found() {
    let p = Ports::pick();
    let server = Postgres::start();
    let url = server.url();
    let tamper = |sql: &str| {
        server.psql(sql);
    };
    sipp_traffic_recorded_then_tampering_found(
        &p,
        &postgres_sink(&server),
        &["--postgres", &url],
        &tamper,
    );
}

#[test]
fn records_reach_postgres_over_verified_tls() {
    let p = Ports::pick();
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "db");
    let mut server = Postgres::start();
    server.serve_tls(&ca.server("db"));
    let upstream = AcceptingUpstream::start();
    let url = server.url();
    let sink = format!(
        "postgres: {{ url: {{ value: \"{url}\" }}, tls_ca: \"{}\" }}",
        ca.pem.display()
    );
    let spool = dir.path().join("spool");
    let _legate = Legate::start(
        &audit_config(&p, upstream.port, "closed", &spool, &sink),
        p.admin,
    );
    // Closed mode: each 200 means its record was stored first.
    send_all(&p, &call_ids("tls", 1..=2), 200);

    let ca_file = ca.pem.display().to_string();
    let store = [
        "--postgres",
        url.as_str(),
        "--postgres-ca",
        ca_file.as_str(),
    ];
    // An attempt and an outcome for each.
    stored_count(&store, 4);
    assert_intact(&store, 4);
    // Legate's connections are encrypted; none of its sessions is in the clear.
    let sessions = |encrypted: bool| {
        server.psql(&format!(
            "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE s.ssl = {encrypted} AND a.usename = 'legate' AND a.pid <> pg_backend_pid()"
        ))
    };
    assert_ne!(sessions(true), "0");
    assert_eq!(sessions(false), "0");
}

/// Legate auditing in `fail_mode` into a PostgreSQL server the test starts, with remote.example
/// routed to an upstream that accepts everything.
struct AuditedByPostgres {
    /// Dropped last: the spool folder outlives Legate.
    _spool: tempfile::TempDir,
    p: Ports,
    server: Postgres,
    upstream: AcceptingUpstream,
    legate: Legate,
}

fn audited_by_postgres(fail_mode: &str) -> AuditedByPostgres {
    let p = Ports::pick();
    let server = Postgres::start();
    let upstream = AcceptingUpstream::start();
    let spool = tempfile::tempdir().unwrap();
    let sink = postgres_sink(&server);
    let legate = Legate::start(
        &audit_config(&p, upstream.port, fail_mode, spool.path(), &sink),
        p.admin,
    );
    AuditedByPostgres {
        _spool: spool,
        p,
        server,
        upstream,
        legate,
    }
}

#[test]
fn open_mode_passes_requests_while_postgres_is_down_and_delivers_every_record_after() {
    let AuditedByPostgres {
        _spool,
        p,
        mut server,
        upstream,
        legate,
    } = audited_by_postgres("open");
    let url = server.url();
    let store = ["--postgres", url.as_str()];

    let before = call_ids("before", 1..=5);
    send_all(&p, &before, 200);
    stored_count(&store, before.len());

    server.stop();
    let during = call_ids("during", 1..=5);
    send_all(&p, &during, 200);
    wait_until(
        "the records of the outage in the spool",
        Duration::from_secs(10),
        || metric(&legate, "legate_audit_spooled") == Some(during.len() as f64),
    );
    assert_eq!(metric(&legate, "legate_audit_sink_up"), Some(0.0));

    server.start_again();
    let after = call_ids("after", 1..=2);
    send_all(&p, &after, 200);
    let sent: Vec<String> = [before, during, after].concat();
    assert_eq!(reached(&upstream), sent, "every request passed, in order");

    wait_until("the spool drained", Duration::from_secs(15), || {
        metric(&legate, "legate_audit_spooled") == Some(0.0)
            && metric(&legate, "legate_audit_sink_up") == Some(1.0)
    });
    let records = stored_count(&store, sent.len());
    assert_continuous(&records);
    let recorded: Vec<&str> = records.iter().map(|r| r.record.call_id.as_str()).collect();
    assert_eq!(recorded, sent, "nothing lost, order kept");
    assert!(records
        .iter()
        .all(|r| (r.record.event, r.record.status) == (EventKind::Request, 200)));
    assert_intact(&store, sent.len());
}

#[test]
fn closed_mode_refuses_requests_while_postgres_is_down_and_passes_them_when_it_is_back() {
    let AuditedByPostgres {
        _spool,
        p,
        mut server,
        upstream,
        legate,
    } = audited_by_postgres("closed");
    let url = server.url();
    let store = ["--postgres", url.as_str()];

    let before = call_ids("before", 1..=2);
    send_all(&p, &before, 200);
    assert_eq!(reached(&upstream), before);
    // Their outcomes are written after the answers; the outage starts once they are stored.
    stored_count(&store, 4);

    server.stop();
    let refused = call_ids("refused", 1..=3);
    for call_id in &refused {
        let answer = final_response(p.internal, &message(call_id));
        assert!(answer.starts_with("SIP/2.0 503 "), "{answer}");
        assert!(answer.contains("Retry-After: 5"), "{answer}");
    }
    assert_eq!(reached(&upstream), Vec::<String>::new());
    assert_eq!(
        legate.metric("legate_audit_refusals_total"),
        Some(refused.len() as f64)
    );

    server.start_again();
    let retried = passes_again(&p);
    assert_eq!(
        reached(&upstream),
        [retried.passed.as_str()],
        "only what passed"
    );

    let count = retried.expected_records(&before, &refused);
    check_closed_mode_records(&stored_count(&store, count), &before, &refused, &retried);
    assert_intact(&store, count);
}

/// Sends MESSAGEs until one passes (the sink's writer retries with a growing pause), at most
/// 15 s; returns the Call-ID of the one that passed.
fn passes_again(p: &Ports) -> Retried {
    let mut attempt = 0;
    let mut refused = Vec::new();
    let mut passed = None;
    wait_until("a request to pass again", Duration::from_secs(15), || {
        attempt += 1;
        let call_id = format!("back-{attempt}");
        let answer = final_response(p.internal, &message(&call_id));
        if answer.starts_with("SIP/2.0 200 ") {
            passed = Some(call_id);
            return true;
        }
        assert!(answer.starts_with("SIP/2.0 503 "), "{answer}");
        refused.push(call_id);
        false
    });
    Retried {
        refused,
        passed: passed.unwrap(),
    }
}

/// The retries after a sink came back: those still refused, and the one that passed.
struct Retried {
    refused: Vec<String>,
    passed: String,
}

impl Retried {
    /// How many records closed mode leaves for `before` passed and `refused` requests and
    /// these retries (see [`check_closed_mode_records`]).
    fn expected_records(&self, before: &[String], refused: &[String]) -> usize {
        before.len() * 2 + 1 + refused.len() + self.refused.len() + 2
    }
}

/// In closed mode each passed request has its attempt (status 0) and then its outcome (200).
/// The first refused request's attempt was linked before the store failed it; every refused
/// request (and every retry refused before the store was back) then has its 503 outcome, so no
/// attempt is left without one. All of it arrives later, as one unbroken chain.
fn check_closed_mode_records(
    records: &[ChainedRecord],
    before: &[String],
    refused: &[String],
    retried: &Retried,
) {
    assert_continuous(records);
    let seen: Vec<(&str, u16)> = records
        .iter()
        .map(|r| (r.record.call_id.as_str(), r.record.status))
        .collect();
    let mut expected: Vec<(&str, u16)> = Vec::new();
    for call_id in before {
        expected.extend([(call_id.as_str(), 0), (call_id.as_str(), 200)]);
    }
    expected.push((refused[0].as_str(), 0));
    for call_id in refused.iter().chain(&retried.refused) {
        expected.push((call_id.as_str(), 503));
    }
    expected.extend([(retried.passed.as_str(), 0), (retried.passed.as_str(), 200)]);
    assert_eq!(seen, expected);
}

#[test]
fn open_mode_delivers_every_record_to_a_webhook_that_was_down() {
    let p = Ports::pick();
    let mut receiver = WebhookReceiver::start();
    let upstream = AcceptingUpstream::start();
    let spool = tempfile::tempdir().unwrap();
    let legate = Legate::start(
        &audit_config(
            &p,
            upstream.port,
            "open",
            spool.path(),
            &webhook_sink(&receiver),
        ),
        p.admin,
    );

    let before = call_ids("before", 1..=3);
    send_all(&p, &before, 200);
    wait_until("the first records posted", Duration::from_secs(10), || {
        distinct(&receiver.records()).len() == before.len()
    });

    receiver.stop();
    let during = call_ids("during", 1..=3);
    send_all(&p, &during, 200);
    wait_until(
        "the records of the outage in the spool",
        Duration::from_secs(10),
        || metric(&legate, "legate_audit_spooled") == Some(during.len() as f64),
    );

    receiver.start_again();
    let after = call_ids("after", 1..=1);
    send_all(&p, &after, 200);
    let sent: Vec<String> = [before, during, after].concat();
    assert_eq!(reached(&upstream), sent);

    wait_until("every record posted", Duration::from_secs(15), || {
        distinct(&receiver.records()).len() == sent.len()
    });
    let records = distinct(&receiver.records());
    assert_continuous(&records);
    let recorded: Vec<&str> = records.iter().map(|r| r.record.call_id.as_str()).collect();
    assert_eq!(recorded, sent, "nothing lost, order kept");
    assert_eq!(verify(PARTITION, &records), Ok(sent.len()));
}

#[test]
fn closed_mode_refuses_requests_while_the_webhook_is_down() {
    let p = Ports::pick();
    let mut receiver = WebhookReceiver::start();
    let upstream = AcceptingUpstream::start();
    let spool = tempfile::tempdir().unwrap();
    let _legate = Legate::start(
        &audit_config(
            &p,
            upstream.port,
            "closed",
            spool.path(),
            &webhook_sink(&receiver),
        ),
        p.admin,
    );

    let before = call_ids("before", 1..=2);
    send_all(&p, &before, 200);
    assert_eq!(reached(&upstream), before);
    // Their outcomes are written after the answers; the outage starts once they are posted.
    wait_until("the first records posted", Duration::from_secs(10), || {
        distinct(&receiver.records()).len() == 4
    });

    receiver.stop();
    let refused = call_ids("refused", 1..=3);
    send_all(&p, &refused, 503);
    assert_eq!(reached(&upstream), Vec::<String>::new());

    receiver.start_again();
    let retried = passes_again(&p);
    assert_eq!(reached(&upstream), [retried.passed.as_str()]);

    let count = retried.expected_records(&before, &refused);
    wait_until("every record posted", Duration::from_secs(15), || {
        distinct(&receiver.records()).len() == count
    });
    let records = distinct(&receiver.records());
    check_closed_mode_records(&records, &before, &refused, &retried);
    assert_eq!(verify(PARTITION, &records), Ok(count));
}

/// Each record once (a batch may be posted again when its answer was lost), in the order
/// first received.
fn distinct(records: &[ChainedRecord]) -> Vec<ChainedRecord> {
    let mut seen = std::collections::HashSet::new();
    records
        .iter()
        .filter(|r| seen.insert(r.seq))
        .cloned()
        .collect()
}
