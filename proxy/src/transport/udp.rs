//! The UDP listener loop: each datagram is one message (RFC 3261 §18.3).

use std::sync::Arc;

use bytes::BytesMut;
use tokio::net::UdpSocket;

use super::{Flow, Inbound};

/// Reads datagrams until `stop` resolves and hands each to `inbound`.
pub async fn serve_udp_socket(
    socket: Arc<UdpSocket>,
    max_message_bytes: usize,
    inbound: Arc<dyn Inbound>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let local = match socket.local_addr() {
        Ok(local) => local,
        Err(error) => {
            tracing::error!(%error, "udp socket has no local address");
            return;
        }
    };
    // One byte more than allowed, so an oversized datagram is seen as such, not truncated.
    let mut buffer = BytesMut::with_capacity(max_message_bytes + 1);
    loop {
        buffer.clear();
        buffer.reserve(max_message_bytes + 1);
        tokio::select! {
            received = socket.recv_buf_from(&mut buffer) => match received {
                Ok((_, remote)) => {
                    let bytes = buffer.split().freeze();
                    inbound.on_message(Flow::udp(socket.clone(), local, remote), bytes);
                }
                // ICMP errors from earlier sends surface here on some systems; keep serving.
                Err(error) => tracing::debug!(%error, %local, "udp receive failed"),
            },
            _ = stop.changed() => return,
        }
    }
}
