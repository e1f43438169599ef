//! What a source holds, given back when dropped: a transaction slot lives in its server
//! transaction, a connection slot in its connection's task.

use std::net::IpAddr;
use std::sync::Arc;

use super::Sources;

#[derive(Debug, Clone, Copy)]
pub(super) enum Held {
    Transaction,
    Connection,
}

/// One of a source's transactions. `key` is the table entry it is counted in: the source's
/// own, or the shared one of sources beyond the table's size.
pub struct TransactionSlot {
    sources: Arc<Sources>,
    key: IpAddr,
}

impl TransactionSlot {
    pub(super) fn new(sources: Arc<Sources>, key: IpAddr) -> TransactionSlot {
        TransactionSlot { sources, key }
    }
}

impl Drop for TransactionSlot {
    fn drop(&mut self) {
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
