//! Turning a received request into the one Legate sends on (RFC 3261 §16.6): Max-Forwards,
//! Record-Route with Legate's sealed state, and Legate's Via on top.

use legate_filters::ListenerInfo;
use legate_sip::{Header, HeaderKind, Message, Uri};

use super::{loops, Core, ListenerRuntime, NextHop, RouteState};
use crate::transport::transport_token;

/// A request ready to send to one next hop, with the branch of its client transaction.
pub struct ForwardPlan {
    pub message: Message,
    pub branch: String,
}

/// Methods whose requests may create a dialog that Legate must stay in (§16.6 item 4).
pub fn creates_dialog(message: &Message) -> bool {
    use legate_sip::Method::*;
    matches!(message.method(), Some(Invite | Subscribe | Refer | Notify))
}

impl Core {
    /// Prepares `request` for `hop`. `record_route` is the state to seal into Legate's
    /// Record-Route (for dialog-creating requests), `None` otherwise.
    pub fn prepare_forward(
        &self,
        request: &Message,
        ingress: &ListenerInfo,
        egress: Option<&ListenerRuntime>,
        hop: &NextHop,
        record_route: Option<&RouteState>,
    ) -> ForwardPlan {
        let mut message = request.clone();
        strip_uri_headers(&mut message);
        let max_forwards = request.max_forwards().ok().flatten().unwrap_or(71);
        message.headers.set(
            HeaderKind::MaxForwards,
            max_forwards.saturating_sub(1).to_string(),
        );

        let listeners = self.listeners();
        let ingress_runtime = listeners.by_name(&ingress.name);
        if let Some(state) = record_route {
            let call_id = request.call_id().cloned().unwrap_or_default();
            let params = state.seal(&self.sealer, &call_id);
            // Two entries when the request changes listener or transport (RFC 5658), so each side
            // routes back to the listener it knows; the one facing the next hop goes on top.
            let mut entries = Vec::new();
            if let Some(inbound) = ingress_runtime {
                entries.push(format!("<{}{params}>", inbound.route_uri()));
            }
            if let Some(outbound) = egress {
                if ingress_runtime.is_none_or(|i| i.info.name != outbound.info.name) {
                    entries.push(format!("<{}{params}>", outbound.route_uri()));
                }
            }
            for entry in entries {
                message.headers.insert_before_first(
                    HeaderKind::RecordRoute,
                    Header::new(HeaderKind::RecordRoute, entry),
                );
            }
        }

        let branch = loops::branch_for(request);
        let sent_by = egress
            .or(ingress_runtime)
            .map(ListenerRuntime::host_port)
            .unwrap_or_else(|| ingress.local_addr.to_string());
        let (_, transport) = transport_token(hop.transport);
        message.headers.push_front(Header::new(
            HeaderKind::Via,
            format!("SIP/2.0/{transport} {sent_by};branch={branch}"),
        ));
        if let Some(egress) = egress.filter(|l| self.hides(l)) {
            self.hide_request(&mut message, egress);
        }
        ForwardPlan { message, branch }
    }
}

/// Headers escaped into the Request-URI (`sip:bob@example.com?Route=…`) are not forwarded in it
/// (RFC 3261 §19.1.5, RFC 4475 §3.1.2.11): a sender must not steer the next hop through them.
fn strip_uri_headers(message: &mut Message) {
    let Some(uri) = message.request_uri().and_then(|u| Uri::parse(u).ok()) else {
        return;
    };
    if uri.headers.is_some() {
        let stripped = Uri {
            headers: None,
            ..uri
        };
        message.set_request_uri(stripped.to_string());
    }
}
