#!/usr/bin/env bash
# The test command: installs prerequisites, builds the legate binary the end-to-end tests
# start, then runs every test in the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/prereqs.sh test
cargo build --locked -p legate -p legate-control-plane
cargo test --locked --workspace "$@"
