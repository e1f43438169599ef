//! The audit pipeline: [`AuditLog`] links each record into this writer's chain and hands it to
//! every sink, in order, without losing any.
//!
//! ```text
//! record ─► Chain (one partition) ─► per sink: queue ─► writer task ─► Sink::append (batches)
//!                                              └─ spool file while the sink is down or slow
//! ```
//!
//! - **Order.** Records are linked and queued under one lock, so every sink sees the chain's
//!   order. A sink's spool always holds its oldest records and its queue the newest; the writer
//!   drains the spool first.
//! - **Open mode** ([`AuditLog::record`]): the caller does not wait. A sink that fails gets its
//!   records spooled (`<spool_dir>/<sink>.jsonl`, synced to disk) and replayed oldest first
//!   when it answers again, also after a restart. A full queue is spooled too, so memory stays
//!   bounded.
//! - **Closed mode** ([`AuditLog::record_durable`]): the caller waits until every sink has
//!   appended the record, and gets [`NotDurable`] when one is down, fails or is too slow; the
//!   record is still in the chain and reaches every sink later, but the caller refuses the
//!   request it was about.
//! - **Resuming.** At start the chain continues from the newest `(seq, hash)` that any sink
//!   reports ([`crate::Sink::last`]), any spool holds, or any sink was last seen to take
//!   (`<spool_dir>/<sink>.last`), so a restart never forks the chain.
//! - **Stopping.** [`AuditLog::flush`] lets the writers deliver what is queued, and spools what
//!   a sink could not take in time. A crash loses at most what was queued in memory.
//!
//! The proxy builds one log at start, starts it before serving, shares it with every config
//! snapshot (the chain must not fork), and flushes it when it stops.

mod backlog;
mod health;
mod marker;
mod receipt;
mod slot;
mod spool;
mod writer;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;

pub use health::{AuditHealth, SinkHealth};
pub use receipt::NotDurable;

use backlog::{Backlog, Queued};
use marker::Marker;
use receipt::Receipt;
use slot::Slot;
use spool::Spool;
use writer::Writer;

use crate::{AuditRecord, Chain, Sink};

/// How a log runs; [`AuditSettings::new`] gives the defaults.
#[derive(Debug, Clone)]
pub struct AuditSettings {
    /// This writer's chain.
    pub partition: String,
    /// Where spools and markers are kept (created if missing).
    pub spool_dir: PathBuf,
    /// Records held in memory per sink before the queue goes to the spool.
    pub queue_size: usize,
    /// The most records one append hands a sink.
    pub batch_max: usize,
    /// How long [`AuditLog::record_durable`] waits for every sink.
    pub durable_timeout: Duration,
}

impl AuditSettings {
    pub const DEFAULT_QUEUE_SIZE: usize = 10_000;
    pub const DEFAULT_BATCH_MAX: usize = 500;
    pub const DEFAULT_DURABLE_TIMEOUT: Duration = Duration::from_secs(5);

    pub fn new(partition: impl Into<String>, spool_dir: impl Into<PathBuf>) -> AuditSettings {
        AuditSettings {
            partition: partition.into(),
            spool_dir: spool_dir.into(),
            queue_size: Self::DEFAULT_QUEUE_SIZE,
            batch_max: Self::DEFAULT_BATCH_MAX,
            durable_timeout: Self::DEFAULT_DURABLE_TIMEOUT,
        }
    }
}

/// The spool directory or a spool in it cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("audit spool {path}: {source}")]
pub struct SpoolError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// A sink with the name the config gives it (`audit.sinks[].name`), which labels its metrics
/// and names its spool file.
pub type NamedSink = (String, Arc<dyn Sink>);

/// The audit log of one writer. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct AuditLog {
    shared: Arc<Shared>,
}

struct Shared {
    settings: AuditSettings,
    slots: Vec<Arc<Slot>>,
    /// `None` until [`AuditLog::start`]: nothing may be linked before the chain is resumed.
    chain: Mutex<Option<Chain>>,
    /// The newest link found on disk by [`AuditLog::recover`].
    recovered: Mutex<Option<(i64, String)>>,
    stopping: Arc<AtomicBool>,
    writers: Mutex<Vec<JoinHandle<()>>>,
    refusals: AtomicU64,
}

