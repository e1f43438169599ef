//! Durability receipts: how a caller in closed mode learns that every sink has its record.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::oneshot;

/// Why a record is not known to be durable in every sink.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotDurable {
    /// The sink is down; the record was not attempted (the request is refused instead).
    #[error("audit sink {sink} is down")]
    SinkDown { sink: String },
    /// The sink did not take the record; it is spooled and will reach the sink later.
    #[error("audit sink {sink} did not take the record: {reason}")]
    NotTaken { sink: String, reason: String },
    /// Not every sink confirmed in time; the record is still on its way.
    #[error("audit sinks did not confirm the record within {0:?}")]
    Timeout(Duration),
    /// The log is not running (not started yet, or stopped).
    #[error("the audit log is not running")]
    NotRunning,
}

/// Shared by the copies of one record queued for each sink: resolves when the last sink has
/// taken it, or at the first sink that could not.
pub(crate) struct Receipt {
    remaining: AtomicUsize,
    sender: Mutex<Option<oneshot::Sender<Result<(), NotDurable>>>>,
}

impl Receipt {
    pub fn new(sinks: usize) -> (Receipt, oneshot::Receiver<Result<(), NotDurable>>) {
        let (sender, receiver) = oneshot::channel();
        let receipt = Receipt {
            remaining: AtomicUsize::new(sinks),
            sender: Mutex::new(Some(sender)),
        };
        if sinks == 0 {
            receipt.resolve(Ok(()));
        }
        (receipt, receiver)
    }

    /// One sink has the record.
    pub fn taken(&self) {
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.resolve(Ok(()));
        }
    }

    /// One sink could not take it.
    pub fn not_taken(&self, sink: &str, reason: &str) {
        self.resolve(Err(NotDurable::NotTaken {
            sink: sink.to_string(),
            reason: reason.to_string(),
        }));
    }

    fn resolve(&self, outcome: Result<(), NotDurable>) {
        let sender = self
            .sender
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(sender) = sender {
            // The caller may have stopped waiting (timed out); nothing to tell then.
            let _ = sender.send(outcome);
        }
    }
}
