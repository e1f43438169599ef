//! What one source may cost, and all external sources together (the DMZ edge's answer to
//! floods; Kamailio's pike and ratelimit modules are the model, taken further).
//!
//! Everything here is keyed by the source IP address of traffic on external listeners; the
//! organisation's own systems on internal listeners are not limited. In the order a message
//! meets them:
//! - a banned source's datagrams are dropped and its connections closed at accept;
//! - connections: at most `per_source.max_connections` per source and
//!   `total.max_connections` in all, the latter kept below the file-descriptor limit;
//! - requests: a token bucket per source (`requests_per_second`, `burst`), checked before a
//!   request is parsed (responses pass: their rate is Legate's own, and one that matches
//!   nothing is charged as a request); a source that sends `burst` requests over its rate
//!   within a second is banned for `ban_for`;
//! - transactions: at most `per_source.max_transactions` waiting for their answer per source,
//!   and `total.max_transactions` alive in all (answered ones absorb retransmissions for
//!   Timer J); over either, 503;
//! - answers over UDP: at most `answer_amplification` times the bytes the source sent, so a
//!   forged source address gets no more back than it sent in.
//!
//! The transports and the core call in; `/metrics` shows the counts; floods are logged at most
//! once every few seconds. Sources that hold nothing and have been quiet are forgotten by
//! [`Sources::sweep`]; past [`MAX_TRACKED_SOURCES`], new addresses share one entry, so a flood
//! of forged addresses cannot grow the table without bound.

mod fd_limit;
mod metrics;
mod slots;
mod source;
mod throttled_log;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use legate_api::{EdgeConfig, StreamDeadlines};
use prometheus::Registry;
use tokio::time::Instant;

pub use metrics::EdgeMetrics;
pub use slots::{ConnectionSlot, TransactionSlot};
pub use source::BYTE_COUNT_HALF_LIFE;
use source::{Admission, Source};
pub use throttled_log::ThrottledLog;

/// The most source addresses with an entry of their own.
pub const MAX_TRACKED_SOURCES: usize = 100_000;

/// Where sources beyond [`MAX_TRACKED_SOURCES`] are counted together (an address no packet
/// can come from).
const OVERFLOW: IpAddr = IpAddr::V6(Ipv6Addr::UNSPECIFIED);

/// How long a source that holds nothing stays known after its last message.
const FORGET_AFTER: Duration = Duration::from_secs(60);

/// One kind of thing a source holds (connections, transactions): its limits and its counts.
struct Holding<'a> {
    what: &'static str,
    /// Whether a banned source is refused one (connections; a banned source's requests never
    /// get as far as a transaction).
    refuse_banned: bool,
    per_source: usize,
    total_cap: usize,
    total: &'a AtomicUsize,
    active: &'a prometheus::IntGauge,
    refused: &'a prometheus::IntCounterVec,
    count: fn(&mut Source) -> &mut usize,
}

/// Why a connection or transaction is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Banned,
    PerSource,
    Total,
}

impl Refused {
    pub fn label(self) -> &'static str {
        match self {
            Refused::Banned => "banned",
            Refused::PerSource => "per_source",
            Refused::Total => "total",
        }
    }
}

pub struct Sources {
    config: ArcSwap<EdgeConfig>,
    table: Mutex<HashMap<IpAddr, Source>>,
    transactions: AtomicUsize,
    connections: AtomicUsize,
    /// `total.max_connections`, lowered to fit the file-descriptor limit.
    connection_cap: AtomicUsize,
    pub metrics: EdgeMetrics,
    flood_log: ThrottledLog,
}

impl Sources {
    pub fn new(config: &EdgeConfig, registry: &Registry) -> Arc<Sources> {
        Arc::new(Sources {
            connection_cap: AtomicUsize::new(fd_limit::connection_cap(
                config.total.max_connections,
            )),
            config: ArcSwap::from_pointee(config.clone()),
            table: Mutex::new(HashMap::new()),
            transactions: AtomicUsize::new(0),
            connections: AtomicUsize::new(0),
            metrics: EdgeMetrics::new(registry),
            flood_log: ThrottledLog::new(Duration::from_secs(10)),
        })
    }

