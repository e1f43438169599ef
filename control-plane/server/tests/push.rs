//! The `legate-control-plane` binary against a plain HTTP/1.1 client: snapshots pushed on
//! change, refused changes, ACK/NACK in the status, and the bearer token.

// Test helpers unwrap too: a failure there is a failed test.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use legate_api::push::{Ack, SnapshotPush, Status};

const TOKEN: &str = "s3cret-push-token-77";

fn valid(name: &str) -> String {
    format!(
        "listeners:\n  - name: {name}\n    address: 127.0.0.1:5060\n    transport: udp\n    \
         side: internal\n    filters:\n      - name: legate.filters.sip.router\n"
    )
}

/// A running control plane, stopped when dropped.
struct Server {
    child: Child,
    address: String,
    dir: PathBuf,
    /// The directory, when this server made it.
    _owned: Option<tempfile::TempDir>,
}

impl Server {
    /// A control plane on a new directory holding a valid `legate.yaml`.
    fn start(long_poll_ms: u64) -> Server {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("legate.yaml"), valid("first")).unwrap();
        std::fs::write(dir.path().join("token"), format!("{TOKEN}\n")).unwrap();
        let mut server = Server::start_in(dir.path(), long_poll_ms);
        server._owned = Some(dir);
        server
    }

    /// Another replica on the directory of a running one.
    fn start_in(dir: &Path, long_poll_ms: u64) -> Server {
        let mut child = binary()
            .args(["serve", "--listen", "127.0.0.1:0", "--config-dir"])
            .arg(dir)
            .arg("--token-file")
            .arg(dir.join("token"))
            .arg(format!("--long-poll-ms={long_poll_ms}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let address = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap()
            .to_owned();
        Server {
            child,
            address,
            dir: dir.to_path_buf(),
            _owned: None,
        }
    }

    fn write(&self, file: &str, text: &str) {
        let path = self.dir.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// Method, path, optional body, with the token when `token` is set: (status, body).
    fn call(&self, method: &str, path: &str, body: &str, token: Option<&str>) -> (u16, String) {
        let mut stream = TcpStream::connect(&self.address).unwrap();
        let auth = token
            .map(|token| format!("Authorization: Bearer {token}\r\n"))
            .unwrap_or_default();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n{auth}Content-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.address,
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let status = answer[9..12].parse().unwrap();
        let body = answer
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_owned())
            .unwrap_or_default();
        (status, body)
    }

    fn get(&self, path: &str) -> (u16, String) {
        self.call("GET", path, "", Some(TOKEN))
    }

    fn poll(&self, node: &str, version: u64) -> Option<SnapshotPush> {
        let (status, body) = self.get(&format!("/v1/snapshot?node={node}&version={version}"));
        match status {
            200 => Some(serde_json::from_str(&body).unwrap()),
            204 => None,
            other => panic!("poll answered {other}: {body}"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_legate-control-plane"))
}

/// The poll is held up to 10 s; it comes back with the change, not empty (how fast is measured
/// by the `push_latency` example, not asserted here).
#[test]
fn a_changed_file_wakes_a_waiting_poll() {
    let server = Server::start(10_000);
    let first = server.poll("edge-1", 0).unwrap();
    assert!(first.yaml.contains("name: first"));
    assert_eq!(first.hash.len(), 64);

    std::thread::scope(|scope| {
        let waiting = scope.spawn(|| server.poll("edge-1", first.version));
        std::thread::sleep(Duration::from_millis(300));
        server.write("legate.yaml", &valid("second"));
        let pushed = waiting
            .join()
            .unwrap()
            .expect("the poll ran out without the change");
        assert!(pushed.version > first.version);
        assert!(pushed.yaml.contains("name: second"));
    });
}

/// Replicas watching the same files (several pods behind one Service) offer the same content,
/// and a proxy whose polls move between them is never offered the configuration it left.
#[test]
fn replicas_over_the_same_files_agree() {
    let one = Server::start(1_500);
    let other = Server::start_in(&one.dir, 1_500);
    let (from_one, from_other) = (
        one.poll("edge-1", 0).unwrap(),
        other.poll("edge-1", 0).unwrap(),
    );
    assert_eq!(from_one.hash, from_other.hash);
    assert_eq!(from_one.yaml, from_other.yaml);

    one.write("legate.yaml", &valid("second"));
    let changed = one.poll("edge-1", from_one.version).unwrap();
    assert!(changed.yaml.contains("name: second"));
    // The other replica has nothing newer yet (204), or the same change under its own version.
    if let Some(offered) = other.poll("edge-1", changed.version) {
        assert_eq!(offered.hash, changed.hash, "{}", offered.yaml);
    }
    let settled = other.poll("edge-1", from_other.version).unwrap();
    assert_eq!(settled.hash, changed.hash);
}

#[test]
fn a_node_file_goes_to_that_node_only() {
    let server = Server::start(10_000);
    let shared = server.poll("edge-2", 0).unwrap();
    server.write("nodes/edge-1.yaml", &valid("own"));
    let own = server.poll("edge-1", shared.version).unwrap();
    assert!(own.yaml.contains("name: own"));
    assert!(own.origin.ends_with("edge-1.yaml"));
    assert_eq!(server.poll("edge-2", 0).unwrap(), shared);
}

#[test]
fn an_invalid_file_is_not_pushed_and_its_error_is_shown() {
    let server = Server::start(1_500);
    let first = server.poll("edge-1", 0).unwrap();
    server.write(
        "legate.yaml",
        &valid("second").replace("transport: udp", "transport: smoke"),
    );
    // Held for the whole (shortened) long poll, then nothing.
    assert_eq!(server.poll("edge-1", first.version), None);
    assert_eq!(server.poll("edge-1", 0).unwrap(), first);

    let (status, body) = server.get("/v1/errors");
    assert_eq!(status, 200);
    let errors: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(errors["version"], first.version);
    let error = errors["errors"][0].as_str().unwrap();
    assert!(error.contains("legate.yaml:4:"), "{error}");
    assert!(error.contains("listeners[0].transport"), "{error}");
}

#[test]
fn acks_and_nacks_show_in_the_status() {
    let server = Server::start(10_000);
    let first = server.poll("edge-1", 0).unwrap();
    let ack = |accepted: bool, error: Option<&str>| {
        let ack = Ack {
            node: "edge-1".into(),
            version: first.version,
            accepted,
            error: error.map(str::to_owned),
        };
        let (status, _) = server.call(
            "POST",
            "/v1/ack",
            &serde_json::to_string(&ack).unwrap(),
            Some(TOKEN),
        );
        assert_eq!(status, 204);
    };
    ack(true, None);
    ack(false, Some("legate.yaml:3:7: listeners[0].address: in use"));

    let (status, body) = server.get("/v1/status");
    assert_eq!(status, 200);
    let status: Status = serde_json::from_str(&body).unwrap();
    assert_eq!(status.version, first.version);
    assert_eq!(status.nodes.len(), 1);
    assert_eq!(status.nodes[0].acked_version, first.version);
    let nack = status.nodes[0].last_nack.as_ref().unwrap();
    assert_eq!(nack.error, "legate.yaml:3:7: listeners[0].address: in use");

    let (status, _) = server.call("POST", "/v1/ack", "{not json", Some(TOKEN));
    assert_eq!(status, 400);

    // The `status` command prints the same as a table.
    let output = binary()
        .args(["status", "--url", &format!("http://{}", server.address)])
        .arg("--token-file")
        .arg(server.dir.join("token"))
        .output()
        .unwrap();
    assert!(output.status.success());
    let table = String::from_utf8(output.stdout).unwrap();
    assert!(table.contains("edge-1"), "{table}");
    assert!(table.contains("in use"), "{table}");
}

#[test]
fn requests_without_the_token_are_refused() {
    let server = Server::start(10_000);
    for path in ["/v1/snapshot?node=a&version=0", "/v1/status", "/v1/errors"] {
        assert_eq!(server.call("GET", path, "", None).0, 401, "{path}");
        assert_eq!(server.call("GET", path, "", Some("wrong")).0, 401, "{path}");
    }
    assert_eq!(server.call("POST", "/v1/ack", "{}", None).0, 401);
    let (status, _) = server.get("/v1/snapshot?node=../x&version=0");
    assert_eq!(status, 400);
}

#[test]
fn it_never_starts_open_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let refused = |extra: &[&str]| {
        let output = binary()
            .args(["serve", "--config-dir"])
            .arg(dir.path())
            .args(extra)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{extra:?}");
    };
    refused(&["--listen", "127.0.0.1:0"]);
    refused(&["--listen", "0.0.0.0:0", "--insecure-loopback"]);
    let empty = dir.path().join("empty-token");
    std::fs::write(&empty, "\n").unwrap();
    refused(&["--listen", "127.0.0.1:0", "--token-file", path(&empty)]);
}

#[test]
fn sigterm_stops_it_cleanly() {
    let mut server = Server::start(30_000);
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    for _ in 0..100 {
        if let Some(exit) = server.child.try_wait().unwrap() {
            assert!(exit.success(), "{exit}");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("still running 5 s after SIGTERM");
}

fn path(path: &Path) -> &str {
    path.to_str().unwrap()
}
