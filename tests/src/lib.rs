//! Helpers for the end-to-end tests: start the `legate` binary on a config, start sipp with one
//! of the scenarios in `tests/scenarios`, find free loopback ports, poke the admin API; run a
//! DNS server (`dns`) and TLS partner servers (`partner`) for federation tests, a decision
//! service (`authz`) for external authorization tests, and a PostgreSQL server (`postgres`) and a
//! webhook receiver (`webhook`) for the audit store tests; build and run Legate's container
//! image with an engine of the test's own (`podman`).
//!
//! Everything runs on 127.0.0.1 and is stopped when its handle drops.

#![allow(clippy::unwrap_used, clippy::disallowed_types)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::sleep;
use std::time::Duration;

pub mod authz;
pub mod config;
pub mod control_plane;
pub mod control_plane_process;
pub mod dns;
pub mod kamailio;
pub mod ldap;
pub mod otlp;
pub mod partner;
pub mod podman;
pub mod postgres;
pub mod prometheus;
pub mod prosody;
pub mod raw_sip;
pub mod stream;
pub mod tls;
pub mod upstream;
pub mod webhook;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The legate binary: `LEGATE_BIN`, or the workspace's debug build (tests/run.sh builds it).
pub fn legate_bin() -> PathBuf {
    built_binary("LEGATE_BIN", "target/debug/legate", "cargo build -p legate")
}

/// The optimised legate binary, for tests that hold a load the debug build cannot:
/// `LEGATE_RELEASE_BIN`, or the workspace's release build (tests/run.sh builds it).
pub fn legate_release_bin() -> PathBuf {
    built_binary(
        "LEGATE_RELEASE_BIN",
        "target/release/legate",
        "cargo build --release -p legate",
    )
}

/// The binary the environment variable `variable` names, else `path` in the workspace, which
/// must exist (`build` says how to make it).
pub fn built_binary(variable: &str, path: &str, build: &str) -> PathBuf {
    if let Ok(path) = std::env::var(variable) {
        return PathBuf::from(path);
    }
    let path = workspace().join(path);
    assert!(
        path.exists(),
        "{} not found: build it first ({build}), or run tests/run.sh",
        path.display()
    );
    path
}

pub fn scenario(name: &str) -> PathBuf {
    workspace().join("tests/scenarios").join(name)
}

/// Polls `done` every 50 ms for at most `limit`; fails the test naming `what` if it never
/// holds. For conditions that have nothing to wait on but themselves (a metric, a file, a count).
pub fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + limit;
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "gave up waiting: {what}"
        );
        sleep(Duration::from_millis(50));
    }
}

/// A loopback port free for both UDP and TCP right now, below the kernel's ephemeral range and
/// handed out in turn through that range: between being picked and being bound, it can be
/// taken neither by another test's pick nor by a connection's source port (the connection
/// floods open thousands).
pub fn free_port() -> u16 {
    static NEXT: Mutex<Option<u16>> = Mutex::new(None);
    const LOWEST: u16 = 10_000;
    let ephemeral_start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32_768)
        .max(LOWEST + 1_000);
    let mut next = NEXT.lock().unwrap();
    // Each test binary starts somewhere else, so two running at once rarely meet.
    let span = u64::from(ephemeral_start - LOWEST);
    let offset = u64::from(std::process::id()) * 7_919 % span;
    let mut port = next.unwrap_or(LOWEST + offset as u16);
    loop {
        port = if port + 1 >= ephemeral_start {
            LOWEST
        } else {
            port + 1
        };
        let free = UdpSocket::bind(("127.0.0.1", port)).is_ok()
            && TcpListener::bind(("127.0.0.1", port)).is_ok();
        if free {
            *next = Some(port);
            return port;
        }
    }
}

/// A running legate process; killed on drop.
pub struct Legate {
    child: Child,
    pub admin_port: u16,
    stdout: Captured,
    _config: Option<tempfile::NamedTempFile>,
}

/// The lines a legate process wrote to standard output (audit records of the `stdout` sink),
/// as they arrive; still readable after the process has exited.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<String>>>);

