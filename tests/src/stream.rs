//! SIP over a byte stream from the test itself: write raw bytes to one of Legate's TCP or TLS
//! listeners and read back what it answers, message by message, framed by Content-Length.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// What reading the next message from a connection gave.
#[derive(Debug)]
pub enum Received {
    /// One whole message.
    Message(String),
    /// The peer closed the connection (end of stream, or reset) with nothing pending.
    Closed(String),
    /// Nothing arrived before the read timeout: the peer neither answered nor closed.
    Silent,
    /// Reading failed some other way (a TLS alert, say).
    Failed(std::io::Error),
}

impl Received {
    /// The message, or a panic saying what came instead.
    pub fn message(self) -> String {
        match self {
            Received::Message(text) => text,
            other => panic!("expected a SIP message, got {other:?}"),
        }
    }
}

/// One stream connection and the bytes read from it but not yet framed.
pub struct SipConnection<S> {
    stream: S,
    buffer: Vec<u8>,
}

impl SipConnection<TcpStream> {
    /// A plain TCP connection to `127.0.0.1:port`, reads bounded by ten seconds.
    pub fn tcp(port: u16) -> SipConnection<TcpStream> {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        SipConnection::new(stream)
    }
}

impl<S: Read + Write> SipConnection<S> {
    /// Wraps a connected stream; set its read timeout first, it bounds every read.
    pub fn new(stream: S) -> SipConnection<S> {
        SipConnection {
            stream,
            buffer: Vec::new(),
        }
    }

    /// Writes `bytes` in one go.
    pub fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }

    /// Reads until one whole message is buffered, the peer closes, or the read times out.
    pub fn receive(&mut self) -> Received {
        loop {
            if let Some(length) = frame_length(&self.buffer) {
                let message: Vec<u8> = self.buffer.drain(..length).collect();
                return Received::Message(String::from_utf8_lossy(&message).into_owned());
            }
            let mut chunk = [0u8; 16384];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Received::Closed(self.pending()),
                Ok(n) => self.buffer.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Received::Silent
                }
                // A reset (Legate closed with bytes of ours unread) or a TLS stream cut short.
                Err(e) if is_close(e.kind()) => return Received::Closed(self.pending()),
                Err(e) => return Received::Failed(e),
            }
        }
    }

    fn pending(&mut self) -> String {
        String::from_utf8_lossy(&std::mem::take(&mut self.buffer)).into_owned()
    }
}

fn is_close(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::ConnectionReset | ErrorKind::BrokenPipe | ErrorKind::UnexpectedEof
    )
}

/// The length of the first message in `buffer`, if it is all there.
fn frame_length(buffer: &[u8]) -> Option<usize> {
    let head_end = buffer.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buffer[..head_end]);
    let body = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            let name = name.trim();
            (name.eq_ignore_ascii_case("content-length") || name == "l")
                .then(|| value.trim().parse::<usize>().ok())
                .flatten()
        })
        .unwrap_or(0);
    (buffer.len() >= head_end + body).then_some(head_end + body)
}

/// An OPTIONS request addressed to Legate itself at `127.0.0.1:port` (answered 200 by Legate),
/// sent over `transport` (`TCP` or `TLS`) from a made-up client address.
pub fn options_to_legate(port: u16, transport: &str, call_id: &str) -> String {
    format!(
        "OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\n\
Via: SIP/2.0/{transport} 127.0.0.1:9;branch=z9hG4bK-{call_id}\r\n\
Max-Forwards: 70\r\n\
From: <sip:probe@local.example>;tag={call_id}\r\n\
To: <sip:127.0.0.1:{port}>\r\n\
Call-ID: {call_id}@local.example\r\n\
CSeq: 1 OPTIONS\r\n\
Content-Length: 0\r\n\r\n"
    )
}

/// A MESSAGE to `bob@remote.example`, sent over `transport` from a made-up client address.
pub fn message_to_remote(transport: &str, call_id: &str) -> String {
    let body = "Hello from local.example";
    format!(
        "MESSAGE sip:bob@remote.example SIP/2.0\r\n\
Via: SIP/2.0/{transport} 127.0.0.1:9;branch=z9hG4bK-{call_id}\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@local.example>;tag={call_id}\r\n\
To: <sip:bob@remote.example>\r\n\
Call-ID: {call_id}@local.example\r\n\
CSeq: 1 MESSAGE\r\n\
Content-Type: text/plain\r\n\
Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Whether something listens on TCP port `port` of 127.0.0.1 (read from /proc/net/tcp, so
/// nothing connects to find out), waiting up to `timeout` for it.
pub fn wait_tcp_listener(port: u16, timeout: Duration) -> bool {
    let wanted = format!("0100007F:{port:04X}");
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
        let listening = table.lines().skip(1).any(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.get(1) == Some(&wanted.as_str()) && fields.get(3) == Some(&"0A")
        });
        if listening {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}
