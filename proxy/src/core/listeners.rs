//! The listeners Legate is bound to: which addresses are "us", and which socket to leave from.
//! A listener that a new snapshot removed stays in the set while it drains, so answers and
//! in-dialog requests reaching it are still ours, but nothing new leaves by it.

use std::net::SocketAddr;
use std::sync::Arc;

use legate_filters_api::{ListenerInfo, Transport};
use legate_sip::Text;

use crate::transport::{transport_token, Flow, ListenerPhase, PhaseControl, UdpSocket};

/// One bound listener as the core sees it.
#[derive(Clone)]
pub struct ListenerRuntime {
    pub info: ListenerInfo,
    /// Host and port written into Via and Record-Route.
    pub advertised_host: Text,
    pub advertised_port: u16,
    /// `advertised_host:advertised_port`, written once.
    host_port: String,
    /// A UDP listener's sockets, one per worker (see [`crate::workers`]).
    pub udp: Option<Arc<[Arc<UdpSocket>]>>,
    /// The TLS acceptor of a TLS listener, replaced when a snapshot rotates its certificate.
    pub tls: Option<crate::transport::RotatingAcceptor>,
    pub phase: PhaseControl,
}

impl ListenerRuntime {
    pub fn transport(&self) -> Transport {
        self.info.transport
    }

    pub fn is_serving(&self) -> bool {
        self.phase.current() == ListenerPhase::Serving
    }

    /// A listener that advertises `host:port` in Via sent-by and Record-Route.
    pub fn new(info: ListenerInfo, advertised_host: String, advertised_port: u16) -> Self {
        ListenerRuntime {
            host_port: format!("{advertised_host}:{advertised_port}"),
            info,
            advertised_host: advertised_host.into(),
            advertised_port,
            udp: None,
            tls: None,
            phase: PhaseControl::new(),
        }
    }

    /// `host:port` as written in Via sent-by and Record-Route.
    pub fn host_port(&self) -> &str {
        &self.host_port
    }

    /// The Record-Route URI for this listener, before Legate's state parameters.
    pub fn route_uri(&self) -> String {
        let (token, _) = transport_token(self.transport());
        format!("sip:{};transport={token};lr", self.host_port())
    }

    /// A UDP flow from this listener's address, by the socket of the worker sending (the
    /// first socket off the workers).
    pub fn udp_flow(&self, remote: SocketAddr) -> Option<Flow> {
        let sockets = self.udp.as_ref()?;
        let index = crate::workers::current().unwrap_or(0) % sockets.len().max(1);
        let socket = sockets.get(index)?;
        Some(Flow::udp(socket.clone(), self.info.local_addr, remote))
    }
}

/// Serving and draining listeners. Lookups that take either prefer a serving one, which is
/// the one that counts when a listener was moved and its old socket drains under the same name.
#[derive(Clone, Default)]
pub struct Listeners {
    all: Vec<ListenerRuntime>,
}

impl Listeners {
    pub fn new(all: Vec<ListenerRuntime>) -> Listeners {
        Listeners { all }
    }

    /// Every listener, draining ones included.
    pub fn iter(&self) -> impl Iterator<Item = &ListenerRuntime> {
        self.all.iter()
    }

    /// The listeners new traffic may leave by.
    pub fn serving(&self) -> impl Iterator<Item = &ListenerRuntime> {
        self.all.iter().filter(|l| l.is_serving())
    }

    pub fn by_name(&self, name: &str) -> Option<&ListenerRuntime> {
        self.serving_first(|l| &*l.info.name == name)
    }

    fn serving_first(
        &self,
        matches: impl Fn(&ListenerRuntime) -> bool,
    ) -> Option<&ListenerRuntime> {
        self.serving()
            .find(|l| matches(l))
            .or_else(|| self.all.iter().find(|l| matches(l)))
    }

    /// The listener a request to `transport` leaves from: one on the other side of the boundary
    /// if there is one (an edge gateway keeps internal and external networks apart), else the
    /// ingress listener itself, else any listener of that transport.
    pub fn egress(&self, transport: Transport, ingress: &ListenerInfo) -> Option<&ListenerRuntime> {
        let same_transport = || self.serving().filter(move |l| l.transport() == transport);
        same_transport()
            .find(|l| l.info.side != ingress.side)
            .or_else(|| same_transport().find(|l| l.info.name == ingress.name))
            .or_else(|| same_transport().next())
    }

    /// The listener that `host:port` names, if it is one of ours (advertised or bound address).
    pub fn find(
        &self,
        host: &str,
        port: Option<u16>,
        transport: Option<Transport>,
    ) -> Option<&ListenerRuntime> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        // Parsed once rather than each listener's address printed for the comparison.
        let host_ip = host.parse::<std::net::IpAddr>().ok();
        self.serving_first(|l| {
            let default_port = if l.transport() == Transport::Tls {
                5061
            } else {
                5060
            };
            let port = port.unwrap_or(default_port);
            let transport_ok = transport.is_none_or(|t| t == l.transport());
            let advertised = l
                .advertised_host
                .trim_start_matches('[')
                .trim_end_matches(']');
            let host_ok = advertised.eq_ignore_ascii_case(host)
                || host_ip.is_some_and(|ip| ip == l.info.local_addr.ip());
            transport_ok
                && host_ok
                && (port == l.advertised_port || port == l.info.local_addr.port())
        })
    }

    pub fn is_local(&self, host: &str, port: Option<u16>) -> bool {
        self.find(host, port, None).is_some()
    }

    /// Any serving listener (for Via of stateless forwarding when nothing better is known).
    pub fn first(&self) -> Option<&ListenerRuntime> {
        self.serving().next()
    }
}

impl Listeners {
    /// The listener an in-dialog request leaves by: the one named in Legate's Record-Route state
    /// when its transport fits, else the usual egress choice.
    pub fn in_dialog_egress(
        &self,
        named: Option<&str>,
        transport: Transport,
        ingress: &ListenerInfo,
    ) -> Option<&ListenerRuntime> {
        named
            .and_then(|name| self.by_name(name))
            .filter(|l| l.transport() == transport && l.is_serving())
            .or_else(|| self.egress(transport, ingress))
    }

    /// The listener a flow arrived on (a draining one too); flows on connections Legate opened
    /// itself belong to the first serving listener of their transport.
    pub fn of_flow(&self, flow: &Flow) -> Option<&ListenerRuntime> {
        let exact = self
            .all
            .iter()
            .find(|l| l.transport() == flow.transport && l.info.local_addr == flow.local);
        if exact.is_some() {
            return exact;
        }
        let same_transport = || {
            self.serving()
                .filter(move |l| l.transport() == flow.transport)
        };
        same_transport()
            .find(|l| l.info.local_addr.port() == flow.local.port())
            .or_else(|| same_transport().next())
            .or_else(|| self.first())
    }
}
