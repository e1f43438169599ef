//! One request's way through the engine: server transaction, proxy checks, route set, the
//! filter chain of the right snapshot, dialog bookkeeping, and the answer.

use std::sync::Arc;

use legate_filters_api::{
    call, Authenticated, BoxSipService, ConfigVersion, Context, DialogEnd, DialogHolds, DialogInfo,
    ListenerInfo, PeerAddress, ProvisionalSink, RequestView, Side, SipRequest,
};
use legate_sip::{Header, HeaderKind, Message, Method, Validated, Via};

use super::checks::{self, Refusal};
use super::route_set::{self, RouteDecision};
use super::Engine;
use crate::core::ListenerRuntime;
use crate::core::{
    creates_dialog, error_response, local_answer, with_to_tag, ServerKey, ServerTxn, ServerTxnStart,
};
use crate::dialogs::{ended_by, DialogId, DialogKind};
use crate::router::{CancelSignal, CoreHandle, InDialogRoute};
use crate::snapshot::Snapshot;
use crate::telemetry::{RequestTrace, TransactionEnd};
use crate::transport::Flow;

const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, SUBSCRIBE, NOTIFY, REFER, INFO, UPDATE, PRACK, PUBLISH";

impl Engine {
    /// The part of a request's handling that must follow arrival order, done inline by the
    /// transport: noting where it came from and matching or starting its server transaction
    /// (so a CANCEL always finds the INVITE that arrived before it). The rest runs on its own
    /// task.
    pub(super) fn accept_request(
        self: Arc<Self>,
        mut request: Message,
        validated: Validated,
        flow: Flow,
    ) {
        let mut validated = validated;
        mark_received(&mut request, &mut validated.top_via, &flow);
        let key = ServerKey::with_top_via(&request, &validated.top_via);
        let key = match key {
            Ok(key) => key,
            Err(error) => {
                tokio::spawn(async move { self.reject_invalid(&request, &flow, &error).await });
                return;
            }
        };
        match self.core.server_transaction(key, &request, &flow) {
            ServerTxnStart::New(txn) => {
                // Boxed: the task then holds a pointer, not the whole request's state (several
                // KiB), which tokio would otherwise copy in and out of the task.
                let handling =
                    async move { self.handle_request(txn, request, flow, validated).await };
                tokio::spawn(Box::pin(handling));
            }
            ServerTxnStart::Retransmission => {}
            ServerTxnStart::AckAbsorbed => self.count_ack(&flow),
            ServerTxnStart::OverLimit => {
                let mut response = local_answer(
                    &request,
                    503,
                    "Service Unavailable",
                    Some("too many requests in progress from this source"),
                );
                response
                    .headers
                    .push(Header::new(HeaderKind::RetryAfter, "5"));
                tokio::spawn(async move { self.core.answer_statelessly(&flow, response).await });
            }
            ServerTxnStart::AckForward => {
                self.count_ack(&flow);
                tokio::spawn(async move { self.forward_ack(request, validated, flow).await });
            }
        }
    }

    /// An ACK is a request like any other for `legate_sip_requests_received_total`, though it
    /// starts no server transaction.
    fn count_ack(&self, flow: &Flow) {
        if let Some(listener) = self.core.listeners().of_flow(flow) {
            self.core
                .metrics
                .request_received(&listener.info.name, Method::Ack.as_str());
        }
    }

    /// A new request: traced (when tracing is on), handled, answered.
    async fn handle_request(
        self: Arc<Self>,
        txn: Arc<ServerTxn>,
        mut request: Message,
        flow: Flow,
        validated: Validated,
    ) {
        let Some(listener) = self.core.listeners().of_flow(&flow).cloned() else {
            return;
        };
        let telemetry = self.core.telemetry.load_full();
        let trace = telemetry.begin(&mut request, listener.info.side);
        let summary = trace
            .as_ref()
            .filter(|trace| trace.sampled)
            .map(|_| TraceSummary::of(&request, &validated));
        let handled = self
            .handle(&txn, &listener, request, &flow, validated, trace.as_ref())
            .await;
        let status = handled.response.status().unwrap_or(500);
        self.answer(&txn, &listener.info.name, handled.response)
            .await;
        if let (Some(trace), Some(summary)) = (trace, summary) {
            let end = TransactionEnd {
                method: &summary.method,
                status,
                call_id: &summary.call_id,
                from: summary.from.as_deref(),
                to: summary.to.as_deref(),
                listener: &listener.info,
                peer: flow.remote,
                config_version: handled.config_version,
            };
            telemetry.finish(&trace, &end);
        }
    }

