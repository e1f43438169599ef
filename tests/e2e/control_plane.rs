//! The real control plane and the real proxy together: a policy edited in the control plane's
//! directory reaches new traffic, an invalid edit is refused before any proxy sees it, and
//! traffic carries on when the control plane dies and when the proxy restarts without it; over
//! mutual TLS, only proxies with a certificate of the right CA get anything.

#![allow(clippy::unwrap_used, clippy::disallowed_types)]

use std::ffi::OsString;
use std::time::Duration;

use legate_e2e::config::{proxy_config, udp_cluster, Ports};
use legate_e2e::control_plane_process::{control_plane_bin, proxy_run_args, ControlPlaneProcess};
use legate_e2e::tls::Ca;
use legate_e2e::upstream::{final_response, AcceptingUpstream};
use legate_e2e::{free_port, Legate};

const TOKEN: &str = "e2e-control-plane-token";

/// The proxy config with one domain policy rule that `allow`s or `deny`s remote.example.
fn config(p: &Ports, upstream: u16, action: &str) -> String {
    let policy = format!(
        "      - name: legate.filters.sip.domain_policy
        config:
          default: deny
          rules:
            - {{ id: federate-remote, action: {action}, remote_domains: [remote.example] }}
"
    );
    proxy_config(p, &udp_cluster(&[upstream]), "", "").replacen(
        "    filters:\n      - name: legate.filters.sip.header_mutation",
        &format!("    filters:\n{policy}      - name: legate.filters.sip.header_mutation"),
        1,
    )
}

fn message(call: &str) -> String {
    format!(
        "MESSAGE sip:carol@remote.example SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-{call}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@local.example>;tag=1\r\n\
         To: <sip:carol@remote.example>\r\n\
         Call-ID: {call}@local.example\r\n\
         CSeq: 1 MESSAGE\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

/// Sends MESSAGEs (a new Call-ID each) until one is answered with `status`, for at most 5 s.
fn until_answered(p: &Ports, status: u16, label: &str) {
    let mut last = String::new();
    for attempt in 0..50 {
        last = final_response(p.internal, &message(&format!("{label}-{attempt}")));
        if last.starts_with(&format!("SIP/2.0 {status} ")) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{label}: never answered {status}; last answer: {last}");
}

#[test]
fn edits_reach_traffic_invalid_ones_do_not_and_traffic_survives_the_control_plane() {
    let p = Ports::pick();
    let upstream = AcceptingUpstream::start();
    let dir = tempfile::tempdir().unwrap();
    let config_dir = dir.path().join("config");
    std::fs::create_dir(&config_dir).unwrap();
    let config_file = config_dir.join("legate.yaml");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let state_dir = dir.path().join("state");

    std::fs::write(&config_file, config(&p, upstream.port, "allow")).unwrap();
    let plane = ControlPlaneProcess::start(&config_dir, &token_file);
    let token: Vec<OsString> = vec![
        "--control-plane-token-file".into(),
        token_file.clone().into(),
    ];
    let args = proxy_run_args(&plane.url(), "edge-1", &state_dir, &token);
    let legate = Legate::start_with_args(&args, p.admin);
    until_answered(&p, 200, "allowed");

    // An edit in the control plane's directory reaches new traffic.
    std::fs::write(&config_file, config(&p, upstream.port, "deny")).unwrap();
    until_answered(&p, 403, "denied");
    let version = legate.metric("legate_config_version").unwrap();

    // An invalid edit is refused by the control plane: the proxy never sees it.
    let broken = config(&p, upstream.port, "allow")
        .replace("legate.filters.sip.router", "legate.filters.sip.routr");
    std::fs::write(&config_file, broken).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(legate.metric("legate_config_version"), Some(version));
    assert_eq!(
        legate.metric("legate_config_nacks_total").unwrap_or(0.0),
        0.0
    );
    until_answered(&p, 403, "still-denied");

    // The control plane dies: traffic carries on under the last snapshot.
    let port = plane.port;
    drop(plane);
    until_answered(&p, 403, "without-plane");

    // The proxy restarts while the control plane is down: it runs on its saved snapshot.
    drop(legate);
    let legate = Legate::start_with_args(&args, p.admin);
    until_answered(&p, 403, "restarted");
    assert_eq!(legate.metric("legate_config_version"), Some(version));

    // The control plane comes back (fixed config): the proxy follows it again.
    std::fs::write(&config_file, config(&p, upstream.port, "allow")).unwrap();
    let _plane = ControlPlaneProcess::start_on(port, &config_dir, &token_file);
    until_answered(&p, 200, "allowed-again");
    assert!(legate.metric("legate_config_version").unwrap() > version);
}

/// `legate-control-plane status` against `url`, with `tls` arguments.
fn status(url: &str, tls: &[OsString]) -> std::process::Output {
    std::process::Command::new(control_plane_bin())
        .args(["status", "--url", url])
        .args(tls)
        .output()
        .unwrap()
}

#[test]
fn proxies_follow_a_control_plane_that_wants_their_certificate() {
    let p = Ports::pick();
    let upstream = AcceptingUpstream::start();
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "control-plane");
    let (server, proxy) = (ca.server("control-plane"), ca.client("edge-1"));
    let stranger = Ca::new(dir.path(), "stranger").client("edge-1");
    let config_dir = dir.path().join("config");
    std::fs::create_dir(&config_dir).unwrap();
    std::fs::write(
        config_dir.join("legate.yaml"),
        config(&p, upstream.port, "deny"),
    )
    .unwrap();
    // No token: the client certificate is the proxy's credential.
    let mut access = server.as_args("--tls-certificate", "--tls-private-key");
    access.extend(["--client-ca".into(), ca.pem.clone().into()]);
    let plane = ControlPlaneProcess::start_with(free_port(), &config_dir, &access);
    assert!(plane.url().starts_with("https://"));

    let mut trust: Vec<OsString> = vec!["--control-plane-ca".into(), ca.pem.clone().into()];
    trust.extend(proxy.as_args("--control-plane-certificate", "--control-plane-private-key"));
    let args = proxy_run_args(&plane.url(), "edge-1", &dir.path().join("state"), &trust);
    let legate = Legate::start_with_args(&args, p.admin);
    until_answered(&p, 403, "over-mutual-tls");
    assert!(legate.metric("legate_config_version").unwrap() > 0.0);

    // The status command shows the node with a certificate of the CA, and gets nowhere with
    // one from another CA or with none.
    let with = |client: &legate_e2e::tls::Issued| -> Vec<OsString> {
        let mut args: Vec<OsString> = vec!["--ca-file".into(), ca.pem.clone().into()];
        args.extend(client.as_args("--client-certificate", "--client-key"));
        args
    };
    let listed = status(&plane.url(), &with(&proxy));
    let table = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.status.success(), "{listed:?}");
    assert!(
        table.lines().any(|line| line.starts_with("edge-1 ")),
        "{table}"
    );
    for refused in [
        status(&plane.url(), &with(&stranger)),
        status(&plane.url(), &["--ca-file".into(), ca.pem.clone().into()]),
    ] {
        assert!(!refused.status.success(), "{refused:?}");
    }
    // Plain HTTP is not served at all.
    let plain = status(&format!("http://127.0.0.1:{}", plane.port), &[]);
    assert!(!plain.status.success(), "{plain:?}");
}
