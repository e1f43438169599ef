#!/usr/bin/env bash
# Benchmark: Legate and Kamailio side by side, under the same sipp load, on 127.0.0.1 only.
#
#   examples/bench/run.sh
#
# For each proxy (Legate on a copy of relay.yaml, Kamailio on kamailio.cfg, same ports) it runs:
#   1. MESSAGE at a fixed rate for a fixed number of calls (one transaction per call),
#   2. INVITE/180/200/ACK/BYE calls at a fixed rate (two transactions and an ACK per call),
#   3. a step test: MESSAGE at rising rates for a few seconds each, stopping at the first rate
#      with a failed call, a retransmission or a rate sipp could not hold,
#   4. an idle pause, long enough for every transaction to expire.
# and measures sipp's successful/failed calls, retransmissions and response times, the CPU time
# the proxy used (utime+stime of all its threads and processes), and its memory (PSS summed over
# its processes, sampled 5 times a second; VmHWM; VmRSS). It prints a table and writes it, with
# the machine and versions, to examples/bench/results.md.
#
# Everything it starts is stopped on exit. Settings can be changed through the environment:
#   PROXY_PORT UAS_PORT UAC_PORT ADMIN_PORT  ports on 127.0.0.1 (5060 5070 5061 9901)
#   MSG_RATE MSG_CALLS                       MESSAGE load (500 cps, 12000 calls)
#   CALL_RATE CALL_CALLS                     INVITE load (200 cps, 3000 calls)
#   STEP_RATES STEP_SECONDS                  step test ("500 1000 ... 10000", 3 s each)
#   DRAIN_SECONDS                            idle time before the last memory reading (35)
#   WORKERS                                  Legate worker threads and Kamailio UDP children (nproc)
#   KAMAILIO_SHM_MB KAMAILIO_PKG_MB          Kamailio -m and -M (1024, 16)
#   KAMAILIO_MEMORY_MANAGER                  Kamailio -x (tlsf; Debian's default is qm)
#   LEGATE_CONFIG                            relay.yaml (default), federation.yaml (authn,
#                                            domain_policy, translation, topology hiding) or
#                                            audit.yaml (the audit filter, SQLite store); the
#                                            results go to results.md or results-<name>.md
#   EXTERNAL_PORT                            federation.yaml's external listener (5064)
#   TRACE_RATIO                              trace this share of dialogs (0.01, 1), exported over
#                                            OTLP/HTTP to otlp_sink.py on OTLP_PORT (4318); unset:
#                                            tracing off
#   LEGATE_BIN                               a legate binary to measure instead of building this
#                                            tree's (another commit's, say); RESULTS names the file
#                                            (in examples/bench, or an absolute path)
#   BENCH_KEEP=1                             keep the work directory (logs, sipp statistics)
set -euo pipefail

BENCH="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$BENCH/../.." && pwd)"
cd "$ROOT"

PROXY_PORT=${PROXY_PORT:-5060}
UAS_PORT=${UAS_PORT:-5070}
UAC_PORT=${UAC_PORT:-5061}
ADMIN_PORT=${ADMIN_PORT:-9901}
MSG_RATE=${MSG_RATE:-500}
MSG_CALLS=${MSG_CALLS:-12000}
CALL_RATE=${CALL_RATE:-200}
CALL_CALLS=${CALL_CALLS:-3000}
STEP_RATES=${STEP_RATES:-"500 1000 2000 4000 6000 8000 10000"}
STEP_SECONDS=${STEP_SECONDS:-3}
# Longer than Legate's Timer J (32 s) and Kamailio's wait timer (5 s): every transaction is gone.
DRAIN_SECONDS=${DRAIN_SECONDS:-35}
WORKERS=${WORKERS:-$(nproc)}
LEGATE_CONFIG=${LEGATE_CONFIG:-relay.yaml}
EXTERNAL_PORT=${EXTERNAL_PORT:-5064}
TRACE_RATIO=${TRACE_RATIO:-}
OTLP_PORT=${OTLP_PORT:-4318}
case "$LEGATE_CONFIG" in
  relay.yaml) RESULTS=${RESULTS:-results.md} ;;
  *) RESULTS=${RESULTS:-"results-${LEGATE_CONFIG%.yaml}.md"} ;;
