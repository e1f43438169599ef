//! Names the commit the binary is built from (`legate_build_info`): the git checkout's, else
//! `LEGATE_COMMIT` from the build's environment (a container build, which leaves `.git` out,
//! passes its `REVISION` so), else `unknown`.

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
        .or_else(|| {
            std::env::var("LEGATE_COMMIT")
                .ok()
                .filter(|c| !c.is_empty())
        })
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=LEGATE_COMMIT={commit}");
    println!("cargo:rerun-if-env-changed=LEGATE_COMMIT");
    let git = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.git");
    for watched in ["HEAD", "refs/heads"] {
        println!("cargo:rerun-if-changed={}", git.join(watched).display());
    }
}
