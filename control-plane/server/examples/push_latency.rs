//! How long a configuration change takes to reach every proxy: from the moment a file in the
//! control plane's directory is written to the moment the last subscriber has ACKed the new
//! snapshot. The subscribers are simulated (each a thread that long-polls and ACKs at once, as
//! a proxy does after applying a snapshot), so the figure is the control plane's part: noticing
//! the change, validating it, and delivering it.
//!
//! `cargo run --release -p legate-control-plane --example push_latency -- [SUBSCRIBERS] [CHANGES]`
//! (defaults 50 and 20). It starts `target/release/legate-control-plane` (or the binary named
//! by `LEGATE_CONTROL_PLANE_BIN`) on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::disallowed_types)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use legate_api::push::{Ack, SnapshotPush};

const TOKEN: &str = "push-latency-token";

const CONFIG: &str = "listeners:
  - name: internal
    address: 127.0.0.1:5060
    transport: udp
    side: internal
    filters:
      - name: legate.filters.sip.domain_policy
        config:
          default: allow
          rules:
            - { id: change-MARK, action: deny, remote_domains: [blocked-MARK.example] }
      - name: legate.filters.sip.router
";

fn main() {
    let mut args = std::env::args().skip(1);
    let subscribers: usize = args.next().map_or(50, |a| a.parse().unwrap());
    let changes: usize = args.next().map_or(20, |a| a.parse().unwrap());

    let dir = tempfile::tempdir().unwrap();
    let config_dir = dir.path().join("config");
    std::fs::create_dir(&config_dir).unwrap();
    let config_file = config_dir.join("legate.yaml");
    std::fs::write(&config_file, CONFIG.replace("MARK", "0")).unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, TOKEN).unwrap();
    let (plane, port) = start_control_plane(&config_dir, &token_file);

    // Every subscriber reports (its index, the change mark it received, when it had ACKed).
    let (report, reports) = mpsc::channel::<(usize, usize, Instant)>();
    for index in 0..subscribers {
        let report = report.clone();
        std::thread::spawn(move || subscribe(port, index, report));
    }
    wait_for_mark(&reports, subscribers, 0);

    let mut latencies = Vec::with_capacity(changes);
    for change in 1..=changes {
        let written = Instant::now();
        std::fs::write(&config_file, CONFIG.replace("MARK", &change.to_string())).unwrap();
        let last_ack = wait_for_mark(&reports, subscribers, change);
        latencies.push(last_ack.duration_since(written));
    }
    drop(plane);

    latencies.sort();
    let at = |q: f64| {
        latencies[((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1]
    };
    println!(
        "subscribers {subscribers}, changes {changes}: file written -> ACK from every subscriber: \
         p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        at(0.50).as_secs_f64() * 1000.0,
        at(0.99).as_secs_f64() * 1000.0,
        latencies.last().unwrap().as_secs_f64() * 1000.0,
    );
}

/// Waits until every subscriber has ACKed the snapshot carrying `mark`; returns when the last
/// one did.
fn wait_for_mark(
    reports: &mpsc::Receiver<(usize, usize, Instant)>,
    subscribers: usize,
    mark: usize,
) -> Instant {
    let mut acked = vec![None; subscribers];
    while acked.iter().any(Option::is_none) {
        let (index, got, at) = reports
            .recv_timeout(Duration::from_secs(30))
            .expect("a subscriber never got the change");
        if got == mark {
            acked[index] = Some(at);
        }
    }
    acked.into_iter().flatten().max().unwrap()
}

/// One simulated proxy: long-poll, ACK, report, forever.
fn subscribe(port: u16, index: usize, report: mpsc::Sender<(usize, usize, Instant)>) {
    let node = format!("sim-{index}");
    let mut version = 0;
    loop {
        let path = format!("/v1/snapshot?node={node}&version={version}");
        let Some((200, body)) = http(port, "GET", &path, "") else {
            continue;
        };
        let push: SnapshotPush = serde_json::from_slice(&body).unwrap();
        version = push.version;
        let ack = Ack {
            node: node.clone(),
            version,
            accepted: true,
            error: None,
        };
        let ack = serde_json::to_string(&ack).unwrap();
        while http(port, "POST", "/v1/ack", &ack).is_none() {}
        let mark = push
            .yaml
            .split("id: change-")
            .nth(1)
            .and_then(|rest| rest.split(',').next())
            .and_then(|m| m.parse().ok())
            .unwrap();
        if report.send((index, mark, Instant::now())).is_err() {
            return;
        }
    }
}

/// One HTTP/1.1 exchange on a fresh connection: the status and the body; `None` when the
/// connection failed (the caller tries again).
fn http(port: u16, method: &str, path: &str, body: &str) -> Option<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).ok()?;
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let start = text.find("\r\n\r\n").map_or(answer.len(), |i| i + 4);
    let mut body = answer[start..].to_vec();
    if text
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = unchunk(&body);
    }
    Some((status, body))
}

fn unchunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(line_end) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = usize::from_str_radix(String::from_utf8_lossy(&data[..line_end]).trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = line_end + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
}

fn binary() -> PathBuf {
    std::env::var("LEGATE_CONTROL_PLANE_BIN").map_or_else(
        |_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/release/legate-control-plane"),
        PathBuf::from,
    )
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_control_plane(config_dir: &Path, token_file: &Path) -> (Running, u16) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(binary())
        .arg("serve")
        .arg("--config-dir")
        .arg(config_dir)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .arg("--token-file")
        .arg(token_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("legate-control-plane not found: cargo build --release -p legate-control-plane");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    while let Some(Ok(line)) = lines.next() {
        if line.contains("listening on") {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    (Running(child), port)
}
