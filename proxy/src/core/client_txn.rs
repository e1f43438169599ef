//! Client transactions (RFC 3261 §17.1): send a request to one next hop, retransmit it on UDP,
//! pass provisional responses on, generate the ACK for non-2xx INVITE answers, and CANCEL when
//! the server transaction is cancelled.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use legate_filters_api::Transport;
use legate_sip::{Header, HeaderKind, Message, Method, RequestLine, StartLine, Text, Via};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::{ClientKey, Core, ListenerRuntime};
use crate::transport::{Dial, Flow, ServerTrust};

/// Timer C (§16.6 item 11): how long an INVITE may ring after its last provisional response.
const TIMER_C: Duration = Duration::from_secs(180);

/// Where a request goes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextHop {
    pub transport: Transport,
    pub addr: SocketAddr,
    /// TLS server name to verify, for `tls` hops.
    pub server_name: Option<String>,
}

/// How a client transaction ended.
#[derive(Debug)]
pub enum ClientOutcome {
    Final(Message),
    /// No final response within Timer B/F (or Timer C after ringing).
    Timeout,
    /// The next hop could not be reached at all.
    Unreachable(String),
}

pub(crate) enum ClientEntry {
    /// Responses go to the waiting transaction with their top Via as validation parsed it.
    Active(mpsc::UnboundedSender<(Message, Via)>),
    /// Completed INVITE transaction (Timer D): retransmitted finals are answered with the ACK.
    Completed { ack: Bytes, flow: Flow },
    /// Accepted INVITE transaction (RFC 6026, Timer M): 2xx retransmissions still travel
    /// upstream statelessly; a provisional arriving after the 2xx is absorbed, never forwarded.
    Accepted,
    /// Completed non-INVITE transaction on UDP (Timer K): response retransmissions are absorbed.
    Absorbing,
}

impl Core {
    /// A flow to `hop`, leaving from `egress` for UDP (so responses come back to its socket);
    /// a new connection counts as `egress`'s, so what the peer sends back on it runs that
    /// listener's chain. A TLS server is verified by the trust its address calls for.
    pub async fn flow_to(
        &self,
        hop: &NextHop,
        egress: Option<&ListenerRuntime>,
    ) -> std::io::Result<Flow> {
        self.flow_trusting(hop, egress, ServerTrust::ByAddress)
            .await
    }

    /// [`Core::flow_to`], verifying a TLS server with `trust` (a partner's own bundle).
    pub async fn flow_trusting(
        &self,
        hop: &NextHop,
        egress: Option<&ListenerRuntime>,
        trust: ServerTrust<'_>,
    ) -> std::io::Result<Flow> {
        match hop.transport {
            Transport::Udp => egress
                .and_then(|l| l.udp_flow(hop.addr))
                .or_else(|| {
                    self.listeners()
                        .serving()
                        .find_map(|l| l.udp_flow(hop.addr))
                })
                .ok_or_else(|| std::io::Error::other("no udp listener to send from")),
            transport => {
                let leaving_by = egress.filter(|l| l.transport() == transport);
                let dial = Dial {
                    transport,
                    remote: hop.addr,
                    server_name: hop.server_name.as_deref(),
                    listener: leaving_by.map(|l| &l.info),
                    listener_phase: leaving_by.map(|l| l.phase.watch()),
                    trust,
                };
                self.connections.connect(dial).await
            }
        }
    }

