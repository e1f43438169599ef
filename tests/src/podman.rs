//! Podman for the tests that build Legate's container image and run it, or run rendered
//! manifests with `podman kube play`. Every command a [`Podman`] runs uses a storage root, a
//! run root, locks and an engine configuration of its own, inside one temporary folder: the
//! tests neither see nor disturb other containers on the machine, and dropping the handle
//! removes every container, pod, volume and image it made, failed test or not.
//!
//! Every command is bounded in time: a hung engine fails the test instead of stalling it.

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::control_plane_process::control_plane_bin;
use crate::{legate_bin, workspace};

/// How long one podman command may take, unless the caller says otherwise.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// The image charts/image/build.sh tags: `localhost/legate:<workspace version>`.
pub fn legate_image() -> String {
    format!("localhost/legate:{}", env!("CARGO_PKG_VERSION"))
}

/// An engine of the test's own:
///
/// ```no_run
/// let podman = legate_e2e::podman::Podman::new();
/// let image = podman.build_legate_image();
/// let container = podman.start(&["--network=host", "--read-only", &image, "filters"]);
/// let (_stdout, _stderr) = container.logs();
/// // podman.kube_play(Path::new("rendered.yaml"), &["--network=host"]) for manifests
/// ```
pub struct Podman {
    dir: tempfile::TempDir,
    global: Vec<String>,
}

impl Podman {
    /// An empty engine of its own: no image, no container.
    pub fn new() -> Podman {
        let dir = tempfile::Builder::new()
            .prefix("legate-podman.")
            .tempdir()
            .unwrap();
        let path = dir.path();
        for folder in ["root", "runroot", "tmp", "networks"] {
            std::fs::create_dir(path.join(folder)).unwrap();
        }
        std::fs::write(path.join("containers.conf"), engine_config(path)).unwrap();
        let mut global = vec![
            format!("--root={}", path.join("root").display()),
            format!("--runroot={}", path.join("runroot").display()),
        ];
        global.extend(storage_driver());
        let podman = Podman { dir, global };
        let mut probe = podman.command();
        probe.arg("--version");
        match finish_within(probe, COMMAND_TIMEOUT) {
            Ok(output) if output.status.success() => podman,
            Ok(output) => panic!(
                "podman does not run: {}",
                String::from_utf8_lossy(&output.stderr)
            ),
            Err(error) => {
                panic!("podman does not run (tests/prereqs.sh test installs it): {error}")
            }
        }
    }

    /// The folder holding this engine's storage and configuration.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `podman` with this engine's storage options and configuration, ready for arguments.
    pub fn command(&self) -> Command {
        let mut command = Command::new("podman");
        command
            .args(&self.global)
            .env("CONTAINERS_CONF", self.dir().join("containers.conf"))
            .stdin(Stdio::null());
        command
    }

    /// The same command as one line, for scripts that take it in `PODMAN` (build.sh).
    pub fn command_line(&self) -> String {
        let mut line = String::from("podman");
        for arg in &self.global {
            line.push(' ');
            line.push_str(arg);
        }
        line
    }

