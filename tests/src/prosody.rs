//! A real Prosody (Debian's `prosody`, 0.12) for the XMPP tests: its own config, data and log in
//! a temporary folder, serving client connections (c2s) on a free loopback port in the
//! foreground, with users registered by `prosodyctl`; killed on drop. Its users are driven by
//! [`XmppUser`] (slixmpp, tests/xmpp/client.py).
//!
//! Nothing here touches a system Prosody: the config names every path. Prosody refuses to run as
//! root unless its config says `run_as_root = true`, which it does (CI runs as root). Client
//! connections are plain TCP on loopback with PLAIN authentication, which the config allows
//! there; what crosses domains (s2s) is what the tests are about: a federating Prosody requires
//! TLS, presents its domain certificate, authenticates peers by certificate (SASL EXTERNAL) or by
//! dialback, and resolves names (libunbound) only through the test's DNS server and hosts file.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::time::Duration;

use crate::stream::wait_tcp_listener;
use crate::tls::Issued;
use crate::{free_port, workspace};

/// How long Prosody may take to listen.
const STARTUP: Duration = Duration::from_secs(20);

pub struct Prosody {
    dir: tempfile::TempDir,
    /// The domain it serves.
    pub domain: String,
    /// Client connections (c2s), plain TCP on 127.0.0.1.
    pub c2s_port: u16,
    child: Child,
}

/// How a Prosody federates: its s2s port on 127.0.0.1, the resolv.conf naming the test's DNS
/// server (see [`crate::dns::Dnsmasq::start_on_port_53`]), its domain certificate, and the CAs
/// it verifies other servers' certificates with: with them, a peer must prove its domain by
/// certificate (SASL EXTERNAL, XEP-0178) and dialback is not used; without, dialback.
pub struct S2s<'a> {
    pub port: u16,
    pub resolv_conf: &'a Path,
    pub certificate: &'a Issued,
    pub trust: Option<&'a Path>,
}

impl Prosody {
    /// Starts a Prosody serving `domain`, with `users` (`(name, password)`) registered, that
    /// does not federate.
    pub fn start(domain: &str, users: &[(&str, &str)]) -> Prosody {
        Prosody::start_with(domain, users, None)
    }

    /// Starts a Prosody serving `domain` that federates (s2s) as `s2s` says.
    pub fn start_federating(domain: &str, users: &[(&str, &str)], s2s: &S2s<'_>) -> Prosody {
        Prosody::start_with(domain, users, Some(s2s))
    }

    fn start_with(domain: &str, users: &[(&str, &str)], s2s: Option<&S2s<'_>>) -> Prosody {
        let dir = tempfile::tempdir().unwrap();
        let c2s_port = free_port();
        let config = dir.path().join("prosody.cfg.lua");
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        std::fs::create_dir_all(dir.path().join("certs")).unwrap();
        std::fs::write(&config, config_text(dir.path(), domain, c2s_port, s2s)).unwrap();
        std::fs::write(dir.path().join("hosts"), "").unwrap();
        if let Some(s2s) = s2s {
            // Prosody finds a host's certificate in its certificate folder by the host's name.
            let certs = dir.path().join("certs");
            std::fs::copy(
                &s2s.certificate.certificate,
                certs.join(format!("{domain}.crt")),
            )
            .unwrap();
            std::fs::copy(
                &s2s.certificate.private_key,
                certs.join(format!("{domain}.key")),
            )
            .unwrap();
        }
        for (user, password) in users {
            let output = prosodyctl(&config, &["register", user, domain, password]);
            assert!(
                output.status.success(),
                "prosodyctl register {user}@{domain} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let log = std::fs::File::create(dir.path().join("prosody.log")).unwrap();
        let child = Command::new(prosody_bin())
            .arg("--config")
            .arg(&config)
            .arg("-F")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|error| {
                panic!("prosody does not start ({error}): install it with `bash tests/prereqs.sh test`")
            });
        let prosody = Prosody {
            dir,
            domain: domain.to_string(),
            c2s_port,
            child,
        };
        assert!(
            wait_tcp_listener(c2s_port, STARTUP),
            "prosody did not listen on 127.0.0.1:{c2s_port}:\n{}",
            prosody.log()
        );
        prosody
    }

    /// What Prosody logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prosody.log")).unwrap_or_default()
    }

    /// `host:port` of the c2s listener, for [`XmppUser`].
    pub fn c2s(&self) -> String {
        format!("127.0.0.1:{}", self.c2s_port)
    }
}

impl Drop for Prosody {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn prosody_bin() -> PathBuf {
    PathBuf::from("/usr/bin/prosody")
}

fn prosodyctl(config: &Path, args: &[&str]) -> Output {
    Command::new("/usr/bin/prosodyctl")
        .arg("--config")
        .arg(config)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|error| {
            panic!(
                "prosodyctl does not run ({error}): install it with `bash tests/prereqs.sh test`"
            )
        })
}

