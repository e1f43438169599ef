//! Route pre-processing (RFC 3261 §16.4): strict-router fix-up, popping Legate's own Route
//! entries (opening the sealed state they carry), and finding an in-dialog request's next hop.

use legate_api::ForeignRoutes;
use legate_filters_api::Side;
use legate_sip::{HeaderKind, Message, NameAddr, Uri};

use super::checks::Refusal;
use crate::core::{route_state, Core, NextHop, RouteState};
use crate::router::InDialogRoute;
use crate::transport::{parse_transport, Transport};

/// Where a request goes, as far as its Route set and Request-URI tell.
pub enum RouteDecision {
    /// Out of dialog: the router picks a cluster by target domain.
    ByDomain,
    /// In dialog: straight to the next hop.
    InDialog(InDialogRoute),
    /// Addressed to Legate itself (an OPTIONS keep-alive, say).
    ToSelf,
}

/// What pre-processing decided, and the Request-URI it leaves, parsed once for the request's
/// view.
pub struct Preprocessed {
    pub decision: RouteDecision,
    pub request_uri: Option<Uri>,
}

fn uri_of_route(value: &[u8]) -> Option<Uri> {
    NameAddr::parse(value).ok().map(|n| n.uri)
}

fn is_ours(core: &Core, uri: &Uri) -> bool {
    let transport = uri.param("transport").flatten().and_then(parse_transport);
    core.listeners()
        .find(&uri.host, uri.port, transport)
        .is_some()
}

/// How the edge treats a request: the side it arrived on, and the configured answer to Route
/// entries a partner wrote.
#[derive(Clone, Copy)]
pub struct Edge {
    pub side: Side,
    pub foreign_routes: ForeignRoutes,
}

/// `request_uri` is the request's Request-URI as parsed; `from_tag` its From tag, which tells
/// the dialog's initiator from the other side.
pub async fn preprocess(
    core: &Core,
    request: &mut Message,
    mut request_uri: Option<Uri>,
    from_tag: Option<&str>,
    edge: Edge,
) -> Result<Preprocessed, Refusal> {
    let call_id = request.call_id().cloned().unwrap_or_default();
    let target_sealed = unhide_request_uri(core, request, &mut request_uri, &call_id)?;
    // §16.4: a strict router before us put our URI in the Request-URI; the real target is the
    // last Route entry.
    let routes = request.headers.values(HeaderKind::Route);
    if let (Some(uri), Some(last)) = (&request_uri, routes.last()) {
        if is_ours(core, uri) && uri.user.is_none() {
            if let Some(target) = uri_of_route(last) {
                request.set_request_uri(target.to_string());
                remove_last_route(request);
                request_uri = Some(target);
            }
        }
    }

    let mut state: Option<RouteState> = None;
    // How many Route entries on top came out of Legate's own sealed entries.
    let mut sealed_routes = 0usize;
    for _ in 0..2 {
        let Some(top) = request.headers.values(HeaderKind::Route).into_iter().next() else {
            break;
        };
        let Some(uri) = uri_of_route(&top) else { break };
        if !is_ours(core, &uri) {
            break;
        }
        request.headers.pop_first_value(HeaderKind::Route);
        sealed_routes = sealed_routes.saturating_sub(1);
        sealed_routes += unfold_hidden_routes(core, request, &top, &call_id)?;
        if let Some(Some(token)) = uri.param(route_state::STATE_PARAM) {
            let opened = RouteState::open(&core.sealer, token, &call_id)
                .map_err(|error| forbidden(format!("record-route state rejected: {error}")))?;
            state.get_or_insert(opened);
        }
    }
    if edge.side == Side::External {
        drop_foreign_routes(request, sealed_routes, edge.foreign_routes)?;
    }

    // Only Legate's own sealed state earns a request direct next-hop routing. Anything else,
    // in-dialog or not, is routed by target domain through the routes (and the policy of the
    // chain), so a peer cannot use Legate to reach an arbitrary host.
    let Some(state) = state else {
        let to_self = request.headers.count(HeaderKind::Route) == 0
            && request_uri
                .as_ref()
                .is_some_and(|u| is_ours(core, u) && u.user.is_none());
        let decision = if to_self {
            RouteDecision::ToSelf
        } else {
            RouteDecision::ByDomain
        };
        return Ok(Preprocessed {
            decision,
            request_uri,
        });
    };
    // From outside, the state alone is not enough: it can be replayed. The request must go where
    // Legate itself sent the far side for this dialog, a Contact it sealed (its hidden route
    // entries, if any, are sealed too), so a replay reaches nothing the dialog could not.
    if edge.side == Side::External && !target_sealed {
        return Err(forbidden(
            "in-dialog request target was not issued by this gateway".into(),
        ));
    }

    let next = match request.headers.values(HeaderKind::Route).into_iter().next() {
        Some(route) => uri_of_route(&route),
        None => request_uri.clone(),
    };
    let Some(next) = next else {
        return Err(Refusal {
            code: 400,
            reason: "Bad Request",
            warning: "in-dialog request with no usable next hop".into(),
            header: None,
        });
    };
    let mut hop = resolve(&next).await.ok_or_else(|| {
        tracing::info!(host = %next.host, "in-dialog next hop does not resolve");
        Refusal {
            code: 404,
            reason: "Not Found",
            warning: "cannot resolve the next hop".into(),
            header: None,
        }
    })?;

    let from_initiator = from_tag == Some(state.initiator_tag.as_str());
    let egress = if from_initiator {
        state.egress
    } else {
        // Towards the initiator: reuse its connection if it is still up (it may not be
        // reachable at its Contact, e.g. behind NAT).
        if let Some((transport, addr)) = state.initiator_flow {
            if transport != Transport::Udp && core.connections.get(transport, addr).is_some() {
                hop = NextHop {
                    transport,
                    addr,
                    server_name: None,
                };
            }
        }
        state.ingress
    };
    Ok(Preprocessed {
        decision: RouteDecision::InDialog(InDialogRoute {
            hop,
            egress: Some(egress),
        }),
        request_uri,
    })
}

