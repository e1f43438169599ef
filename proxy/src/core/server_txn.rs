//! Server transactions (RFC 3261 §17.2, with RFC 6026's Accepted state): one per request
//! received, absorbing retransmissions, retransmitting final responses on UDP, and waiting for
//! the hop-by-hop ACK of non-2xx INVITE answers.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use legate_sip::{Message, Method};
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

use super::{Core, ServerKey};
use crate::sources::TransactionSlot;
use crate::transport::Flow;
use legate_filters_api::Side;

pub struct ServerTxn {
    pub key: ServerKey,
    pub method: Method,
    pub flow: Flow,
    started: Instant,
    state: Mutex<State>,
    cancelled: watch::Sender<bool>,
    acked: Notify,
    /// What the transaction counts against its source's limits (external sources only).
    slot: Option<TransactionSlot>,
}

#[derive(Default)]
struct State {
    last_response: Option<Bytes>,
    final_status: Option<u16>,
}

/// What a request means for the server transaction layer.
pub enum ServerTxnStart {
    /// A new transaction: the engine runs the request.
    New(Arc<ServerTxn>),
    /// A retransmission: the last response (if any) was sent again.
    Retransmission,
    /// An ACK for a non-2xx final answer of ours: absorbed (§17.2.1).
    AckAbsorbed,
    /// An ACK that matches no transaction: the ACK for a 2xx, routed end to end.
    AckForward,
    /// A new request from an external source that is at its transaction limit (or all
    /// external sources together are): answered 503, not run.
    OverLimit,
}

impl ServerTxn {
    /// Resolves when the request has been cancelled (CANCEL received, §16.10).
    pub fn cancelled(&self) -> watch::Receiver<bool> {
        self.cancelled.subscribe()
    }

    pub fn final_status(&self) -> Option<u16> {
        self.state.lock().ok().and_then(|s| s.final_status)
    }
}

impl Core {
    /// Finds or starts the server transaction for `request`.
    pub fn server_transaction(
        &self,
        key: ServerKey,
        request: &Message,
        flow: &Flow,
    ) -> ServerTxnStart {
        let is_ack = request.method() == Some(&Method::Ack);
        let Ok(mut table) = self.server_txns.lock() else {
            return ServerTxnStart::Retransmission;
        };
        if let Some(existing) = table.get(&key).cloned() {
            drop(table);
            if is_ack {
                if existing.final_status().is_some_and(|s| s >= 300) {
                    existing.acked.notify_one();
                    return ServerTxnStart::AckAbsorbed;
                }
                return ServerTxnStart::AckForward;
            }
            let last = existing
                .state
                .lock()
                .ok()
                .and_then(|s| s.last_response.clone());
            if let Some(bytes) = last.filter(|b| self.may_answer(&existing.flow, b.len())) {
                let flow = existing.flow.clone();
                tokio::spawn(async move { flow.send(bytes).await });
            }
            return ServerTxnStart::Retransmission;
        }
        if is_ack {
            return ServerTxnStart::AckForward;
        }
        let slot = match self.external_source(flow) {
            Some(source) => match self.sources.begin_transaction(source) {
                Ok(slot) => Some(slot),
                Err(_) => return ServerTxnStart::OverLimit,
            },
            None => None,
        };
        let method = request.method().cloned().unwrap_or(Method::Options);
        let txn = Arc::new(ServerTxn {
            key: key.clone(),
            method,
            flow: flow.clone(),
            started: Instant::now(),
            state: Mutex::new(State::default()),
            cancelled: watch::channel(false).0,
            acked: Notify::new(),
            slot,
        });
        table.insert(key, txn.clone());
        self.metrics.transactions_active().inc();
        ServerTxnStart::New(txn)
    }

    /// Marks the INVITE transaction that `cancel_key` refers to as cancelled. False if there is
    /// none (the CANCEL is then answered 481).
    pub fn cancel_invite(&self, cancel_key: &ServerKey) -> bool {
        let key = cancel_key.invite_of_cancel();
        let txn = self
            .server_txns
            .lock()
            .ok()
            .and_then(|t| t.get(&key).cloned());
        match txn {
            Some(txn) if txn.final_status().is_none() => {
                txn.cancelled.send_replace(true);
                true
            }
            Some(_) => true,
            None => false,
        }
    }

    /// Server transactions still waiting for their final answer (drain waits for these).
    pub fn pending_transactions(&self) -> usize {
        let Ok(table) = self.server_txns.lock() else {
            return 0;
        };
        table
            .values()
            .filter(|t| t.final_status().is_none())
            .count()
    }

    /// Sends a provisional response at once and in order (no await: the chain is still running).
    pub fn respond_provisional(&self, txn: &Arc<ServerTxn>, listener: &str, response: Message) {
        let status = response.status().unwrap_or(100);
        let bytes = self.outgoing_response(listener, response).to_bytes();
        {
            let Ok(mut state) = txn.state.lock() else {
                return;
            };
            if state.final_status.is_some() {
                return;
            }
            state.last_response = Some(bytes.clone());
        }
        self.metrics
            .response_sent(listener, txn.method.as_str(), status);
        if self.may_answer(&txn.flow, bytes.len()) {
            txn.flow.try_send(bytes);
        }
    }

