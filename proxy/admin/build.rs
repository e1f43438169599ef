//! Names the commit the binary is built from (`legate_build_info`), or `unknown` outside a git
//! checkout (a source archive, a container build without `.git`).

use std::process::Command;

fn main() {
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .map(|commit| commit.trim().to_string())
        .filter(|commit| !commit.is_empty())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=LEGATE_COMMIT={commit}");
    let git = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.git");
    for watched in ["HEAD", "refs/heads"] {
        println!("cargo:rerun-if-changed={}", git.join(watched).display());
    }
}
