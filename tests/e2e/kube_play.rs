//! The Helm chart (`charts/legate`) run by `podman kube play` as pods that carry SIP, on the
//! host's network: Helm's library renders it (tests/chart/kube_play.py puts the rendering in
//! the form podman 4.3 takes, and says why), and the control plane and one gateway proxy start
//! from Legate's image with mutual TLS between them. Both tests wait for the proxy's `/readyz`
//! and for the control plane to hold its ACK of the version it pushed, and show that a values
//! change, re-rendered and re-played for the control plane and its ConfigMap, is followed by the
//! running proxy without a restart.
//!
//! - `examples/helm/minimal.yaml` (with tests/chart/on-podman.yaml for one host): sipp's
//!   MESSAGEs from the IM server's side leave over TLS to the partner, and follow it when it
//!   moves.
//! - tests/chart/values/podman.yaml: a MESSAGE and sipp's cross to an IM server on the host and
//!   their 200s come back, with an audit record on the state volume; both pods run as the
//!   chart's locked-down user; stopping them drains the proxy before `kube down` removes them.

#![allow(clippy::unwrap_used, clippy::disallowed_types)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use legate_e2e::control_plane_process::control_plane_bin;
use legate_e2e::partner::TlsPartner;
use legate_e2e::podman::{running_as_root, shared_with_legate_image, Container, Podman};
use legate_e2e::tls::Ca;
use legate_e2e::upstream::{message, AcceptingUpstream};
use legate_e2e::{admin_get, assert_sipp_success, free_port, sipp_client, workspace};

/// The names `kube play` gives the Deployments' pods (`<Deployment>-pod-0`) and containers.
const PROXY_POD: &str = "legate-pod-0";
const PROXY: &str = "legate-pod-0-legate";
const CONTROL_PLANE_POD: &str = "legate-control-plane-pod-0";
const CONTROL_PLANE: &str = "legate-control-plane-pod-0-control-plane";

const STARTUP: Duration = Duration::from_secs(60);

const PODMAN_VALUES: &str = "tests/chart/values/podman.yaml";
const MINIMAL_EXAMPLE: &str = "examples/helm/minimal.yaml";
/// What the minimal example needs on one host under podman.
const ON_PODMAN: &str = "tests/chart/on-podman.yaml";

/// The ports the pods listen on, on the host's loopback.
struct ChartPorts {
    control_plane: u16,
    admin: u16,
    sip: u16,
}

impl ChartPorts {
    /// Values that put the pods on these ports, the proxy reaching the control plane at
    /// localhost, with `config` for the chart's `config` section.
    fn overrides(&self, config: serde_json::Value) -> serde_json::Value {
        serde_json::json!({
            "controlPlane": { "port": self.control_plane },
            "proxy": {
                "adminPort": self.admin,
                "controlPlaneUrl": format!("https://localhost:{}", self.control_plane),
            },
            "config": config,
        })
    }
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
    let manifests = render(
        dir.path(),
        &[PODMAN_VALUES],
        &relay_overrides(&ports, upstream.port),
    );

    let (plane, proxy) = play(&podman, dir.path(), &manifests, &[]);
    await_configuration(&plane, &proxy, dir.path(), &ports);

