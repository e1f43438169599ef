//! A federation partner's SIP server for the end-to-end tests: a TLS server (rustls) on
//! 127.0.0.1 that writes down, for every request, the SNI it was asked for and the client
//! certificate it was shown, and answers each request but ACK with 200 OK (with its Contact,
//! and the Record-Route it got, so dialogs work).
//!
//! Client certificates are optional (so a missing one is seen, not refused), but one that is
//! presented must chain to the CA given.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use rustls::server::WebPkiClientVerifier;

use crate::tls::{Ca, Issued};

/// One request the partner received.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The server name the client asked for (SNI).
    pub sni: Option<String>,
    /// The client's certificate (leaf), if it presented one.
    pub client_certificate: Option<CertificateDer<'static>>,
    /// Which connection it came on (counted from 1, in accept order).
    pub connection: usize,
    /// The request line.
    pub request_line: String,
}

/// The running server; stopped on drop.
pub struct TlsPartner {
    pub port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
}

impl TlsPartner {
    /// Serves with `certificate`, verifying client certificates against `clients`.
    pub fn start(certificate: &Issued, clients: &Ca) -> TlsPartner {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.add(clients.der()).unwrap();
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .allow_unauthenticated()
                .build()
                .unwrap();
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![certificate.der()], certificate.key_der())
            .unwrap();
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen_by_server, stopped) = (seen.clone(), stop.clone());
        thread::spawn(move || {
            let mut accepted = 0;
            while !stopped.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((socket, _)) => {
                        accepted += 1;
                        let (config, seen) = (config.clone(), seen_by_server.clone());
                        thread::spawn(move || serve(socket, config, seen, accepted));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        TlsPartner { port, seen, stop }
    }

    /// Every request received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for TlsPartner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn serve(
    socket: TcpStream,
    config: Arc<rustls::ServerConfig>,
    seen: Arc<Mutex<Vec<Seen>>>,
    connection: usize,
) {
    socket.set_nonblocking(false).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let Ok(server) = rustls::ServerConnection::new(config) else {
        return;
    };
    let mut stream = rustls::StreamOwned::new(server, socket);
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        while let Some(request) = take_message(&mut buffer) {
            let request_line = request.lines().next().unwrap_or_default().to_string();
            seen.lock().unwrap().push(Seen {
                sni: stream.conn.server_name().map(str::to_string),
                client_certificate: stream
                    .conn
                    .peer_certificates()
                    .and_then(|chain| chain.first())
                    .map(|leaf| leaf.clone().into_owned()),
                connection,
                request_line,
            });
            if request.starts_with("ACK ") {
                continue;
            }
            let port = stream.sock.local_addr().map(|a| a.port()).unwrap_or(0);
            if stream.write_all(ok_to(&request, port).as_bytes()).is_err() {
                return;
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
}

/// The next whole message in `buffer` (framed by Content-Length), removed from it.
fn take_message(buffer: &mut Vec<u8>) -> Option<String> {
    // Keep-alive CRLFs between messages.
    while buffer.starts_with(b"\r\n") {
        buffer.drain(..2);
    }
    let end = buffer.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            let name = name.trim().to_ascii_lowercase();
            (name == "content-length" || name == "l").then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    if buffer.len() < end + length {
        return None;
    }
    let message = String::from_utf8_lossy(&buffer[..end + length]).into_owned();
    buffer.drain(..end + length);
    Some(message)
}

/// 200 OK to `request`, with the headers a response copies (RFC 3261 §8.2.6, §12.1.1) and a
/// Contact on this server's own port.
fn ok_to(request: &str, port: u16) -> String {
    let mut response = String::from("SIP/2.0 200 OK\r\n");
    for line in request.lines().skip(1).take_while(|l| !l.is_empty()) {
        let name = line
            .split_once(':')
            .map(|(n, _)| n.trim().to_ascii_lowercase())
            .unwrap_or_default();
        match name.as_str() {
            "via" | "v" | "from" | "f" | "call-id" | "i" | "cseq" | "record-route" => {
                response.push_str(line);
                response.push_str("\r\n");
            }
            "to" | "t" => {
                response.push_str(line);
                if !line.contains("tag=") {
                    response.push_str(";tag=partner");
                }
                response.push_str("\r\n");
            }
            _ => {}
        }
    }
    response.push_str(&format!(
        "Contact: <sip:partner@127.0.0.1:{port};transport=tls>\r\nContent-Length: 0\r\n\r\n"
    ));
    response
}