impl Captured {
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// Waits (bounded) until at least `count` lines have arrived, and returns them all.
    pub fn wait_for(&self, count: usize) -> Vec<String> {
        for _ in 0..200 {
            let lines = self.lines();
            if lines.len() >= count {
                return lines;
            }
            sleep(Duration::from_millis(50));
        }
        panic!(
            "expected {count} lines on legate's stdout, got: {:#?}",
            self.lines()
        );
    }
}

impl Legate {
    /// Starts legate on `yaml` (which must put the admin API on `admin_port`) and waits for
    /// /readyz.
    pub fn start(yaml: &str, admin_port: u16) -> Legate {
        Legate::start_with(yaml, admin_port, false, &[])
    }

    /// The same, keeping what legate writes to standard output ([`Legate::stdout`]).
    pub fn start_capturing_stdout(yaml: &str, admin_port: u16) -> Legate {
        Legate::start_with(yaml, admin_port, true, &[])
    }

    /// The same, with these environment variables set (`OTEL_…`), keeping standard output.
    pub fn start_with_env(yaml: &str, admin_port: u16, env: &[(&str, &str)]) -> Legate {
        Legate::start_with(yaml, admin_port, true, env)
    }

    fn start_with(yaml: &str, admin_port: u16, capture: bool, env: &[(&str, &str)]) -> Legate {
        let mut config = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
        config.write_all(yaml.as_bytes()).unwrap();
        let args = ["run".into(), "--config".into(), config.path().into()];
        Legate::launch(legate_bin(), &args, Some(config), admin_port, capture, env)
    }

    /// Starts `legate` with `args` (a `run` command whose config puts the admin API on
    /// `admin_port`) and waits for /readyz.
    pub fn start_with_args(args: &[std::ffi::OsString], admin_port: u16) -> Legate {
        Legate::launch(legate_bin(), args, None, admin_port, false, &[])
    }

    /// The same with the optimised build ([`legate_release_bin`]).
    pub fn start_release_with_args(args: &[std::ffi::OsString], admin_port: u16) -> Legate {
        Legate::launch(legate_release_bin(), args, None, admin_port, false, &[])
    }

    fn launch(
        binary: PathBuf,
        args: &[std::ffi::OsString],
        config: Option<tempfile::NamedTempFile>,
        admin_port: u16,
        capture: bool,
        env: &[(&str, &str)],
    ) -> Legate {
        let mut child = Command::new(binary)
            .args(args)
            .envs(env.iter().copied())
            .stdout(if capture {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = Captured::default();
        if let Some(out) = child.stdout.take() {
            let lines = stdout.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines() {
                    let Ok(line) = line else { break };
                    lines.0.lock().unwrap().push(line);
                }
            });
        }
        let mut legate = Legate {
            child,
            admin_port,
            stdout,
            _config: config,
        };
        for _ in 0..200 {
            if let Some(status) = legate.child.try_wait().unwrap() {
                panic!("legate exited during start: {status}");
            }
            if legate
                .admin_get("/readyz")
                .is_some_and(|(code, _)| code == 200)
            {
                return legate;
            }
            sleep(Duration::from_millis(50));
        }
        panic!("legate did not become ready");
    }

    /// What legate wrote to standard output so far (empty unless started capturing it).
    pub fn stdout(&self) -> Captured {
        self.stdout.clone()
    }

    /// GET on the admin API: status code and body.
    pub fn admin_get(&self, path: &str) -> Option<(u16, String)> {
        admin_get(self.admin_port, path)
    }

    /// Sends SIGTERM and returns at once.
    pub fn signal_term(&self) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
    }

    /// Waits (bounded) for the process to exit and returns its status.
    pub fn wait_exit(mut self) -> std::process::ExitStatus {
        for _ in 0..400 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            sleep(Duration::from_millis(50));
        }
        panic!("legate did not exit after SIGTERM");
    }

    /// SIGTERM, then wait for the exit status.
    pub fn terminate(self) -> std::process::ExitStatus {
        self.signal_term();
        self.wait_exit()
    }
}