    /// Runs one client transaction for `request` (our Via, with `branch`, already on top).
    pub async fn client_transaction(
        self: &Arc<Self>,
        request: Message,
        flow: Flow,
        branch: Text,
        on_provisional: &(dyn Fn(Message) + Send + Sync),
        mut cancelled: Option<watch::Receiver<bool>>,
    ) -> ClientOutcome {
        let method = request.method().cloned().unwrap_or(Method::Options);
        let key = ClientKey {
            branch: branch.clone(),
            method: method.clone(),
        };
        let (tx, mut rx) = mpsc::unbounded_channel();
        if let Ok(mut table) = self.client_txns.lock() {
            table.insert(key.clone(), ClientEntry::Active(tx));
        }
        let bytes = request.to_bytes();
        let outcome = async {
            if let Err(error) = flow.send(bytes.clone()).await {
                return ClientOutcome::Unreachable(error.to_string());
            }
            let invite = method == Method::Invite;
            let reliable = flow.is_reliable();
            let mut deadline = Instant::now() + self.timers.transaction_timeout();
            let mut retransmit_every = self.timers.t1;
            let mut next_retransmit = Instant::now() + retransmit_every;
            let mut provisional_seen = false;
            let mut cancel_sent = false;
            let mut cancel_wanted = false;
            loop {
                let retransmit_at = if reliable || (invite && provisional_seen) {
                    deadline
                } else {
                    next_retransmit.min(deadline)
                };
                let cancel_signal = async {
                    match cancelled.as_mut() {
                        Some(rx) if !cancel_wanted => rx.changed().await.is_ok() && *rx.borrow(),
                        _ => std::future::pending().await,
                    }
                };
                tokio::select! {
                    response = rx.recv() => {
                        let Some((mut response, top_via)) = response else {
                            return ClientOutcome::Timeout;
                        };
                        // Legate's own Via goes no further than Legate; what it hid comes back.
                        self.unhide_response(&mut response, &top_via);
                        let status = response.status().unwrap_or(500);
                        if status < 200 {
                            if invite {
                                deadline = Instant::now() + TIMER_C;
                            }
                            provisional_seen = true;
                            // Non-INVITE retransmissions slow to T2 after a provisional (§17.1.2.2).
                            retransmit_every = self.timers.t2;
                            if cancel_wanted && !cancel_sent {
                                cancel_sent = true;
                                self.send_cancel(&request, &flow, &branch);
                            }
                            if status > 100 {
                                on_provisional(response);
                            }
                            continue;
                        }
                        if invite && status >= 300 {
                            self.acknowledge(&request, &response, &flow, &key).await;
                        }
                        return ClientOutcome::Final(response);
                    }
                    wanted = cancel_signal => {
                        if wanted {
                            cancel_wanted = true;
                            if provisional_seen && !cancel_sent {
                                cancel_sent = true;
                                self.send_cancel(&request, &flow, &branch);
                            }
                            // Wait for the 487 (or a final that crossed the CANCEL), but not forever.
                            deadline = deadline.min(Instant::now() + self.timers.transaction_timeout());
                        }
                    }
                    _ = tokio::time::sleep_until(retransmit_at) => {
                        if Instant::now() >= deadline {
                            if invite && provisional_seen && !cancel_sent {
                                self.send_cancel(&request, &flow, &branch);
                            }
                            return ClientOutcome::Timeout;
                        }
                        let _ = flow.send(bytes.clone()).await;
                        retransmit_every = if invite { retransmit_every * 2 } else { (retransmit_every * 2).min(self.timers.t2) };
                        next_retransmit = Instant::now() + retransmit_every;
                    }
                }
            }
        }
        .await;
        let accepted = method == Method::Invite
            && matches!(&outcome, ClientOutcome::Final(r) if r.status().is_some_and(|s| (200..300).contains(&s)));
        let completed_on_udp = method != Method::Invite
            && !flow.is_reliable()
            && matches!(&outcome, ClientOutcome::Final(_));
        if accepted {
            self.linger(
                key,
                ClientEntry::Accepted,
                self.timers.transaction_timeout(),
            );
        } else if completed_on_udp {
            self.linger(key, ClientEntry::Absorbing, self.timers.t4);
        } else if let Ok(mut table) = self.client_txns.lock() {
            // INVITE client transactions in Completed keep their entry for Timer D.
            if !matches!(table.get(&key), Some(ClientEntry::Completed { .. })) {
                table.remove(&key);
            }
        }
        outcome
    }

    /// Hands a response to the client transaction it belongs to. A response that matches none
    /// is given back, to be forwarded statelessly (§16.7).
    /// Hands `response` (whose top Via validation already parsed) to its client transaction;
    /// gives it back when none has it.
    pub fn deliver_response(&self, response: Message, top_via: Via) -> Option<Message> {
        let Some(key) = client_key_of(&response, &top_via) else {
            return Some(response);
        };
        let Ok(table) = self.client_txns.lock() else {
            return Some(response);
        };
        let status = response.status().unwrap_or(0);
        match table.get(&key) {
            Some(ClientEntry::Active(tx)) => {
                tx.send((response, top_via)).err().map(|unsent| unsent.0 .0)
            }
            Some(ClientEntry::Completed { ack, flow }) => {
                if status >= 300 {
                    let (ack, flow) = (ack.clone(), flow.clone());
                    tokio::spawn(async move { flow.send(ack).await });
                }
                None
            }
            Some(ClientEntry::Accepted) if status < 200 => None,
            Some(ClientEntry::Absorbing) => None,
            Some(ClientEntry::Accepted) | None => Some(response),
        }
    }