    /// The limits of a new snapshot; sources keep their standing.
    pub fn configure(&self, config: &EdgeConfig) {
        if config.total.max_connections != self.config.load().total.max_connections {
            let cap = fd_limit::connection_cap(config.total.max_connections);
            self.connection_cap.store(cap, Ordering::Relaxed);
        }
        self.config.store(Arc::new(config.clone()));
    }

    /// The deadlines of a message on a stream, as configured now.
    pub fn stream_deadlines(&self) -> StreamDeadlines {
        self.config.load().streams
    }

    /// Runs `f` on the entry of `ip` (the shared overflow entry when the table is full), and
    /// says which entry that was.
    fn with_source<T>(&self, ip: IpAddr, f: impl FnOnce(&mut Source) -> T) -> Option<(IpAddr, T)> {
        let config = self.config.load();
        let now = Instant::now();
        let mut table = self.table.lock().ok()?;
        let key = if table.contains_key(&ip) || table.len() < MAX_TRACKED_SOURCES {
            ip
        } else {
            OVERFLOW
        };
        let source = table
            .entry(key)
            .or_insert_with(|| Source::new(&config.per_source, now));
        Some((key, f(source)))
    }

    /// Whether `message` (a datagram, or a message framed on a stream) from `ip` is read at
    /// all. Called before parsing. Requests take a token of the source's bucket; responses
    /// answer what Legate sent, so their rate is Legate's own: they pass unless the source is
    /// banned (one that matches nothing is charged afterwards, [`Sources::charge_stray`]).
    pub fn admit_message(&self, ip: IpAddr, message: &[u8]) -> bool {
        let config = self.config.load();
        let now = Instant::now();
        let response = message
            .get(..4)
            .is_some_and(|start| start.eq_ignore_ascii_case(b"SIP/"));
        let admission = self
            .with_source(ip, |source| match response {
                true if source.is_banned(now) => Admission::Dropped(source::Dropped::Banned),
                true => Admission::Read,
                false => source.admit(message.len(), &config.per_source, now),
            })
            .map_or(Admission::Read, |(_, admission)| admission);
        self.count(ip, admission, &config)
    }

    /// A response from `ip` that matched no transaction of Legate's: it costs the source a
    /// token as a request would, so a flood of made-up responses is limited like any other.
    pub fn charge_stray(&self, ip: IpAddr, bytes: usize) {
        let config = self.config.load();
        let now = Instant::now();
        if let Some((_, admission)) =
            self.with_source(ip, |source| source.admit(bytes, &config.per_source, now))
        {
            self.count(ip, admission, &config);
        }
    }

    /// Counts (and logs, throttled) what an admission decided; true when the message is read.
    fn count(&self, ip: IpAddr, admission: Admission, config: &EdgeConfig) -> bool {
        match admission {
            Admission::Read => true,
            Admission::Dropped(why) => {
                self.metrics
                    .messages_dropped
                    .with_label_values(&[why.label()])
                    .inc();
                if let Some(left_out) = self.flood_log.allow() {
                    tracing::warn!(%ip, reason = why.label(), left_out, "dropping messages from a source");
                }
                false
            }
            Admission::NewlyBanned => {
                self.metrics.bans.inc();
                self.metrics
                    .messages_dropped
                    .with_label_values(&["rate"])
                    .inc();
                tracing::warn!(%ip, ban_for = ?config.per_source.ban_for, "source banned: far over its request rate");
                false
            }
        }
    }

    /// A connection from `ip` on an external listener, held for as long as the slot lives.
    pub fn admit_connection(self: &Arc<Self>, ip: IpAddr) -> Result<ConnectionSlot, Refused> {
        let config = self.config.load();
        let held = Holding {
            what: "connection",
            refuse_banned: true,
            per_source: config.per_source.max_connections,
            total_cap: self.connection_cap.load(Ordering::Relaxed),
            total: &self.connections,
            active: &self.metrics.connections_active,
            refused: &self.metrics.connections_refused,
            count: |source| &mut source.connections,
        };
        self.take(ip, held)
            .map(|key| ConnectionSlot::new(self.clone(), key))
    }