esac
case "$RESULTS" in
  /*) RESULTS_FILE=$RESULTS ;;
  *) RESULTS_FILE="$BENCH/$RESULTS" ;;
esac
# Kamailio takes a fixed shared memory pool; it holds every transaction, and 256 MiB ran out at
# 6000 MESSAGE/s here. Pages are only resident once used, so a large pool costs nothing idle.
KAMAILIO_SHM_MB=${KAMAILIO_SHM_MB:-1024}
KAMAILIO_PKG_MB=${KAMAILIO_PKG_MB:-16}
# Debian's Kamailio is built with memory debugging (DBG_SR_MEMORY); with it, the default
# allocator (qm) took about twice the CPU per transaction here. tlsf is one of the allocators
# Kamailio offers for production use.
KAMAILIO_MEMORY_MANAGER=${KAMAILIO_MEMORY_MANAGER:-tlsf}
# The measurement (not the build) must end within this many seconds.
BUDGET_SECONDS=${BUDGET_SECONDS:-290}

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------------------------------------
# Prerequisites and build

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
bash tests/prereqs.sh test
if [ ! -x /usr/sbin/kamailio ]; then
  log "installing kamailio"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends kamailio >/dev/null
fi
KAMAILIO=/usr/sbin/kamailio
KAMAILIO_MODULES=/usr/lib/x86_64-linux-gnu/kamailio/modules
for module in tm sl rr maxfwd sanity siputils textops pv; do
  [ -f "$KAMAILIO_MODULES/$module.so" ] || die "kamailio module $module.so is missing from $KAMAILIO_MODULES"
done
if [ -n "${LEGATE_BIN:-}" ]; then
  LEGATE="$LEGATE_BIN"
else
  log "building legate (release)"
  cargo build --locked --release -p legate
  LEGATE="$ROOT/target/release/legate"
fi

# ---------------------------------------------------------------------------------------------
# Process bookkeeping: every process started here is recorded and stopped on exit.

WORK="$(mktemp -d "${TMPDIR:-/tmp}/legate-bench.XXXXXX")"
STARTED=()
WATCHDOG=""
FINISHED=0

stop_pid() { # pid [seconds]: TERM, then KILL if it is still there after the grace
  local pid=$1 grace=${2:-5} i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local pid
  [ -n "$WATCHDOG" ] && kill "$WATCHDOG" 2>/dev/null
  for pid in "${STARTED[@]}"; do stop_pid "$pid" 3; done
  if [ "$FINISHED" = 1 ] && [ "${BENCH_KEEP:-0}" != 1 ]; then
    rm -rf "$WORK"
  else
    log "work directory kept: $WORK"
  fi
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "stopped (time budget of ${BUDGET_SECONDS}s exceeded?)"; exit 124' TERM

# ---------------------------------------------------------------------------------------------
# /proc readers: cheap, since some of them run while the proxy is measured

CLK_TCK=$(getconf CLK_TCK)

udp_bound() { # port: is some UDP socket bound to it?
  local hex
  hex=$(printf ':%04X' "$1")
  awk -v p="$hex" 'NR > 1 && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }' \
    /proc/net/udp
}

tcp_listening() { # port
  local hex
  hex=$(printf ':%04X' "$1")
  awk -v p="$hex" 'NR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
    /proc/net/tcp
}

udp_drops() { # port: datagrams the kernel dropped on the UDP sockets bound to it (full buffer)
  local hex
  hex=$(printf ':%04X' "$1")
  awk -v p="$hex" 'NR > 1 && substr($2, length($2) - 4) == p { d += $NF } END { print d + 0 }' \
    /proc/net/udp
}

ticks_of() { # pid or pid/task/tid: utime+stime in clock ticks
  local stat
  stat=$(<"/proc/$1/stat") || { echo 0; return; }
  stat=${stat##*) }
  # shellcheck disable=SC2086
  set -- $stat
  echo $((${12} + ${13}))
}

cpu_ticks() { # pids...: summed utime+stime of all their threads, live and exited
  local total=0 pid
  for pid in "$@"; do total=$((total + $(ticks_of "$pid"))); done
  echo "$total"
}

status_kb() { # field pids...: a /proc/PID/status field (VmRSS, VmHWM) summed, in kB
  local field=$1 total=0 pid key value _
  shift
  for pid in "$@"; do
    while read -r key value _; do
      [ "$key" = "$field:" ] && { total=$((total + value)); break; }
    done 2>/dev/null <"/proc/$pid/status"
  done
  echo "$total"
}

pss_kb() { # pids...: proportional set size summed; shared pages are counted once overall
  local total=0 pid key value _
  for pid in "$@"; do
    while read -r key value _; do
      [ "$key" = "Pss:" ] && { total=$((total + value)); break; }
    done 2>/dev/null <"/proc/$pid/smaps_rollup"
  done
  echo "$total"
}

sample_pss() { # file pids...: keeps the highest PSS seen in file, 5 times a second
  local out=$1 max=0 now
  shift
  while :; do
    now=$(pss_kb "$@")
    if ((now > max)); then max=$now; echo "$max" >"$out"; fi
    sleep 0.2
  done
}

units_ticks() { # pids...: "label ticks" for every thread (Legate) or process (Kamailio)
  local pid task
  for pid in "$@"; do
    for task in /proc/"$pid"/task/*; do
      printf '%s/%s %s %s\n' "$pid" "${task##*/}" "$(tr ' ' '_' <"$task/comm")" "$(ticks_of "$pid/task/${task##*/}")"
    done
  done
}