    /// Runs `podman ARGS` within [`COMMAND_TIMEOUT`].
    pub fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        self.run_within(args, COMMAND_TIMEOUT)
    }

    /// Runs `podman ARGS` within `timeout`; a command that takes longer is killed and fails the
    /// test.
    pub fn run_within<S: AsRef<OsStr>>(&self, args: &[S], timeout: Duration) -> Output {
        let mut command = self.command();
        command.args(args);
        finish_within(command, timeout).unwrap_or_else(|error| panic!("{error}"))
    }

    /// Runs `podman ARGS`, fails the test unless it succeeds, and returns its standard output,
    /// trimmed.
    /// The audit table Legate's image prints for the SQLite file at `/var/lib/legate/audit.db`
    /// of the state volume that `volume` names (`--volume=NAME:/var/lib/legate`, or
    /// `--volumes-from=CONTAINER`): `legate audit query`, run read-only with no network.
    pub fn audit_query(&self, volume: &str) -> String {
        let image = legate_image();
        self.ok(&[
            "run",
            "--rm",
            "--read-only",
            "--cap-drop=ALL",
            "--network=none",
            volume,
            &image,
            "audit",
            "query",
            "--sqlite",
            "/var/lib/legate/audit.db",
        ])
    }

    pub fn ok<S: AsRef<OsStr>>(&self, args: &[S]) -> String {
        let output = self.run(args);
        assert_success(&output, args);
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    /// Builds Legate's image from the binaries the other end-to-end tests run
    /// ([`legate_bin`], [`control_plane_bin`]) with charts/image/build.sh, and returns its tag.
    pub fn build_legate_image(&self) -> String {
        let mut command = Command::new("bash");
        command
            .arg(workspace().join("charts/image/build.sh"))
            .arg("--binaries")
            .arg(legate_bin())
            .arg(control_plane_bin())
            .env("PODMAN", self.command_line())
            .env("CONTAINERS_CONF", self.dir().join("containers.conf"))
            .stdin(Stdio::null());
        let output = finish_within(command, Duration::from_secs(180)).unwrap();
        assert!(
            output.status.success(),
            "charts/image/build.sh failed ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        legate_image()
    }

    /// `podman run --detach ARGS` (options, image, command): the started container, removed
    /// when the handle drops.
    pub fn start<S: AsRef<OsStr>>(&self, args: &[S]) -> Container<'_> {
        let mut all: Vec<&OsStr> = vec![OsStr::new("run"), OsStr::new("--detach")];
        all.extend(args.iter().map(AsRef::as_ref));
        let id = self.ok(&all);
        Container { podman: self, id }
    }

    /// `podman create ARGS`: a container that is not started (to export its file system, say),
    /// removed when the handle drops.
    pub fn create<S: AsRef<OsStr>>(&self, args: &[S]) -> Container<'_> {
        let mut all: Vec<&OsStr> = vec![OsStr::new("create")];
        all.extend(args.iter().map(AsRef::as_ref));
        let id = self.ok(&all);
        Container { podman: self, id }
    }

    /// `podman kube play ARGS YAML`: the pods and volumes it makes are removed with the engine.
    pub fn kube_play<S: AsRef<OsStr>>(&self, yaml: &Path, args: &[S]) -> String {
        let mut all: Vec<&OsStr> = vec![OsStr::new("kube"), OsStr::new("play")];
        all.extend(args.iter().map(AsRef::as_ref));
        all.push(yaml.as_os_str());
        self.ok(&all)
    }

    /// A container this engine made by other means than [`Podman::start`] (`kube play` names
    /// them `<pod>-<container>`), by name or id; removed when the handle drops.
    pub fn container(&self, name: &str) -> Container<'_> {
        Container {
            podman: self,
            id: name.to_string(),
        }
    }

    /// `podman kube down YAML`: stops and removes what `kube play` made of it.
    pub fn kube_down(&self, yaml: &Path) -> String {
        self.ok(&[OsStr::new("kube"), OsStr::new("down"), yaml.as_os_str()])
    }
}

impl Default for Podman {
    fn default() -> Podman {
        Podman::new()
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        // Nothing here may panic: this also runs while a failed test unwinds.
        let timeout = Duration::from_secs(60);
        for args in [
            &["pod", "rm", "--all", "--force", "--time", "0"][..],
            &["rm", "--all", "--force", "--time", "0"],
            &["volume", "rm", "--all", "--force"],
            &["rmi", "--all", "--force"],
        ] {
            let mut command = self.command();
            command.args(args);
            let _ = finish_within(command, timeout);
        }
        remove_storage(self);
    }
}

static SHARED: Mutex<Weak<Podman>> = Mutex::new(Weak::new());

/// An engine with Legate's image built ([`Podman::build_legate_image`]), shared by the tests of
/// this process that hold it at the same time, so the image is built once for them; removed
/// when the last of them drops it.
pub fn shared_with_legate_image() -> Arc<Podman> {
    let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(podman) = shared.upgrade() {
        return podman;
    }
    let podman = Arc::new(Podman::new());
    podman.build_legate_image();
    *shared = Arc::downgrade(&podman);
    podman
}

/// A container started by [`Podman::start`]; removed (killed if need be) on drop.
pub struct Container<'p> {
    podman: &'p Podman,
    id: String,
}

impl Container<'_> {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// `podman inspect --format FORMAT` of the container.
    pub fn inspect(&self, format: &str) -> String {
        self.podman.ok(&[
            "inspect",
            "--type",
            "container",
            "--format",
            format,
            &self.id,
        ])
    }

    pub fn running(&self) -> bool {
        self.inspect("{{.State.Running}}") == "true"
    }

    /// What the container wrote so far: standard output and standard error, each in order.
    pub fn logs(&self) -> (String, String) {
        let output = self.podman.run(&["logs", &self.id]);
        assert_success(&output, &["logs", &self.id]);
        (
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// `podman top` of the container's main process with these descriptors (`user`, `capeff`,
    /// …): the values, without the header.
    pub fn top(&self, descriptors: &[&str]) -> String {
        let mut args = vec!["top", &self.id];
        args.extend_from_slice(descriptors);
        let table = self.podman.ok(&args);
        table.lines().skip(1).collect::<Vec<_>>().join("\n")
    }

    /// Waits (bounded) until the container has written `needle` to either stream; fails the
    /// test, with the logs, when it exits first or `timeout` passes.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let (out, err) = self.logs();
            if out.contains(needle) || err.contains(needle) {
                return;
            }
            assert!(
                self.running(),
                "the container exited before writing {needle:?}:\n{out}{err}"
            );
            assert!(
                Instant::now() < deadline,
                "the container did not write {needle:?} within {timeout:?}:\n{out}{err}"
            );
            sleep(Duration::from_millis(100));
        }
    }

    /// Waits (bounded) until `ready` holds; fails the test, with the logs, when the container
    /// exits first or `timeout` passes.
    pub fn wait_until(&self, what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) {
        let deadline = Instant::now() + timeout;
        while !ready() {
            if !self.running() || Instant::now() >= deadline {
                let (out, err) = self.logs();
                panic!("the container exited or timed out before {what}:\n{out}{err}");
            }
            sleep(Duration::from_millis(50));
        }
    }

    /// `podman stop --time GRACE` (the image's stop signal, then SIGKILL after `grace`
    /// seconds), and the exit code.
    pub fn stop(&self, grace: u32) -> i32 {
        let grace_text = grace.to_string();
        let timeout = COMMAND_TIMEOUT + Duration::from_secs(grace.into());
        let args = ["stop", "--time", &grace_text, &self.id];
        let output = self.podman.run_within(&args, timeout);
        assert_success(&output, &args);
        self.inspect("{{.State.ExitCode}}").parse().unwrap()
    }
}

