#!/usr/bin/env bash
# Memory under a UDP flood from one source, and after it, on 127.0.0.1 only.
#
#   examples/bench/flood.sh
#
# Builds Legate in release and runs it on flood.yaml twice: with the default edge limits, and
# with them raised out of reach. Each time flood.py floods the external listener from
# 127.0.0.2 for FLOOD_SECONDS (new MESSAGE transactions, as fast as Python sends them) while
# 127.0.0.3 sends 20 MESSAGEs a second to a routed user, retransmitting like a user agent.
# It reads Legate's RSS (idle, the highest during the flood, and AFTER_SECONDS after it, once
# every transaction has expired) and its edge metrics. Then, with the default limits, 127.0.0.2
# opens CONNECTIONS TCP connections to the external TCP listener and a partner connects from
# 127.0.0.3. It prints two tables and writes them, with the machine, to
# examples/bench/results-flood.md.
#
#   FLOOD_SECONDS  length of each flood (20)
#   CONNECTIONS    connections the connection flood opens (5000)
#   AFTER_SECONDS  wait after the flood before the last reading (45: Timer J is 32 s, the source
#                  table is swept every 10 s)
set -euo pipefail

BENCH="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$BENCH/../.." && pwd)"
cd "$ROOT"
FLOOD_SECONDS=${FLOOD_SECONDS:-20}
AFTER_SECONDS=${AFTER_SECONDS:-45}
CONNECTIONS=${CONNECTIONS:-5000}
log() { printf '[flood] %s\n' "$*" >&2; }

bash tests/prereqs.sh build
command -v curl >/dev/null || { log "curl is needed"; exit 1; }
cargo build --release --locked -p legate >&2
LEGATE="$ROOT/target/release/legate"

WORK="$(mktemp -d)"
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
metric() { curl -sf http://127.0.0.1:9901/metrics | awk -v m="$1" '$1 == m { print $2 }'; }

start() { # extra proxy settings
  local config="$WORK/legate.yaml"
  sed "s|^proxy:|proxy:\n$1|" "$BENCH/flood.yaml" >"$config"
  "$LEGATE" run --config "$config" 2>"$WORK/legate.log" &
  PID=$!
  for _ in $(seq 100); do curl -sf http://127.0.0.1:9901/readyz >/dev/null && break; sleep 0.1; done
}

run() { # label, extra proxy settings
  local label=$1 peak=0 rss
  start "$2"
  local idle; idle=$(rss_kb "$PID")
  python3 "$BENCH/flood.py" 5064 5070 "$FLOOD_SECONDS" >"$WORK/flood.json" &
  local flood=$!
  while kill -0 "$flood" 2>/dev/null; do
    rss=$(rss_kb "$PID"); [ "$rss" -gt "$peak" ] && peak=$rss
    sleep 0.5
  done
  wait "$flood"
  local held; held=$(metric legate_sip_transactions_active)
  sleep "$AFTER_SECONDS"
  local after; after=$(rss_kb "$PID")
  local counts; counts=$(cat "$WORK/flood.json")
  local bans; bans=$(metric legate_edge_bans_total)
  local left; left=$(metric legate_sip_transactions_active)
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
  python3 - "$label" "$idle" "$peak" "$held" "$after" "$left" "$bans" "$counts" <<'PY'
import json, sys
label, idle, peak, held, after, left, bans, counts = sys.argv[1:]
c = json.loads(counts)
mb = lambda kb: f"{int(kb) / 1024:.1f}"
print(f"| {label} | {c['flooded']} | {c['normal_answered']}/{c['normal_sent']} "
      f"| {mb(idle)} | {mb(peak)} | {held} | {mb(after)} | {left} | {bans or 0} |")
PY
}

connections() {
  start ""
  local idle; idle=$(rss_kb "$PID")
  local counts; counts=$(python3 "$BENCH/flood.py" connections 5065 5070 "$CONNECTIONS")
  local rss; rss=$(rss_kb "$PID")
  local refused; refused=$(metric 'legate_edge_connections_refused_total{limit="per_source"}')
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
  python3 - "$idle" "$rss" "${refused:-0}" "$counts" <<'PY'
import json, sys
idle, rss, refused, counts = sys.argv[1:]
c = json.loads(counts)
mb = lambda kb: f"{int(kb) / 1024:.1f}"
print(f"| {c['opened']} | {c['kept_open']} | {c['closed_by_legate']} | {refused} "
      f"| {c['partner']} | {mb(idle)} | {mb(rss)} |")
PY
}

header="| edge limits | datagrams flooded | normal answered/sent | RSS idle MB | RSS peak MB | transactions held at the end of the flood | RSS ${AFTER_SECONDS} s after MB | transactions left | bans |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
rows="$(run "defaults" "")
$(run "raised out of reach" "  edge: { per_source: { requests_per_second: 1000000000, burst: 1000000000, max_transactions: 10000000 }, total: { max_transactions: 10000000 } }")"
table="$header
$rows"
echo "$table"
connection_table="| connections opened from one source | kept open by Legate | closed at accept | refused (per_source, /metrics) | partner from another address | RSS idle MB | RSS with the connections MB |
| --- | --- | --- | --- | --- | --- | --- |
$(connections)"
echo "$connection_table"
{
  echo "# UDP flood from one source: memory and the normal source"
  echo
  echo "Measured by \`examples/bench/flood.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -sr)," \
       "$(python3 --version), flood of ${FLOOD_SECONDS} s from 127.0.0.2 with 127.0.0.3 at 20 requests/s."
  echo
  echo "$table"
  echo
  echo "## Connection flood from one source (default limits: 32 connections a source)"
  echo
  echo "$connection_table"
} >"$BENCH/results-flood.md"
