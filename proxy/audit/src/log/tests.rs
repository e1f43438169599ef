#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Semaphore;

use super::spool::Spool;
use super::*;
use crate::{verify, AuditRecord, ChainedRecord, SinkError};

/// Appends pass this gate; a test holding all its permits holds every append.
const GATE: u32 = 1 << 20;

/// A sink that keeps what it takes in memory, can be switched down and up, and can be held so
/// appends wait (a slow sink).
struct TestSink {
    stored: Mutex<Vec<ChainedRecord>>,
    down: AtomicBool,
    /// Whether `last` answers (a store) or not (a stream).
    tells_last: bool,
    gate: Semaphore,
}

impl TestSink {
    fn new(tells_last: bool) -> Arc<TestSink> {
        Arc::new(TestSink {
            stored: Mutex::new(Vec::new()),
            down: AtomicBool::new(false),
            tells_last,
            gate: Semaphore::new(GATE as usize),
        })
    }

    fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    fn seqs(&self) -> Vec<i64> {
        self.stored.lock().unwrap().iter().map(|r| r.seq).collect()
    }

    fn records(&self) -> Vec<ChainedRecord> {
        self.stored.lock().unwrap().clone()
    }
}

#[async_trait]
impl Sink for TestSink {
    fn name(&self) -> &str {
        "test"
    }

    async fn append(&self, records: &[ChainedRecord]) -> Result<(), SinkError> {
        let _pass = self.gate.acquire().await;
        if self.down.load(Ordering::SeqCst) {
            return Err(SinkError::Unavailable {
                sink: "test".into(),
                reason: "switched off".into(),
            });
        }
        let mut stored = self.stored.lock().unwrap();
        for record in records {
            // Taking a record it already holds is not an error (replays after a crash).
            if !stored.iter().any(|r| r.seq == record.seq) {
                stored.push(record.clone());
            }
        }
        Ok(())
    }

    async fn last(&self, _partition: &str) -> Result<Option<(i64, String)>, SinkError> {
        if !self.tells_last {
            return Ok(None);
        }
        let stored = self.stored.lock().unwrap();
        Ok(stored.last().map(|r| (r.seq, r.hash.clone())))
    }
}

fn record(n: usize) -> AuditRecord {
    crate::record::sample(n as i64)
}

fn log_over(dir: &std::path::Path, sinks: &[(&str, &Arc<TestSink>)]) -> AuditLog {
    let mut settings = AuditSettings::new("p", dir);
    settings.queue_size = 4;
    settings.batch_max = 3;
    let sinks = sinks
        .iter()
        .map(|(name, sink)| (name.to_string(), (*sink).clone() as Arc<dyn Sink>))
        .collect();
    AuditLog::new(settings, sinks)
}

/// Polls `done` on tokio's (paused) clock; fails the test if it never holds.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..10_000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never: {what}");
}

fn sink_health(log: &AuditLog, name: &str) -> SinkHealth {
    log.health()
        .sinks
        .into_iter()
        .find(|s| s.name == name)
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn open_mode_loses_nothing_and_keeps_the_order_while_a_sink_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let (steady, flaky) = (TestSink::new(true), TestSink::new(true));
    let log = log_over(dir.path(), &[("steady", &steady), ("flaky", &flaky)]);
    log.start().await.unwrap();

    for n in 1..=3 {
        log.record(record(n));
    }
    until("both sinks take the first records", || log.is_idle()).await;

    flaky.set_down(true);
    for n in 4..=12 {
        log.record(record(n));
    }
    until(
        "the flaky sink is seen down with its records spooled",
        || {
            let health = sink_health(&log, "flaky");
            !health.up && health.spooled == 9 && health.queued == 0
        },
    )
    .await;
    assert_eq!(steady.seqs(), (1..=12).collect::<Vec<_>>());
    assert!(sink_health(&log, "steady").up);

    flaky.set_down(false);
    log.record(record(13));
    until("the spool is replayed", || log.is_idle()).await;
    assert_eq!(
        flaky.seqs(),
        (1..=13).collect::<Vec<_>>(),
        "oldest first, nothing lost"
    );
    assert_eq!(verify("p", &flaky.records()), Ok(13));
    assert_eq!(flaky.records(), steady.records());
    let health = sink_health(&log, "flaky");
    assert!(health.up);
    assert_eq!((health.spooled, health.appended), (0, 13));
}

#[tokio::test(start_paused = true)]
async fn a_restart_replays_the_spool_and_continues_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    // A stream: it cannot say where the chain stopped, so the spool and marker must.
    let stream = TestSink::new(false);
    let log = log_over(dir.path(), &[("stream", &stream)]);
    log.start().await.unwrap();
    for n in 1..=2 {
        log.record(record(n));
    }
    until("the first records are taken", || log.is_idle()).await;
    stream.set_down(true);
    for n in 3..=7 {
        log.record(record(n));
    }
    until("spooled", || sink_health(&log, "stream").spooled == 5).await;
    log.flush(Duration::from_secs(1)).await;
    drop(log);

    // The next run: the sink is back.
    stream.set_down(false);
    let log = log_over(dir.path(), &[("stream", &stream)]);
    log.start().await.unwrap();
    log.record(record(8));
    until("the spool is replayed after the restart", || log.is_idle()).await;
    assert_eq!(stream.seqs(), (1..=8).collect::<Vec<_>>());
    assert_eq!(verify("p", &stream.records()), Ok(8));
    let spool = std::fs::metadata(dir.path().join("stream.jsonl")).unwrap();
    assert_eq!(spool.len(), 0, "an emptied spool is truncated");
}