    /// The request in phases: admitted (or answered at the door), given the chain of its
    /// snapshot and its context, run through the chain, and its dialog noted.
    async fn handle(
        &self,
        txn: &Arc<ServerTxn>,
        listener: &ListenerRuntime,
        request: Message,
        flow: &Flow,
        validated: Validated,
        trace: Option<&Arc<RequestTrace>>,
    ) -> Handled {
        let current_version = || self.snapshot.load().version;
        let admitted = match self.admit(txn, listener, request, validated).await {
            Ok(admitted) => admitted,
            Err(response) => {
                return Handled {
                    response,
                    config_version: current_version(),
                }
            }
        };
        // Read once from the view: the dialog's table entry, its DialogInfo, and its end.
        let dialog_id = DialogId::of_view(admitted.request.call_id(), &admitted.view);
        let known = match (&dialog_id, &admitted.in_dialog_route) {
            (Some(id), Some(_)) => self.dialogs.lookup(id, &admitted.request),
            _ => None,
        };
        let known_locally = known.is_some();
        let snapshot = known.unwrap_or_else(|| self.snapshot());
        let config_version = snapshot.version;
        let Some(chain) = snapshot.chain(&listener.info.name) else {
            let response = local_answer(
                &admitted.request,
                500,
                "Server Internal Error",
                Some("listener has no filter chain"),
            );
            return Handled {
                response,
                config_version,
            };
        };
        let Admitted {
            request,
            view,
            in_dialog_route,
        } = admitted;
        let in_dialog = in_dialog_route.is_some();
        let starts_dialog = !in_dialog && creates_dialog(&request);
        // The chain takes the request; the engine keeps a copy (its header values are shared,
        // not copied) to answer it should the chain fail, and to find its dialog.
        let sent = request.clone();
        let mut context = self.context(txn, listener, flow, &snapshot, trace);
        if let Some(id) = &dialog_id {
            context.insert(DialogInfo {
                id: id.as_str().into(),
                in_dialog,
                known_locally,
            });
        }
        context.insert(view);
        if let Some(route) = in_dialog_route {
            context.insert(route);
        }
        let (response, holds) = self
            .run_chain(
                chain,
                SipRequest {
                    message: request,
                    context,
                },
                listener,
                &sent,
            )
            .await;
        self.note_dialog(
            &sent,
            dialog_id.as_ref(),
            starts_dialog,
            &response,
            &snapshot,
            holds,
        );
        Handled {
            response,
            config_version,
        }
    }

    /// What happens at the door: the request is counted, an INVITE gets 100 Trying, a CANCEL
    /// is answered, the proxy's checks and route pre-processing run, and the addressing is
    /// read. `Err` is the answer for a request that goes no further.
    async fn admit(
        &self,
        txn: &Arc<ServerTxn>,
        listener: &ListenerRuntime,
        mut request: Message,
        validated: Validated,
    ) -> Result<Admitted, Message> {
        let listener_name = &listener.info.name;
        let method = request.method().cloned().unwrap_or(Method::Options);
        self.core
            .metrics
            .request_received(listener_name, method.as_str());
        if method == Method::Invite {
            let trying = Message::response_to(&request, 100, "Trying");
            self.core.respond_provisional(txn, listener_name, trying);
        }
        if method == Method::Cancel {
            let (code, reason) = if self.core.cancel_invite(&txn.key) {
                (200, "OK")
            } else {
                (481, "Call/Transaction Does Not Exist")
            };
            return Err(local_answer(&request, code, reason, None));
        }
        if let Err(refusal) = checks::check(&request, &self.core.listeners(), listener.info.side) {
            return Err(self.refusal(listener_name, &request, refusal));
        }
        let edge = self.edge(&listener.info);
        // The addressing validation parsed becomes the request's view, which the filters and
        // the router read instead of parsing the headers again.
        let Validated {
            request_uri,
            from,
            to,
            top_via,
        } = validated;
        let preprocessed =
            route_set::preprocess(&self.core, &mut request, request_uri, from.tag(), edge)
                .await
                .map_err(|refusal| self.refusal(listener_name, &request, refusal))?;
        let view = RequestView {
            request_uri: preprocessed.request_uri,
            from: Some(from),
            to: Some(to),
            top_via: Some(top_via),
        };
        let in_dialog_route = match preprocessed.decision {
            RouteDecision::ToSelf => return Err(answer_to_self(&request)),
            RouteDecision::InDialog(route) => Some(route),
            RouteDecision::ByDomain => None,
        };
        let closing = if self.is_draining() {
            Some("shutting down")
        } else if !listener.is_serving() {
            Some("listener removed")
        } else {
            None
        };
        if let (Some(why), None) = (closing, &in_dialog_route) {
            let mut response = local_answer(&request, 503, "Service Unavailable", Some(why));
            response
                .headers
                .push(Header::new(HeaderKind::RetryAfter, "5"));
            return Err(response);
        }
        Ok(Admitted {
            request,
            view,
            in_dialog_route,
        })
    }