# ---------------------------------------------------------------------------------------------
# sipp

# Reads one column of the last line of a sipp -trace_stat file.
stat_col() { # file column
  [ -s "$1" ] || { echo "?"; return 0; }
  awk -F';' -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next }
    { last = $0 } END { if (!k) { print "?"; exit } split(last, f, ";"); print f[k] }' "$1"
}

# sipp times look like hh:mm:ss:uuuuuu but are measured in whole milliseconds; prints
# milliseconds, "<1" for a mean under sipp's resolution.
stat_ms() {
  stat_col "$1" "$2" | awk -F: '{ if (NF < 4) { print "?"; exit }
    ms = ($1 * 3600 + $2 * 60 + $3) * 1000 + $4 / 1000
    if (ms < 1) print "<1"; else printf "%.1f", ms }'
}

now_ms() { local t; t=$(<"/proc/uptime"); t=${t%% *}; echo $((${t%.*} * 1000 + 10#${t#*.} * 10)); }

# Starts the responder on UAS_PORT; sets UAS_PID.
start_uas() { # scenario stat-file
  (cd "$WORK" && exec sipp -sf "$BENCH/$1" -i 127.0.0.1 -p "$UAS_PORT" -nostdin \
    -trace_stat -stf "$2" -fd 1 -timeout 120 >"$2.screen" 2>&1) &
  UAS_PID=$!
  STARTED+=("$UAS_PID")
  local i
  for ((i = 0; i < 50; i++)); do udp_bound "$UAS_PORT" && return 0; sleep 0.1; done
  die "sipp responder did not bind 127.0.0.1:$UAS_PORT"
}

# Stops the responder gracefully (SIGUSR1 makes sipp write its final statistics).
stop_uas() {
  kill -USR1 "$UAS_PID" 2>/dev/null || true
  stop_pid "$UAS_PID" 5
}

# Runs the load generator to completion; sets UAC_MS (wall time), PROXY_DROPS and SIPP_DROPS
# (datagrams the kernel dropped for a full receive buffer at the proxy's and at sipp's sockets).
# A response not received within 5 s fails the call, so a run ends at most 5 s after its last
# call starts; -timeout is a backstop.
run_uac() { # scenario rate calls stat-file
  local t0 t1 p0 p1 s0 s1 limit=$(($3 / $2 + 30))
  p0=$(udp_drops "$PROXY_PORT")
  s0=$(($(udp_drops "$UAC_PORT") + $(udp_drops "$UAS_PORT")))
  t0=$(now_ms)
  (cd "$WORK" && exec sipp "127.0.0.1:$PROXY_PORT" -sf "$BENCH/$1" -i 127.0.0.1 -p "$UAC_PORT" \
    -nostdin -r "$2" -m "$3" -recv_timeout 5000 -trace_stat -stf "$4" -fd 1 -timeout "$limit" \
    >"$4.screen" 2>&1) || true
  t1=$(now_ms)
  p1=$(udp_drops "$PROXY_PORT")
  s1=$(($(udp_drops "$UAC_PORT") + $(udp_drops "$UAS_PORT")))
  UAC_MS=$((t1 - t0))
  PROXY_DROPS=$((p1 - p0))
  SIPP_DROPS=$((s1 - s0))
}

# ---------------------------------------------------------------------------------------------
# The proxies. start_<proxy> sets PROXY_PIDS (every process of the proxy) and PROXY_LOG.

start_legate() {
  local dir="$WORK/legate"
  mkdir -p "$dir"
  sed -e "s/127\.0\.0\.1:5060/127.0.0.1:$PROXY_PORT/; s/127\.0\.0\.1:5070/127.0.0.1:$UAS_PORT/" \
    -e "s/127\.0\.0\.1:5064/127.0.0.1:$EXTERNAL_PORT/" \
    -e "s/127\.0\.0\.1:9901/127.0.0.1:$ADMIN_PORT/" "$BENCH/$LEGATE_CONFIG" >"$dir/legate.yaml"
  printf '\nproxy:\n  worker_threads: %s\n' "$WORKERS" >>"$dir/legate.yaml"
  if [ -n "$TRACE_RATIO" ]; then
    python3 "$BENCH/otlp_sink.py" "$OTLP_PORT" "$dir/otlp-exports" &
    STARTED+=("$!")
    printf 'telemetry:\n  otlp: { endpoint: "http://127.0.0.1:%s", protocol: http/protobuf }\n  sampling_ratio: %s\n' \
      "$OTLP_PORT" "$TRACE_RATIO" >>"$dir/legate.yaml"
  fi
  # Files the config names sit beside it.
  cp "$BENCH"/*-users.yaml "$dir/" 2>/dev/null || true
  PROXY_LOG="$dir/legate.log"
  NO_COLOR=1 "$LEGATE" run --config "$dir/legate.yaml" >"$PROXY_LOG" 2>&1 &
  PROXY_PIDS=("$!")
  STARTED+=("$!")
}

start_kamailio() {
  local dir="$WORK/kamailio" i pid children=()
  mkdir -p "$dir"
  PROXY_LOG="$dir/kamailio.log"
  "$KAMAILIO" -f "$BENCH/kamailio.cfg" -DD -E -m "$KAMAILIO_SHM_MB" -M "$KAMAILIO_PKG_MB" \
    -x "$KAMAILIO_MEMORY_MANAGER" -Y "$dir" -P "$dir/kamailio.pid" -w "$dir" \
    -A "LISTEN_PORT=$PROXY_PORT" -A "UPSTREAM=\"sip:127.0.0.1:$UAS_PORT\"" \
    -A "CHILDREN=$WORKERS" >"$PROXY_LOG" 2>&1 &
  pid=$!
  STARTED+=("$pid")
  # Kamailio forks its receivers and timers from the main process; measure them all. They are
  # all there once two looks a moment apart find the same set.
  local seen=""
  for ((i = 0; i < 30; i++)); do
    sleep 0.3
    mapfile -t children < <(awk -v parent="$pid" '/^Pid:/ { p = $2 } /^PPid:/ && $2 == parent { print p }' \
      /proc/[0-9]*/status 2>/dev/null)
    [ "${#children[@]}" -gt "$WORKERS" ] && [ "${children[*]}" = "$seen" ] && break
    seen="${children[*]}"
  done
  PROXY_PIDS=("$pid" "${children[@]}")
  STARTED+=("${children[@]}")
}

wait_ready() { # name
  local i
  for ((i = 0; i < 100; i++)); do
    kill -0 "${PROXY_PIDS[0]}" 2>/dev/null || { cat "$PROXY_LOG" >&2; die "$1 exited at start"; }
    udp_bound "$PROXY_PORT" && { sleep 1; return 0; }
    sleep 0.1
  done
  die "$1 did not bind 127.0.0.1:$PROXY_PORT"
}

# ---------------------------------------------------------------------------------------------
# One proxy's run: results go to $WORK/<proxy>/results as key=value lines.

measure() { # proxy
  local proxy=$1 out="$WORK/$1" c0 c1 sampler peak_file rate calls result pass max_rate
  mkdir -p "$out"
  log "$proxy: starting"
  "start_$proxy"
  wait_ready "$proxy"
  local R="$out/results"
  : >"$R"
  put() { echo "$1=$2" >>"$R"; }
  put processes "${#PROXY_PIDS[@]}"
  put idle_pss_kb "$(pss_kb "${PROXY_PIDS[@]}")"
  put idle_rss_kb "$(status_kb VmRSS "${PROXY_PIDS[@]}")"

  peak_file="$out/peak_pss"
  echo 0 >"$peak_file"
  sample_pss "$peak_file" "${PROXY_PIDS[@]}" &
  sampler=$!
  STARTED+=("$sampler")
  units_ticks "${PROXY_PIDS[@]}" >"$out/units.before"

  # 1. MESSAGE at a fixed rate.
  log "$proxy: MESSAGE, $MSG_RATE cps x $MSG_CALLS"
  start_uas uas_message.xml "$out/msg_uas.csv"
  c0=$(cpu_ticks "${PROXY_PIDS[@]}")
  run_uac uac_message.xml "$MSG_RATE" "$MSG_CALLS" "$out/msg_uac.csv"
  c1=$(cpu_ticks "${PROXY_PIDS[@]}")
  stop_uas
  put msg_cpu_ticks $((c1 - c0))
  put msg_wall_ms "$UAC_MS"
  put msg_drops "$PROXY_DROPS"

  # 2. INVITE calls at a fixed rate.
  log "$proxy: INVITE calls, $CALL_RATE cps x $CALL_CALLS"
  start_uas uas_invite.xml "$out/inv_uas.csv"
  c0=$(cpu_ticks "${PROXY_PIDS[@]}")
  run_uac uac_invite.xml "$CALL_RATE" "$CALL_CALLS" "$out/inv_uac.csv"
  c1=$(cpu_ticks "${PROXY_PIDS[@]}")
  stop_uas
  put inv_cpu_ticks $((c1 - c0))
  put inv_wall_ms "$UAC_MS"
  put inv_drops "$PROXY_DROPS"

  units_ticks "${PROXY_PIDS[@]}" >"$out/units.after"
  stop_pid "$sampler" 1
  put peak_pss_kb "$(<"$peak_file")"
  put hwm_kb "$(status_kb VmHWM "${PROXY_PIDS[@]}")"

  # 3. Step test.
  max_rate=0
  echo 0 >"$out/step_peak_pss"
  sample_pss "$out/step_peak_pss" "${PROXY_PIDS[@]}" &
  sampler=$!
  STARTED+=("$sampler")
  start_uas uas_message.xml "$out/step_uas.csv"
  for rate in $STEP_RATES; do
    calls=$((rate * STEP_SECONDS))
    log "$proxy: step $rate cps x $calls"
    c0=$(cpu_ticks "${PROXY_PIDS[@]}")
    run_uac uac_message.xml "$rate" "$calls" "$out/step_$rate.csv"
    c1=$(cpu_ticks "${PROXY_PIDS[@]}")
    local ok failed retrans
    ok=$(stat_col "$out/step_$rate.csv" 'SuccessfulCall(C)')
    failed=$(stat_col "$out/step_$rate.csv" 'FailedCall(C)')
    retrans=$(stat_col "$out/step_$rate.csv" 'Retransmissions(C)')
    # Held: every call answered, nothing retransmitted, and sipp kept to the rate (within 20%).
    pass=no
    if [ "$ok" = "$calls" ] && [ "$failed" = 0 ] && [ "$retrans" = 0 ] &&
      ((UAC_MS * 10 <= STEP_SECONDS * 12000 + 1000 * 10)); then
      pass=yes
    fi
    echo "$rate $calls $ok $failed $retrans $UAC_MS $((c1 - c0)) $(stat_ms "$out/step_$rate.csv" 'ResponseTime1(C)') $pass $PROXY_DROPS $SIPP_DROPS" \
      >>"$out/steps"
    [ "$pass" = yes ] || break
    max_rate=$rate
    sleep 1
  done
  stop_uas
  stop_pid "$sampler" 1
  put max_rate "$max_rate"
  put step_peak_pss_kb "$(<"$out/step_peak_pss")"
  put step_hwm_kb "$(status_kb VmHWM "${PROXY_PIDS[@]}")"

  # 4. Idle again, once every transaction has expired: what the load left behind.
  log "$proxy: idle ${DRAIN_SECONDS}s"
  sleep "$DRAIN_SECONDS"
  put drained_pss_kb "$(pss_kb "${PROXY_PIDS[@]}")"
  put drained_rss_kb "$(status_kb VmRSS "${PROXY_PIDS[@]}")"

  # Stop, and keep what the proxy logged.
  log "$proxy: stopping"
  local pid
  for pid in "${PROXY_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null || put died "$pid"; done
  stop_pid "${PROXY_PIDS[0]}" 10
}

# ---------------------------------------------------------------------------------------------
# Run

for port in "$PROXY_PORT" "$UAS_PORT" "$UAC_PORT"; do
  udp_bound "$port" && die "UDP port $port on this machine is in use; set PROXY_PORT/UAS_PORT/UAC_PORT"
done
tcp_listening "$ADMIN_PORT" && die "TCP port $ADMIN_PORT is in use; set ADMIN_PORT"

# The watchdog holds no output open and takes its sleep with it when stopped.
(
  trap 'kill "$nap" 2>/dev/null; exit 0' TERM
  sleep "$BUDGET_SECONDS" &
  nap=$!
  wait "$nap" && kill -TERM $$
) >/dev/null 2>&1 &
WATCHDOG=$!

measure legate
measure kamailio

# ---------------------------------------------------------------------------------------------
# Report

get() { # proxy key
  awk -F= -v k="$2" '$1 == k { v = $2 } END { print (v == "" ? "?" : v) }' "$WORK/$1/results"
}

us_per() { # ticks count
  awk -v t="$1" -v n="$2" -v hz="$CLK_TCK" 'BEGIN { if (n > 0) printf "%.1f", t * 1e6 / hz / n; else print "?" }'
}

add() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9]+$/ && b ~ /^[0-9]+$/) print a + b; else print "?" }'; }

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

