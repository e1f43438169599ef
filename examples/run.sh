#!/usr/bin/env bash
# The run command: installs build prerequisites, then runs Legate. With no arguments it runs the
# embedded quickstart configuration; any arguments go to `legate` (e.g. `run --config FILE`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/prereqs.sh build
if [ $# -eq 0 ]; then set -- run; fi
exec cargo run --locked --release -p legate -- "$@"