impl Drop for Legate {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn admin_get(port: u16, path: &str) -> Option<(u16, String)> {
    http_get(port, path, None)
}

/// GET on 127.0.0.1:`port`, with `Authorization: Bearer TOKEN` when a token is given: status
/// code and body; `None` when nothing answers.
pub fn http_get(port: u16, path: &str, token: Option<&str>) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let authorization = token
        .map(|token| format!("Authorization: Bearer {token}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{authorization}Connection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let code = response.split(' ').nth(1)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((code, body))
}

/// A sipp process playing the called side; killed on drop.
pub struct SippServer {
    child: Child,
}

impl SippServer {
    /// `sipp -sf SCENARIO -i 127.0.0.1 -p PORT -t TRANSPORT -m CALLS`.
    pub fn start(scenario_name: &str, port: u16, transport: &str, calls: u32) -> SippServer {
        SippServer::start_with(scenario_name, port, transport, calls, &[])
    }

    /// The same with extra sipp arguments (`-lost 10`, say).
    pub fn start_with(
        scenario_name: &str,
        port: u16,
        transport: &str,
        calls: u32,
        extra: &[&str],
    ) -> SippServer {
        let child = sipp()
            .arg("-sf")
            .arg(scenario(scenario_name))
            .args(["-i", "127.0.0.1", "-p", &port.to_string(), "-t", transport])
            .args(["-m", &calls.to_string()])
            .args(extra)
            .spawn()
            .unwrap();
        // sipp binds at once; give it a moment so the first request does not race it.
        sleep(Duration::from_millis(300));
        SippServer { child }
    }

    /// Waits for sipp to finish its calls; true when they all succeeded.
    pub fn wait_success(mut self, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for SippServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// sipp in the foreground (so the handle is the real process), never reading the terminal.
fn sipp() -> Command {
    let mut command = Command::new("sipp");
    command
        .arg("-nostdin")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// Runs a sipp client to completion: `sipp TARGET -sf SCENARIO -p PORT -t TRANSPORT -m CALLS`.
pub fn sipp_client(
    scenario_name: &str,
    target: &str,
    port: u16,
    transport: &str,
    calls: u32,
    extra: &[&str],
) -> Output {
    sipp()
        .arg(target)
        .arg("-sf")
        .arg(scenario(scenario_name))
        .args(["-i", "127.0.0.1", "-p", &port.to_string(), "-t", transport])
        .args([
            "-m",
            &calls.to_string(),
            "-timeout",
            "30s",
            "-timeout_error",
        ])
        .args(extra)
        .output()
        .unwrap()
}

/// Sends one UDP datagram to `target` and returns the first answer within two seconds.
pub fn udp_exchange(target: &str, message: &[u8]) -> Option<String> {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    socket.send_to(message, target).unwrap();
    let mut buffer = vec![0u8; 65536];
    let (len, _) = socket.recv_from(&mut buffer).ok()?;
    Some(String::from_utf8_lossy(&buffer[..len]).into_owned())
}

/// Fails the test with sipp's own account when a sipp run did not succeed.
pub fn assert_sipp_success(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what}: sipp failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The value of the first metric line starting with `prefix` (name and labels) in `metrics`.
pub fn metric_value(metrics: &str, prefix: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// Plays `uac` against Legate's internal listener (UDP) with `uas` as the peer on `p.peer`, and
/// asserts that both sides completed all `calls`.
pub fn play(p: &config::Ports, uas: &str, uac: &str, calls: u32, uac_extra: &[&str]) {
    let peer = SippServer::start(uas, p.peer, "u1", calls);
    let output = sipp_client(uac, &p.internal_target(), p.client, "u1", calls, uac_extra);
    assert_sipp_success(&output, uac);
    assert!(
        peer.wait_success(Duration::from_secs(20)),
        "{uas} did not complete {calls} calls"
    );
}

impl Legate {
    /// The current value of a metric (name and labels as the line starts), if exposed.
    pub fn metric(&self, prefix: &str) -> Option<f64> {
        let (_, metrics) = self.admin_get("/metrics")?;
        metric_value(&metrics, prefix)
    }
}
