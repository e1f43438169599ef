//! A raw UDP upstream that accepts everything: it answers 200 to every request but ACK and
//! passes what it received to the test, so every refusal a test sees is Legate's and every
//! request that got through can be inspected. And a raw UDP client that waits for the final
//! answer.

use std::net::UdpSocket;
use std::sync::mpsc::{channel, Receiver};
use std::thread;
use std::time::Duration;

pub struct AcceptingUpstream {
    pub port: u16,
    /// Each request received, as text, in order.
    pub received: Receiver<String>,
}

impl AcceptingUpstream {
    /// Runs on a free loopback port until the test ends.
    pub fn start() -> AcceptingUpstream {
        AcceptingUpstream::start_at("127.0.0.1:0".parse().unwrap())
    }

    /// Runs on `address` until the test ends.
    pub fn start_at(address: std::net::SocketAddr) -> AcceptingUpstream {
        let socket = UdpSocket::bind(address).unwrap();
        let port = socket.local_addr().unwrap().port();
        let (sender, received) = channel();
        thread::spawn(move || {
            let mut buffer = vec![0u8; 65535];
            while let Ok((len, from)) = socket.recv_from(&mut buffer) {
                let request = String::from_utf8_lossy(&buffer[..len]).into_owned();
                if request.starts_with("ACK ") || request.starts_with("SIP/2.0") {
                    continue;
                }
                let answer = ok_to(&request);
                // Handed to the test before the answer goes out, so a test that got its final
                // response finds the request already here.
                let _ = sender.send(request);
                let _ = socket.send_to(answer.as_bytes(), from);
            }
        });
        AcceptingUpstream { port, received }
    }

    /// Sends `request` to Legate on UDP `port`, checks that its final answer is 200 and
    /// returns the request as this upstream received it.
    pub fn relayed(&self, port: u16, request: &str) -> String {
        let answer = final_response(port, request);
        assert!(answer.starts_with("SIP/2.0 200 "), "{answer}");
        self.next()
    }

    /// The next request received, waiting up to five seconds for it.
    pub fn next(&self) -> String {
        self.received
            .recv_timeout(Duration::from_secs(5))
            .expect("no request reached the upstream within five seconds")
    }

    /// Everything received so far.
    pub fn drain(&self) -> Vec<String> {
        self.received.try_iter().collect()
    }
}

fn ok_to(request: &str) -> String {
    let mut answer = String::from("SIP/2.0 200 OK\r\n");
    for line in request.lines().take_while(|l| !l.is_empty()) {
        let name = line.split(':').next().unwrap_or("").to_ascii_lowercase();
        if ["via", "from", "call-id", "cseq"].contains(&name.as_str()) {
            answer.push_str(&format!("{line}\r\n"));
        } else if name == "to" {
            answer.push_str(&format!("{line};tag=up\r\n"));
        }
    }
    answer.push_str("Contact: <sip:up@127.0.0.1>\r\nContent-Length: 0\r\n\r\n");
    answer
}

/// Sends `request` to Legate on UDP `port` and returns the final (non-1xx) response.
pub fn final_response(port: u16, request: &str) -> String {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    socket
        .send_to(request.as_bytes(), ("127.0.0.1", port))
        .unwrap();
    let mut buffer = vec![0u8; 65535];
    loop {
        let (len, _) = socket
            .recv_from(&mut buffer)
            .expect("no answer from legate");
        let answer = String::from_utf8_lossy(&buffer[..len]).into_owned();
        if !answer.starts_with("SIP/2.0 1") {
            return answer;
        }
    }
}

/// A MESSAGE from `from` to `to` (`user@domain`), with Call-ID `call_id`, as a user agent on
/// 127.0.0.1 sends it (no body).
pub fn message(from: &str, to: &str, call_id: &str) -> String {
    // The branch from the Call-ID's local part: `@` is not a token character.
    let branch = call_id.split('@').next().unwrap_or(call_id);
    format!(
        "MESSAGE sip:{to} SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-{branch}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:{from}>;tag=1\r\n\
         To: <sip:{to}>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 MESSAGE\r\n\
         Content-Length: 0\r\n\r\n"
    )
}
