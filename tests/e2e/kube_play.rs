//! The Helm chart (`charts/legate`) run by `podman kube play` as pods that carry SIP. Helm's
//! library renders it with tests/chart/values/podman.yaml and ports of the test's own
//! (tests/chart/kube_play.py puts the rendering in the form podman 4.3 takes, and says why);
//! the control plane and one gateway proxy start from Legate's image on the host's network,
//! with mutual TLS between them; the control plane pushes its configuration; a MESSAGE from the
//! host, and sipp's, cross the proxy's pod to an IM server on the host and their 200s come
//! back, with an audit record on the state volume; a values change re-rendered and re-played
//! for the control plane and its ConfigMap reaches the running proxy, which then sends to the
//! new IM server without restarting; both run as the chart's locked-down user; and stopping the
//! pods drains the proxy before `kube down` removes them.

#![allow(clippy::unwrap_used, clippy::disallowed_types)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use legate_e2e::control_plane_process::control_plane_bin;
use legate_e2e::podman::{legate_image, running_as_root, shared_with_legate_image, Container};
use legate_e2e::upstream::{final_response, AcceptingUpstream};
use legate_e2e::{admin_get, assert_sipp_success, free_port, sipp_client, workspace};

/// The names `kube play` gives the Deployments' pods (`<Deployment>-pod-0`) and containers.
const PROXY_POD: &str = "legate-pod-0";
const PROXY: &str = "legate-pod-0-legate";
const CONTROL_PLANE_POD: &str = "legate-control-plane-pod-0";
const CONTROL_PLANE: &str = "legate-control-plane-pod-0-control-plane";

const STARTUP: Duration = Duration::from_secs(60);

/// The ports the pods listen on, on the host's loopback.
struct ChartPorts {
    control_plane: u16,
    admin: u16,
    sip: u16,
}

