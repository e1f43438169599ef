//! Stateless forwarding (§16.11): responses that match no client transaction (2xx
//! retransmissions) go back along the Via path; ACKs for 2xx go forward along the route.

use std::net::SocketAddr;

use legate_sip::{Message, Via};

use super::{Core, NextHop};
use crate::transport::{parse_transport, Flow};

impl Core {
    /// Removes Legate's Via from `response` and sends it to the next Via. Drops the response if
    /// the top Via is not Legate's (§16.7 item 3) or the next one is unusable: a stray response
    /// from an external source then costs that source as a request would.
    pub async fn forward_response_statelessly(&self, mut response: Message, arrived: &Flow) {
        let Some(top) = response.top_via().ok() else {
            return self.stray_response(arrived, &response);
        };
        if !self.listeners().is_local(&top.host, top.port) {
            tracing::debug!("dropping response whose top Via is not ours");
            return self.stray_response(arrived, &response);
        }
        self.unhide_response(&mut response, &top);
        let Ok(next) = response.top_via() else {
            return;
        };
        let Some(hop) = via_destination(&next) else {
            return self.stray_response(arrived, &response);
        };
        let flow = match hop.transport {
            crate::transport::Transport::Udp => arrived.redirect(hop.addr).or_else(|| {
                self.listeners()
                    .serving()
                    .find_map(|l| l.udp_flow(hop.addr))
            }),
            transport => self
                .connections
                .get(transport, hop.addr)
                .map(|handle| Flow::stream(transport, hop.addr, hop.addr, handle)),
        };
        if let Some(flow) = flow {
            if let Some(listener) = self.listeners().of_flow(&flow).filter(|l| self.hides(l)) {
                self.hide_response(&mut response, listener);
            }
            let _ = flow.send(response.to_bytes()).await;
        }
    }
}

/// Where a response goes per a Via (§18.2.2 and RFC 3581): `received` and `rport` when present.
pub fn via_destination(via: &Via) -> Option<NextHop> {
    let transport = parse_transport(&via.transport)?;
    let host = match via.param("received") {
        Some(Some(received)) => received,
        _ => &via.host,
    };
    let port = match via.param("rport") {
        Some(Some(port)) => port.parse().ok()?,
        _ => via.sent_by_port_or_default(),
    };
    let ip = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()?;
    Some(NextHop {
        transport,
        addr: SocketAddr::new(ip, port),
        server_name: None,
    })
}

impl Core {
    fn stray_response(&self, arrived: &Flow, response: &Message) {
        if let Some(source) = self.external_source(arrived) {
            self.sources.charge_stray(source, response.encoded_len());
        }
    }
}
