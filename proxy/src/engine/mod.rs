//! The engine: takes every message the transports read, decides what it is (a new request, a
//! retransmission, a response for a client transaction), runs new requests through the filter
//! chain of the right snapshot, and answers through the server transaction.

mod checks;
mod inbound;
pub use inbound::InboundHandler;
mod request;
mod route_set;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;

use crate::core::Core;
use crate::dialogs::Dialogs;
use crate::snapshot::Snapshot;

pub struct Engine {
    pub core: Arc<Core>,
    pub dialogs: Dialogs,
    snapshot: ArcSwap<Snapshot>,
    draining: AtomicBool,
    ready: AtomicBool,
}

impl Engine {
    pub fn new(core: Arc<Core>, snapshot: Arc<Snapshot>, dialog_idle_timeout: Duration) -> Engine {
        let dialogs = Dialogs::new(core.metrics.dialogs_active(), dialog_idle_timeout);
        Engine {
            core,
            dialogs,
            snapshot: ArcSwap::new(snapshot),
            draining: AtomicBool::new(false),
            ready: AtomicBool::new(false),
        }
    }

    /// The snapshot new transactions and dialogs start under.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// Makes `snapshot` the one new transactions and dialogs start under; running ones keep
    /// the `Arc` of theirs.
    pub fn swap(&self, snapshot: Arc<Snapshot>) {
        self.core
            .sources
            .configure(&snapshot.loaded.config.proxy.edge);
        self.snapshot.store(snapshot);
    }

    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::SeqCst);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst) && !self.is_draining()
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Stops taking new dialogs and waits (up to `grace`) for running transactions to finish.
    pub async fn drain(&self, grace: Duration) {
        self.draining.store(true, Ordering::SeqCst);
        tracing::info!(grace = ?grace, "draining: new dialogs are refused");
        let deadline = tokio::time::Instant::now() + grace;
        while self.core.pending_transactions() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let left = self.core.pending_transactions();
        if left > 0 {
            tracing::warn!(left, "grace period over with transactions still running");
        } else {
            tracing::info!("drained");
        }
    }
}