#[test]
fn the_rendered_chart_runs_under_kube_play_and_its_proxy_relays_sip_until_drained() {
    let podman = shared_with_legate_image();
    let upstream = AcceptingUpstream::start();
    let ports = ChartPorts {
        control_plane: free_port(),
        admin: free_port(),
        sip: free_port(),
    };
    let dir = tempfile::tempdir().unwrap();
    let manifests = render(dir.path(), &ports, upstream.port);

    // The Secrets become podman secrets first; the Deployments' Secret volumes read them.
    for secret in std::fs::read_dir(dir.path().join("secrets")).unwrap() {
        let path = secret.unwrap().path();
        if !path.is_file() {
            continue;
        }
        let name = path.file_name().unwrap().to_str().unwrap();
        podman.ok(&["secret", "create", name, path.to_str().unwrap()]);
    }
    // The host's network: the test's IM server listens on the host's loopback, and the proxy
    // reaches the control plane at localhost.
    podman.kube_play(&manifests, &["--network=host"]);
    let plane = podman.container(CONTROL_PLANE);
    let proxy = podman.container(PROXY);

    // Ready, and following the control plane: the version it accepted is the one swapped in.
    proxy.wait_until("/readyz answered 200", STARTUP, || {
        admin_get(ports.admin, "/readyz").is_some_and(|(code, _)| code == 200)
    });
    proxy.wait_for_log("configuration swapped in", STARTUP);
    let accepted = logged(&plane, "configuration accepted");
    let swapped = logged(&proxy, "configuration swapped in");
    assert!(accepted["version"].is_u64(), "{accepted}");
    assert_eq!(accepted["version"], swapped["version"], "{swapped}");
    assert_eq!(
        logged(&proxy, "control plane reached")["control_plane"],
        format!("https://localhost:{}", ports.control_plane)
    );
    // The control plane has the proxy's ACK of that version (asked as the proxy's credentials
    // allow: its client certificate and the control plane's CA).
    let client = dir.path().join("secrets/legate-control-plane-client.d");
    let acked = format!("{PROXY_POD} {}", accepted["version"]);
    proxy.wait_until(
        "the control plane recorded the proxy's ACK",
        STARTUP,
        || {
            let status = Command::new(control_plane_bin())
                .args(["status", "--url"])
                .arg(format!("https://localhost:{}", ports.control_plane))
                .arg("--ca-file")
                .arg(client.join("ca.crt"))
                .arg("--client-certificate")
                .arg(client.join("tls.crt"))
                .arg("--client-key")
                .arg(client.join("tls.key"))
                .output()
                .unwrap();
            let table = String::from_utf8_lossy(&status.stdout);
            table.lines().any(|line| {
                line.split_whitespace()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ")
                    == acked
            })
        },
    );

    // A MESSAGE from the host crosses the proxy to the IM server, and its 200 comes back.
    let answer = final_response(ports.sip, &message("kube-play-relay"));
    assert!(answer.starts_with("SIP/2.0 200 "), "{answer}");
    let relayed = upstream
        .received
        .recv_timeout(Duration::from_secs(5))
        .unwrap();
    assert!(
        relayed.starts_with("MESSAGE sip:bob@remote.example SIP/2.0")
            && relayed.contains("Call-ID: kube-play-relay@corp.example"),
        "{relayed}"
    );

    // sipp's MESSAGEs cross it the same way.
    let sipp = sipp_client(
        "uac_message.xml",
        &format!("127.0.0.1:{}", ports.sip),
        free_port(),
        "u1",
        3,
        &[],
    );
    assert_sipp_success(&sipp, "sipp's MESSAGEs through the proxy's pod");
    for _ in 0..3 {
        let relayed = upstream
            .received
            .recv_timeout(Duration::from_secs(5))
            .unwrap();
        assert!(
            relayed.starts_with("MESSAGE sip:bob@remote.example SIP/2.0"),
            "{relayed}"
        );
    }

    // A values change (the IM server moves), re-rendered and re-played for the control plane
    // and its ConfigMap only (podman takes a ConfigMap only with a pod that mounts it; the
    // Secrets stay the podman secrets made above): the control plane pushes the new
    // configuration and the running proxy follows it, without restarting.
    let started = proxy.inspect("{{.State.StartedAt}}");
    let moved = AcceptingUpstream::start();
    let changed = tempfile::tempdir().unwrap();
    render(changed.path(), &ports, moved.port);
    let replayed = changed.path().join("control-plane.yaml");
    let args = ["kube", "play", "--replace", "--network=host"];
    let output = podman.run_within(
        &[&args[..], &[replayed.to_str().unwrap()]].concat(),
        STARTUP,
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    proxy.wait_until("the changed configuration swapped in", STARTUP, || {
        logged_all(&proxy, "configuration swapped in").len() >= 2
    });
    let answer = final_response(ports.sip, &message("kube-play-moved"));
    assert!(answer.starts_with("SIP/2.0 200 "), "{answer}");
    let relayed = moved.received.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(
        relayed.contains("Call-ID: kube-play-moved@corp.example"),
        "{relayed}"
    );
    assert!(
        upstream.received.try_recv().is_err(),
        "the old IM server still got traffic"
    );
    assert_eq!(
        proxy.inspect("{{.State.StartedAt}}"),
        started,
        "the proxy restarted"
    );

    // Both pods run as the chart's securityContext says: Legate's user, a read-only root, no
    // capability, no privilege escalation.
    for container in [&plane, &proxy] {
        assert_eq!(container.inspect("{{.Config.User}}"), "65532:65532");
        assert_eq!(container.inspect("{{.HostConfig.ReadonlyRootfs}}"), "true");
        assert_eq!(container.inspect("{{len .EffectiveCaps}}"), "0");
        assert_eq!(container.inspect("{{len .HostConfig.CapAdd}}"), "0");
        let options = container.inspect("{{json .HostConfig.SecurityOpt}}");
        assert!(options.contains("no-new-privileges"), "{options}");
        let identity = container.top(&["user", "huser", "capeff"]);
        let identity: Vec<&str> = identity.split_whitespace().collect();
        assert_eq!(identity[0], "legate", "{identity:?}");
        assert!(identity[1] == "65532" || !running_as_root(), "{identity:?}");
        assert_eq!(identity[2], "none", "{identity:?}");
    }

    // Stopping the pods sends SIGTERM: the proxy drains and both exit 0.
    let args = ["pod", "stop", "--time", "20", PROXY_POD, CONTROL_PLANE_POD];
    let output = podman.run_within(&args, Duration::from_secs(90));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for container in [&proxy, &plane] {
        assert_eq!(
            container.inspect("{{.State.ExitCode}}"),
            "0",
            "{:?}",
            container.logs()
        );
    }
    for step in [
        "SIGTERM: draining",
        "drained",
        "audit log flushed",
        "stopped",
    ] {
        logged(&proxy, step);
    }

    // The audit record is on the proxy's state volume: the image's `legate audit query` reads it.
    let image = legate_image();
    let table = podman.ok(&[
        "run",
        "--rm",
        "--read-only",
        "--cap-drop=ALL",
        "--network=none",
        "--volumes-from",
        PROXY,
        &image,
        "audit",
        "query",
        "--sqlite",
        "/var/lib/legate/audit.db",
    ]);
    assert!(
        table
            .lines()
            .any(|l| l.contains("alice@corp.example") && l.contains(" MESSAGE ")),
        "{table}"
    );

    // `kube down` removes both pods.
    let down = podman.kube_down(&manifests);
    assert!(down.contains("Pods removed"), "{down}");
    assert_eq!(podman.ok(&["pod", "ps", "--quiet"]), "");
}

/// Renders the chart with tests/chart/values/podman.yaml and the test's ports and IM server,
/// in the form `kube play` takes (tests/chart/kube_play.py); returns the manifests' path.
fn render(dir: &Path, ports: &ChartPorts, im_server: u16) -> PathBuf {
    let python = workspace().join("target/python-tools/bin/python");
    assert!(
        python.exists(),
        "{} not found: install the chart checks' tools with `bash tests/prereqs.sh test` (tests/run.sh does)",
        python.display()
    );
    // JSON is YAML: a values file like any other.
    let overrides = serde_json::json!({
        "controlPlane": { "port": ports.control_plane },
        "proxy": {
            "adminPort": ports.admin,
            "controlPlaneUrl": format!("https://localhost:{}", ports.control_plane),
        },
        "config": {
            "listeners": { "internal": { "port": ports.sip } },
            "clusters": [{
                "name": "remote",
                "transport": "udp",
                "endpoints": [format!("127.0.0.1:{im_server}")],
            }],
        },
    });
    let overrides_file = dir.join("ports.yaml");
    std::fs::write(&overrides_file, overrides.to_string()).unwrap();
    let output = Command::new(python)
        .arg(workspace().join("tests/chart/kube_play.py"))
        .arg(dir)
        .arg(workspace().join("tests/chart/values/podman.yaml"))
        .arg(&overrides_file)
        .current_dir(workspace())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "tests/chart/kube_play.py failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    dir.join("manifests.yaml")
}

/// The fields of the first JSON log line of `container` whose message is `message`; fails the
/// test, with the logs, when there is none.
fn logged(container: &Container<'_>, message: &str) -> serde_json::Value {
    logged_all(container, message)
        .into_iter()
        .next()
        .unwrap_or_else(|| {
            let (stdout, stderr) = container.logs();
            panic!("no {message:?} logged:\n{stdout}{stderr}")
        })
}

/// The fields of every JSON log line of `container` whose message is `message`, in order.
fn logged_all(container: &Container<'_>, message: &str) -> Vec<serde_json::Value> {
    let (stdout, stderr) = container.logs();
    stdout
        .lines()
        .chain(stderr.lines())
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .map(|entry| entry["fields"].clone())
        .filter(|fields| fields["message"] == message)
        .collect()
}

/// A MESSAGE from alice@corp.example (the chart's local domain) to bob@remote.example.
fn message(call_id: &str) -> String {
    format!(
        "MESSAGE sip:bob@remote.example SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-{call_id}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@corp.example>;tag=1\r\n\
         To: <sip:bob@remote.example>\r\n\
         Call-ID: {call_id}@corp.example\r\n\
         CSeq: 1 MESSAGE\r\n\
         Content-Length: 0\r\n\r\n"
    )
}
