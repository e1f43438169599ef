//! Turning a received request into the one Legate sends on (RFC 3261 §16.6): Max-Forwards,
//! Record-Route with Legate's sealed state, and Legate's Via on top.

use legate_filters_api::ListenerInfo;
use legate_sip::{Header, HeaderKind, Message, Uri};

use super::{loops, Core, ListenerRuntime, NextHop, RouteState};
use crate::transport::transport_token;

/// A request ready to send to one next hop, with the branch of its client transaction.
pub struct ForwardPlan {
    pub message: Message,
    pub branch: String,
}

/// Room left on every line for what the next hop adds to what it echoes back (`received` and
/// `rport` on Legate's Via), so its answers still fit Legate's own line limit.
const ECHO_HEADROOM: usize = 256;

/// A request that would leave Legate beyond Legate's own limits: its answers could not be read
/// back, so it is refused (513) instead of being sent and retried in vain.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TooLarge {
    #[error("the {header} header would be {bytes} bytes on the way out, over the {limit}-byte line limit")]
    Line {
        header: String,
        bytes: usize,
        limit: usize,
    },
    #[error("the request would be {bytes} bytes on the way out, over the {limit}-byte limit")]
    Message { bytes: usize, limit: usize },
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
    ) -> Result<ForwardPlan, TooLarge> {
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
        let sent_by = match egress.or(ingress_runtime) {
            Some(listener) => std::borrow::Cow::Borrowed(listener.host_port()),
            None => std::borrow::Cow::Owned(ingress.local_addr.to_string()),
        };
        let (_, transport) = transport_token(hop.transport);
        let hiding = egress.filter(|l| self.hides(l));
        let sealed_vias = match hiding {
            Some(_) => self.seal_vias(&mut message, &branch),
            None => String::new(),
        };
        let via = legate_sip::concat(&[
            "SIP/2.0/",
            transport,
            " ",
            &sent_by,
            ";branch=",
            &branch,
            &sealed_vias,
        ]);
        message
            .headers
            .push_front(Header::new(HeaderKind::Via, via));
        if let Some(egress) = hiding {
            self.hide_request(&mut message, egress);
        }
        self.check_output(&message)?;
        Ok(ForwardPlan { message, branch })
    }

    /// Sealing folds whole header lists into one value, and Legate adds its own entries: what
    /// leaves must still be something Legate (and the next hop) would accept back.
    fn check_output(&self, message: &Message) -> Result<(), TooLarge> {
        let line_limit = self.limits.max_line_bytes.saturating_sub(ECHO_HEADROOM);
        for header in message.headers.iter() {
            let bytes = header.name.len() + 2 + header.value.len();
            if bytes > line_limit {
                return Err(TooLarge::Line {
                    header: String::from_utf8_lossy(&header.name).into_owned(),
                    bytes,
                    limit: line_limit,
                });
            }
        }
        let limit = self.limits.max_message_bytes;
        let bytes = message.encoded_len();
        if bytes > limit {
            return Err(TooLarge::Message { bytes, limit });
        }
        Ok(())
    }
}

/// Headers escaped into the Request-URI (`sip:bob@example.com?Route=…`) are not forwarded in it
/// (RFC 3261 §19.1.5, RFC 4475 §3.1.2.11): a sender must not steer the next hop through them.
fn strip_uri_headers(message: &mut Message) {
    // Headers follow a `?`, which a URI without them never holds: most need no parsing.
    let has_question_mark = message
        .request_uri()
        .is_some_and(|uri| memchr::memchr(b'?', uri).is_some());
    if !has_question_mark {
        return;
    }
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
