//! The custom `legate-dlp` binary end to end: started on a config using the DLP filter, with raw
//! UDP sockets of the test as the sender and the upstream, all on 127.0.0.1.

#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

const BINARY: &str = env!("CARGO_BIN_EXE_legate-dlp");

/// A running legate-dlp; killed on drop.
struct Gateway {
    child: Child,
    _config: tempfile::NamedTempFile,
}

impl Gateway {
    fn start(yaml: &str, admin: u16) -> Gateway {
        let mut config = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
        config.write_all(yaml.as_bytes()).unwrap();
        let child = Command::new(BINARY)
            .args(["run", "--config"])
            .arg(config.path())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut gateway = Gateway {
            child,
            _config: config,
        };
        for _ in 0..200 {
            if let Some(status) = gateway.child.try_wait().unwrap() {
                panic!("legate-dlp exited during start: {status}");
            }
            if is_ready(admin) {
                return gateway;
            }
            thread::sleep(Duration::from_millis(50));
        }
        panic!("legate-dlp did not become ready");
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn is_ready(admin: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", admin)) else {
        return false;
    };
    let request = "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    let mut response = String::new();
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_to_string(&mut response).is_ok()
        && response.starts_with("HTTP/1.1 200")
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An upstream that answers 200 to every request and passes each one it received to the test.
fn upstream() -> (u16, mpsc::Receiver<String>) {
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

fn message(call: &str, body: &str) -> String {
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
fn send(port: u16, request: &str) -> String {
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

#[test]
fn a_message_with_a_forbidden_keyword_is_refused_and_a_clean_one_passes() {
    let (listener, admin) = (free_udp_port(), free_tcp_port());
    let (upstream, received) = upstream();
    let config = format!(
        r#"
admin: {{ address: "127.0.0.1:{admin}" }}
proxy: {{ record_route_secret: {{ value: "dlp-example" }} }}
listeners:
  - name: internal
    address: "127.0.0.1:{listener}"
    transport: udp
    side: internal
    filters:
      - name: example.filters.sip.dlp
        config:
          rules:
            - {{ id: project-falcon, pattern: '(?i)project\s+falcon' }}
          disclaimer: "[archived]"
      - name: legate.filters.sip.router
routes:
  - {{ name: out, match: {{ domain: remote.example }}, cluster: remote }}
clusters:
  - {{ name: remote, transport: udp, endpoints: ["127.0.0.1:{upstream}"] }}
"#
    );
    let _gateway = Gateway::start(&config, admin);

    let refused = send(
        listener,
        &message("dlp-1", "notes on PROJECT FALCON attached"),
    );
    assert!(
        refused.starts_with("SIP/2.0 403 content not permitted\r\n"),
        "{refused}"
    );
    assert!(
        refused.contains("Warning: 399 legate \"content not permitted (rule project-falcon)\""),
        "{refused}"
    );
    assert!(!refused.contains("PROJECT FALCON"), "{refused}");

    let passed = send(listener, &message("dlp-2", "lunch at noon?"));
    assert!(passed.starts_with("SIP/2.0 200 OK\r\n"), "{passed}");
    let forwarded = received.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(
        forwarded.contains("Call-ID: dlp-2\r\n"),
        "only the clean message: {forwarded}"
    );
    assert!(
        forwarded.ends_with("\r\n\r\nlunch at noon?\r\n[archived]"),
        "{forwarded}"
    );
    assert!(received.try_recv().is_err());
}

#[test]
fn the_custom_binary_validates_and_lists_the_filter_like_a_builtin() {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dlp.yaml");
    let output = Command::new(BINARY)
        .arg("validate")
        .arg(&shipped)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let output = Command::new(BINARY).arg("filters").output().unwrap();
    let table = String::from_utf8(output.stdout).unwrap();
    assert!(
        table.contains("| `example.filters.sip.dlp` | experimental | no | yes |"),
        "{table}"
    );
    assert!(table.contains("| `legate.filters.sip.router` |"), "{table}");
}

#[test]
fn a_bad_rule_is_refused_at_validation_with_its_field() {
    let mut config = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    let shipped = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../dlp.yaml"))
        .unwrap()
        .replace(r"(?i)project\s+falcon", "(unclosed");
    config.write_all(shipped.as_bytes()).unwrap();
    let output = Command::new(BINARY)
        .arg("validate")
        .arg(config.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("listeners[0].filters[0].config.rules[1].pattern"),
        "{error}"
    );
}
