//! Legate's container image (Dockerfile, charts/image/), built from this workspace's binaries
//! and run with podman the way a locked-down pod runs it: as user 65532, on a read-only root,
//! with no capabilities and no privilege escalation, state in a volume, configuration mounted
//! read-only. Real SIP goes through it, SIGTERM stops it cleanly, the control plane runs from
//! the same image, and there is nothing in it but the two binaries and what they need.

#![allow(clippy::unwrap_used, clippy::disallowed_types)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use legate_e2e::config::{proxy_config, udp_cluster, with_internal_filters, Ports};
use legate_e2e::podman::{legate_image, running_as_root, shared_with_legate_image};
use legate_e2e::upstream::{message, AcceptingUpstream};
use legate_e2e::{admin_get, built_binary, free_port, http_get, workspace};

/// How a production pod runs Legate. The network is the host's because the test's peers
/// listen on the host's loopback, which a network namespace of its own could not reach.
/// `podman logs` reads the k8s-file log whatever the engine's default; the image is local.
const LOCKED_DOWN: [&str; 6] = [
    "--read-only",
    "--cap-drop=ALL",
    "--security-opt=no-new-privileges",
    "--network=host",
    "--log-driver=k8s-file",
    "--pull=never",
];

const STARTUP: Duration = Duration::from_secs(30);

