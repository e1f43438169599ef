//! What the binaries' tests share: free loopback ports, a UDP upstream that answers 200, a
//! MESSAGE and a UDP client that waits for its final answer, and the admin API.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// A process of the test, killed on drop.
pub struct Running {
    name: &'static str,
    child: Child,
}

impl Running {
    /// Starts `command`, its standard output dropped and its logs on the test's.
    pub fn start(name: &'static str, command: &mut Command) -> Running {
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        Running { name, child }
    }

    /// Polls `ready` until it holds; fails if the process exits first or 10 s pass.
    pub fn wait_until(&mut self, ready: impl Fn() -> bool) {
        let became_ready = poll(|| {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("{} exited during start: {status}", self.name);
            }
            ready().then_some(())
        });
        if became_ready.is_none() {
            panic!("{} did not become ready", self.name);
        }
    }
}

/// Asks `check` every 50 ms until it answers, for at most 200 times (10 s).
pub fn poll<T>(mut check: impl FnMut() -> Option<T>) -> Option<T> {
    for _ in 0..200 {
        if let Some(answer) = check() {
            return Some(answer);
        }
        thread::sleep(Duration::from_millis(50));
    }
    None
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The body of `GET path` on the admin API at `port`, when it answers 200.
pub fn admin_get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_string())
}

pub fn is_ready(admin: u16) -> bool {
    admin_get(admin, "/readyz").is_some()
}

pub fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An upstream that answers 200 to every request and passes each one it received to the test.
pub fn upstream() -> (u16, mpsc::Receiver<String>) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    let (seen, received) = mpsc::channel();
    thread::spawn(move || {
        let mut buffer = vec![0u8; 65535];
        while let Ok((len, from)) = socket.recv_from(&mut buffer) {
            let request = String::from_utf8_lossy(&buffer[..len]).into_owned();
            if request.starts_with("SIP/2.0") || request.starts_with("ACK ") {
                continue;
            }
            let mut answer = String::from("SIP/2.0 200 OK\r\n");
            for line in request.lines().take_while(|l| !l.is_empty()) {
                let name = line.split(':').next().unwrap_or("").to_ascii_lowercase();
                if ["via", "from", "to", "call-id", "cseq"].contains(&name.as_str()) {
                    answer.push_str(line);
                    answer.push_str("\r\n");
                }
            }
            answer.push_str("Content-Length: 0\r\n\r\n");
            let _ = socket.send_to(answer.as_bytes(), from);
            if seen.send(request).is_err() {
                break;
            }
        }
    });
    (port, received)
}

pub fn message(call: &str, body: &str) -> String {
    format!(
        "MESSAGE sip:bob@remote.example SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-{call};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@local.example>;tag=a-{call}\r\n\
         To: <sip:bob@remote.example>\r\n\
         Call-ID: {call}\r\n\
         CSeq: 1 MESSAGE\r\n\
         Content-Type: text/plain\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Sends `request` to the gateway and returns its final answer.
pub fn send(port: u16, request: &str) -> String {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    socket
        .send_to(request.as_bytes(), ("127.0.0.1", port))
        .unwrap();
    let mut buffer = vec![0u8; 65535];
    loop {
        let (len, _) = socket.recv_from(&mut buffer).unwrap();
        let answer = String::from_utf8_lossy(&buffer[..len]).into_owned();
        if !answer.starts_with("SIP/2.0 1") {
            return answer;
        }
    }
}