impl Drop for Container<'_> {
    fn drop(&mut self) {
        let mut command = self.podman.command();
        command.args(["rm", "--force", "--time", "0", &self.id]);
        let _ = finish_within(command, COMMAND_TIMEOUT);
    }
}

/// The engine configuration: everything that would otherwise be shared with other podman
/// users of the machine (temporary state, locks, events, networks) lives in `dir`.
fn engine_config(dir: &Path) -> String {
    format!(
        r#"[containers]
# Containers keep the limits the tests run with: raising them is not allowed everywhere.
default_ulimits = []

[engine]
# No systemd to hand cgroups to; runc is the runtime tests/prereqs.sh installs.
cgroup_manager = "cgroupfs"
runtime = "runc"
tmp_dir = "{dir}/tmp"
# File locks live in tmp_dir; the shared-memory default is one segment for every engine.
lock_type = "file"
events_logger = "file"
events_logfile_path = "{dir}/events.log"

[network]
network_config_dir = "{dir}/networks"
"#,
        dir = dir.display()
    )
}

/// The storage driver options: the kernel's overlay for root, and for other users on Linux
/// 5.13 or later (which mounts overlays in a user namespace); before that, overlay through
/// fuse-overlayfs when it is installed and `/dev/fuse` may be opened, else vfs, which copies
/// every layer but works anywhere.
fn storage_driver() -> Vec<String> {
    if running_as_root() || kernel_at_least(5, 13) {
        return vec!["--storage-driver=overlay".into()];
    }
    let fuse = Path::new("/usr/bin/fuse-overlayfs");
    let device = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/fuse");
    if fuse.exists() && device.is_ok() {
        return vec![
            "--storage-driver=overlay".into(),
            format!("--storage-opt=overlay.mount_program={}", fuse.display()),
        ];
    }
    vec!["--storage-driver=vfs".into()]
}

fn kernel_at_least(major: u32, minor: u32) -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut numbers = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|n| n.parse::<u32>().unwrap_or(0));
    let found = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
    found >= (major, minor)
}

/// Whether the tests run as root (podman then runs containers with the machine's own ids).
pub fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Removes the engine's folder. Layers may still be mounted if podman was interrupted, and
/// without root the files belong to the user namespace's ids: both are dealt with first.
fn remove_storage(podman: &Podman) {
    let dir = podman.dir();
    if running_as_root() {
        for mount_point in mounts_below(dir) {
            let _ = Command::new("umount")
                .arg("--lazy")
                .arg(&mount_point)
                .status();
        }
    } else {
        let mut command = podman.command();
        command.args(["unshare", "rm", "-rf"]).arg(dir.join("root"));
        let _ = finish_within(command, COMMAND_TIMEOUT);
        stop_pause_process(&dir.join("tmp/pause.pid"));
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Without root, podman keeps its user namespace open with a pause process whose id it writes
/// in the engine's tmp_dir; each engine has its own, which would outlive the test.
fn stop_pause_process(pid_file: &Path) {
    let Some(pid) = std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok())
    else {
        return;
    };
    // The id is only trusted while it still names the pause process.
    let command_line = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    if String::from_utf8_lossy(&command_line).contains("catatonit") {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
}

/// Mount points under `dir`, deepest first.
fn mounts_below(dir: &Path) -> Vec<PathBuf> {
    let table = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut points: Vec<PathBuf> = table
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(PathBuf::from)
        .filter(|point| point.starts_with(dir))
        .collect();
    points.sort_by_key(|point| std::cmp::Reverse(point.components().count()));
    points
}

/// Runs `command` to its end, collecting both streams; kills it after `timeout`.
pub fn finish_within(mut command: Command, timeout: Duration) -> Result<Output, String> {
    let described = format!("{command:?}");
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("{described}: {error}"))?;
    let collect = |mut stream: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stream.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = collect(Box::new(child.stdout.take().unwrap()));
    let stderr = collect(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{described} did not finish within {timeout:?}"));
        }
        sleep(Duration::from_millis(20));
    };
    Ok(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

fn assert_success<S: AsRef<OsStr>>(output: &Output, args: &[S]) {
    assert!(
        output.status.success(),
        "podman {:?} failed ({}):\n{}{}",
        args.iter().map(AsRef::as_ref).collect::<Vec<_>>(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
