//! The decision service for `ext_authz` tests: `tests/ext_authz/decision_server.py` run with
//! python3 on a per-test port of 127.0.0.1, plain or over TLS. It logs every check request it
//! receives to a file the test reads; it is killed on drop (or by [`DecisionServer::stop`]).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::stream::wait_tcp_listener;
use crate::{free_port, workspace};

pub struct DecisionServer {
    child: Child,
    pub port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl DecisionServer {
    /// Plain HTTP.
    pub fn start() -> DecisionServer {
        DecisionServer::start_with(None)
    }

    /// HTTPS with this certificate and key (PEM files).
    pub fn start_tls(certificate: &Path, private_key: &Path) -> DecisionServer {
        DecisionServer::start_with(Some((certificate, private_key)))
    }

    fn start_with(tls: Option<(&Path, &Path)>) -> DecisionServer {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("checks.jsonl");
        let port = free_port();
        let mut command = Command::new("python3");
        command
            .arg(workspace().join("tests/ext_authz/decision_server.py"))
            .arg(port.to_string())
            .arg(&log);
        if let Some((certificate, key)) = tls {
            command.arg(certificate).arg(key);
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 is needed for the ext_authz tests");
        let server = DecisionServer {
            child,
            port,
            log,
            _dir: dir,
        };
        assert!(
            wait_tcp_listener(port, Duration::from_secs(10)),
            "the decision server did not start"
        );
        server
    }

    /// Every check request received so far, as JSON text, in order.
    pub fn checks(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Kills the server; its port then refuses connections.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for DecisionServer {
    fn drop(&mut self) {
        self.stop();
    }
}