fn config_text(dir: &Path, domain: &str, c2s_port: u16, s2s: Option<&S2s<'_>>) -> String {
    let mut modules = vec!["roster", "saslauth", "tls", "disco", "ping", "presence"];
    let s2s = match s2s {
        None => "modules_disabled = { \"s2s\" }".to_string(),
        Some(s2s) => {
            // TLS on every server-to-server stream; a peer proves its domain by certificate
            // when there are CAs to verify it with, else by dialback.
            let authentication = match s2s.trust {
                Some(cafile) => format!(
                    "s2s_secure_auth = true\nssl = {{ cafile = \"{}\" }}",
                    cafile.display()
                ),
                None => {
                    modules.push("dialback");
                    "s2s_secure_auth = false".to_string()
                }
            };
            format!(
                "s2s_ports = {{ {port} }}\n\
                 s2s_require_encryption = true\n\
                 {authentication}\n\
                 -- Names are looked up only through the test's DNS server and hosts file.\n\
                 unbound = {{ resolvconf = \"{resolv}\", hoststxt = \"{hosts}\" }}",
                port = s2s.port,
                resolv = s2s.resolv_conf.display(),
                hosts = dir.join("hosts").display(),
            )
        }
    };
    let modules = modules
        .iter()
        .map(|module| format!("\"{module}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let dir = dir.display();
    format!(
        r#"-- Written by the tests: everything in {dir}.
run_as_root = true
pidfile = "{dir}/prosody.pid"
data_path = "{dir}/data"
certificates = "{dir}/certs"
log = {{ {{ levels = {{ min = "info" }}, to = "console" }} }}
interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {c2s_port} }}
c2s_direct_tls_ports = {{ }}
legacy_ssl_ports = {{ }}
modules_enabled = {{ {modules} }}
{s2s}
authentication = "internal_plain"
-- Plain client connections, on loopback only.
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
VirtualHost "{domain}"
"#
    )
}

/// One XMPP user's client run (tests/xmpp/client.py): logs in, sends, and waits for messages.
pub struct XmppUser<'a> {
    pub jid: String,
    pub password: &'a str,
    pub server: String,
}

impl XmppUser<'_> {
    /// Logs in, sends each `(to, body)` as a chat message, waits up to `timeout` for each
    /// `(from, body)`, and returns the client's exit status and output.
    pub fn run(&self, send: &[(&str, &str)], expect: &[(&str, &str)], timeout: Duration) -> Output {
        self.command(send, expect, timeout).output().unwrap()
    }

    /// Starts the client waiting for each `(from, body)` and returns once it is online (so a
    /// message sent now reaches it); [`OnlineUser::finish`] collects its result.
    pub fn online(&self, expect: &[(&str, &str)], timeout: Duration) -> OnlineUser {
        let mut child = self
            .command(&[], expect, timeout)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{}: the client's output is not piped", self.jid);
        };
        let mut stdout = BufReader::new(stdout);
        let mut seen = String::new();
        loop {
            let mut line = String::new();
            if stdout.read_line(&mut line).unwrap_or(0) == 0 {
                let output = child.wait_with_output().unwrap();
                panic!(
                    "{} did not come online:\n{seen}{}",
                    self.jid,
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            seen.push_str(&line);
            if line.trim() == "online" {
                return OnlineUser {
                    child,
                    stdout,
                    seen,
                };
            }
        }
    }

    fn command(
        &self,
        send: &[(&str, &str)],
        expect: &[(&str, &str)],
        timeout: Duration,
    ) -> Command {
        let python = workspace().join("target/python-tools/bin/python");
        assert!(
            python.exists(),
            "{} not found: install the test tools with `bash tests/prereqs.sh test`",
            python.display()
        );
        let mut command = Command::new(python);
        command
            .arg(workspace().join("tests/xmpp/client.py"))
            .args(["--jid", &self.jid, "--password", self.password])
            .args(["--server", &self.server])
            .args(["--timeout", &timeout.as_secs_f64().to_string()])
            .stdin(Stdio::null());
        for (to, body) in send {
            command.args(["--send", to, body]);
        }
        for (from, body) in expect {
            command.args(["--expect", from, body]);
        }
        command
    }
}

/// A client run that is online and waiting (see [`XmppUser::online`]).
pub struct OnlineUser {
    child: Child,
    stdout: BufReader<ChildStdout>,
    seen: String,
}

impl OnlineUser {
    /// Waits for the client to end; returns whether it got every message it expected, and
    /// everything it printed.
    pub fn finish(mut self) -> (bool, String) {
        let mut rest = String::new();
        let _ = self.stdout.read_to_string(&mut rest);
        let output = self.child.wait_with_output().unwrap();
        let printed = format!(
            "{}{rest}{}",
            self.seen,
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.success(), printed)
    }
}
