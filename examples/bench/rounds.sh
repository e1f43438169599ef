#!/usr/bin/env bash
# CPU per MESSAGE transaction, Legate against Kamailio, over several runs of run.sh: on a shared
# machine one run's ratio moves by a fifth either way, the median of several much less.
#
#   examples/bench/rounds.sh                                   # relay.yaml, 5 rounds
#   ROUNDS=7 LEGATE_CONFIG=federation.yaml examples/bench/rounds.sh
#   TRACE_RATIO=0.01 LEGATE_CONFIG=federation.yaml examples/bench/rounds.sh   # with tracing
#
# Each round is a run.sh with its MESSAGE load as configured (MSG_RATE, MSG_CALLS) and its other
# phases cut short (CALL_CALLS 200, one 1 s step at 500/s, a 1 s drain; set them to change
# that). It prints every round's figures and the medians, and writes them to
# examples/bench/rounds.md (rounds-<config>.md for another LEGATE_CONFIG).
set -euo pipefail

BENCH="$(cd "$(dirname "$0")" && pwd)"
ROUNDS=${ROUNDS:-5}
LEGATE_CONFIG=${LEGATE_CONFIG:-relay.yaml}
TRACE_RATIO=${TRACE_RATIO:-}
traced=""
[ -n "$TRACE_RATIO" ] && traced="-traced-$TRACE_RATIO"
case "$LEGATE_CONFIG" in
  relay.yaml) OUT="$BENCH/rounds$traced.md" ;;
  *) OUT="$BENCH/rounds-${LEGATE_CONFIG%.yaml}$traced.md" ;;
esac
export LEGATE_CONFIG TRACE_RATIO CALL_CALLS=${CALL_CALLS:-200} STEP_RATES=${STEP_RATES:-500}
export STEP_SECONDS=${STEP_SECONDS:-1} DRAIN_SECONDS=${DRAIN_SECONDS:-1}
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

column() { # results file, column of the MESSAGE CPU row (3 Legate, 4 Kamailio, 5 ratio)
  awk -F'|' -v c="$2" '/^\| MESSAGE: proxy CPU per transaction/ { gsub(/ /, "", $c); print $c }' "$1"
}

median() { # numbers on standard input
  sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ROWS=()
for round in $(seq "$ROUNDS"); do
  results="$WORK/round-$round.md"
  if ! RESULTS="$results" bash "$BENCH/run.sh" >"$WORK/round-$round.log" 2>&1; then
    tail -n 20 "$WORK/round-$round.log" >&2
    echo "round $round failed" >&2
    exit 1
  fi
  row="| $round | $(column "$results" 3) | $(column "$results" 4) | $(column "$results" 5) |"
  echo "$row"
  ROWS+=("$row")
done

legate=$(for r in $(seq "$ROUNDS"); do column "$WORK/round-$r.md" 3; done | median)
kamailio=$(for r in $(seq "$ROUNDS"); do column "$WORK/round-$r.md" 4; done | median)
ratio=$(for r in $(seq "$ROUNDS"); do column "$WORK/round-$r.md" 5; done | median)
{
  echo "# CPU per MESSAGE transaction over $ROUNDS runs"
  echo
  echo "Produced by \`examples/bench/rounds.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC') with"
  echo "\`LEGATE_CONFIG=$LEGATE_CONFIG\`${TRACE_RATIO:+ and \`TRACE_RATIO=$TRACE_RATIO\` (traces to otlp_sink.py)},"
  echo "MESSAGE at ${MSG_RATE:-500}/s × ${MSG_CALLS:-12000} per run;"
  echo "each run's other figures are in its own run.sh table (not kept). Overwritten by every run."
  echo
  echo "| run | Legate, µs | Kamailio, µs | ratio (Legate/Kamailio) |"
  echo "| --- | --- | --- | --- |"
  printf '%s\n' "${ROWS[@]}"
  echo "| median | $legate | $kamailio | $ratio |"
} >"$OUT"
echo "medians: Legate $legate µs, Kamailio $kamailio µs, ratio $ratio (written to $OUT)"
