//! The stateful proxy core (RFC 3261 §16, §17): transactions, forwarding, and the sealed
//! Record-Route state that lets any replica route in-dialog requests.
//!
//! The core knows nothing of configuration snapshots or filter chains: [`crate::engine`] decides
//! what to do with a request; the core carries it out (server transaction towards the sender,
//! client transactions towards next hops) and keeps the RFC's timers.

mod client_txn;
mod expiries;
mod forward;
mod keys;
mod listeners;
pub mod loops;
mod respond;
pub mod route_state;
mod sealer;
mod server_txn;
mod stateless;
pub mod topology;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use legate_admin::Metrics;
use legate_api::config::TelemetryConfig;
use legate_sip::Limits;

pub use client_txn::{ClientOutcome, NextHop};
pub use forward::{creates_dialog, TooLarge};
pub use keys::{ClientKey, ServerKey};
pub use listeners::{ListenerRuntime, Listeners};
pub use respond::{error_response, local_answer, sender_warning, with_to_tag};
pub use route_state::RouteState;
pub use server_txn::{ServerTxn, ServerTxnStart};

use crate::sources::Sources;
use crate::telemetry::{Telemetry, TraceKeys};
use crate::transport::Connections;
use crate::workers::Workers;
use expiries::Expiries;

/// RFC 3261 timer base values (§17.1.1.1, table 4).
#[derive(Debug, Clone, Copy)]
pub struct Timers {
    pub t1: Duration,
    pub t2: Duration,
    pub t4: Duration,
}

impl Timers {
    /// Timer B/F/H/J: 64·T1.
    pub fn transaction_timeout(&self) -> Duration {
        self.t1 * 64
    }
}

/// Everything the transaction and forwarding logic shares.
pub struct Core {
    /// Replaced when a snapshot adds or removes listeners.
    listeners: ArcSwap<Listeners>,
    /// The threads that read the listeners' sockets.
    pub workers: Arc<Workers>,
    pub connections: Arc<Connections>,
    pub timers: Timers,
    pub limits: Limits,
    pub metrics: Arc<Metrics>,
    /// Seals Legate's Record-Route state, and what topology hiding takes out of messages
    /// leaving by external listeners.
    pub sealer: sealer::Sealer,
    /// What each source on the external listeners may cost.
    pub sources: Arc<Sources>,
    /// Tracing; replaced when a snapshot changes the `telemetry` section.
    pub telemetry: ArcSwap<Telemetry>,
    /// Derived from the Record-Route secret: a dialog's trace id is the same on every replica.
    pub trace_keys: TraceKeys,
    server_txns: Mutex<HashMap<ServerKey, Arc<ServerTxn>>>,
    /// Answered transactions that only absorb retransmissions now, until the reaper removes
    /// them.
    expiring: Expiries<ServerKey>,
    client_txns: Mutex<HashMap<ClientKey, client_txn::ClientEntry>>,
    /// Ended client transactions kept for late answers, until the reaper removes them.
    lingering: Expiries<ClientKey>,
}

impl Core {
    /// A core with no listeners yet.
    pub fn new(
        workers: Arc<Workers>,
        connections: Arc<Connections>,
        timers: Timers,
        limits: Limits,
        metrics: Arc<Metrics>,
        route_secret: Vec<u8>,
        sources: Arc<Sources>,
    ) -> Core {
        Core {
            listeners: ArcSwap::from_pointee(Listeners::default()),
            workers,
            connections,
            timers,
            limits,
            metrics,
            sealer: sealer::Sealer::new(&route_secret),
            sources,
            telemetry: ArcSwap::from_pointee(Telemetry::off(
                &TelemetryConfig::default(),
                TraceKeys::new(&route_secret),
            )),
            trace_keys: TraceKeys::new(&route_secret),
            server_txns: Mutex::new(HashMap::new()),
            expiring: Expiries::new(),
            client_txns: Mutex::new(HashMap::new()),
            lingering: Expiries::new(),
        }
    }

    /// Starts tracing as `config` says, replacing what ran before (whose queued spans are sent
    /// before its thread ends).
    pub fn start_telemetry(
        &self,
        config: &TelemetryConfig,
    ) -> Result<(), crate::telemetry::TelemetryError> {
        let telemetry = Telemetry::start(config, self.trace_keys.clone(), self.metrics.clone())?;
        let previous = self.telemetry.swap(Arc::new(telemetry));
        // Flushing may wait on a slow collector: not on a worker.
        std::thread::spawn(move || drop(previous));
        Ok(())
    }

    /// The listeners as they are now.
    pub fn listeners(&self) -> Arc<Listeners> {
        self.listeners.load_full()
    }

    /// Replaces the set with `change` of it; retried if another change landed meanwhile.
    pub fn update_listeners(&self, change: impl Fn(&Listeners) -> Listeners) {
        self.listeners.rcu(|current| Arc::new(change(current)));
    }
}
