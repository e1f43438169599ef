//! The writer task of one sink: takes what is queued (the spool first), appends it as one
//! batch, and while the sink is down spools what arrives and tries again with a growing pause.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::{sleep_until, timeout, Instant};

use super::marker::Marker;
use super::slot::Slot;
use crate::{ChainedRecord, SinkError};

/// The first pause after a failed append; doubled after each further failure.
const FIRST_RETRY: Duration = Duration::from_millis(500);
/// The longest pause between attempts on a sink that stays down.
const LAST_RETRY: Duration = Duration::from_secs(30);
/// An append that takes longer has an unknown outcome and is tried again (sinks take a record
/// they already hold as stored, so that is safe).
const APPEND_TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) struct Writer {
    pub slot: Arc<Slot>,
    pub spool_dir: PathBuf,
    pub batch_max: usize,
    pub stopping: Arc<AtomicBool>,
}

enum Next {
    Batch(Vec<ChainedRecord>),
    Idle,
}

impl Writer {
    pub async fn run(self) {
        let mut pause = FIRST_RETRY;
        loop {
            let next = match self.take() {
                Ok(next) => next,
                Err(reason) => {
                    self.down(&reason);
                    if self.wait_while_down(&mut pause).await {
                        return;
                    }
                    continue;
                }
            };
            let batch = match next {
                Next::Batch(batch) => batch,
                Next::Idle if self.stopping.load(Ordering::Acquire) => return,
                Next::Idle => {
                    self.slot.wake.notified().await;
                    continue;
                }
            };
            match self.append(&batch).await {
                Ok(()) => {
                    pause = FIRST_RETRY;
                    self.taken(&batch);
                }
                Err(reason) => {
                    if let Some(backlog) = self.slot.backlog().as_mut() {
                        backlog.not_taken();
                    }
                    self.down(&reason);
                    if self.wait_while_down(&mut pause).await {
                        return;
                    }
                }
            }
        }
    }

    fn take(&self) -> Result<Next, String> {
        let mut guard = self.slot.backlog();
        let Some(backlog) = guard.as_mut() else {
            return Ok(Next::Idle);
        };
        match backlog.take(self.batch_max) {
            Ok(Some(batch)) => Ok(Next::Batch(batch)),
            Ok(None) => Ok(Next::Idle),
            Err(error) => Err(format!("cannot read the spool: {error}")),
        }
    }

    async fn append(&self, batch: &[ChainedRecord]) -> Result<(), String> {
        // Lines of the spool that could not be read leave an empty batch to forget.
        if batch.is_empty() {
            return Ok(());
        }
        match timeout(APPEND_TIMEOUT, self.slot.sink.append(batch)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(SinkError::Unavailable { reason, .. })) => Err(reason),
            Ok(Err(SinkError::Invalid { reason, .. })) => {
                // Retrying may not help, but the records cannot be dropped either: they wait
                // in the spool until the sink is fixed.
                tracing::error!(sink = %self.slot.name, %reason, "audit sink refused records");
                Err(reason)
            }
            Err(_) => Err(format!("no answer within {APPEND_TIMEOUT:?}")),
        }
    }

    fn taken(&self, batch: &[ChainedRecord]) {
        if self.slot.set_up(true) {
            tracing::info!(sink = %self.slot.name, "audit sink is back");
        }
        self.slot.count_appended(batch.len());
        if let Some(backlog) = self.slot.backlog().as_mut() {
            if let Err(error) = backlog.taken() {
                tracing::error!(sink = %self.slot.name, %error, "cannot shorten the audit spool");
            }
        }
        if let Some(last) = batch.last() {
            let path = self.slot.marker_path(&self.spool_dir);
            if let Err(error) = Marker::of(last).write(&path) {
                tracing::warn!(sink = %self.slot.name, marker = %path.display(), %error,
                    "cannot note the last audit record");
            }
        }
    }

    fn down(&self, reason: &str) {
        if self.slot.set_up(false) {
            tracing::warn!(sink = %self.slot.name, %reason, "audit sink is down; spooling");
        }
        self.spill();
    }

    fn spill(&self) {
        if let Some(backlog) = self.slot.backlog().as_mut() {
            backlog.spill("sink down");
        }
    }

    /// Pauses before the next attempt, spooling whatever arrives meanwhile. True when the log
    /// is stopping (everything is spooled then).
    async fn wait_while_down(&self, pause: &mut Duration) -> bool {
        let until = Instant::now() + *pause;
        *pause = (*pause * 2).min(LAST_RETRY);
        loop {
            if self.stopping.load(Ordering::Acquire) {
                self.spill();
                return true;
            }
            tokio::select! {
                _ = sleep_until(until) => return false,
                _ = self.slot.wake.notified() => self.spill(),
            }
        }
    }
}