    /// Keeps `entry` for `key` for `duration`; then the reaper forgets it.
    fn linger(self: &Arc<Self>, key: ClientKey, entry: ClientEntry, duration: Duration) {
        if let Ok(mut table) = self.client_txns.lock() {
            table.insert(key.clone(), entry);
        }
        if !self.lingering.push(Instant::now() + duration, key.clone()) {
            self.forget_client_txns(vec![key]);
        }
    }

    /// Drops the entries of client transactions done lingering.
    pub(super) fn forget_client_txns(&self, keys: Vec<ClientKey>) {
        if keys.is_empty() {
            return;
        }
        if let Ok(mut table) = self.client_txns.lock() {
            for key in keys {
                table.remove(&key);
            }
        }
    }

    /// The hop-by-hop ACK for a non-2xx INVITE answer (§17.1.1.3), kept for Timer D.
    async fn acknowledge(
        self: &Arc<Self>,
        invite: &Message,
        response: &Message,
        flow: &Flow,
        key: &ClientKey,
    ) {
        let ack = build_ack(invite, response).to_bytes();
        let _ = flow.send(ack.clone()).await;
        // Timer D: 32 s on UDP to answer retransmitted finals; nothing to wait for on streams.
        if !flow.is_reliable() {
            let entry = ClientEntry::Completed {
                ack,
                flow: flow.clone(),
            };
            self.linger(key.clone(), entry, Duration::from_secs(32));
        }
    }

    /// Sends a CANCEL for a forwarded INVITE, in its own fire-and-forget client transaction.
    fn send_cancel(self: &Arc<Self>, invite: &Message, flow: &Flow, branch: &str) {
        let cancel = build_cancel(invite);
        let core = self.clone();
        let flow = flow.clone();
        let branch = Text::new(branch);
        tokio::spawn(async move {
            let ignore = |_: Message| {};
            core.client_transaction(cancel, flow, branch, &ignore, None)
                .await;
        });
    }
}

fn client_key_of(response: &Message, top_via: &Via) -> Option<ClientKey> {
    let branch = Text::new(top_via.branch()?);
    let method = response.cseq().ok()?.method;
    Some(ClientKey { branch, method })
}

/// Headers copied from the INVITE into its CANCEL and ACK (§9.1, §17.1.1.3).
fn copy_for_hop(invite: &Message, method: Method, to: Option<&Bytes>) -> Message {
    let uri = invite.request_uri().cloned().unwrap_or_default();
    let mut message = Message {
        start: StartLine::Request(RequestLine {
            method: method.clone(),
            uri,
            version: Bytes::from_static(b"SIP/2.0"),
        }),
        headers: Default::default(),
        body: Bytes::new(),
    };
    if let Some(via) = invite.headers.values(HeaderKind::Via).into_iter().next() {
        message.headers.push(Header::new(HeaderKind::Via, via));
    }
    for route in invite.headers.values(HeaderKind::Route) {
        message.headers.push(Header::new(HeaderKind::Route, route));
    }
    message
        .headers
        .push(Header::new(HeaderKind::MaxForwards, "70"));
    for kind in [HeaderKind::From, HeaderKind::CallId] {
        if let Some(value) = invite.headers.first(kind) {
            message.headers.push(Header::new(kind, value.clone()));
        }
    }
    if let Some(value) = to.or_else(|| invite.headers.first(HeaderKind::To)) {
        message
            .headers
            .push(Header::new(HeaderKind::To, value.clone()));
    }
    let seq = invite.cseq().map(|c| c.seq).unwrap_or(1);
    message
        .headers
        .push(Header::new(HeaderKind::CSeq, format!("{seq} {method}")));
    message
}

fn build_cancel(invite: &Message) -> Message {
    copy_for_hop(invite, Method::Cancel, None)
}

fn build_ack(invite: &Message, response: &Message) -> Message {
    copy_for_hop(invite, Method::Ack, response.headers.first(HeaderKind::To))
}
