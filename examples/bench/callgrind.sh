#!/usr/bin/env bash
# Instructions per relayed MESSAGE, counted by callgrind: repeatable on a noisy machine where
# CPU time is not. On 127.0.0.1 only.
#
#   examples/bench/callgrind.sh            # relay.yaml
#   LEGATE_CONFIG=federation.yaml examples/bench/callgrind.sh
#
# Runs the release build under `valgrind --tool=callgrind` twice for the same wall time: once
# relaying MESSAGES MESSAGE transactions from sipp (at RATE a second) to a sipp responder, once
# idle. The difference of the two instruction totals, divided by MESSAGES, is what one relayed
# MESSAGE costs (start, shutdown and timers cancel out). LEGATE_BIN measures another build.
# PROFILE_DIR keeps both profiles there, to compare by function with
# `callgrind_annotate --inclusive=yes PROFILE_DIR/callgrind.loaded`.
#
#   PROXY=kamailio examples/bench/callgrind.sh
#
# counts Kamailio instead, on kamailio.cfg with one UDP child, every process it forks included.
#
#   MESSAGES  transactions relayed (2000)     RATE  MESSAGE per second (50)
set -euo pipefail

BENCH="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$BENCH/../.." && pwd)"
cd "$ROOT"
MESSAGES=${MESSAGES:-2000}
RATE=${RATE:-50}
LEGATE_CONFIG=${LEGATE_CONFIG:-relay.yaml}
PROXY=${PROXY:-legate}
log() { printf '[callgrind] %s\n' "$*" >&2; }

bash tests/prereqs.sh test
command -v valgrind >/dev/null || { log "valgrind is needed (apt-get install valgrind)"; exit 1; }
if [ "$PROXY" = kamailio ]; then
  [ -x /usr/sbin/kamailio ] || { log "kamailio is needed (examples/bench/run.sh installs it)"; exit 1; }
  LEGATE_CONFIG=kamailio.cfg
elif [ -n "${LEGATE_BIN:-}" ]; then
  LEGATE="$LEGATE_BIN"
else
  cargo build --locked --release -p legate >&2
  LEGATE="$ROOT/target/release/legate"
fi

WORK="$(mktemp -d)"
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
cp "$BENCH"/*.yaml "$WORK/"

instructions() { # callgrind output files (one per process): the total of their `summary:` lines
  cat "$1"* | awk '/^summary:/ { total += $2 } END { print total }'
}

start_proxy() { # callgrind output file, log file; leaves the proxy's pid in $proxy
  if [ "$PROXY" = kamailio ]; then
    mkdir -p "$WORK/kamailio"
    valgrind --tool=callgrind --trace-children=yes --callgrind-out-file="$1.%p" \
      /usr/sbin/kamailio -f "$BENCH/kamailio.cfg" -DD -E -m 1024 -M 16 -x tlsf \
      -Y "$WORK/kamailio" -P "$WORK/kamailio/pid" -w "$WORK/kamailio" -A "LISTEN_PORT=5060" \
      -A 'UPSTREAM="sip:127.0.0.1:5070"' -A "CHILDREN=1" >"$2" 2>&1 &
    proxy=$!
    # Ready once its port is bound and the children it forks are all there (the same set twice).
    local seen="" children
    for _ in $(seq 600); do
      sleep 0.2
      ss -Hunl "sport = :5060" | grep -q . || continue
      children=$(awk -v parent="$proxy" '/^Pid:/ { p = $2 } /^PPid:/ && $2 == parent { print p }' \
        /proc/[0-9]*/status 2>/dev/null | sort | tr '\n' ' ')
      [ -n "$children" ] && [ "$children" = "$seen" ] && break
      seen=$children
    done
  else
    valgrind --tool=callgrind --callgrind-out-file="$1" "$LEGATE" run --config "$WORK/$LEGATE_CONFIG" \
      2>"$2" &
    proxy=$!
    for _ in $(seq 600); do curl -sf http://127.0.0.1:9901/readyz >/dev/null && break; sleep 0.1; done
  fi
}

measure() { # label, messages to relay
  local label=$1 messages=$2 out="$WORK/callgrind.$1" proxy
  start_proxy "$out" "$WORK/$label.log"
  PIDS+=("$proxy")
  (cd "$WORK" && exec sipp -sf "$BENCH/uas_message.xml" -i 127.0.0.1 -p 5070 -nostdin -bg \
    >/dev/null 2>&1) || true
  if [ "$messages" -gt 0 ]; then
    local start=$SECONDS
    (cd "$WORK" && sipp 127.0.0.1:5060 -sf "$BENCH/uac_message.xml" -i 127.0.0.1 -p 5061 \
      -nostdin -r "$RATE" -m "$messages" -recv_timeout 5000 -timeout "$((messages / RATE + 120))" \
      >"$WORK/uac.log" 2>&1) || log "sipp reported failed calls: $(tail -n 3 "$WORK/uac.log")"
    echo $((SECONDS - start)) >"$WORK/loaded-seconds"
  else
    sleep "$(cat "$WORK/loaded-seconds")"
  fi
  pkill -f "sipp -sf $BENCH/uas_message.xml" 2>/dev/null || true
  kill -TERM "$proxy"
  wait "$proxy" 2>/dev/null || true
  instructions "$out"
}

loaded=$(measure loaded "$MESSAGES")
idle=$(measure idle 0)
per_message=$(( (loaded - idle) / MESSAGES ))
if [ -n "${PROFILE_DIR:-}" ]; then
  mkdir -p "$PROFILE_DIR"
  cp "$WORK"/callgrind.loaded* "$WORK"/callgrind.idle* "$PROFILE_DIR"/
fi
echo "$LEGATE_CONFIG: $MESSAGES MESSAGEs relayed: $loaded instructions, idle for as long: $idle; per relayed MESSAGE: $per_message"
