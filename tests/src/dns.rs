//! A DNS server for the end-to-end tests: dnsmasq on 127.0.0.1 and a free port (or port 53 of
//! a loopback address of its own, for resolvers that read a resolv.conf), answering only
//! from the records a test gives it (NAPTR, SRV, A), and NXDOMAIN for any other name under
//! `.example`. It never forwards a query anywhere.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::free_port;

/// A running dnsmasq; killed on drop.
pub struct Dnsmasq {
    child: Child,
    /// The loopback address it listens on (127.0.0.1 unless started on port 53).
    pub address: String,
    pub port: u16,
    log: PathBuf,
}

impl Dnsmasq {
    /// Starts dnsmasq with `records`, each a dnsmasq option such as
    /// `--srv-host=_sips._tcp.partner.example,edge.partner.example,5071`.
    pub fn start(dir: &Path, records: &[String]) -> Dnsmasq {
        Dnsmasq::start_at(dir, "127.0.0.1", free_port(), records)
    }

    /// Starts dnsmasq on port 53 of a loopback address of its own (127.0.53.x), for resolvers
    /// that read a resolv.conf, which has no port (libunbound's, Prosody's).
    pub fn start_on_port_53(dir: &Path, records: &[String]) -> Dnsmasq {
        let address = (1..=254)
            .map(|x| format!("127.0.53.{x}"))
            .find(|address| std::net::UdpSocket::bind((address.as_str(), 53)).is_ok())
            .expect("no free 127.0.53.x:53");
        Dnsmasq::start_at(dir, &address, 53, records)
    }

    fn start_at(dir: &Path, address: &str, port: u16, records: &[String]) -> Dnsmasq {
        let log = dir.join(format!("dnsmasq-{address}-{port}.log"));
        let child = Command::new(dnsmasq_binary())
            .args([
                "--no-daemon",
                "--no-resolv",
                "--no-hosts",
                "--conf-file=/dev/null",
                "--pid-file=",
                "--bind-interfaces",
                "--log-queries",
                "--log-facility=-",
                // Names under .example not given here do not exist (NXDOMAIN).
                "--local=/example/",
            ])
            .arg(format!("--listen-address={address}"))
            .arg(format!("--port={port}"))
            .args(records)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .expect("dnsmasq not found: run tests/prereqs.sh test");
        let dnsmasq = Dnsmasq {
            child,
            address: address.to_string(),
            port,
            log,
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect((address, port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "dnsmasq did not listen on {address}:{port}: {}",
                dnsmasq.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        dnsmasq
    }

    /// A resolv.conf naming this server (which must listen on port 53: see
    /// [`Dnsmasq::start_on_port_53`]), written to `path`.
    pub fn write_resolv_conf(&self, path: &Path) {
        assert_eq!(self.port, 53, "a resolv.conf cannot name a port");
        std::fs::write(path, format!("nameserver {}\n", self.address)).unwrap();
    }

    /// `127.0.0.1:port`, for `dns.servers`.
    pub fn address(&self) -> String {
        format!("{}:{}", self.address, self.port)
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
