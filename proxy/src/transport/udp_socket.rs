//! A UDP socket that costs the worker as few system calls per datagram as a blocking one.
//!
//! Tokio's socket watches for writability as well as readability, so every datagram sent wakes
//! the worker once more when the kernel frees its buffer, and it learns that the receive queue
//! is empty only from a read that fails with `EAGAIN`. This socket is watched for readability
//! only, and reads with `recvmmsg`: a batch shorter than asked for says the queue is empty, so
//! readiness is cleared without the failing read. (The sockets are unconnected and do not ask
//! for ICMP errors, so nothing but an empty queue cuts a batch short.)

use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::Duration;

use nix::sys::socket::{recvmmsg, MsgFlags, MultiHeaders, SockaddrStorage};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// Datagrams taken by one read. Two is enough to tell "that was the last one" without a
/// failing read; more only saves calls under bursts, at a maximum-size buffer each.
const BATCH: usize = 4;

/// How often, and how long apart, a send that found the kernel's buffer full is tried again
/// before it fails: the socket is not watched for writability (see the module's comment), and a
/// full send buffer on UDP means overload, which retransmissions are there for.
const SEND_RETRIES: u32 = 5;
const SEND_RETRY_PAUSE: Duration = Duration::from_millis(2);

pub struct UdpSocket {
    inner: AsyncFd<std::net::UdpSocket>,
}

impl UdpSocket {
    /// Registers `socket` with the current runtime, for readability only.
    // Tokio deprecates this for types whose descriptor could be swapped or closed while
    // registered; a std socket owns its descriptor and is only ever dropped whole.
    #[allow(deprecated)]
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        Ok(UdpSocket {
            inner: AsyncFd::with_interest(socket, Interest::READABLE)?,
        })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// Sends now or fails, `WouldBlock` when the kernel's buffer is full.
    pub fn try_send_to(&self, bytes: &[u8], to: SocketAddr) -> io::Result<usize> {
        self.inner.get_ref().send_to(bytes, to)
    }

    /// Sends, trying again a few times over a few milliseconds while the buffer is full.
    pub async fn send_to(&self, bytes: &[u8], to: SocketAddr) -> io::Result<usize> {
        let mut retries = 0;
        loop {
            match self.try_send_to(bytes, to) {
                Err(error)
                    if error.kind() == io::ErrorKind::WouldBlock && retries < SEND_RETRIES =>
                {
                    retries += 1;
                    tokio::time::sleep(SEND_RETRY_PAUSE).await;
                }
                sent => return sent,
            }
        }
    }

    /// Waits for datagrams and reads up to a batch of them into `batch`.
    pub async fn receive(&self, batch: &mut Batch) -> io::Result<usize> {
        loop {
            let mut ready = self.inner.readable().await?;
            match batch.read(self.inner.get_ref()) {
                Ok(count) => {
                    if count < BATCH {
                        ready.clear_ready();
                    }
                    return Ok(count);
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => ready.clear_ready(),
                Err(error) => return Err(error),
            }
        }
    }
}

/// Buffers for one read of up to [`BATCH`] datagrams, reused from read to read.
pub struct Batch {
    buffers: [Vec<u8>; BATCH],
    received: Vec<(usize, Option<SocketAddr>)>,
}

impl Batch {
    /// Room for datagrams of up to `datagram_bytes` each.
    pub fn new(datagram_bytes: usize) -> Batch {
        Batch {
            buffers: std::array::from_fn(|_| vec![0; datagram_bytes]),
            received: Vec::with_capacity(BATCH),
        }
    }

    fn read(&mut self, socket: &std::net::UdpSocket) -> io::Result<usize> {
        self.received.clear();
        // The headers hold pointers into the buffers, so they live only for this call (and the
        // future that owns the batch stays `Send`).
        let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(BATCH, None);
        let mut slices = self
            .buffers
            .each_mut()
            .map(|buffer| [IoSliceMut::new(buffer)]);
        let results = recvmmsg(
            socket.as_raw_fd(),
            &mut headers,
            slices.iter_mut(),
            MsgFlags::MSG_DONTWAIT,
            None,
        )?;
        for message in results {
            let from = message.address.as_ref().and_then(socket_address);
            self.received.push((message.bytes, from));
        }
        Ok(self.received.len())
    }

    /// The datagrams of the last read, with their senders (a sender the kernel did not name,
    /// which UDP never does, leaves its datagram out).
    pub fn datagrams(&self) -> impl Iterator<Item = (&[u8], SocketAddr)> {
        self.received
            .iter()
            .zip(&self.buffers)
            .filter_map(|(&(len, from), buffer)| Some((buffer.get(..len)?, from?)))
    }
}

fn socket_address(storage: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = storage.as_sockaddr_in() {
        return Some(SocketAddr::V4((*v4).into()));
    }
    storage
        .as_sockaddr_in6()
        .map(|v6| SocketAddr::V6((*v6).into()))
}