ratio() { # legate kamailio
  awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b + 0 > 0) printf "%.2f", a / b; else print "—" }'
}

ROWS=()
row() { ROWS+=("| $1 | $2 | $3 | ${4:-$(ratio "$2" "$3")} |"); }

declare -A V
for p in legate kamailio; do
  d="$WORK/$p"
  V[$p.msg_ok]=$(stat_col "$d/msg_uac.csv" 'SuccessfulCall(C)')
  V[$p.msg_failed]=$(stat_col "$d/msg_uac.csv" 'FailedCall(C)')
  V[$p.msg_retrans]=$(add "$(stat_col "$d/msg_uac.csv" 'Retransmissions(C)')" "$(stat_col "$d/msg_uas.csv" 'Retransmissions(C)')")
  V[$p.msg_rt]=$(stat_ms "$d/msg_uac.csv" 'ResponseTime1(C)')
  V[$p.msg_us]=$(us_per "$(get $p msg_cpu_ticks)" "${V[$p.msg_ok]}")
  V[$p.inv_ok]=$(stat_col "$d/inv_uac.csv" 'SuccessfulCall(C)')
  V[$p.inv_failed]=$(stat_col "$d/inv_uac.csv" 'FailedCall(C)')
  V[$p.inv_retrans]=$(add "$(stat_col "$d/inv_uac.csv" 'Retransmissions(C)')" "$(stat_col "$d/inv_uas.csv" 'Retransmissions(C)')")
  V[$p.inv_rt]=$(stat_ms "$d/inv_uac.csv" 'ResponseTime1(C)')
  V[$p.inv_us]=$(us_per "$(get $p inv_cpu_ticks)" "${V[$p.inv_ok]}")
  V[$p.cpu_pct]=$(awk -v t="$(get $p msg_cpu_ticks)" -v ms="$(get $p msg_wall_ms)" -v hz="$CLK_TCK" 'BEGIN { printf "%.1f", t / hz * 100000 / ms }')
  max=$(get $p max_rate)
  last=${STEP_RATES##* }
  [ "$max" = "$last" ] && max="≥ $max"
  V[$p.max]=$max
done

row "MESSAGE $MSG_RATE cps × $MSG_CALLS: successful / failed calls" \
  "${V[legate.msg_ok]} / ${V[legate.msg_failed]}" "${V[kamailio.msg_ok]} / ${V[kamailio.msg_failed]}" "—"
row "MESSAGE: retransmissions (sipp UAC + UAS)" "${V[legate.msg_retrans]}" "${V[kamailio.msg_retrans]}" "—"
row "MESSAGE: mean response time, ms" "${V[legate.msg_rt]}" "${V[kamailio.msg_rt]}"
row "MESSAGE: proxy CPU per transaction, µs" "${V[legate.msg_us]}" "${V[kamailio.msg_us]}"
row "MESSAGE: proxy CPU load at $MSG_RATE cps, % of one core" "${V[legate.cpu_pct]}" "${V[kamailio.cpu_pct]}"
row "INVITE calls $CALL_RATE cps × $CALL_CALLS: successful / failed" \
  "${V[legate.inv_ok]} / ${V[legate.inv_failed]}" "${V[kamailio.inv_ok]} / ${V[kamailio.inv_failed]}" "—"
row "INVITE calls: retransmissions (sipp UAC + UAS)" "${V[legate.inv_retrans]}" "${V[kamailio.inv_retrans]}" "—"
row "INVITE calls: mean INVITE→200 time, ms" "${V[legate.inv_rt]}" "${V[kamailio.inv_rt]}"
row "INVITE calls: proxy CPU per call (INVITE+ACK+BYE), µs" "${V[legate.inv_us]}" "${V[kamailio.inv_us]}"
row "fixed-rate runs: datagrams dropped at the proxy's socket" "$(add "$(get legate msg_drops)" "$(get legate inv_drops)")" \
  "$(add "$(get kamailio msg_drops)" "$(get kamailio inv_drops)")" "—"
row "RSS at idle, before any load (VmRSS; Kamailio: sum), MiB" "$(mib "$(get legate idle_rss_kb)")" "$(mib "$(get kamailio idle_rss_kb)")"
row "memory at idle, before any load (PSS), MiB" "$(mib "$(get legate idle_pss_kb)")" "$(mib "$(get kamailio idle_pss_kb)")"
row "memory peak, fixed-rate runs (PSS sampled 5/s), MiB" "$(mib "$(get legate peak_pss_kb)")" "$(mib "$(get kamailio peak_pss_kb)")"
row "peak RSS, fixed-rate runs (VmHWM; Kamailio: sum), MiB" "$(mib "$(get legate hwm_kb)")" "$(mib "$(get kamailio hwm_kb)")"
row "memory peak, step test (PSS sampled 5/s), MiB" "$(mib "$(get legate step_peak_pss_kb)")" "$(mib "$(get kamailio step_peak_pss_kb)")"
row "peak RSS, whole run (VmHWM; Kamailio: sum), MiB" "$(mib "$(get legate step_hwm_kb)")" "$(mib "$(get kamailio step_hwm_kb)")"
row "memory ${DRAIN_SECONDS} s after the load (PSS), MiB" "$(mib "$(get legate drained_pss_kb)")" "$(mib "$(get kamailio drained_pss_kb)")"
row "max sustained MESSAGE rate (step test), cps" "${V[legate.max]}" "${V[kamailio.max]}" \
  "$(ratio "$(get legate max_rate)" "$(get kamailio max_rate)")"

# Where each proxy spent its CPU during the fixed-rate runs: per thread (Legate) or process.
cpu_split() { # proxy
  awk 'NR == FNR { before[$1] = $3; next }
       { d = $3 - before[$1]; total += d; name[$1] = $2; delta[$1] = d }
       END { for (k in delta) if (total > 0 && delta[k] * 100 >= total) {
               split(k, id, "/")
               printf "%.0f %s (%s %s) %.0f%%\n", delta[k] * 1000 / total, name[k],
                 (id[1] == id[2] ? "pid" : "tid"), id[2], delta[k] * 100 / total } }' \
    "$WORK/$1/units.before" "$WORK/$1/units.after" | sort -rn | cut -d' ' -f2- | paste -sd';' | sed 's/;/; /g'
}

steps_table() { # proxy
  echo "| rate, cps | calls | successful | failed | retransmissions | datagrams dropped at proxy / sipp | wall time, s | proxy CPU, µs/txn | mean response, ms | held |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  awk -v hz="$CLK_TCK" '{ printf "| %s | %s | %s | %s | %s | %s / %s | %.1f | %.1f | %s | %s |\n",
      $1, $2, $3, $4, $5, $10, $11, $6 / 1000, ($3 > 0 ? $7 * 1e6 / hz / $3 : 0), $8, $9 }' "$WORK/$1/steps"
}