impl AuditLog {
    /// A log over `sinks` (by their config names, in config order). Touches nothing yet: see
    /// [`AuditLog::recover`] and [`AuditLog::start`].
    pub fn new(settings: AuditSettings, sinks: Vec<NamedSink>) -> AuditLog {
        let slots = sinks
            .into_iter()
            .map(|(name, sink)| Arc::new(Slot::new(name, sink)))
            .collect();
        AuditLog {
            shared: Arc::new(Shared {
                settings,
                slots,
                chain: Mutex::new(None),
                recovered: Mutex::new(None),
                stopping: Arc::new(AtomicBool::new(false)),
                writers: Mutex::new(Vec::new()),
                refusals: AtomicU64::new(0),
            }),
        }
    }

    pub fn partition(&self) -> &str {
        &self.shared.settings.partition
    }

    /// Opens the spool directory and every sink's spool, and notes where the chain stood on
    /// disk. Synchronous, so a proxy can fail before it serves.
    pub fn recover(&self) -> Result<(), SpoolError> {
        let settings = &self.shared.settings;
        let dir = &settings.spool_dir;
        std::fs::create_dir_all(dir).map_err(|source| SpoolError {
            path: dir.clone(),
            source,
        })?;
        let mut newest: Option<(i64, String)> = None;
        for slot in &self.shared.slots {
            let path = slot.spool_path(dir);
            let spool = Spool::open(&path).map_err(|source| SpoolError { path, source })?;
            let from_spool = spool.newest().map(Marker::of);
            for marker in [from_spool, slot.marker(dir)].into_iter().flatten() {
                if marker.partition == settings.partition {
                    newest = newer(newest, Some((marker.seq, marker.hash)));
                }
            }
            if spool.pending() > 0 {
                tracing::info!(sink = %slot.name, spooled = spool.pending(),
                    "audit records spooled by an earlier run will be replayed");
            }
            slot.set_backlog(Backlog::new(&slot.name, spool, settings.queue_size));
        }
        *lock(&self.shared.recovered) = newest;
        Ok(())
    }

    /// Resumes the chain after the newest link any sink or the disk knows, and starts one
    /// writer task per sink. Recovers first if [`AuditLog::recover`] was not called. Call
    /// before the first record.
    pub async fn start(&self) -> Result<(), SpoolError> {
        if self
            .shared
            .slots
            .iter()
            .any(|slot| slot.backlog().is_none())
        {
            self.recover()?;
        }
        let settings = &self.shared.settings;
        let mut head = lock(&self.shared.recovered).clone();
        for slot in &self.shared.slots {
            match slot.sink.last(&settings.partition).await {
                Ok(last) => head = newer(head, last),
                Err(error) => {
                    tracing::warn!(sink = %slot.name, %error,
                        "cannot ask the audit sink where the chain stopped; using the spool")
                }
            }
        }
        tracing::info!(partition = %settings.partition, seq = head.as_ref().map_or(0, |h| h.0),
            "audit chain resumed");
        *lock(&self.shared.chain) = Some(Chain::resume(settings.partition.clone(), head));
        let mut writers = lock(&self.shared.writers);
        for slot in &self.shared.slots {
            let writer = Writer {
                slot: slot.clone(),
                spool_dir: settings.spool_dir.clone(),
                batch_max: settings.batch_max,
                stopping: self.shared.stopping.clone(),
            };
            writers.push(tokio::spawn(writer.run()));
        }
        Ok(())
    }

    /// Open mode: links `record` and queues it for every sink; the caller does not wait.
    pub fn record(&self, record: AuditRecord) {
        if !self.submit(record, None) {
            tracing::error!("audit record dropped: the audit log is not running");
        }
    }

