//! A DNS server for the end-to-end tests: dnsmasq on 127.0.0.1 and a free port, answering only
//! from the records a test gives it (NAPTR, SRV, A), and NXDOMAIN for any other name under
//! `.example`. It never forwards a query anywhere.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::free_port;
use crate::stream::wait_tcp_listener;

/// A running dnsmasq; killed on drop.
pub struct Dnsmasq {
    child: Child,
    pub port: u16,
    log: PathBuf,
}

impl Dnsmasq {
    /// Starts dnsmasq with `records`, each a dnsmasq option such as
    /// `--srv-host=_sips._tcp.partner.example,edge.partner.example,5071`.
    pub fn start(dir: &Path, records: &[String]) -> Dnsmasq {
        let port = free_port();
        let log = dir.join(format!("dnsmasq-{port}.log"));
        let child = Command::new(dnsmasq_binary())
            .args([
                "--no-daemon",
                "--no-resolv",
                "--no-hosts",
                "--conf-file=/dev/null",
                "--pid-file=",
                "--listen-address=127.0.0.1",
                "--bind-interfaces",
                "--log-queries",
                "--log-facility=-",
                // Names under .example not given here do not exist (NXDOMAIN).
                "--local=/example/",
            ])
            .arg(format!("--port={port}"))
            .args(records)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .expect("dnsmasq not found: run tests/prereqs.sh test");
        let dnsmasq = Dnsmasq { child, port, log };
        assert!(
            wait_tcp_listener(port, Duration::from_secs(10)),
            "dnsmasq did not listen on {port}: {}",
            dnsmasq.log()
        );
        dnsmasq
    }

    /// `127.0.0.1:port`, for `dns.servers`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The queries it answered so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// dnsmasq lives in /usr/sbin, which is not on every user's PATH.
fn dnsmasq_binary() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join("dnsmasq"))
        .find(|candidate| candidate.is_file());
    on_path.unwrap_or_else(|| PathBuf::from("/usr/sbin/dnsmasq"))
}