/// Route entries below the sealed ones were written by the partner: an internal loose router
/// would follow them, so they are refused or removed.
fn drop_foreign_routes(
    request: &mut Message,
    sealed_routes: usize,
    policy: ForeignRoutes,
) -> Result<(), Refusal> {
    let routes = request.headers.values(HeaderKind::Route);
    if routes.len() <= sealed_routes {
        return Ok(());
    }
    if policy == ForeignRoutes::Refuse {
        return Err(forbidden(
            "route set names hosts other than this gateway".into(),
        ));
    }
    request.headers.remove_all(HeaderKind::Route);
    for route in routes.into_iter().take(sealed_routes) {
        request
            .headers
            .push(legate_sip::Header::new(HeaderKind::Route, route));
    }
    Ok(())
}

fn remove_last_route(request: &mut Message) {
    let mut routes = request.headers.values(HeaderKind::Route);
    routes.pop();
    request.headers.remove_all(HeaderKind::Route);
    for route in routes {
        request
            .headers
            .push(legate_sip::Header::new(HeaderKind::Route, route));
    }
}

/// A SIP URI's transport, address and port (RFC 3263 without DNS SRV/NAPTR: the URI's own
/// transport parameter, `sips` → TLS, default UDP; host literal or an A/AAAA lookup).
pub async fn resolve(uri: &Uri) -> Option<NextHop> {
    let transport = match uri.param("transport").flatten().and_then(parse_transport) {
        Some(transport) => transport,
        None if uri.scheme.eq_ignore_ascii_case("sips") => Transport::Tls,
        None => Transport::Udp,
    };
    let port = uri.port.unwrap_or(if transport == Transport::Tls {
        5061
    } else {
        5060
    });
    let host = uri.host.trim_start_matches('[').trim_end_matches(']');
    let addr = match host.parse() {
        Ok(ip) => std::net::SocketAddr::new(ip, port),
        Err(_) => tokio::net::lookup_host((host, port)).await.ok()?.next()?,
    };
    let server_name = (transport == Transport::Tls).then(|| host.to_string());
    Some(NextHop {
        transport,
        addr,
        server_name,
    })
}

/// A request to a Contact Legate wrote while hiding the topology goes to the Contact it hid.
/// True when the Request-URI was such a Contact.
/// `request_uri` is the Request-URI as parsed, kept in step.
fn unhide_request_uri(
    core: &Core,
    request: &mut Message,
    request_uri: &mut Option<Uri>,
    call_id: &[u8],
) -> Result<bool, Refusal> {
    let Some(uri) = request_uri else {
        return Ok(false);
    };
    match core.unhide_contact(uri, call_id) {
        None => Ok(false),
        Some(Ok(original)) => {
            *request_uri = Uri::parse(original.as_bytes()).ok();
            request.set_request_uri(original);
            Ok(true)
        }
        Some(Err(error)) => Err(forbidden(format!("contact state rejected: {error}"))),
    }
}

/// Legate's own Route entry may carry the entries it hid from the far side: they become the
/// next Route entries, as if the far side had known them. Returns how many there were.
fn unfold_hidden_routes(
    core: &Core,
    request: &mut Message,
    popped: &[u8],
    call_id: &[u8],
) -> Result<usize, Refusal> {
    let hidden = match core.unfold_route(popped, call_id) {
        Ok(Some((_, hidden))) => hidden,
        Ok(None) => return Ok(0),
        Err(error) => return Err(forbidden(format!("hidden route set rejected: {error}"))),
    };
    let count = hidden.len();
    let remaining = request.headers.values(HeaderKind::Route);
    request.headers.remove_all(HeaderKind::Route);
    let restored = hidden.into_iter().map(bytes::Bytes::from).chain(remaining);
    for value in restored {
        request
            .headers
            .push(legate_sip::Header::new(HeaderKind::Route, value));
    }
    Ok(count)
}

fn forbidden(warning: String) -> Refusal {
    Refusal {
        code: 403,
        reason: "Forbidden",
        warning,
        header: None,
    }
}
