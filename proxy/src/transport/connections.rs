//! The table of live stream connections, for reuse in both directions, and outbound connects.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use tokio::net::TcpStream;

use super::stream::{spawn_connection, StreamOptions};
use super::tls::TlsClients;
use super::{tls, ConnectionHandle, Flow, Inbound, Transport, CONNECT_TIMEOUT};

/// Live connections keyed by transport and peer address.
pub struct Connections {
    live: Mutex<HashMap<(Transport, SocketAddr), ConnectionHandle>>,
    inbound: OnceLock<Arc<dyn Inbound>>,
    outbound: StreamOptions,
    tls_clients: TlsClients,
}

impl Connections {
    pub fn new(outbound: StreamOptions, tls_clients: TlsClients) -> Connections {
        Connections {
            live: Mutex::new(HashMap::new()),
            inbound: OnceLock::new(),
            outbound,
            tls_clients,
        }
    }

    /// Where messages read from outbound connections go; set once at start.
    pub fn set_inbound(&self, inbound: Arc<dyn Inbound>) {
        let _ = self.inbound.set(inbound);
    }

    pub fn insert(&self, transport: Transport, remote: SocketAddr, handle: ConnectionHandle) {
        if let Ok(mut live) = self.live.lock() {
            live.insert((transport, remote), handle);
        }
    }

    /// Removes the entry only if it is still the same connection (a newer one may replace it).
    pub fn remove(&self, transport: Transport, remote: SocketAddr, id: u64) {
        if let Ok(mut live) = self.live.lock() {
            if live.get(&(transport, remote)).is_some_and(|h| h.id == id) {
                live.remove(&(transport, remote));
            }
        }
    }

    pub fn get(&self, transport: Transport, remote: SocketAddr) -> Option<ConnectionHandle> {
        let live = self.live.lock().ok()?;
        live.get(&(transport, remote))
            .filter(|handle| !handle.is_closed())
            .cloned()
    }

    /// A flow to `remote`: an existing connection if there is one, else a new one.
    ///
    /// `listener` is the bound address of the listener the connection leaves by. Requests the
    /// peer sends back on a new connection are taken as arriving on that listener (so they run
    /// its filter chain, on its side of the boundary); without one, the connection's own local
    /// address stands in.
    pub async fn connect(
        self: &Arc<Self>,
        transport: Transport,
        remote: SocketAddr,
        server_name: Option<&str>,
        listener: Option<SocketAddr>,
    ) -> io::Result<Flow> {
        if let Some(handle) = self.get(transport, remote) {
            return Ok(Flow::stream(transport, handle.local, remote, handle));
        }
        let inbound = self
            .inbound
            .get()
            .cloned()
            .ok_or_else(|| io::Error::other("transports not started"))?;
        let socket = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(remote))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
        let _ = socket.set_nodelay(true);
        let local = match listener {
            Some(listener) => listener,
            None => socket.local_addr()?,
        };
        let mut options = self.outbound.clone();
        options.transport = transport;
        let this = self.clone();
        let handle = match transport {
            Transport::Tcp => spawn_connection(socket, None, local, remote, options, this, inbound),
            Transport::Tls => {
                let name = server_name
                    .map(str::to_string)
                    .unwrap_or_else(|| remote.ip().to_string());
                let config = self.tls_clients.for_endpoint(remote);
                let stream = tls::connect(config, &name, socket).await?;
                spawn_connection(stream, None, local, remote, options, this, inbound)
            }
            Transport::Udp => return Err(io::Error::other("udp is not connection-oriented")),
        };
        Ok(Flow::stream(transport, local, remote, handle))
    }
}
