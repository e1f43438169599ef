//! A stand-in control plane for the hot swap tests: it speaks the push protocol
//! (`legate_api::push`) on 127.0.0.1, serves the snapshots the test publishes and records the
//! ACKs and NACKs it gets. Polls are held at most a second, so the proxy asks often.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use legate_api::push::{Ack, SnapshotPush};
use sha2::{Digest, Sha256};

#[derive(Default)]
struct State {
    snapshots: Vec<SnapshotPush>,
    acks: Vec<Ack>,
}

pub struct StandInControlPlane {
    pub port: u16,
    token: String,
    state: Arc<(Mutex<State>, Condvar)>,
    stopped: Arc<AtomicBool>,
}

impl StandInControlPlane {
    pub fn start(token: &str) -> StandInControlPlane {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let plane = StandInControlPlane {
            port: listener.local_addr().unwrap().port(),
            token: token.to_string(),
            state: Arc::default(),
            stopped: Arc::default(),
        };
        let (state, stopped, token) = (
            plane.state.clone(),
            plane.stopped.clone(),
            plane.token.clone(),
        );
        std::thread::spawn(move || {
            while !stopped.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (state, token) = (state.clone(), token.clone());
                        std::thread::spawn(move || serve(stream, &state, &token));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        plane
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `legate run` arguments that follow this control plane: the token written to a file in
    /// `dir`, the saved snapshot kept in `dir/state`.
    pub fn proxy_args(&self, dir: &std::path::Path) -> Vec<std::ffi::OsString> {
        let token_file = dir.join("control-plane-token");
        std::fs::write(&token_file, format!("{}\n", self.token)).unwrap();
        let token = ["--control-plane-token-file".into(), token_file.into()];
        crate::control_plane_process::proxy_run_args(
            &self.url(),
            "e2e-node",
            &dir.join("state"),
            &token,
        )
    }

    /// Makes `yaml` the newest snapshot, as `version`.
    pub fn publish(&self, version: u64, yaml: &str) {
        let push = SnapshotPush {
            version,
            hash: Sha256::digest(yaml.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
            yaml: yaml.to_string(),
            origin: format!("control-plane/v{version}.yaml"),
        };
        let (lock, changed) = &*self.state;
        lock.lock().unwrap().snapshots.push(push);
        changed.notify_all();
    }

    /// The proxy's answer to `version`, waiting up to ten seconds for it.
    pub fn wait_ack(&self, version: u64) -> Ack {
        let (lock, changed) = &*self.state;
        let mut state = lock.lock().unwrap();
        for _ in 0..100 {
            if let Some(ack) = state.acks.iter().find(|a| a.version == version) {
                return ack.clone();
            }
            state = changed
                .wait_timeout(state, Duration::from_millis(100))
                .unwrap()
                .0;
        }
        panic!("no answer for snapshot {version}");
    }

    /// Stops taking connections (the ones open end with their exchange).
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
    }
}

impl Drop for StandInControlPlane {
    fn drop(&mut self) {
        self.stop();
    }
}

fn serve(stream: TcpStream, state: &(Mutex<State>, Condvar), token: &str) {
    stream.set_nonblocking(false).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let (mut length, mut authorized) = (0, false);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(value) = lower.strip_prefix("content-length:") {
            length = value.trim().parse().unwrap_or(0);
        }
        authorized |= line.trim_end() == format!("Authorization: Bearer {token}")
            || lower.trim_end() == format!("authorization: bearer {token}");
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let target = request_line.split(' ').nth(1).unwrap_or("").to_string();
    let (status, answer) = if !authorized {
        ("401 Unauthorized", String::new())
    } else if target.starts_with("/v1/snapshot?") {
        poll(state, &target)
    } else if target == "/v1/ack" {
        let ack: Ack = serde_json::from_slice(&body).unwrap();
        let (lock, changed) = state;
        lock.lock().unwrap().acks.push(ack);
        changed.notify_all();
        ("200 OK", String::new())
    } else {
        ("404 Not Found", String::new())
    };
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    );
}

/// The newest snapshot above the polled version, waiting up to a second for one.
fn poll(state: &(Mutex<State>, Condvar), target: &str) -> (&'static str, String) {
    let version: u64 = target
        .split(['?', '&'])
        .find_map(|pair| pair.strip_prefix("version="))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let (lock, changed) = state;
    let mut guard = lock.lock().unwrap();
    for _ in 0..10 {
        if let Some(push) = guard.snapshots.iter().rev().find(|s| s.version > version) {
            return ("200 OK", serde_json::to_string(push).unwrap());
        }
        guard = changed
            .wait_timeout(guard, Duration::from_millis(100))
            .unwrap()
            .0;
    }
    ("204 No Content", String::new())
}