    // A MESSAGE from the host crosses the proxy to the IM server, and its 200 comes back.
    let relayed = upstream.relayed(
        ports.sip,
        &message(
            "alice@corp.example",
            "bob@remote.example",
            "kube-play-relay@corp.example",
        ),
    );
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
        let relayed = upstream.next();
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
    render(
        changed.path(),
        &[PODMAN_VALUES],
        &relay_overrides(&ports, moved.port),
    );
    replay_control_plane(&podman, &proxy, changed.path(), &[]);
    let relayed = moved.relayed(
        ports.sip,
        &message(
            "alice@corp.example",
            "bob@remote.example",
            "kube-play-moved@corp.example",
        ),
    );
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
    let table = podman.audit_query(&format!("--volumes-from={PROXY}"));
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

#[test]
fn the_minimal_example_runs_under_kube_play_and_federates_with_its_partner() {
    // An engine of its own: pods, volumes and secrets are named after the release, as in the
    // other test.
    let podman = Podman::new();
    podman.build_legate_image();
    let dir = tempfile::tempdir().unwrap();
    // acme.example's domain certificate (the Secret the example names), and Globex with its
    // own CA (the ConfigMap the example names), answering on TLS as a partner does.
    let acme = Ca::new(dir.path(), "acme");
    let globex = Ca::new(dir.path(), "globex");
    let globex_certificate = globex.domain("globex.example");
    let partner = TlsPartner::start(&globex_certificate, &acme);
    let im_server = AcceptingUpstream::start();
    let ports = ChartPorts {
        control_plane: free_port(),
        admin: free_port(),
        sip: free_port(),
    };
    let external = free_port();
    let values = [MINIMAL_EXAMPLE, ON_PODMAN];
    let overrides = |partner_port: u16| {
        ports.overrides(serde_json::json!({
            "listeners": { "internal": { "port": ports.sip }, "external": { "port": external } },
            "imServers": [{
                "name": "im", "domains": ["acme.example"], "transport": "udp",
                "endpoints": [format!("127.0.0.1:{}", im_server.port)],
            }],
            "partners": [{
                "name": "globex", "domains": ["globex.example"],
                "reach": { "address": format!("127.0.0.1:{partner_port}") },
                "caBundle": { "configMap": { "name": "globex-ca", "key": "ca.crt" } },
            }],
        }))
    };
    let manifests = render(dir.path(), &values, &overrides(partner.port));

    // What the example's README has the platform team create: the domain certificate's Secret
    // and the partner's CA as a ConfigMap.
    let acme_certificate = acme.domain("acme.example");
    let secret = dir.path().join("acme-sip-tls");
    let secret_doc = serde_json::json!({
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
        "metadata": { "name": "acme-sip-tls" },
        "data": {
            "tls.crt": std::fs::read_to_string(&acme_certificate.certificate).unwrap(),
            "tls.key": std::fs::read_to_string(&acme_certificate.private_key).unwrap(),
        },
    });
    std::fs::write(&secret, secret_doc.to_string()).unwrap();
    podman.ok(&["secret", "create", "acme-sip-tls", secret.to_str().unwrap()]);
    let configmap = dir.path().join("globex-ca.yaml");
    let configmap_doc = serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "globex-ca" },
        "data": { "ca.crt": std::fs::read_to_string(&globex.pem).unwrap() },
    });
    std::fs::write(&configmap, configmap_doc.to_string()).unwrap();
    let with_configmap = ["--configmap", configmap.to_str().unwrap()];

    let (plane, proxy) = play(&podman, dir.path(), &manifests, &with_configmap);
    await_configuration(&plane, &proxy, dir.path(), &ports);

    // alice (in the example's directory, group federated) writes to bob at Globex from the IM
    // server's side: sipp's MESSAGEs cross the proxy's pod and leave over TLS to the partner,
    // with Globex's name as SNI, and the partner's 200s come back.
    let send = |calls: u32| {
        let output = sipp_client(
            "uac_message_addressed.xml",
            &format!("127.0.0.1:{}", ports.sip),
            free_port(),
            "u1",
            calls,
            &[
                "-key",
                "from",
                "alice@acme.example",
                "-key",
                "to",
                "bob@globex.example",
            ],
        );
        assert_sipp_success(
            &output,
            "alice's MESSAGEs to Globex through the proxy's pod",
        );
    };
    send(3);
    let seen = partner.seen();
    assert_eq!(seen.len(), 3, "{seen:?}");
    for request in &seen {
        assert_eq!(
            request.request_line,
            "MESSAGE sip:bob@globex.example SIP/2.0"
        );
        assert_eq!(request.sni.as_deref(), Some("globex.example"));
        assert!(
            request.client_certificate.is_some(),
            "acme's certificate was not shown"
        );
    }

    // Globex moves: the values change, re-rendered and re-played for the control plane and its
    // ConfigMap, reaches the running proxy, whose next MESSAGE goes to the new address.
    let started = proxy.inspect("{{.State.StartedAt}}");
    let moved = TlsPartner::start(&globex_certificate, &acme);
    let changed = tempfile::tempdir().unwrap();
    render(changed.path(), &values, &overrides(moved.port));
    replay_control_plane(&podman, &proxy, changed.path(), &with_configmap);
    send(1);
    assert_eq!(moved.seen().len(), 1, "{:?}", moved.seen());
    assert_eq!(partner.seen().len(), 3, "the old address still got traffic");
    assert_eq!(
        proxy.inspect("{{.State.StartedAt}}"),
        started,
        "the proxy restarted"
    );
}

