//! What a source holds, given back when dropped: a transaction slot lives in its server
//! transaction, a connection slot in its connection's task.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::Sources;

#[derive(Debug, Clone, Copy)]
pub(super) enum Held {
    /// A transaction still waiting for its final answer: counted for its source.
    Pending,
    /// A transaction, answered or not: counted in the total.
    Transaction,
    Connection,
}

/// One of a source's transactions. `key` is the table entry it is counted in: the source's
/// own, or the shared one of sources beyond the table's size. It counts against the source
/// until it is answered ([`TransactionSlot::answered`]) and against the total until dropped.
pub struct TransactionSlot {
    sources: Arc<Sources>,
    key: IpAddr,
    pending: AtomicBool,
}

impl TransactionSlot {
    pub(super) fn new(sources: Arc<Sources>, key: IpAddr) -> TransactionSlot {
        TransactionSlot {
            sources,
            key,
            pending: AtomicBool::new(true),
        }
    }

    /// The transaction has its final answer: what is left of it (absorbing retransmissions
    /// for Timer J) costs little and is bounded by the source's request rate.
    pub fn answered(&self) {
        if self.pending.swap(false, Ordering::Relaxed) {
            self.sources.release(self.key, Held::Pending);
        }
    }
}

impl Drop for TransactionSlot {
    fn drop(&mut self) {
        self.answered();
        self.sources.release(self.key, Held::Transaction);
    }
}

/// One of a source's connections.
pub struct ConnectionSlot {
    sources: Arc<Sources>,
    key: IpAddr,
}

impl ConnectionSlot {
    pub(super) fn new(sources: Arc<Sources>, key: IpAddr) -> ConnectionSlot {
        ConnectionSlot { sources, key }
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.sources.release(self.key, Held::Connection);
    }
}
