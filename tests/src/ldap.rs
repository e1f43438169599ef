//! A real OpenLDAP `slapd` for directory tests: its own config and mdb database in a temporary
//! folder, loaded with `slapadd`, serving `ldap://127.0.0.1:<port>` in the foreground. It can be
//! stopped and started again on the same port and data; it is killed on drop.
//!
//! Nothing here touches a system slapd: the config, database and pid file live in the
//! temporary folder and the port is picked per test.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::Duration;

use crate::free_port;

/// The suffix every test directory lives under.
pub const SUFFIX: &str = "dc=local,dc=example";
/// The account Legate binds as, and its password.
pub const BIND_DN: &str = "cn=legate,ou=services,dc=local,dc=example";
pub const BIND_PASSWORD: &str = "legate-bind-secret";

pub struct Slapd {
    dir: tempfile::TempDir,
    /// Plain LDAP (and StartTLS, when the server has a certificate).
    pub port: u16,
    /// LDAP over TLS (`ldaps://`), when the server has a certificate.
    pub tls_port: Option<u16>,
    child: Option<Child>,
}

/// A server certificate and its key, PEM files.
pub struct ServerTls<'a> {
    pub certificate: &'a Path,
    pub private_key: &'a Path,
}

impl Slapd {
    /// Writes the config, loads `entries` (LDIF, under [`SUFFIX`], after the base entries the
    /// helper writes itself) and picks a port; does not start the server yet.
    pub fn prepare(entries: &str) -> Slapd {
        Slapd::prepare_with(entries, None)
    }

    /// The same with a certificate: StartTLS on the plain port, and an `ldaps://` port.
    pub fn prepare_with(entries: &str, tls: Option<ServerTls<'_>>) -> Slapd {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        let config = dir.path().join("slapd.conf");
        let tls_lines = match &tls {
            Some(tls) => format!(
                "TLSCertificateFile {}\nTLSCertificateKeyFile {}\n",
                tls.certificate.display(),
                tls.private_key.display()
            ),
            None => String::new(),
        };
        std::fs::write(&config, slapd_conf(dir.path(), &tls_lines)).unwrap();
        let ldif = dir.path().join("data.ldif");
        std::fs::write(&ldif, format!("{}\n{entries}", base_entries())).unwrap();
        let load = Command::new(sbin("slapadd"))
            .arg("-f")
            .arg(&config)
            .arg("-l")
            .arg(&ldif)
            .output()
            .unwrap();
        assert!(
            load.status.success(),
            "slapadd refused the test data: {}",
            String::from_utf8_lossy(&load.stderr)
        );
        Slapd {
            dir,
            port: free_port(),
            tls_port: tls.map(|_| free_port()),
            child: None,
        }
    }

    /// [`Slapd::prepare`], then [`Slapd::start`].
    pub fn running(entries: &str) -> Slapd {
        let mut slapd = Slapd::prepare(entries);
        slapd.start();
        slapd
    }

    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    /// The `ldaps://` url; panics when the server has no certificate.
    pub fn tls_url(&self) -> String {
        let port = self.tls_port.expect("slapd was prepared without TLS");
        format!("ldaps://127.0.0.1:{port}")
    }

    /// Starts slapd in the foreground and waits until it accepts connections.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "slapd is already running");
        let log = std::fs::File::create(self.log_path()).unwrap();
        let mut urls = format!("{}/", self.url());
        if self.tls_port.is_some() {
            urls.push_str(&format!(" {}/", self.tls_url()));
        }
        let child = Command::new(sbin("slapd"))
            .arg("-f")
            .arg(self.dir.path().join("slapd.conf"))
            .arg("-h")
            .arg(urls)
            // Any debug level keeps slapd in the foreground, where the handle can stop it.
            .args(["-d", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let ports: Vec<u16> = [Some(self.port), self.tls_port]
            .into_iter()
            .flatten()
            .collect();
        for _ in 0..200 {
            if ports
                .iter()
                .all(|port| TcpStream::connect(("127.0.0.1", *port)).is_ok())
            {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("slapd exited during start ({status}): {}", self.log());
            }
            sleep(Duration::from_millis(50));
        }
        panic!("slapd did not listen on {}: {}", self.url(), self.log());
    }

    /// Stops slapd (SIGTERM, then SIGKILL if it lingers) and waits until it is gone.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        for _ in 0..200 {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return;
            }
            sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("slapd.log")
    }

    /// What slapd wrote, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Debian installs the OpenLDAP server tools in /usr/sbin, which is not on every PATH.
fn sbin(tool: &str) -> PathBuf {
    let path = Path::new("/usr/sbin").join(tool);
    if path.exists() {
        path
    } else {
        PathBuf::from(tool)
    }
}

/// An mdb database under [`SUFFIX`]. Only the bound service account may read; anonymous
/// clients may only bind, so a search that works proves the bind did.
fn slapd_conf(dir: &Path, tls_lines: &str) -> String {
    let dir = dir.display();
    format!(
        "include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {dir}/slapd.pid
{tls_lines}database mdb
maxsize 16777216
suffix \"{SUFFIX}\"
rootdn \"cn=admin,{SUFFIX}\"
directory {dir}/data
access to attrs=userPassword by anonymous auth by * none
access to * by users read by * none
"
    )
}

fn base_entries() -> String {
    format!(
        "dn: {SUFFIX}
objectClass: dcObject
objectClass: organization
o: local
dc: local

dn: ou=services,{SUFFIX}
objectClass: organizationalUnit
ou: services

dn: {BIND_DN}
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: legate
userPassword: {BIND_PASSWORD}

dn: ou=people,{SUFFIX}
objectClass: organizationalUnit
ou: people

dn: ou=groups,{SUFFIX}
objectClass: organizationalUnit
ou: groups
"
    )
}
