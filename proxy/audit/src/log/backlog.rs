//! What one sink has still to take: its spool (oldest) followed by its in-memory queue
//! (newest). Keeping that order is the whole job: the writer always takes from the spool first,
//! and records only move from the queue to the end of the spool, never around it.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;

use super::receipt::Receipt;
use super::spool::Spool;
use crate::ChainedRecord;

pub(crate) struct Queued {
    pub record: ChainedRecord,
    pub receipt: Option<Arc<Receipt>>,
}

/// The batch the writer is appending right now, by where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InFlight {
    None,
    /// The first n lines of the spool.
    Spool(usize),
    /// The first n entries of the queue.
    Queue(usize),
}

pub(crate) struct Backlog {
    sink: String,
    queue: VecDeque<Queued>,
    bound: usize,
    spool: Spool,
    in_flight: InFlight,
}

impl Backlog {
    pub fn new(sink: &str, spool: Spool, bound: usize) -> Backlog {
        Backlog {
            sink: sink.to_string(),
            queue: VecDeque::new(),
            bound: bound.max(1),
            spool,
            in_flight: InFlight::None,
        }
    }

    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    pub fn spooled(&self) -> usize {
        self.spool.pending()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty() && self.spool.pending() == 0
    }

    /// Adds a new record behind everything else. A full queue goes to the spool, with it.
    pub fn push(&mut self, item: Queued) {
        self.queue.push_back(item);
        if self.queue.len() > self.bound {
            self.spill("queue full");
        }
    }

    /// Moves the whole queue to the end of the spool (the sink is down, the queue is full, or
    /// Legate is stopping). Their receipts learn that the sink does not have them.
    pub fn spill(&mut self, reason: &str) {
        if self.queue.is_empty() {
            return;
        }
        if let Err(error) = self.spool.append(self.queue.iter().map(|q| &q.record)) {
            // Kept in memory rather than lost; the next spill tries the disk again.
            tracing::error!(sink = %self.sink, spool = %self.spool.path().display(), %error,
                queued = self.queue.len(), "cannot write the audit spool");
            return;
        }
        for item in self.queue.drain(..) {
            if let Some(receipt) = item.receipt {
                receipt.not_taken(&self.sink, reason);
            }
        }
        // The batch being appended moved with the queue: it is now the front of the spool
        // (the writer only takes from the queue while the spool is empty).
        if let InFlight::Queue(n) = self.in_flight {
            self.in_flight = InFlight::Spool(n);
        }
    }

    /// Up to `max` records for the writer to append, oldest first; `None` when there are none.
    /// The records stay here until [`Backlog::taken`] or [`Backlog::not_taken`].
    pub fn take(&mut self, max: usize) -> io::Result<Option<Vec<ChainedRecord>>> {
        if self.spool.pending() > 0 {
            let (records, lines) = self.spool.peek(max.max(1))?;
            self.in_flight = InFlight::Spool(lines);
            return Ok(Some(records));
        }
        if self.queue.is_empty() {
            return Ok(None);
        }
        let n = self.queue.len().min(max.max(1));
        self.in_flight = InFlight::Queue(n);
        Ok(Some(
            self.queue
                .iter()
                .take(n)
                .map(|q| q.record.clone())
                .collect(),
        ))
    }

    /// The sink took the batch: forget it.
    pub fn taken(&mut self) -> io::Result<()> {
        match std::mem::replace(&mut self.in_flight, InFlight::None) {
            InFlight::None => Ok(()),
            InFlight::Spool(lines) => self.spool.consume(lines),
            InFlight::Queue(n) => {
                for item in self.queue.drain(..n) {
                    if let Some(receipt) = item.receipt {
                        receipt.taken();
                    }
                }
                Ok(())
            }
        }
    }

    /// The sink did not take the batch: it stays where it is, at the front.
    pub fn not_taken(&mut self) {
        self.in_flight = InFlight::None;
    }
}
