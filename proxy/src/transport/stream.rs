//! TCP and TLS connections: accept, frame by Content-Length, write from a queue.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use legate_sip::{Frame, Limits, Progress, StreamFramer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::phase::{closed, stopped_accepting, PhaseWatch};
use super::{
    tls, ConnectionHandle, ConnectionKey, Connections, Flow, Inbound, Transport, CLOSE_GRACE,
};
use crate::sources::{ConnectionSlot, Sources, ThrottledLog};
use legate_filters_api::TlsPeerIdentity;

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
    /// The edge's limits: every stream keeps its deadlines; connections accepted by an
    /// external listener (`guarded`) also count against their source's limits.
    pub edge: Arc<Sources>,
    pub guarded: bool,
    /// The listener's `legate_listener_connections_active`; `None` for outbound connections.
    pub active: Option<prometheus::IntGauge>,
}

/// How long to wait before accepting again after an accept failed, at first and at most: a
/// failure (descriptors exhausted) repeats at once, so waiting longer each time keeps the loop
/// from spinning.
const ACCEPT_BACKOFF: (Duration, Duration) = (Duration::from_millis(10), Duration::from_secs(1));

static ACCEPT_FAILED: ThrottledLog = ThrottledLog::new(Duration::from_secs(10));
static DEADLINE_MISSED: ThrottledLog = ThrottledLog::new(Duration::from_secs(10));

/// Accepts connections while the listener serves, serving each on its own task.
pub async fn serve_tcp_listener(
    listener: TcpListener,
    options: StreamOptions,
    connections: Arc<Connections>,
    inbound: Arc<dyn Inbound>,
    mut phase: PhaseWatch,
) {
    let mut backoff = ACCEPT_BACKOFF.0;
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, remote)) => {
                    backoff = ACCEPT_BACKOFF.0;
                    // Refused before a byte is read or a handshake made: dropping the socket
                    // closes it at once.
                    let slot = match options.guarded {
                        true => match options.edge.admit_connection(remote.ip()) {
                            Ok(slot) => Some(slot),
                            Err(_) => continue,
                        },
                        false => None,
                    };
                    let _ = socket.set_nodelay(true);
                    let local = socket.local_addr().unwrap_or(remote);
                    let options = options.clone();
                    let connections = connections.clone();
                    let inbound = inbound.clone();
                    tokio::spawn(async move {
                        let key = ConnectionKey::unnamed(options.transport, remote);
                        match &options.tls {
                            None => {
                                spawn_connection(socket, None, local, key, options, connections, inbound, slot);
                            }
                            Some(acceptor) => match tls::accept(&acceptor.load_full(), socket).await {
                                Ok((stream, identity)) => {
                                    spawn_connection(stream, identity, local, key, options, connections, inbound, slot);
                                }
                                Err(error) => tracing::info!(%remote, %error, "tls handshake failed"),
                            },
                        }
                    });
                }
                Err(error) => {
                    options.edge.metrics.accept_errors.inc();
                    if let Some(left_out) = ACCEPT_FAILED.allow() {
                        tracing::warn!(%error, left_out, "accept failed");
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(ACCEPT_BACKOFF.1);
                }
            },
            _ = stopped_accepting(&mut phase) => return,
        }
    }
}

/// Registers an established connection (inbound or outbound) and serves it on its own task
/// until it closes. Returns the handle, already in the table under `key`. `slot` is what the
/// connection counts against its source's limits, given back when it closes.
#[allow(clippy::too_many_arguments)]
pub(crate) fn spawn_connection<S>(
    stream: S,
    identity: Option<TlsPeerIdentity>,
    local: SocketAddr,
    key: ConnectionKey,
    options: StreamOptions,
    connections: Arc<Connections>,
    inbound: Arc<dyn Inbound>,
    slot: Option<ConnectionSlot>,
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
    let counted = options.active.clone().map(OpenConnection::new);
    tokio::spawn(async move {
        read_and_write(
            stream,
            rx,
            serving,
            local,
            key,
            options,
            connections,
            inbound,
        )
        .await;
        drop(slot);
        drop(counted);
    });
    handle
}

/// One open connection in its listener's gauge, for as long as it lives.
struct OpenConnection(prometheus::IntGauge);

impl OpenConnection {
    fn new(gauge: prometheus::IntGauge) -> OpenConnection {
        gauge.inc();
        OpenConnection(gauge)
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.dec();
    }
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
    let mut deadline = Deadline::new();
    'read: loop {
        let timeout = deadline.remaining(&options.edge, options.idle_timeout);
        let read = tokio::time::timeout(timeout, reader.read_buf(framer.buffer_mut()));
        let listener_closed = async {
            match phase.as_mut() {
                Some(phase) => closed(phase).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            read = read => match read {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Err(_) => {
                    deadline.missed(&options.edge, key.remote);
                    break;
                }
                Ok(Ok(_)) => {}
            },
            () = listener_closed => break,
        }
        loop {
            match framer.next_frame() {
                Ok(Some(Frame::Message(bytes))) => {
                    if !options.guarded || options.edge.admit_message(key.remote.ip(), &bytes) {
                        inbound.on_message(flow.clone(), bytes);
                    }
                }
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
        deadline.observe(framer.progress());
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

/// The deadline of what a connection is waiting for: the next message (the idle timeout, from
/// the last read), or the rest of the one in progress (its header or body timeout, from when
/// that part began, however slowly its bytes come).
struct Deadline {
    progress: Progress,
    since: Instant,
}

impl Deadline {
    fn new() -> Deadline {
        Deadline {
            progress: Progress::Between,
            since: Instant::now(),
        }
    }

    /// Notes where the stream stands after a read.
    fn observe(&mut self, progress: Progress) {
        if progress != self.progress {
            self.progress = progress;
            self.since = Instant::now();
        }
    }

    /// How long the next read may take.
    fn remaining(&self, edge: &Sources, idle: Duration) -> Duration {
        let streams = edge.stream_deadlines();
        let limit = match self.progress {
            Progress::Between => return idle,
            Progress::Head => streams.header_timeout,
            Progress::Body => streams.body_timeout,
        };
        limit.saturating_sub(self.since.elapsed()).min(idle)
    }

    /// The read timed out: counted when a message was in progress (idle connections simply
    /// close).
    fn missed(&self, edge: &Sources, remote: SocketAddr) {
        let phase = match self.progress {
            Progress::Between => return,
            Progress::Head => "header",
            Progress::Body => "body",
        };
        edge.metrics
            .deadlines_missed
            .with_label_values(&[phase])
            .inc();
        if let Some(left_out) = DEADLINE_MISSED.allow() {
            tracing::info!(%remote, phase, left_out, "closing a connection whose message did not arrive in time");
        }
    }
}