    /// The context the chain runs the request with: where it came from, under which snapshot,
    /// and the proxy's hooks (the core for the router, cancellation, provisional answers).
    fn context(
        &self,
        txn: &Arc<ServerTxn>,
        listener: &ListenerRuntime,
        flow: &Flow,
        snapshot: &Snapshot,
        trace: Option<&Arc<RequestTrace>>,
    ) -> Context {
        let mut context = Context::new();
        if let Some(trace) = trace {
            context.insert(trace.trace_ids());
            if let Some(filters) = &trace.filters {
                context.set_trace(filters.clone());
            }
            context.insert(trace.clone());
        }
        context.insert(listener.info.clone());
        context.insert(PeerAddress(flow.remote));
        if let Some(identity) = flow.peer_identity() {
            context.insert((*identity).clone());
        }
        context.insert(ConfigVersion(snapshot.version));
        context.insert(CoreHandle(self.core.clone()));
        context.insert(CancelSignal(txn.cancelled()));
        let (core, sink_txn, sink_listener) =
            (self.core.clone(), txn.clone(), listener.info.name.clone());
        context.insert(ProvisionalSink::new(move |response| {
            core.respond_provisional(&sink_txn, &sink_listener, response)
        }));
        context
    }

    /// Runs the chain; its answer (a filter's carries a To tag) and the holds a new dialog
    /// keeps. A chain that fails is answered from `sent`.
    async fn run_chain(
        &self,
        chain: &BoxSipService,
        request: SipRequest,
        listener: &ListenerRuntime,
        sent: &Message,
    ) -> (Message, DialogHolds) {
        match call(chain, request).await {
            Ok(mut response) => {
                let partner = response
                    .context
                    .get::<Authenticated>()
                    .and_then(Authenticated::partner);
                if let Some(partner) = partner {
                    self.core.metrics.partner_request(partner, "inbound");
                }
                if let Some(refusal) = &response.refusal {
                    self.core
                        .metrics
                        .request_refused(&listener.info.name, refusal.filter);
                    self.count_partner_refusal(partner, refusal, listener, sent);
                }
                let holds = response.context.remove::<DialogHolds>();
                let mut message = response.message;
                if response.answered_by.is_some() {
                    with_to_tag(&mut message);
                }
                (message, holds.unwrap_or_default())
            }
            Err(error) => (
                error_response(sent, &error, listener.info.side),
                DialogHolds::default(),
            ),
        }
    }

    /// Counts a refusal against the partner it concerns: the authenticated sender, or, for a
    /// request from inside, the partner its domain is routed to.
    fn count_partner_refusal(
        &self,
        sender: Option<&str>,
        refusal: &legate_filters_api::Refusal,
        listener: &ListenerRuntime,
        sent: &Message,
    ) {
        let rule = refusal.rule_id.as_deref().unwrap_or("");
        if let Some(partner) = sender {
            let metrics = &self.core.metrics;
            return metrics.partner_refusal(partner, "inbound", refusal.filter, rule);
        }
        if listener.info.side != Side::Internal {
            return;
        }
        let Some(domain) = sent
            .request_uri()
            .and_then(|uri| legate_sip::Uri::parse(uri).ok())
            .map(|uri| uri.host_lowercase())
        else {
            return;
        };
        let snapshot = self.snapshot.load();
        let routed = snapshot.routing.routes.lookup(&domain, Side::Internal);
        if let Some(legate_api::RouteTarget::Peer(partner)) = routed.map(|m| m.target) {
            self.core
                .metrics
                .partner_refusal(partner, "outbound", refusal.filter, rule);
        }
    }

    /// A 2xx to a dialog-creating INVITE or SUBSCRIBE enters the dialog table (with the holds
    /// filters attached); an answer that ends a dialog takes it out.
    fn note_dialog(
        &self,
        sent: &Message,
        dialog: Option<&DialogId>,
        starts_dialog: bool,
        response: &Message,
        snapshot: &Arc<Snapshot>,
        holds: DialogHolds,
    ) {
        let status = response.status().unwrap_or(500);
        let kind = match sent.method() {
            Some(Method::Invite) => Some(DialogKind::Invite),
            Some(Method::Subscribe) => Some(DialogKind::Subscribe),
            _ => None,
        };
        if let (true, Some(kind), true) = (starts_dialog, kind, (200..300).contains(&status)) {
            self.dialogs
                .established(kind, response, snapshot.clone(), holds);
            return;
        }
        // No dialog will keep them (a partner's slot is given back before the answer goes out).
        drop(holds);
        if let (true, Some(id)) = (ended_by(sent, status), dialog) {
            let method = sent.method().map_or("", |m| m.as_str());
            let how = DialogEnd::Request {
                method: method.to_string(),
                status,
            };
            self.dialogs.end(id, &how);
        }
    }