#[test]
fn the_dockerfile_passes_hadolint() {
    let hadolint = built_binary(
        "HADOLINT",
        "target/python-tools/bin/hadolint",
        "bash tests/prereqs.sh test",
    );
    let output = Command::new(hadolint)
        .arg(workspace().join("charts/image/Dockerfile"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "hadolint:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_image_relays_sip_unprivileged_on_a_read_only_root_and_stops_cleanly_on_sigterm() {
    let podman = shared_with_legate_image();
    let upstream = AcceptingUpstream::start();
    let p = Ports::pick();
    let dir = tempfile::tempdir().unwrap();
    let config = readable_file(
        &dir.path().join("legate.yaml"),
        &relay_config(&p, &upstream),
    );
    let config_mount = format!("{}:/etc/legate/legate.yaml:ro", config.display());
    let image = legate_image();

    // The image's own command: `run --config /etc/legate/legate.yaml --state-dir …`.
    let mut args: Vec<&str> = LOCKED_DOWN.to_vec();
    args.extend(["--volume=relay-state:/var/lib/legate", "--volume"]);
    args.extend([config_mount.as_str(), &image]);
    let legate = podman.start(&args);
    legate.wait_until("/readyz answered 200", STARTUP, || {
        admin_get(p.admin, "/readyz").is_some_and(|(code, _)| code == 200)
    });
    assert_eq!(admin_get(p.admin, "/healthz").map(|(c, _)| c), Some(200));

    // Legate's own user, no capability left, and the root file system read-only.
    let identity = legate.top(&["user", "group", "huser", "capeff"]);
    let identity: Vec<&str> = identity.split_whitespace().collect();
    assert_eq!(identity[..2], ["legate", "legate"], "{identity:?}");
    assert!(identity[2] == "65532" || !running_as_root(), "{identity:?}");
    assert_eq!(identity[3], "none", "{identity:?}");
    assert_eq!(legate.inspect("{{.HostConfig.ReadonlyRootfs}}"), "true");

    // A MESSAGE from the host crosses Legate to the upstream, and the upstream's 200 comes back.
    let relayed = upstream.relayed(
        p.internal,
        &message(
            "alice@local.example",
            "bob@remote.example",
            "image-relay@local.example",
        ),
    );
    assert!(
        relayed.starts_with("MESSAGE sip:bob@remote.example SIP/2.0")
            && relayed.contains("X-Legate-Side: internal"),
        "{relayed}"
    );

    // `podman stop` sends the image's SIGTERM; Legate drains and exits 0 well before SIGKILL.
    assert_eq!(legate.stop(20), 0, "{:?}", legate.logs());
    let (stdout, stderr) = legate.logs();
    assert_eq!(stdout, "", "nothing but logs was configured to be written");
    let messages = log_messages(&stderr);
    for expected in ["legate is serving", "SIGTERM: draining", "stopped"] {
        assert!(
            messages.iter().any(|m| m == expected),
            "no {expected:?} in {messages:?}"
        );
    }

    // The audit record is in the volume: the image's own `legate audit query` reads it there.
    let table = podman.audit_query("--volume=relay-state:/var/lib/legate");
    assert!(
        table
            .lines()
            .any(|l| l.contains("alice@local.example") && l.contains(" MESSAGE ")),
        "{table}"
    );
}

#[test]
fn the_control_plane_runs_from_the_same_image_and_wants_its_token() {
    let podman = shared_with_legate_image();
    let token = "image-control-plane-token-7f3a9c";
    let dir = tempfile::tempdir().unwrap();
    let config_dir = dir.path().join("config");
    std::fs::create_dir(&config_dir).unwrap();
    std::fs::set_permissions(&config_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let upstream = AcceptingUpstream::start();
    readable_file(
        &config_dir.join("legate.yaml"),
        &relay_config(&Ports::pick(), &upstream),
    );
    let token_file = readable_file(&dir.path().join("token"), token);
    let port = free_port();

    let config_mount = format!("{}:/etc/legate:ro", config_dir.display());
    let token_mount = format!("{}:/run/secrets/legate/token:ro", token_file.display());
    let listen = format!("127.0.0.1:{port}");
    let image = legate_image();
    let mut args: Vec<&str> = LOCKED_DOWN.to_vec();
    args.extend(["--volume", &config_mount, "--volume", &token_mount]);
    args.extend(["--entrypoint=/usr/bin/legate-control-plane", &image]);
    args.extend(["serve", "--config-dir=/etc/legate", "--listen", &listen]);
    args.extend(["--token-file=/run/secrets/legate/token"]);
    let plane = podman.start(&args);
    plane.wait_until("the control plane answered", STARTUP, || {
        http_get(port, "/v1/status", None).is_some()
    });

    assert_eq!(
        http_get(port, "/v1/status", None).map(|(c, _)| c),
        Some(401)
    );
    let (code, body) = http_get(port, "/v1/status", Some(token)).unwrap();
    assert_eq!(code, 200, "{body}");
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    // The mounted configuration was read and accepted: it has a version.
    assert!(status["version"].as_u64().is_some_and(|v| v > 0), "{body}");
    assert_eq!(plane.top(&["user"]), "legate");
    assert_eq!(plane.stop(20), 0, "{:?}", plane.logs());
}

#[test]
fn the_image_holds_the_two_binaries_and_what_they_need_and_no_shell() {
    let podman = shared_with_legate_image();
    let image = legate_image();

    let shell = podman.run(&[
        "run",
        "--rm",
        "--network=none",
        "--entrypoint=/bin/sh",
        &image,
        "-c",
        "true",
    ]);
    assert!(!shell.status.success(), "a shell ran in the image");
    let error = String::from_utf8_lossy(&shell.stderr);
    assert!(error.contains("no such file or directory"), "{error}");

    let container = podman.create(&[&image]);
    let archive = tempfile::NamedTempFile::new().unwrap();
    let archive_path = archive.path().to_str().unwrap();
    podman.ok(&["export", "--output", archive_path, container.id()]);
    let listing = Command::new("tar")
        .args(["--list", "--file", archive_path])
        .output()
        .unwrap();
    assert!(listing.status.success());
    let listing = String::from_utf8_lossy(&listing.stdout);
    let files: Vec<&str> = listing.lines().filter(|f| !f.ends_with('/')).collect();
    let programs: Vec<&&str> = files.iter().filter(|f| f.starts_with("usr/bin/")).collect();
    assert_eq!(
        programs,
        [&"usr/bin/legate", &"usr/bin/legate-control-plane"],
        "{files:#?}"
    );
    for file in &files {
        let name = file.rsplit('/').next().unwrap();
        assert!(
            !["sh", "bash", "dash", "busybox", "apt", "dpkg"].contains(&name),
            "{file} is in the image"
        );
        let allowed = ["etc/", "lib/", "lib64/", "usr/bin/"];
        assert!(
            allowed.iter().any(|a| file.starts_with(a)),
            "{file} is in the image"
        );
    }

    let config = podman.ok(&[
        "image",
        "inspect",
        "--format",
        "{{.Config.User}} {{json .Config.Entrypoint}} {{.Config.WorkingDir}} \
         {{json .Config.Volumes}} {{.Config.StopSignal}}",
        &image,
    ]);
    assert_eq!(
        config,
        r#"65532:65532 ["/usr/bin/legate"] /var/lib/legate {"/var/lib/legate":{}} SIGTERM"#
    );
    let version = podman.ok(&[
        "image",
        "inspect",
        "--format",
        "{{index .Labels \"org.opencontainers.image.version\"}}",
        &image,
    ]);
    assert_eq!(version, env!("CARGO_PKG_VERSION"));
}

/// Internal and external UDP listeners routing `remote.example` to `upstream`, every request
/// audited into an SQLite file in the state volume. Paths are absolute: relative ones are
/// beside the configuration file, which is mounted read-only.
fn relay_config(p: &Ports, upstream: &AcceptingUpstream) -> String {
    let base = proxy_config(p, &udp_cluster(&[upstream.port]), "", "");
    let chain = with_internal_filters(&base, "      - name: legate.filters.sip.audit\n");
    format!(
        "{chain}audit:\n  partition: image\n  spool_dir: /var/lib/legate/audit-spool\n  \
         sinks:\n    - {{ name: local, sqlite: {{ file: /var/lib/legate/audit.db }} }}\n"
    )
}

/// Writes `text` to `path`, readable by the container's user (the file is bind-mounted).
fn readable_file(path: &Path, text: &str) -> PathBuf {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
    path.to_path_buf()
}

/// The message of every log line, each of which must be a JSON object (standard error is not
/// a terminal, so `--log-format auto` writes JSON).
fn log_messages(stderr: &str) -> Vec<String> {
    assert!(!stderr.trim().is_empty(), "no logs");
    stderr
        .lines()
        .map(|line| {
            let entry: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
            assert!(entry["level"].is_string(), "{line}");
            entry["fields"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}
