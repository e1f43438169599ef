#!/usr/bin/env bash
# The test command: installs prerequisites, builds the binaries the end-to-end tests start
# (the debug builds, and an optimised legate for the test that holds thousands of requests a
# second), then runs every test in the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/prereqs.sh test
cargo build --locked -p legate -p legate-control-plane
cargo build --locked --release -p legate
cargo test --locked --workspace "$@"
