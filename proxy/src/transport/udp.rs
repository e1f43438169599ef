//! The UDP listener loop: each datagram is one message (RFC 3261 §18.3).

use std::sync::Arc;

use bytes::Bytes;

use super::phase::{closed, PhaseWatch};
use super::udp_socket::{Batch, UdpSocket};
use super::{Flow, Inbound};
use crate::sources::Sources;

/// Reads datagrams until the listener closes and hands each to `inbound`. On an external
/// listener (`edge` set) each datagram is first held to its source's limits, unparsed.
pub async fn serve_udp_socket(
    socket: Arc<UdpSocket>,
    max_message_bytes: usize,
    inbound: Arc<dyn Inbound>,
    edge: Option<Arc<Sources>>,
    mut phase: PhaseWatch,
) {
    let local = match socket.local_addr() {
        Ok(local) => local,
        Err(error) => {
            tracing::error!(%error, "udp socket has no local address");
            return;
        }
    };
    // One byte more than allowed, so an oversized datagram is seen as such, not truncated.
    // The buffers are reused; each message gets its own exact-size copy, so a long-lived
    // message never pins a maximum-size allocation.
    let mut batch = Batch::new(max_message_bytes + 1);
    loop {
        tokio::select! {
            received = socket.receive(&mut batch) => match received {
                Ok(_) => {
                    for (datagram, remote) in batch.datagrams() {
                        if edge.as_ref().is_some_and(|edge| !edge.admit_message(remote.ip(), datagram)) {
                            continue;
                        }
                        let bytes = Bytes::copy_from_slice(datagram);
                        inbound.on_message(Flow::udp(socket.clone(), local, remote), bytes);
                    }
                }
                // ICMP errors from earlier sends surface here on some systems; keep serving.
                Err(error) => tracing::debug!(%error, %local, "udp receive failed"),
            },
            _ = closed(&mut phase) => return,
        }
    }
}
