//! A real PostgreSQL server for store tests: a fresh cluster (`initdb`) in a temporary folder,
//! the postmaster in the foreground on a free 127.0.0.1 port with trust authentication for the
//! user [`USER`]. It can be stopped and started again on the same port and data; it is stopped
//! on drop.
//!
//! PostgreSQL refuses to run as root. When the tests run as root, the server runs as the
//! unprivileged system user [`RUN_AS`] (created with `useradd` when missing), through
//! `setpriv`, which execs so the child handle is the postmaster itself.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::thread::sleep;
use std::time::Duration;

use crate::free_port;

/// The database superuser the tests connect as.
pub const USER: &str = "legate";
/// The account the server runs as when the tests run as root.
pub const RUN_AS: &str = "legate-test";

pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    run_as: Option<(u32, u32)>,
    pub port: u16,
    child: Option<Child>,
    /// Certificate and key files in the cluster's folder, when it serves TLS.
    tls: Option<(PathBuf, PathBuf)>,
}

impl Postgres {
    /// A new cluster, started.
    pub fn start() -> Postgres {
        let bin = bin_dir();
        let run_as = unprivileged_account();
        let dir = tempfile::tempdir().unwrap();
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
        }
        let mut postgres = Postgres {
            dir,
            bin,
            run_as,
            port: free_port(),
            child: None,
            tls: None,
        };
        let init = postgres
            .server_command("initdb")
            .arg("-D")
            .arg(postgres.data_dir())
            .args([
                "-U",
                USER,
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ])
            .output()
            .unwrap();
        assert!(
            init.status.success(),
            "initdb failed: {}{}",
            String::from_utf8_lossy(&init.stdout),
            String::from_utf8_lossy(&init.stderr)
        );
        postgres.start_again();
        postgres
    }

    /// `postgres://legate@127.0.0.1:<port>/postgres`
    pub fn url(&self) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server on its port and data, and waits until it accepts queries.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "postgres is already running");
        let log = std::fs::File::create(self.log_path()).unwrap();
        let child = self
            .server_command("postgres")
            .arg("-D")
            .arg(self.data_dir())
            .args(["-p", &self.port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!(
                "unix_socket_directories={}",
                self.dir.path().display()
            ))
            // A test database need not survive a power loss.
            .args(["-c", "fsync=off", "-c", "max_connections=30"])
            .args(self.tls_settings())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        for _ in 0..400 {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
                .status()
                .is_ok_and(|status| status.success());
            if ready {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("postgres exited during start ({status}): {}", self.log());
            }
            sleep(Duration::from_millis(50));
        }
        panic!("postgres did not accept connections: {}", self.log());
    }

    /// Restarts the server offering TLS with `certificate` (clients may still connect in the
    /// clear; `pg_stat_ssl` tells which did not).
    pub fn serve_tls(&mut self, certificate: &crate::tls::Issued) {
        let (cert, key) = (
            self.dir.path().join("server.crt"),
            self.dir.path().join("server.key"),
        );
        std::fs::copy(&certificate.certificate, &cert).unwrap();
        std::fs::copy(&certificate.private_key, &key).unwrap();
        // PostgreSQL takes a key only its own user can read.
        std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        if let Some((uid, gid)) = self.run_as {
            for file in [&cert, &key] {
                std::os::unix::fs::chown(file, Some(uid), Some(gid)).unwrap();
            }
        }
        self.tls = Some((cert, key));
        self.stop();
        self.start_again();
    }

    fn tls_settings(&self) -> Vec<String> {
        let Some((cert, key)) = &self.tls else {
            return Vec::new();
        };
        vec![
            "-c".into(),
            "ssl=on".into(),
            "-c".into(),
            format!("ssl_cert_file={}", cert.display()),
            "-c".into(),
            format!("ssl_key_file={}", key.display()),
        ]
    }

    /// Stops the server (fast shutdown: clients are disconnected) and waits until it is gone.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        for _ in 0..400 {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return;
            }
            sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Runs `sql` with psql and returns its unaligned output; panics when psql fails.
    pub fn psql(&self, sql: &str) -> String {
        // In the clear, so psql's own session never counts among encrypted ones.
        let output = Command::new(self.bin.join("psql"))
            .env("PGSSLMODE", "disable")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", USER])
            .args([
                "-d",
                "postgres",
                "-X",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "psql failed on {sql}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    /// What the server logged, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    /// `tool` from the server's bin folder, as the unprivileged account when needed.
    fn server_command(&self, tool: &str) -> Command {
        let program = self.bin.join(tool);
        match self.run_as {
            Some((uid, gid)) => {
                let mut command = Command::new("setpriv");
                command
                    .arg(format!("--reuid={uid}"))
                    .arg(format!("--regid={gid}"))
                    .arg("--clear-groups")
                    .arg("--")
                    .arg(program);
                command
            }
            None => Command::new(program),
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The server binaries: `LEGATE_PG_BIN`, else the newest Debian `/usr/lib/postgresql/*/bin`,
/// else the folder of an `initdb` in /usr/local/bin or on PATH.
fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("LEGATE_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return bin;
    }
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    std::iter::once(PathBuf::from("/usr/local/bin"))
        .chain(on_path)
        .find(|dir| dir.join("initdb").exists())
        .map(|dir| std::fs::canonicalize(dir.join("initdb")).unwrap_or(dir.join("initdb")))
        .and_then(|initdb| initdb.parent().map(Path::to_path_buf))
        .expect("no PostgreSQL server found (initdb): run tests/prereqs.sh test")
}

/// `(uid, gid)` of [`RUN_AS`] when running as root (creating the account if needed), `None`
/// otherwise.
fn unprivileged_account() -> Option<(u32, u32)> {
    // Once per process: tests running in parallel threads must not race `useradd`.
    static ACCOUNT: OnceLock<Option<(u32, u32)>> = OnceLock::new();
    *ACCOUNT.get_or_init(find_or_create_account)
}

fn find_or_create_account() -> Option<(u32, u32)> {
    if id(&["-u"]) != Some(0) {
        return None;
    }
    if id(&["-u", RUN_AS]).is_none() {
        // Two test binaries may race to create it; whichever loses finds it made.
        let _ = Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                RUN_AS,
            ])
            .stderr(Stdio::null())
            .status();
    }
    let uid = id(&["-u", RUN_AS]).expect("cannot create the user to run postgres as");
    let gid = id(&["-g", RUN_AS]).expect("the postgres test user has no group");
    Some((uid, gid))
}

fn id(args: &[&str]) -> Option<u32> {
    let output = Command::new("id").args(args).output().ok()?;
    if !output.status.success() {
        return None;
    }
    String::from_utf8_lossy(&output.stdout).trim().parse().ok()
}