    /// Closed mode: links `record`, queues it for every sink and waits until every sink has
    /// appended it. An error means the record is not known to be durable, and the request it
    /// is about must be refused. A sink already known to be down fails at once, before the
    /// record is linked.
    pub async fn record_durable(&self, record: AuditRecord) -> Result<(), NotDurable> {
        let outcome = self.durable(record).await;
        if outcome.is_err() {
            self.shared.refusals.fetch_add(1, Ordering::Relaxed);
        }
        outcome
    }

    async fn durable(&self, record: AuditRecord) -> Result<(), NotDurable> {
        if let Some(down) = self.shared.slots.iter().find(|slot| !slot.is_up()) {
            return Err(NotDurable::SinkDown {
                sink: down.name.clone(),
            });
        }
        let (receipt, answer) = Receipt::new(self.shared.slots.len());
        if !self.submit(record, Some(Arc::new(receipt))) {
            return Err(NotDurable::NotRunning);
        }
        let wait = self.shared.settings.durable_timeout;
        match tokio::time::timeout(wait, answer).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Err(NotDurable::NotRunning),
            Err(_) => Err(NotDurable::Timeout(wait)),
        }
    }

    /// Links and queues; false when the log is not running.
    fn submit(&self, record: AuditRecord, receipt: Option<Arc<Receipt>>) -> bool {
        let mut chain = lock(&self.shared.chain);
        let Some(chain) = chain.as_mut() else {
            return false;
        };
        let chained = chain.link(record);
        let stopping = self.shared.stopping.load(Ordering::Acquire);
        for slot in &self.shared.slots {
            let mut backlog = slot.backlog();
            let Some(backlog) = backlog.as_mut() else {
                continue;
            };
            backlog.push(Queued {
                record: chained.clone(),
                receipt: receipt.clone(),
            });
            if stopping {
                // No writer may be left to take it: keep it on disk for the next run.
                backlog.spill("stopping");
            }
            slot.wake.notify_one();
        }
        true
    }

    /// Stops the writers after they have delivered what is queued, waiting at most `grace`;
    /// what a sink has not taken by then is spooled for the next run. Records that arrive
    /// later are spooled directly.
    pub async fn flush(&self, grace: Duration) {
        self.shared.stopping.store(true, Ordering::Release);
        for slot in &self.shared.slots {
            slot.wake.notify_one();
        }
        let writers: Vec<JoinHandle<()>> = lock(&self.shared.writers).drain(..).collect();
        let deadline = tokio::time::Instant::now() + grace;
        for writer in writers {
            let abort = writer.abort_handle();
            if tokio::time::timeout_at(deadline, writer).await.is_err() {
                abort.abort();
            }
        }
        for slot in &self.shared.slots {
            if let Some(backlog) = slot.backlog().as_mut() {
                backlog.not_taken();
                backlog.spill("stopping");
            }
        }
        tracing::info!("audit log flushed");
    }

    /// Each sink's state, for `/readyz` and `/metrics`.
    pub fn health(&self) -> AuditHealth {
        let sinks = self
            .shared
            .slots
            .iter()
            .map(|slot| {
                let backlog = slot.backlog();
                SinkHealth {
                    name: slot.name.clone(),
                    up: slot.is_up(),
                    spooled: backlog.as_ref().map_or(0, Backlog::spooled),
                    queued: backlog.as_ref().map_or(0, Backlog::queued),
                    appended: slot.appended(),
                }
            })
            .collect();
        AuditHealth {
            sinks,
            refusals: self.shared.refusals.load(Ordering::Relaxed),
        }
    }

    /// Whether every sink has taken every record so far (nothing queued or spooled).
    pub fn is_idle(&self) -> bool {
        self.shared
            .slots
            .iter()
            .all(|slot| slot.backlog().as_ref().is_none_or(Backlog::is_empty))
    }
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("partition", &self.shared.settings.partition)
            .field("sinks", &self.shared.slots.len())
            .finish()
    }
}

/// The later of two links.
fn newer(a: Option<(i64, String)>, b: Option<(i64, String)>) -> Option<(i64, String)> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.0 > a.0 { b } else { a }),
        (a, b) => a.or(b),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