    /// Sends a response within `txn`. Final responses start the transaction's end game.
    pub async fn respond(
        self: &Arc<Self>,
        txn: &Arc<ServerTxn>,
        listener: &str,
        response: Message,
    ) {
        let status = response.status().unwrap_or(500);
        let bytes = self.outgoing_response(listener, response).to_bytes();
        let is_final = status >= 200;
        {
            let Ok(mut state) = txn.state.lock() else {
                return;
            };
            if state.final_status.is_some() {
                // One final answer per transaction; later ones (a 2xx after a 487) are dropped,
                // except 2xx retransmissions which travel statelessly.
                return;
            }
            if is_final {
                state.final_status = Some(status);
            }
            state.last_response = Some(bytes.clone());
        }
        self.metrics
            .response_sent(listener, txn.method.as_str(), status);
        if self.may_answer(&txn.flow, bytes.len()) {
            if let Err(error) = txn.flow.send(bytes.clone()).await {
                tracing::debug!(%error, flow = ?txn.flow, "sending response failed");
            }
        }
        if is_final {
            if let Some(slot) = &txn.slot {
                slot.answered();
            }
            self.metrics
                .transaction_finished(txn.method.as_str(), txn.started.elapsed());
            let core = self.clone();
            let txn = txn.clone();
            tokio::spawn(async move { core.finish_server_txn(txn, status, bytes).await });
        }
    }

    async fn finish_server_txn(self: Arc<Self>, txn: Arc<ServerTxn>, status: u16, bytes: Bytes) {
        let timers = self.timers;
        let reliable = txn.flow.is_reliable();
        if txn.method == Method::Invite && status >= 300 {
            // Timer G retransmits until the ACK; Timer H gives up; Timer I absorbs ACK copies.
            let deadline = Instant::now() + timers.transaction_timeout();
            let mut interval = timers.t1;
            loop {
                let wait = if reliable {
                    deadline - Instant::now()
                } else {
                    interval
                };
                tokio::select! {
                    _ = txn.acked.notified() => {
                        if !reliable {
                            tokio::time::sleep(timers.t4).await;
                        }
                        break;
                    }
                    _ = tokio::time::sleep(wait) => {
                        if Instant::now() >= deadline {
                            break;
                        }
                        if self.may_answer(&txn.flow, bytes.len()) {
                            let _ = txn.flow.send(bytes.clone()).await;
                        }
                        interval = (interval * 2).min(timers.t2);
                    }
                }
            }
        } else if txn.method == Method::Invite || !reliable {
            // Accepted (2xx to INVITE, RFC 6026) and Completed (Timer J): absorb retransmissions
            // until the reaper removes the transaction.
            let expires = Instant::now() + timers.transaction_timeout();
            if self.expiring.push(expires, txn.key.clone()) {
                return;
            }
        }
        self.forget_server_txn(&txn.key);
    }

    fn forget_server_txn(&self, key: &ServerKey) {
        if let Ok(mut table) = self.server_txns.lock() {
            if table.remove(key).is_some() {
                self.metrics.transactions_active().dec();
            }
            // After a flood, give the table's memory back.
            if table.capacity() > 1024 && table.len() < table.capacity() / 4 {
                let len = table.len();
                table.shrink_to(len * 2);
            }
        }
    }

    /// Every T1, for as long as the core runs: removes answered server transactions whose
    /// retransmission window (64·T1) is over, and client transactions done lingering.
    pub async fn reap_expired_transactions(self: Arc<Self>) {
        loop {
            tokio::time::sleep(self.timers.t1).await;
            let now = Instant::now();
            for key in self.expiring.take_due(now) {
                self.forget_server_txn(&key);
            }
            self.forget_client_txns(self.lingering.take_due(now));
        }
    }
}

impl Core {
    /// Sends an answer outside any transaction (to a request that could not be parsed or
    /// framed) back on `flow`, hidden like any other when it leaves by an external listener.
    pub async fn answer_statelessly(&self, flow: &Flow, mut response: Message) {
        if let Some(listener) = self.listeners().of_flow(flow).filter(|l| self.hides(l)) {
            self.hide_response(&mut response, listener);
        }
        let bytes = response.to_bytes();
        if self.may_answer(flow, bytes.len()) {
            let _ = flow.send(bytes).await;
        }
    }

    /// The source address of `flow` when it is one the edge limits: a peer on an external
    /// listener.
    pub(super) fn external_source(&self, flow: &Flow) -> Option<std::net::IpAddr> {
        let listeners = self.listeners();
        let listener = listeners.of_flow(flow)?;
        (listener.info.side == Side::External).then_some(flow.remote.ip())
    }

    /// Whether an answer of `bytes` bytes may go to the sender on `flow`. Over UDP from an
    /// external listener the source address may be forged, so answers stay within what it
    /// sent times `answer_amplification`; the rest are dropped (and counted).
    fn may_answer(&self, flow: &Flow, bytes: usize) -> bool {
        if flow.is_reliable() {
            return true;
        }
        match self.external_source(flow) {
            Some(source) => self.sources.may_answer(source, bytes),
            None => true,
        }
    }

    /// A response as it leaves by `listener`: hidden when that is an external listener.
    fn outgoing_response(&self, listener: &str, mut response: Message) -> Message {
        if let Some(listener) = self.listeners().by_name(listener).filter(|l| self.hides(l)) {
            self.hide_response(&mut response, listener);
        }
        response
    }
}