    /// The edge rules for a request that arrived on `listener`, from the current snapshot.
    fn edge(&self, listener: &ListenerInfo) -> route_set::Edge {
        route_set::Edge {
            side: listener.side,
            foreign_routes: self.snapshot.load().loaded.config.proxy.edge.foreign_routes,
        }
    }

    async fn answer(&self, txn: &Arc<ServerTxn>, listener: &str, response: Message) {
        self.core.respond(txn, listener, response).await;
    }

    /// The answer to a request the proxy itself refuses, counted by reason.
    fn refusal(&self, listener: &str, request: &Message, refusal: Refusal) -> Message {
        self.core.metrics.message_rejected(listener, refusal.reason);
        let mut response = local_answer(
            request,
            refusal.code,
            refusal.reason,
            Some(&refusal.warning),
        );
        if let Some((kind, value)) = refusal.header {
            response.headers.push(Header::new(kind, value));
        }
        response
    }

    /// The ACK for a 2xx is its own end-to-end transaction: route it like any in-dialog request,
    /// statelessly (there is no response to wait for).
    async fn forward_ack(&self, mut request: Message, validated: Validated, flow: Flow) {
        let listeners = self.core.listeners();
        let Some(ingress) = listeners.of_flow(&flow) else {
            return;
        };
        let ingress = ingress.info.clone();
        if checks::check(&request, &listeners, ingress.side).is_err() {
            return;
        }
        let edge = self.edge(&ingress);
        let from_tag = validated.from.tag();
        let request_uri = validated.request_uri;
        let Ok(route_set::Preprocessed {
            decision: RouteDecision::InDialog(route),
            ..
        }) = route_set::preprocess(&self.core, &mut request, request_uri, from_tag, edge).await
        else {
            return;
        };
        let egress =
            listeners.in_dialog_egress(route.egress.as_deref(), route.hop.transport, &ingress);
        let mut plan = match self
            .core
            .prepare_forward(&request, &ingress, egress, &route.hop, None)
        {
            Ok(plan) => plan,
            Err(too_large) => return tracing::debug!(%too_large, "ack not forwarded"),
        };
        let side = egress.map_or(ingress.side, |listener| listener.info.side);
        self.core
            .telemetry
            .load()
            .outgoing(&mut plan.message, side, None);
        match self.core.flow_to(&route.hop, egress).await {
            Ok(out) => {
                let _ = out.send(plan.message.to_bytes()).await;
            }
            Err(error) => tracing::debug!(%error, hop = ?route.hop, "ack not forwarded"),
        }
    }
}

/// RFC 3581 / RFC 3261 §18.2.1: note where the request really came from in its top Via
/// (`via`, as validation parsed it, is kept in step).
fn mark_received(request: &mut Message, via: &mut Via, flow: &Flow) {
    let wants_rport = via.param("rport").is_some();
    if !wants_rport {
        let host = via.host.trim_start_matches('[').trim_end_matches(']');
        if host.parse::<std::net::IpAddr>() == Ok(flow.remote.ip()) {
            return;
        }
    }
    via.set_param("received", Some(&legate_sip::ip_text(flow.remote.ip())));
    if wants_rport {
        let mut port = String::with_capacity(5);
        legate_sip::push_decimal(&mut port, u64::from(flow.remote.port()));
        via.set_param("rport", Some(&port));
    }
    request
        .headers
        .replace_first_value(HeaderKind::Via, via.to_text());
}

/// Requests addressed to Legate itself: OPTIONS is answered (peers use it as a keep-alive),
/// anything else has nothing to reach.
fn answer_to_self(request: &Message) -> Message {
    if request.method() == Some(&Method::Options) {
        let mut response = local_answer(request, 200, "OK", None);
        response.headers.push(Header::new(HeaderKind::Allow, ALLOW));
        response
    } else {
        local_answer(
            request,
            404,
            "Not Found",
            Some("request addressed to the proxy itself"),
        )
    }
}

/// What handling a request came to: the answer, and the configuration version it ran under.
struct Handled {
    response: Message,
    config_version: u64,
}

/// What a sampled request's transaction span reports, read before the chain takes the request.
struct TraceSummary {
    method: String,
    call_id: Vec<u8>,
    from: Option<String>,
    to: Option<String>,
}

impl TraceSummary {
    fn of(request: &Message, validated: &Validated) -> TraceSummary {
        TraceSummary {
            method: request.method().map_or("", |m| m.as_str()).to_string(),
            call_id: request.call_id().map(|c| c.to_vec()).unwrap_or_default(),
            from: Some(validated.from.uri.address()),
            to: Some(validated.to.uri.address()),
        }
    }
}

/// A request through the proxy's checks, its addressing read.
struct Admitted {
    request: Message,
    view: RequestView,
    /// Set for a request that Legate's own route state sends straight to its next hop.
    in_dialog_route: Option<InDialogRoute>,
}
