//! The table of live stream connections, for reuse in both directions, and outbound connects.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use arc_swap::ArcSwap;
use legate_filters_api::ListenerInfo;
use tokio::net::TcpStream;

use super::stream::{spawn_connection, StreamOptions};
use super::tls_clients::{ServerTrust, TlsClients};
use super::{ConnectionHandle, Flow, Inbound, PhaseWatch, Transport, CONNECT_TIMEOUT};

/// What a connection in the table is reused for: its transport, the peer's address and, for
/// outbound TLS, the server name the peer's certificate was verified for. A connection made to
/// partner A (A's name, A's trust) is never handed out for partner B at the same address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConnectionKey {
    pub transport: Transport,
    pub remote: SocketAddr,
    /// `None` for accepted connections and plain TCP.
    pub server_name: Option<Arc<str>>,
}

impl ConnectionKey {
    /// The key of an accepted connection, or of an outbound one without TLS.
    pub fn unnamed(transport: Transport, remote: SocketAddr) -> ConnectionKey {
        ConnectionKey {
            transport,
            remote,
            server_name: None,
        }
    }
}

/// An outbound connection to make (or reuse).
pub struct Dial<'a> {
    pub transport: Transport,
    pub remote: SocketAddr,
    /// The name the server's certificate must carry (TLS); the address when unset.
    pub server_name: Option<&'a str>,
    /// The listener the connection leaves by. Requests the peer sends back on the connection
    /// are taken as arriving on it (so they run its filter chain, on its side of the boundary);
    /// its certificate is the one presented. Without one, the connection's own local address
    /// stands in and no certificate is presented.
    pub listener: Option<&'a ListenerInfo>,
    /// That listener's phase: a connection leaving by it closes when it does, so a peer can
    /// never speak over it once the listener (and its side of the boundary) is gone.
    pub listener_phase: Option<PhaseWatch>,
    pub trust: ServerTrust<'a>,
}

/// Live connections, by [`ConnectionKey`].
pub struct Connections {
    live: Mutex<HashMap<ConnectionKey, ConnectionHandle>>,
    inbound: OnceLock<Arc<dyn Inbound>>,
    outbound: StreamOptions,
    /// Replaced by each snapshot; connections already made keep what they were verified with.
    tls_clients: ArcSwap<TlsClients>,
}

impl Connections {
    pub fn new(outbound: StreamOptions, tls_clients: TlsClients) -> Connections {
        Connections {
            live: Mutex::new(HashMap::new()),
            inbound: OnceLock::new(),
            outbound,
            tls_clients: ArcSwap::from_pointee(tls_clients),
        }
    }

    /// Where messages read from outbound connections go; set once at start.
    pub fn set_inbound(&self, inbound: Arc<dyn Inbound>) {
        let _ = self.inbound.set(inbound);
    }

    /// Where messages read from any connection go, once transports have started.
    pub fn inbound(&self) -> Option<Arc<dyn Inbound>> {
        self.inbound.get().cloned()
    }

    /// What new outbound TLS connections trust and present from now on.
    pub fn replace_tls_clients(&self, tls_clients: TlsClients) {
        self.tls_clients.store(Arc::new(tls_clients));
    }

    pub fn insert(&self, key: ConnectionKey, handle: ConnectionHandle) {
        if let Ok(mut live) = self.live.lock() {
            live.insert(key, handle);
        }
    }

    /// Removes the entry only if it is still the same connection (a newer one may replace it).
    pub fn remove(&self, key: &ConnectionKey, id: u64) {
        if let Ok(mut live) = self.live.lock() {
            if live.get(key).is_some_and(|h| h.id == id) {
                live.remove(key);
            }
        }
    }

    /// A live unnamed connection with `remote`: one it opened to Legate, or a plain TCP one.
    pub fn get(&self, transport: Transport, remote: SocketAddr) -> Option<ConnectionHandle> {
        self.get_key(&ConnectionKey::unnamed(transport, remote))
    }

    fn get_key(&self, key: &ConnectionKey) -> Option<ConnectionHandle> {
        let live = self.live.lock().ok()?;
        live.get(key).filter(|handle| !handle.is_closed()).cloned()
    }

    /// A flow for `dial`: an existing connection with the same key if there is one, else a new
    /// one.
    pub async fn connect(self: &Arc<Self>, dial: Dial<'_>) -> io::Result<Flow> {
        let Dial {
            transport, remote, ..
        } = dial;
        // A hop given by address alone (towards a dialog's initiator) may ride the connection
        // the peer opened to us: its certificate was checked when it connected, and behind NAT
        // it is the only way back.
        if dial.server_name.is_none() {
            if let Some(handle) = self.get(transport, remote) {
                return Ok(Flow::stream(transport, handle.local, remote, handle));
            }
        }
        let server_name: Option<Arc<str>> = match transport {
            Transport::Tls => Some(match dial.server_name {
                Some(name) => name.into(),
                None => remote.ip().to_string().into(),
            }),
            _ => None,
        };
        let key = ConnectionKey {
            transport,
            remote,
            server_name,
        };
        if let Some(handle) = self.get_key(&key) {
            return Ok(Flow::stream(transport, handle.local, remote, handle));
        }
        let inbound = self
            .inbound
            .get()
            .cloned()
            .ok_or_else(|| io::Error::other("transports not started"))?;
        let tls_config = match (&key.server_name, dial.trust) {
            (None, _) => None,
            (Some(_), trust) => {
                let listener = dial.listener.map(|l| &*l.name);
                Some(
                    self.tls_clients
                        .load()
                        .config(trust, remote, listener)
                        .ok_or_else(|| io::Error::other(format!("no tls setup for {trust:?}")))?,
                )
            }
        };
        let socket = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(remote))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
        let _ = socket.set_nodelay(true);
        let local = match dial.listener {
            Some(listener) => listener.local_addr,
            None => socket.local_addr()?,
        };
        let mut options = self.outbound.clone();
        options.transport = transport;
        options.phase = dial.listener_phase.clone();
        let this = self.clone();
        let handle = match (transport, tls_config, &key.server_name) {
            (Transport::Tcp, _, _) => {
                spawn_connection(socket, None, local, key, options, this, inbound, None)
            }
            (Transport::Tls, Some(config), Some(name)) => {
                let stream = legate_tls::connect(config, name, socket).await?;
                spawn_connection(stream, None, local, key, options, this, inbound, None)
            }
            _ => return Err(io::Error::other("udp is not connection-oriented")),
        };
        Ok(Flow::stream(transport, local, remote, handle))
    }
}
