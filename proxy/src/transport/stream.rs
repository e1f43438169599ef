//! TCP and TLS connections: accept, frame by Content-Length, write from a queue.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use legate_sip::{Frame, Limits, StreamFramer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

use super::phase::{closed, stopped_accepting, PhaseWatch};
use super::{
    tls, ConnectionHandle, ConnectionKey, Connections, Flow, Inbound, Transport, CLOSE_GRACE,
};
use legate_filters::TlsPeerIdentity;

static NEXT_CONNECTION_ID: AtomicU64 = AtomicU64::new(1);

/// A peer that takes no bytes for this long is taken as gone and its connection closed.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// How connections of one listener (or outbound connections) behave.
#[derive(Clone)]
pub struct StreamOptions {
    pub transport: Transport,
    pub limits: Limits,
    /// Connections with no traffic for this long are closed.
    pub idle_timeout: Duration,
    pub tls: Option<super::RotatingAcceptor>,
    /// The phase of the listener that accepted the connection: when it closes, so do they.
    /// `None` for outbound connections.
    pub phase: Option<PhaseWatch>,
}

/// Accepts connections while the listener serves, serving each on its own task.
pub async fn serve_tcp_listener(
    listener: TcpListener,
    options: StreamOptions,
    connections: Arc<Connections>,
    inbound: Arc<dyn Inbound>,
    mut phase: PhaseWatch,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, remote)) => {
                    let _ = socket.set_nodelay(true);
                    let local = socket.local_addr().unwrap_or(remote);
                    let options = options.clone();
                    let connections = connections.clone();
                    let inbound = inbound.clone();
                    tokio::spawn(async move {
                        let key = ConnectionKey::unnamed(options.transport, remote);
                        match &options.tls {
                            None => {
                                spawn_connection(socket, None, local, key, options, connections, inbound);
                            }
                            Some(acceptor) => match tls::accept(&acceptor.load_full(), socket).await {
                                Ok((stream, identity)) => {
                                    spawn_connection(stream, identity, local, key, options, connections, inbound);
                                }
                                Err(error) => tracing::info!(%remote, %error, "tls handshake failed"),
                            },
                        }
                    });
                }
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = stopped_accepting(&mut phase) => return,
        }
    }
}

/// Registers an established connection (inbound or outbound) and serves it on its own task
/// until it closes. Returns the handle, already in the table under `key`.
pub(crate) fn spawn_connection<S>(
    stream: S,
    identity: Option<TlsPeerIdentity>,
    local: SocketAddr,
    key: ConnectionKey,
    options: StreamOptions,
    connections: Arc<Connections>,
    inbound: Arc<dyn Inbound>,
) -> ConnectionHandle
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (tx, rx) = mpsc::channel(256);
    let handle = ConnectionHandle {
        id: NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed),
        local,
        tx,
        peer_identity: identity.map(Arc::new),
    };
    connections.insert(key.clone(), handle.clone());
    let serving = handle.clone();
    tokio::spawn(read_and_write(
        stream,
        rx,
        serving,
        local,
        key,
        options,
        connections,
        inbound,
    ));
    handle
}

#[allow(clippy::too_many_arguments)]
async fn read_and_write<S>(
    stream: S,
    mut outgoing: mpsc::Receiver<Bytes>,
    handle: ConnectionHandle,
    local: SocketAddr,
    key: ConnectionKey,
    options: StreamOptions,
    connections: Arc<Connections>,
    inbound: Arc<dyn Inbound>,
) where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (mut reader, mut writer) = tokio::io::split(stream);
    // Dropped (never sent) when the reading side is done and the close grace has passed.
    let (stop_writing, mut stopped) = oneshot::channel::<()>();
    let mut writer_task = tokio::spawn(async move {
        loop {
            let bytes = tokio::select! {
                next = outgoing.recv() => match next {
                    Some(bytes) => bytes,
                    None => break,
                },
                _ = &mut stopped => {
                    // Refuse anything new (handles now report closed), send what is queued.
                    outgoing.close();
                    while let Ok(bytes) = outgoing.try_recv() {
                        if !write_bounded(&mut writer, &bytes).await {
                            break;
                        }
                    }
                    break;
                }
            };
            if !write_bounded(&mut writer, &bytes).await {
                break;
            }
        }
        let _ = tokio::time::timeout(WRITE_TIMEOUT, writer.shutdown()).await;
    });
    let flow = Flow::stream(options.transport, local, key.remote, handle.clone());
    let mut framer = StreamFramer::new(options.limits);
    let mut phase = options.phase.clone();
    'read: loop {
        let read = tokio::time::timeout(options.idle_timeout, reader.read_buf(framer.buffer_mut()));
        let listener_closed = async {
            match phase.as_mut() {
                Some(phase) => closed(phase).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            read = read => match read {
                Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
                Ok(Ok(_)) => {}
            },
            () = listener_closed => break,
        }
        loop {
            match framer.next_frame() {
                Ok(Some(Frame::Message(bytes))) => inbound.on_message(flow.clone(), bytes),
                Ok(Some(Frame::KeepAlive)) => {
                    // RFC 5626 §4.4.1: answer a double-CRLF ping with a single CRLF pong.
                    let _ = flow.send(Bytes::from_static(b"\r\n")).await;
                }
                Ok(None) => break,
                Err(error) => {
                    inbound.on_framing_error(flow.clone(), error);
                    break 'read;
                }
            }
        }
    }
    connections.remove(&key, handle.id);
    drop(flow);
    drop(handle);
    // Answers on their way (a 400 after a framing error) get a moment to be queued and leave.
    // Transactions may hold this connection's handle for a long while after that; the socket
    // is closed regardless, instead of lingering half-closed until they end.
    if tokio::time::timeout(CLOSE_GRACE, &mut writer_task)
        .await
        .is_err()
    {
        drop(stop_writing);
        let _ = writer_task.await;
    }
}

/// Writes one message; false if the connection is broken or the peer stopped reading.
async fn write_bounded<W: AsyncWrite + Unpin>(writer: &mut W, bytes: &[u8]) -> bool {
    matches!(
        tokio::time::timeout(WRITE_TIMEOUT, writer.write_all(bytes)).await,
        Ok(Ok(()))
    )
}
