//! Transports: UDP sockets, TCP and TLS connections, and the flows that send on them.
//!
//! A [`Flow`] is a way to send bytes to one peer: a UDP socket plus the peer's address, or a
//! stream connection. Requests remember the flow they arrived on so responses go back the same
//! way (RFC 3261 §18.2.2); connections are kept in [`Connections`] and reused in both directions.

mod connections;
mod peer_verifier;
mod phase;
mod stream;
mod tls;
mod tls_clients;
mod udp;
mod udp_socket;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;

pub use connections::{ConnectionKey, Connections, Dial};
pub use legate_api::Transport;
pub use phase::{ListenerPhase, PhaseControl, PhaseWatch};
pub use stream::{serve_tcp_listener, StreamOptions};
pub use tls::{server_acceptor, RotatingAcceptor};
pub use tls_clients::{ServerTrust, TlsClients};
pub use udp::serve_udp_socket;
pub use udp_socket::UdpSocket;

use legate_filters_api::TlsPeerIdentity;

/// How long an outbound TCP connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a connection whose peer stopped sending (or that broke framing) stays open for
/// answers already on their way, such as the 400 after a framing error.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Where a message came from and how to answer on the same path.
#[derive(Clone)]
pub struct Flow {
    pub transport: Transport,
    pub remote: SocketAddr,
    pub local: SocketAddr,
    sender: Sender,
}

#[derive(Clone)]
enum Sender {
    Udp(Arc<UdpSocket>),
    Stream(ConnectionHandle),
}

/// The sending half of a stream connection; the connection's writer task owns the socket.
#[derive(Clone)]
pub struct ConnectionHandle {
    pub id: u64,
    /// The local address flows on this connection report: the accepting listener's, or for
    /// outbound connections the listener they leave by.
    pub local: SocketAddr,
    tx: mpsc::Sender<Bytes>,
    pub peer_identity: Option<Arc<TlsPeerIdentity>>,
}

impl ConnectionHandle {
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

impl Flow {
    pub fn udp(socket: Arc<UdpSocket>, local: SocketAddr, remote: SocketAddr) -> Flow {
        Flow {
            transport: Transport::Udp,
            remote,
            local,
            sender: Sender::Udp(socket),
        }
    }

    pub fn stream(
        transport: Transport,
        local: SocketAddr,
        remote: SocketAddr,
        handle: ConnectionHandle,
    ) -> Flow {
        Flow {
            transport,
            remote,
            local,
            sender: Sender::Stream(handle),
        }
    }

    /// The same UDP socket towards another address (responses routed by Via).
    pub fn redirect(&self, remote: SocketAddr) -> Option<Flow> {
        match &self.sender {
            Sender::Udp(socket) => Some(Flow::udp(socket.clone(), self.local, remote)),
            Sender::Stream(_) => None,
        }
    }

    pub fn is_reliable(&self) -> bool {
        self.transport != Transport::Udp
    }

    pub fn peer_identity(&self) -> Option<Arc<TlsPeerIdentity>> {
        match &self.sender {
            Sender::Stream(handle) => handle.peer_identity.clone(),
            Sender::Udp(_) => None,
        }
    }

    /// Sends without waiting: a full socket buffer or connection queue drops the message, as a
    /// lossy network would (retransmissions recover on UDP; streams rarely fill).
    pub fn try_send(&self, bytes: Bytes) {
        let sent = match &self.sender {
            Sender::Udp(socket) => socket.try_send_to(&bytes, self.remote).is_ok(),
            Sender::Stream(handle) => handle.tx.try_send(bytes).is_ok(),
        };
        if !sent {
            tracing::debug!(flow = ?self, "message dropped: send buffer full");
        }
    }

    pub async fn send(&self, bytes: Bytes) -> io::Result<()> {
        match &self.sender {
            Sender::Udp(socket) => socket.send_to(&bytes, self.remote).await.map(|_| ()),
            Sender::Stream(handle) => handle
                .tx
                .send(bytes)
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "connection closed")),
        }
    }
}

impl fmt::Debug for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} {} -> {}", self.transport, self.local, self.remote)
    }
}

/// The lower-case transport token used in URIs and the upper-case one used in Via.
pub fn transport_token(transport: Transport) -> (&'static str, &'static str) {
    match transport {
        Transport::Udp => ("udp", "UDP"),
        Transport::Tcp => ("tcp", "TCP"),
        Transport::Tls => ("tls", "TLS"),
    }
}

/// Parses a transport token from a URI parameter or a Via.
pub fn parse_transport(token: &str) -> Option<Transport> {
    match token.to_ascii_lowercase().as_str() {
        "udp" => Some(Transport::Udp),
        "tcp" => Some(Transport::Tcp),
        "tls" => Some(Transport::Tls),
        _ => None,
    }
}

/// Called for every complete message a transport receives.
pub trait Inbound: Send + Sync + 'static {
    fn on_message(&self, flow: Flow, bytes: Bytes);
    /// A stream could not be framed (bad or missing Content-Length, oversized header): the
    /// connection is closed after the answer, if one can be built from `head`.
    fn on_framing_error(&self, flow: Flow, error: legate_sip::FramingError);
}
