//! The out-of-tree filter example (`examples/dlp-filter`) builds against this tree and passes its
//! own tests: the filters' unit tests on the exported harness, its custom `legate-dlp` binary
//! refusing a MESSAGE with a forbidden keyword while a clean one passes, and a config naming both
//! example filters pushed by the custom control plane to the custom proxy, their refusals audited
//! as denied under their rule ids and the DLP metric on `/metrics`.
//!
//! The guide to writing filters (`filters/api/README.md`) quotes the example; the quotes are checked
//! here against the files they come from.
//!
//! The example is its own workspace, so it is built by a nested `cargo test`. It shares this
//! workspace's target directory (and, copied in first, its lock file, so it resolves to the same
//! versions) to reuse what is already built.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;

use legate_e2e::workspace;

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => workspace().join("target"),
    }
}

fn is_set_for_this_package(name: &str) -> bool {
    ["CARGO_PKG_", "CARGO_BIN_", "CARGO_MANIFEST_"]
        .iter()
        .any(|prefix| name.starts_with(prefix))
        || [
            "CARGO_CRATE_NAME",
            "CARGO_PRIMARY_PACKAGE",
            "CARGO_TARGET_TMPDIR",
        ]
        .contains(&name)
}

#[test]
fn the_dlp_filter_example_builds_and_passes_its_tests() {
    let example = workspace().join("examples/dlp-filter");
    std::fs::copy(workspace().join("Cargo.lock"), example.join("Cargo.lock")).unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .arg("test")
        .arg("--manifest-path")
        .arg(example.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target_dir());
    // What cargo set for this test's own package would look like a changed environment to the
    // build scripts that watch it (ring's), and rebuild them.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if is_set_for_this_package(&name) {
            command.env_remove(name.as_ref());
        }
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "cargo test of examples/dlp-filter failed\n{stdout}\n{stderr}"
    );
    for test in [
        "a_forbidden_keyword_is_refused_naming_the_rule_not_the_text",
        "no_key_a_wrong_key_or_a_foreign_domain_is_refused_under_its_rule",
        "a_message_with_a_forbidden_keyword_is_refused_and_a_clean_one_passes",
        "a_config_naming_the_example_filters_is_pushed_and_their_refusals_are_audited_and_counted",
    ] {
        assert!(
            stdout.contains(&format!("{test} ... ok")),
            "{test} did not run\n{stdout}"
        );
    }
}

#[test]
fn the_guide_quotes_the_example_as_it_is() {
    let guide = std::fs::read_to_string(workspace().join("filters/api/README.md")).unwrap();
    let mut lines = guide.lines();
    let mut quotes = 0;
    while let Some(line) = lines.next() {
        let Some(source) = line
            .strip_prefix("<!-- quoted from ")
            .and_then(|rest| rest.strip_suffix(" -->"))
        else {
            continue;
        };
        let fence = lines.next().unwrap_or_default();
        assert!(
            fence.starts_with("```"),
            "a code block follows the quote of {source}"
        );
        let block: Vec<&str> = lines.by_ref().take_while(|line| *line != "```").collect();
        let quoted = block.join("\n");
        let file = std::fs::read_to_string(workspace().join(source)).unwrap();
        assert!(
            file.contains(&quoted),
            "filters/api/README.md quotes {source}, which no longer reads:\n{quoted}"
        );
        quotes += 1;
    }
    assert!(quotes >= 5, "the guide's quotes were not found");
}