    /// A server transaction for a request from `ip` on an external listener.
    pub fn begin_transaction(self: &Arc<Self>, ip: IpAddr) -> Result<TransactionSlot, Refused> {
        let config = self.config.load();
        let held = Holding {
            what: "transaction",
            refuse_banned: false,
            per_source: config.per_source.max_transactions,
            total_cap: config.total.max_transactions,
            total: &self.transactions,
            active: &self.metrics.transactions_active,
            refused: &self.metrics.transactions_refused,
            count: |source| &mut source.transactions,
        };
        self.take(ip, held)
            .map(|key| TransactionSlot::new(self.clone(), key))
    }

    /// Counts one more of `held` for `ip` if its limits allow; returns the table entry it is
    /// counted in.
    fn take(&self, ip: IpAddr, held: Holding<'_>) -> Result<IpAddr, Refused> {
        let now = Instant::now();
        let outcome = self
            .with_source(ip, |source| {
                if held.refuse_banned && source.is_banned(now) {
                    return Err(Refused::Banned);
                }
                let count = (held.count)(source);
                if *count >= held.per_source {
                    return Err(Refused::PerSource);
                }
                if held.total.load(Ordering::Relaxed) >= held.total_cap {
                    return Err(Refused::Total);
                }
                *count += 1;
                source.last_seen = now;
                Ok(())
            })
            .map_or(Err(Refused::Total), |(key, outcome)| outcome.map(|()| key));
        match outcome {
            Ok(key) => {
                held.total.fetch_add(1, Ordering::Relaxed);
                held.active.inc();
                Ok(key)
            }
            Err(refused) => {
                held.refused.with_label_values(&[refused.label()]).inc();
                if let Some(left_out) = self.flood_log.allow() {
                    tracing::warn!(%ip, what = held.what, limit = refused.label(), left_out, "refused at its limit");
                }
                Err(refused)
            }
        }
    }

    /// Whether a UDP answer of `bytes` bytes may go to `ip` (counted when it may).
    pub fn may_answer(&self, ip: IpAddr, bytes: usize) -> bool {
        let factor = self.config.load().per_source.answer_amplification;
        let allowed = self
            .with_source(ip, |source| source.may_answer(bytes, factor))
            .is_none_or(|(_, allowed)| allowed);
        if !allowed {
            self.metrics.answers_dropped.inc();
        }
        allowed
    }

    /// Gives back what a slot held; `key` is the entry it was counted in.
    fn release(&self, key: IpAddr, what: slots::Held) {
        if let Ok(mut table) = self.table.lock() {
            if let Some(source) = table.get_mut(&key) {
                match what {
                    slots::Held::Pending => {
                        source.transactions = source.transactions.saturating_sub(1)
                    }
                    slots::Held::Connection => {
                        source.connections = source.connections.saturating_sub(1)
                    }
                    slots::Held::Transaction => {}
                }
            }
        }
        match what {
            slots::Held::Pending => {}
            slots::Held::Transaction => {
                self.transactions.fetch_sub(1, Ordering::Relaxed);
                self.metrics.transactions_active.dec();
            }
            slots::Held::Connection => {
                self.connections.fetch_sub(1, Ordering::Relaxed);
                self.metrics.connections_active.dec();
            }
        }
    }

    /// Forgets sources that hold nothing and have been quiet, ages the byte counts, and
    /// updates the gauges. Called every [`BYTE_COUNT_HALF_LIFE`].
    pub fn sweep(&self) {
        let now = Instant::now();
        let Ok(mut table) = self.table.lock() else {
            return;
        };
        let idle = FORGET_AFTER.max(self.config.load().per_source.ban_for);
        table.retain(|_, source| !source.is_forgettable(now, idle));
        let mut banned = 0;
        for source in table.values_mut() {
            source.age_byte_counts();
            banned += i64::from(source.is_banned(now));
        }
        // After a flood of forged addresses, give the memory back.
        let kept = table.len();
        table.shrink_to(kept * 2);
        self.metrics.sources_tracked.set(table.len() as i64);
        self.metrics.sources_banned.set(banned);
    }

    /// Sources with an entry now.
    #[cfg(test)]
    pub fn tracked(&self) -> usize {
        self.table.lock().map(|t| t.len()).unwrap_or(0)
    }

    /// Server transactions alive (answered or not) for external sources.
    #[cfg(test)]
    pub fn transactions(&self) -> usize {
        self.transactions.load(Ordering::Relaxed)
    }
}
