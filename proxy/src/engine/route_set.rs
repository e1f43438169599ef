//! Route pre-processing (RFC 3261 §16.4): strict-router fix-up, popping Legate's own Route
//! entries (checking the signed state they carry), and finding an in-dialog request's next hop.

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

fn uri_of_route(value: &[u8]) -> Option<Uri> {
    NameAddr::parse(value).ok().map(|n| n.uri)
}

fn is_ours(core: &Core, uri: &Uri) -> bool {
    let transport = uri.param("transport").flatten().and_then(parse_transport);
    core.listeners()
        .find(&uri.host, uri.port, transport)
        .is_some()
}

pub async fn preprocess(core: &Core, request: &mut Message) -> Result<RouteDecision, Refusal> {
    let call_id = request.call_id().cloned().unwrap_or_default();
    unhide_request_uri(core, request, &call_id)?;
    // §16.4: a strict router before us put our URI in the Request-URI; the real target is the
    // last Route entry.
    let request_uri = request.request_uri().and_then(|u| Uri::parse(u).ok());
    let routes = request.headers.values(HeaderKind::Route);
    if let (Some(uri), Some(last)) = (&request_uri, routes.last()) {
        if is_ours(core, uri) && uri.user.is_none() {
            if let Some(target) = uri_of_route(last) {
                request.set_request_uri(target.to_string());
                remove_last_route(request);
            }
        }
    }

    let mut state: Option<RouteState> = None;
    for _ in 0..2 {
        let Some(top) = request.headers.values(HeaderKind::Route).into_iter().next() else {
            break;
        };
        let Some(uri) = uri_of_route(&top) else { break };
        if !is_ours(core, &uri) {
            break;
        }
        request.headers.pop_first_value(HeaderKind::Route);
        unfold_hidden_routes(core, request, &top, &call_id)?;
        let carried = (
            uri.param(route_state::STATE_PARAM),
            uri.param(route_state::MAC_PARAM),
        );
        if let (Some(s), Some(m)) = carried {
            let decoded = core
                .signer
                .decode(s, m, &call_id)
                .map_err(|error| Refusal {
                    code: 403,
                    reason: "Forbidden",
                    warning: format!("record-route state rejected: {error}"),
                    header: None,
                })?;
            state.get_or_insert(decoded);
        }
    }

    // Only Legate's own signed state earns a request direct next-hop routing. Anything else,
    // in-dialog or not, is routed by target domain through the routes (and the policy of the
    // chain), so a peer cannot use Legate to reach an arbitrary host.
    let Some(state) = state else {
        let to_self = request.headers.count(HeaderKind::Route) == 0
            && request
                .request_uri()
                .and_then(|u| Uri::parse(u).ok())
                .is_some_and(|u| is_ours(core, &u) && u.user.is_none());
        return Ok(if to_self {
            RouteDecision::ToSelf
        } else {
            RouteDecision::ByDomain
        });
    };

    let next = match request.headers.values(HeaderKind::Route).into_iter().next() {
        Some(route) => uri_of_route(&route),
        None => request.request_uri().and_then(|u| Uri::parse(u).ok()),
    };
    let Some(next) = next else {
        return Err(Refusal {
            code: 400,
            reason: "Bad Request",
            warning: "in-dialog request with no usable next hop".into(),
            header: None,
        });
    };
    let mut hop = resolve(&next).await.ok_or_else(|| Refusal {
        code: 404,
        reason: "Not Found",
        warning: format!("cannot resolve next hop {}", next.host),
        header: None,
    })?;

    let from_initiator = request
        .from_header()
        .ok()
        .is_some_and(|from| from.tag() == Some(state.initiator_tag.as_str()));
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
    Ok(RouteDecision::InDialog(InDialogRoute {
        hop,
        egress: Some(egress),
    }))
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
fn unhide_request_uri(core: &Core, request: &mut Message, call_id: &[u8]) -> Result<(), Refusal> {
    let Some(uri) = request.request_uri().and_then(|u| Uri::parse(u).ok()) else {
        return Ok(());
    };
    match core.unhide_contact(&uri, call_id) {
        None => Ok(()),
        Some(Ok(original)) => {
            request.set_request_uri(original);
            Ok(())
        }
        Some(Err(error)) => Err(forbidden(format!("contact state rejected: {error}"))),
    }
}

/// Legate's own Route entry may carry the entries it hid from the far side: they become the
/// next Route entries, as if the far side had known them.
fn unfold_hidden_routes(
    core: &Core,
    request: &mut Message,
    popped: &[u8],
    call_id: &[u8],
) -> Result<(), Refusal> {
    let hidden = match core.unfold_route(popped, call_id) {
        Ok(Some((_, hidden))) => hidden,
        Ok(None) => return Ok(()),
        Err(error) => return Err(forbidden(format!("hidden route set rejected: {error}"))),
    };
    let remaining = request.headers.values(HeaderKind::Route);
    request.headers.remove_all(HeaderKind::Route);
    let restored = hidden.into_iter().map(bytes::Bytes::from).chain(remaining);
    for value in restored {
        request
            .headers
            .push(legate_sip::Header::new(HeaderKind::Route, value));
    }
    Ok(())
}

fn forbidden(warning: String) -> Refusal {
    Refusal {
        code: 403,
        reason: "Forbidden",
        warning,
        header: None,
    }
}