log_findings() { # proxy: lines that are not startup noise
  case $1 in
    legate) grep -E 'WARN|ERROR|panicked' "$WORK/legate/legate.log" | grep -v record_route_secret ;;
    kamailio) grep -E 'ERROR|WARNING|CRITICAL|BUG|ALERT' "$WORK/kamailio/kamailio.log" | grep -v 'running as root' ;;
  esac | head -n 10 || true
}

TABLE="| metric | Legate | Kamailio | ratio (Legate/Kamailio) |
| --- | --- | --- | --- |
$(printf '%s\n' "${ROWS[@]}")"

echo
echo "$TABLE"
echo

model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- proxy filters control-plane Cargo.toml Cargo.lock 2>/dev/null ||
  commit="$commit with local changes"
[ -n "${LEGATE_BIN:-}" ] && commit="not this tree's: LEGATE_BIN=$LEGATE_BIN"
{
  echo "# Benchmark results: Legate and Kamailio"
  echo
  echo "Produced by \`examples/bench/run.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'). Overwritten by every run."
  echo
  echo "- machine: $(nproc) CPUs, $model, $(awk '/^MemTotal/ { printf "%.1f GiB RAM", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r)"
  echo "- Legate: $("$LEGATE" --version), commit $commit, release build, examples/bench/$LEGATE_CONFIG,"
  if [ -n "$TRACE_RATIO" ]; then
    echo "  worker_threads: $WORKERS, tracing: sampling $TRACE_RATIO, OTLP/HTTP to examples/bench/otlp_sink.py"
  else
    echo "  worker_threads: $WORKERS, tracing off"
  fi
  echo "- Kamailio: $("$KAMAILIO" -v | head -n 1 | sed 's/^version: //; s/ *$//'), examples/bench/kamailio.cfg,"
  echo "  $WORKERS UDP children, -m $KAMAILIO_SHM_MB (shared MiB) -M $KAMAILIO_PKG_MB (private MiB per process),"
  echo "  -x $KAMAILIO_MEMORY_MANAGER (memory manager)"
  echo "- load: $(sipp -v 2>&1 | awk '/SIPp v/ { sub(/\.$/, "", $2); print $1, $2; exit }'), UAC and UAS on 127.0.0.1, the same scenario files"
  echo "  (examples/bench/*.xml) for both proxies"
  echo
  echo "$TABLE"
  echo
  echo "## What each proxy does per request"
  echo
  if [ "$LEGATE_CONFIG" = relay.yaml ]; then
  echo "- Legate (relay.yaml): parses and validates the whole message, checks Max-Forwards, loops"
  echo "  and Proxy-Require, runs a server and a client transaction, the header_mutation filter"
  echo "  (adds X-Legate-Side) and the router (route by domain, cluster endpoint); dialog-creating"
  echo "  requests get a Record-Route carrying sealed routing state (AES-GCM), which in-dialog"
  echo "  requests are opened against; it tracks dialogs. (A LEGATE_BIN of an older commit may"
  echo "  do less or differently.)"
  elif [ "$LEGATE_CONFIG" = audit.yaml ]; then
  echo "- Legate (audit.yaml): what relay.yaml does, plus the audit filter: one record per"
  echo "  MESSAGE and per call start and end, hash-chained (SHA-256) and written in batches to"
  echo "  an SQLite file (WAL) by a writer task; open fail mode."
  else
  echo "- Legate ($LEGATE_CONFIG): what relay.yaml does (parsing, checks, transactions, sealed"
  echo "  Record-Route, dialogs), with the federation chain instead of header_mutation: authn"
  echo "  (trusted source CIDR, identity headers), domain_policy (directory lookup of the caller,"
  echo "  rule indexes), translation (From/To/Contact mapped, restored on the response), and"
  echo "  topology hiding as the request leaves by the external listener (the caller's Via,"
  echo "  Contact and route entries sealed with AES-GCM, restored on the way back); the answers"
  echo "  coming back in on the external listener pass the per-source edge checks."
  fi
  echo "- Kamailio (kamailio.cfg): mf_process_maxfwd_header, sanity_check (default checks), tm"
  echo "  transactions (t_relay), append_hf X-Legate-Side, record_route on dialog-creating requests,"
  echo "  loose_route for in-dialog ones. No dialog tracking (no dialog module)."
  echo "- Both forward to 127.0.0.1:$UAS_PORT over UDP and log nothing per request."
  echo
  echo "## How to read it"
  echo
  echo "- Both proxies run on the same machine as both sipp processes, which compete for the same"
  echo "  $(nproc) CPUs: rates are those of this whole setup, not of the proxy alone."
  echo "- CPU is utime+stime of every thread and process of the proxy (from /proc/PID/stat, in"
  echo "  ${CLK_TCK} Hz ticks) over the sipp run, divided by the successful calls. At low rates"
  echo "  much of it is the cost of waking up per datagram, so it falls as the rate rises (see the"
  echo "  step test). Expect a few tens of percent between runs."
  echo "- Memory is PSS summed over the proxy's processes (shared pages counted once); VmHWM for"
  echo "  Kamailio adds each process's peak RSS, so shared memory is counted once per process."
  echo "- Legate keeps a completed non-INVITE server transaction for Timer J (64×T1 = 32 s, RFC 3261);"
  echo "  Kamailio's tm keeps one for its wait timer (5 s). At a fixed rate this sets how many"
  echo "  transactions each holds, so it weighs on the peak memory figures."
  echo "- Memory after the load: neither allocator need give freed memory back to the system;"
  echo "  Kamailio's shared memory pool keeps every page it has touched."
  echo "- Step test: MESSAGE at each rate for ${STEP_SECONDS} s; a rate is held when every call got"
  echo "  its 200, nothing was retransmitted and sipp finished within 20% (+1 s) of the planned time."
  echo "  sipp gives up on a call after 5 s without its response. Drops are datagrams the kernel"
  echo "  discarded because a socket's receive buffer was full (/proc/net/udp): at the proxy's"
  echo "  socket, or at sipp's two. A sipp responder does not answer a retransmitted request whose"
  echo "  call it has finished, so a lost 200 on the way to the proxy costs the call."
  echo "  The test stops at the first rate not held; \"≥\" means the highest rate tried was held."
  echo
  echo "## Where the CPU went (fixed-rate runs)"
  echo
  echo "Threads (Legate) or processes (Kamailio) that used at least 1% of the proxy's CPU time."
  echo "Legate is configured with one runtime thread per CPU ($(nproc)); Kamailio ran $(get kamailio processes)"
  echo "processes: the main one, $WORKERS UDP receivers and its timers."
  echo
  echo "- Legate: $(cpu_split legate)"
  echo "- Kamailio: $(cpu_split kamailio)"
  echo
  echo "## Step test"
  for p in legate kamailio; do
    echo
    echo "$p:"
    echo
    steps_table "$p"
  done
  echo
  echo "## Proxy logs"
  echo
  for p in legate kamailio; do
    findings=$(log_findings "$p")
    if [ -z "$findings" ]; then
      echo "- $p: no warnings or errors logged during the run."
    else
      echo "- $p: warnings or errors (first 10):"
      echo
      echo '```'
      echo "$findings"
      echo '```'
    fi
  done
  for p in legate kamailio; do
    died=$(get "$p" died)
    [ "$died" != "?" ] && echo "- $p: process $died had exited before the end of the run."
  done
} >"$RESULTS_FILE"

log "results written to $RESULTS_FILE"
FINISHED=1
