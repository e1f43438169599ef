//! The real `legate-control-plane` binary, serving a configuration directory the test writes;
//! killed on drop.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::{built_binary, free_port};

/// The binary: `LEGATE_CONTROL_PLANE_BIN`, or the workspace's debug build.
pub fn control_plane_bin() -> PathBuf {
    built_binary(
        "LEGATE_CONTROL_PLANE_BIN",
        "target/debug/legate-control-plane",
        "cargo build -p legate-control-plane",
    )
}

/// `legate run` following the control plane at `url` as `node`, keeping its last good snapshot
/// in `state_dir`, with `access` (a token file or TLS arguments) appended.
pub fn proxy_run_args(
    url: &str,
    node: &str,
    state_dir: &Path,
    access: &[OsString],
) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![
        "run".into(),
        "--control-plane".into(),
        url.into(),
        "--node-id".into(),
        node.into(),
        "--state-dir".into(),
        state_dir.into(),
    ];
    args.extend_from_slice(access);
    args
}

pub struct ControlPlaneProcess {
    child: Child,
    pub port: u16,
    https: bool,
}

impl ControlPlaneProcess {
    /// Serves `config_dir` on a free loopback port with the bearer token in `token_file`, and
    /// waits until it listens.
    pub fn start(config_dir: &Path, token_file: &Path) -> ControlPlaneProcess {
        ControlPlaneProcess::start_on(free_port(), config_dir, token_file)
    }

    /// The same on `port` (a restart on the address the proxies know).
    pub fn start_on(port: u16, config_dir: &Path, token_file: &Path) -> ControlPlaneProcess {
        let access = ["--token-file".into(), token_file.into()];
        ControlPlaneProcess::start_with(port, config_dir, &access)
    }

    /// Serves `config_dir` on `port`, with `access` (token or TLS arguments) on the command
    /// line; `https://` when they name a certificate.
    pub fn start_with(port: u16, config_dir: &Path, access: &[OsString]) -> ControlPlaneProcess {
        let https = access.iter().any(|arg| arg == "--tls-certificate");
        let mut child = Command::new(control_plane_bin())
            .arg("serve")
            .arg("--config-dir")
            .arg(config_dir)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(access)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, listening) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("listening on") {
                    let _ = sender.send(());
                }
            }
        });
        listening
            .recv_timeout(Duration::from_secs(10))
            .expect("the control plane did not start listening");
        ControlPlaneProcess { child, port, https }
    }

    pub fn url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }
}

impl Drop for ControlPlaneProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