/// Makes the rendering's Secrets podman secrets (the Deployments' Secret volumes read them),
/// plays the manifests on the host's network (the test's peers listen on the host's loopback,
/// and the proxy reaches the control plane at localhost), and returns the two containers.
fn play<'p>(
    podman: &'p Podman,
    dir: &Path,
    manifests: &Path,
    extra: &[&str],
) -> (Container<'p>, Container<'p>) {
    for secret in std::fs::read_dir(dir.join("secrets")).unwrap() {
        let path = secret.unwrap().path();
        if !path.is_file() {
            continue;
        }
        let name = path.file_name().unwrap().to_str().unwrap();
        podman.ok(&["secret", "create", name, path.to_str().unwrap()]);
    }
    podman.kube_play(manifests, &[&["--network=host"], extra].concat());
    (podman.container(CONTROL_PLANE), podman.container(PROXY))
}

/// Waits until the proxy is ready and follows the control plane: the version the control plane
/// accepted is the one the proxy swapped in, and the control plane has the proxy's ACK of it
/// (asked as the proxy's credentials allow: its client certificate and the control plane's CA).
fn await_configuration(
    plane: &Container<'_>,
    proxy: &Container<'_>,
    dir: &Path,
    ports: &ChartPorts,
) {
    proxy.wait_until("/readyz answered 200", STARTUP, || {
        admin_get(ports.admin, "/readyz").is_some_and(|(code, _)| code == 200)
    });
    proxy.wait_for_log("configuration swapped in", STARTUP);
    let accepted = logged(plane, "configuration accepted");
    let swapped = logged(proxy, "configuration swapped in");
    assert!(accepted["version"].is_u64(), "{accepted}");
    assert_eq!(accepted["version"], swapped["version"], "{swapped}");
    assert_eq!(
        logged(proxy, "control plane reached")["control_plane"],
        format!("https://localhost:{}", ports.control_plane)
    );
    let client = dir.join("secrets/legate-control-plane-client.d");
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
}

/// Plays the control plane again with the ConfigMap of a changed rendering (podman takes a
/// ConfigMap only with a pod that mounts it; the Secrets stay the podman secrets made first),
/// and waits until the running proxy has swapped in what it pushed.
fn replay_control_plane(podman: &Podman, proxy: &Container<'_>, changed: &Path, extra: &[&str]) {
    let replayed = changed.join("control-plane.yaml");
    let args = [
        &["kube", "play", "--replace", "--network=host"],
        extra,
        &[replayed.to_str().unwrap()],
    ]
    .concat();
    let output = podman.run_within(&args, STARTUP);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    proxy.wait_until("the changed configuration swapped in", STARTUP, || {
        logged_all(proxy, "configuration swapped in").len() >= 2
    });
}

/// The overrides of tests/chart/values/podman.yaml: the test's ports and IM server.
fn relay_overrides(ports: &ChartPorts, im_server: u16) -> serde_json::Value {
    ports.overrides(serde_json::json!({
        "listeners": { "internal": { "port": ports.sip } },
        "clusters": [{
            "name": "remote",
            "transport": "udp",
            "endpoints": [format!("127.0.0.1:{im_server}")],
        }],
    }))
}

/// Renders the chart with `values` (workspace paths, merged in order) and then `overrides`, in
/// the form `kube play` takes (tests/chart/kube_play.py); returns the manifests' path.
fn render(dir: &Path, values: &[&str], overrides: &serde_json::Value) -> PathBuf {
    let python = workspace().join("target/python-tools/bin/python");
    assert!(
        python.exists(),
        "{} not found: install the chart checks' tools with `bash tests/prereqs.sh test` (tests/run.sh does)",
        python.display()
    );
    // JSON is YAML: a values file like any other.
    let overrides_file = dir.join("overrides.yaml");
    std::fs::write(&overrides_file, overrides.to_string()).unwrap();
    let output = Command::new(python)
        .arg(workspace().join("tests/chart/kube_play.py"))
        .arg(dir)
        .args(values.iter().map(|file| workspace().join(file)))
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
