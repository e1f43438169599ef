//! The Helm chart (`charts/legate`), proven without a cluster: Helm's own library lints and
//! renders it for its defaults, every values example of `examples/helm` and the test values of
//! `tests/chart/values` (and the sidecar example chart `examples/helm/im-server`); wrong values
//! fail with the key named; every object passes Kubernetes' schemas strictly; checkov's
//! Kubernetes checks pass but for the skips the chart's README justifies; the rendered
//! `legate.yaml` passes `legate validate` inside the files its pod mounts, and the control plane
//! serves it; the alert rules have one source; the chart is versioned with Legate.
//!
//! Each test runs one check of `tests/chart/check.py` with the Python tools `tests/prereqs.sh
//! test` installs (`target/python-tools`), and prints what it checked, one line per finding.

#![allow(clippy::unwrap_used)]

use std::process::Command;

use legate_e2e::control_plane_process::control_plane_bin;
use legate_e2e::{legate_bin, workspace};

fn check(name: &str) {
    let python = workspace().join("target/python-tools/bin/python");
    assert!(
        python.exists(),
        "{} not found: install the chart checks' tools with `bash tests/prereqs.sh test` (tests/run.sh does)",
        python.display()
    );
    let mut command = Command::new(&python);
    command
        .arg(workspace().join("tests/chart/check.py"))
        .arg(name)
        .current_dir(workspace());
    if name == "legate" {
        command
            .env("LEGATE_BIN", legate_bin())
            .env("LEGATE_CONTROL_PLANE_BIN", control_plane_bin());
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "chart check `{name}` failed:\n{stdout}{stderr}"
    );
}

#[test]
fn helm_lint_passes_with_every_values_file() {
    check("lint");
}

#[test]
fn the_chart_renders_and_installs_with_every_values_file() {
    check("render");
}

#[test]
fn wrong_values_fail_naming_the_key() {
    check("schema");
}

#[test]
fn every_object_passes_the_kubernetes_schemas() {
    check("kubernetes");
}

#[test]
fn checkov_passes_but_for_the_documented_skips() {
    check("checkov");
}

#[test]
fn legate_and_its_control_plane_accept_the_rendered_configuration() {
    check("legate");
}

#[test]
fn the_alert_rules_have_one_source() {
    check("alerts");
}

#[test]
fn the_chart_is_versioned_with_legate() {
    check("versions");
}