#[tokio::test(start_paused = true)]
async fn a_restart_after_a_clean_run_continues_after_the_last_record_a_stream_took() {
    let dir = tempfile::tempdir().unwrap();
    let stream = TestSink::new(false);
    let log = log_over(dir.path(), &[("stream", &stream)]);
    log.start().await.unwrap();
    log.record(record(1));
    log.record(record(2));
    log.flush(Duration::from_secs(1)).await;

    let log = log_over(dir.path(), &[("stream", &stream)]);
    log.start().await.unwrap();
    log.record(record(3));
    until("taken", || log.is_idle()).await;
    assert_eq!(verify("p", &stream.records()), Ok(3));
}

#[tokio::test(start_paused = true)]
async fn the_chain_resumes_after_the_newest_record_a_store_holds() {
    let dir = tempfile::tempdir().unwrap();
    let store = TestSink::new(true);
    let first = log_over(dir.path(), &[("store", &store)]);
    first.start().await.unwrap();
    for n in 1..=3 {
        first.record(record(n));
    }
    until("taken", || first.is_idle()).await;
    first.flush(Duration::from_secs(1)).await;

    // Another spool directory: only the store knows where the chain stopped.
    let elsewhere = tempfile::tempdir().unwrap();
    let second = log_over(elsewhere.path(), &[("store", &store)]);
    second.start().await.unwrap();
    second.record(record(4));
    until("taken", || second.is_idle()).await;
    assert_eq!(verify("p", &store.records()), Ok(4));
}

#[tokio::test(start_paused = true)]
async fn closed_mode_fails_while_a_sink_is_down_and_succeeds_when_it_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let (steady, flaky) = (TestSink::new(true), TestSink::new(true));
    let log = log_over(dir.path(), &[("steady", &steady), ("flaky", &flaky)]);
    log.start().await.unwrap();

    assert_eq!(log.record_durable(record(1)).await, Ok(()));
    assert_eq!(flaky.seqs(), [1], "durable means every sink has it");

    flaky.set_down(true);
    let failed = log.record_durable(record(2)).await;
    assert!(
        matches!(&failed, Err(NotDurable::NotTaken { sink, .. }) if sink == "flaky"),
        "{failed:?}"
    );
    let refused = log.record_durable(record(3)).await;
    assert_eq!(
        refused,
        Err(NotDurable::SinkDown {
            sink: "flaky".into()
        }),
        "a sink known to be down fails at once"
    );
    assert_eq!(log.health().refusals, 2);
    assert_eq!(steady.seqs(), [1, 2], "a refused record is not linked");

    flaky.set_down(false);
    until("the flaky sink is back", || sink_health(&log, "flaky").up).await;
    assert_eq!(log.record_durable(record(4)).await, Ok(()));
    // The record whose request was refused still reaches the sink, so its chain has no gap.
    assert_eq!(flaky.seqs(), [1, 2, 3]);
    assert_eq!(verify("p", &flaky.records()), Ok(3));
}

#[tokio::test(start_paused = true)]
async fn a_full_queue_goes_to_the_spool_and_keeps_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let slow = TestSink::new(true);
    let held = slow.gate.acquire_many(GATE).await;
    let log = log_over(dir.path(), &[("slow", &slow)]);
    log.start().await.unwrap();
    for n in 1..=11 {
        log.record(record(n));
    }
    let health = sink_health(&log, "slow");
    assert!(
        health.queued <= 4,
        "memory stays within the bound: {health:?}"
    );
    assert!(health.spooled >= 7, "{health:?}");
    drop(held);
    log.record(record(12));
    until("everything taken", || log.is_idle()).await;
    assert_eq!(slow.seqs(), (1..=12).collect::<Vec<_>>());
}

#[tokio::test(start_paused = true)]
async fn nothing_is_linked_before_the_log_starts() {
    let dir = tempfile::tempdir().unwrap();
    let sink = TestSink::new(true);
    let log = log_over(dir.path(), &[("s", &sink)]);
    log.record(record(1));
    assert_eq!(
        log.record_durable(record(2)).await,
        Err(NotDurable::NotRunning)
    );
    log.start().await.unwrap();
    log.record(record(3));
    until("taken", || log.is_idle()).await;
    assert_eq!(sink.seqs(), [1], "the first record linked is seq 1");
}

#[test]
fn a_spool_cut_short_by_a_crash_keeps_its_complete_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.jsonl");
    let mut chain = Chain::resume("p", None);
    let records: Vec<_> = (1..=3).map(|n| chain.link(record(n))).collect();
    {
        let mut spool = Spool::open(&path).unwrap();
        spool.append(&records).unwrap();
    }
    let mut text = std::fs::read(&path).unwrap();
    text.extend_from_slice(b"{\"partition\":\"p\",\"se");
    std::fs::write(&path, &text).unwrap();

    let mut spool = Spool::open(&path).unwrap();
    assert_eq!(spool.pending(), 3);
    assert_eq!(spool.newest().map(|r| r.seq), Some(3));
    let (front, lines) = spool.peek(2).unwrap();
    assert_eq!(front, records[..2]);
    spool.consume(lines).unwrap();
    assert_eq!(spool.peek(5).unwrap().0, records[2..]);
    spool.consume(1).unwrap();
    assert_eq!(spool.pending(), 0);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
}

#[tokio::test]
async fn the_stdout_sink_writes_one_json_line_per_record() {
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let out = Shared::default();
    let sink = crate::StdoutSink::to_writer(Box::new(out.clone()));
    let mut chain = Chain::resume("p", None);
    let records: Vec<_> = (1..=2).map(|n| chain.link(record(n))).collect();
    sink.append(&records).await.unwrap();
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    let parsed: Vec<ChainedRecord> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(parsed, records);
    assert!(text.contains("\"event\":\"request\""));
}
