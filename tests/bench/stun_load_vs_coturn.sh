#!/usr/bin/env bash
# STUN Binding throughput of qp2p-supernode against Debian's coturn (STUN-only, one service
# thread) and against a bare recvmmsg/sendmmsg reflector (qp2p-stunload --reflect), the
# yardstick of what the kernel and the load generator allow on this machine. Loopback only.
#
#   tests/bench/stun_load_vs_coturn.sh [BUILD_DIR]
#   env: DURATION=3 (seconds per run)  ROUNDS=3 (runs per server, interleaved; median kept)
#        LOAD_ARGS="--sockets 4 --window 64 --batch 32"  PIN=1 (taskset: server on CPU 1,
#        load generator on CPU 0, so each has one core)
#
# Prints one table: responses/s (median), ratio to coturn, server CPU use and responses per
# server CPU-second (the capacity of one service thread, and the figure least disturbed by
# other work on a shared machine), then the qp2p/coturn ratio of both against the 1.5 target.
# coturn runs as `turnserver -n --stun-only --relay-threads 0 ...`: --relay-threads 0 is its
# single-threaded mode, in which one thread answers every STUN request (its admin and auth
# threads stay idle); with --relay-threads 1 the work moves to a relay thread and is slower.
# Every process is bounded by `timeout` and killed by the EXIT trap.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${1:-$ROOT/build}
DURATION=${DURATION:-3}
ROUNDS=${ROUNDS:-3}
LOAD_ARGS=${LOAD_ARGS:-"--sockets 4 --window 64 --batch 32"}
PIN=${PIN:-1}
SUPERNODE=$BUILD_DIR/apps/qp2p-supernode
STUNLOAD=$BUILD_DIR/apps/qp2p-stunload
# Upper bound on the lifetime of every server started here, whatever happens to this script.
LIFETIME=$(( (DURATION + 2) * ROUNDS * 3 + 60 ))

die() { echo "stun_load_vs_coturn: $*" >&2; exit 1; }
[ -x "$SUPERNODE" ] || die "$SUPERNODE not built (ninja -C $BUILD_DIR qp2p-supernode)"
[ -x "$STUNLOAD" ] || die "$STUNLOAD not built (ninja -C $BUILD_DIR qp2p-stunload)"
command -v turnserver >/dev/null || die "turnserver not installed (Debian package coturn)"
command -v ss >/dev/null || die "ss not installed (Debian package iproute2)"

SERVER_CPU=()
CLIENT_CPU=()
if [ "$PIN" = 1 ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  SERVER_CPU=(taskset -c 1)
  CLIENT_CPU=(taskset -c 0)
fi

WORK=$(mktemp -d /tmp/qp2p-stunbench.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A UDP port on 127.0.0.1 that nothing listens on, and the one after it.
free_port_pair() {
  local p
  for _ in $(seq 1 100); do
    p=$(( 20000 + RANDOM % 40000 ))
    if ! ss -Hlun "( sport = :$p or sport = :$((p + 1)) )" | grep -q .; then echo "$p"; return; fi
  done
  die "no free UDP port pair found"
}

wait_listening() {  # PORT NAME
  for _ in $(seq 1 100); do
    ss -Hlun "( sport = :$1 )" | grep -q . && return 0
    sleep 0.05
  done
  die "$2 is not listening on 127.0.0.1:$1 (logs in $WORK)"
}

# The pid of the server under `timeout`, for its CPU time.
child_of() { pgrep -P "$1" | head -1; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

QP2P_PORT=$(free_port_pair)
timeout "$LIFETIME" "${SERVER_CPU[@]}" "$SUPERNODE" --log-level warn \
  --listen "127.0.0.1:$QP2P_PORT" --alt-listen "127.0.0.1:$((QP2P_PORT + 1))" \
  --key "$WORK/supernode.key" 2>"$WORK/supernode.log" &
PIDS+=($!)
QP2P_PID=$!
wait_listening "$QP2P_PORT" qp2p-supernode

COTURN_PORT=$(free_port_pair)
timeout "$LIFETIME" "${SERVER_CPU[@]}" turnserver -n --stun-only --relay-threads 0 \
  --no-cli --no-tls --no-dtls --listening-ip 127.0.0.1 --listening-port "$COTURN_PORT" \
  --alt-listening-port "$((COTURN_PORT + 1))" --no-stdout-log --simple-log \
  --log-file "$WORK/coturn.log" --pidfile "$WORK/coturn.pid" >/dev/null 2>&1 &
PIDS+=($!)
COTURN_PID=$!
wait_listening "$COTURN_PORT" coturn

timeout "$LIFETIME" "${SERVER_CPU[@]}" "$STUNLOAD" --reflect 127.0.0.1:0 \
  --duration "$LIFETIME" >"$WORK/reflector.out" 2>"$WORK/reflector.log" &
PIDS+=($!)
REFLECTOR_PID=$!
for _ in $(seq 1 100); do grep -q '^reflecting on' "$WORK/reflector.out" && break; sleep 0.05; done
REFLECTOR_TARGET=$(sed -n 's/^reflecting on //p' "$WORK/reflector.out")
[ -n "$REFLECTOR_TARGET" ] || die "reflector did not start (see $WORK/reflector.log)"

SERVERS=(qp2p coturn reflector)
declare -A TARGET=([qp2p]="127.0.0.1:$QP2P_PORT" [coturn]="127.0.0.1:$COTURN_PORT"
                   [reflector]="$REFLECTOR_TARGET")
declare -A PID_OF=([qp2p]=$(child_of "$QP2P_PID") [coturn]=$(child_of "$COTURN_PID")
                   [reflector]=$(child_of "$REFLECTOR_PID"))
declare -A RATES TICKS INVALID LATENCY

json_field() { sed -n "s/.*\"$1\":\([-0-9.e+]*\).*/\1/p"; }

echo "STUN Binding load: $ROUNDS round(s) x ${DURATION}s per server, $LOAD_ARGS" \
     "${SERVER_CPU[*]:+(server pinned: ${SERVER_CPU[*]}, load: ${CLIENT_CPU[*]})}"
for round in $(seq 1 "$ROUNDS"); do
  # Rotate the order each round so slow drifts on the machine hit every server alike.
  for i in 0 1 2; do
    name=${SERVERS[$(( (i + round) % 3 ))]}
    before=$(cpu_ticks "${PID_OF[$name]}")
    # shellcheck disable=SC2086
    out=$("${CLIENT_CPU[@]}" "$STUNLOAD" --target "${TARGET[$name]}" --duration "$DURATION" \
          $LOAD_ARGS --json) || die "load run against $name failed: $out"
    after=$(cpu_ticks "${PID_OF[$name]}")
    RATES[$name]="${RATES[$name]:-} $(echo "$out" | json_field valid_per_second)"
    TICKS[$name]=$(( ${TICKS[$name]:-0} + after - before ))
    INVALID[$name]=$(( ${INVALID[$name]:-0} + $(echo "$out" | json_field invalid) ))
    LATENCY[$name]="p50 $(echo "$out" | json_field p50)/p99 $(echo "$out" | json_field p99) us"
  done
done

median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
HZ=$(getconf CLK_TCK)
COTURN_RATE=$(echo "${RATES[coturn]}" | median)
printf '\n%-10s %14s %10s %8s %18s %8s  %s\n' server "responses/s" "x coturn" "cpu %" \
  "resp/cpu-second" invalid "latency (last run)"
for name in "${SERVERS[@]}"; do
  rate=$(echo "${RATES[$name]}" | median)
  cpu_s=$(awk -v t="${TICKS[$name]}" -v hz="$HZ" 'BEGIN {print t / hz}')
  awk -v n="$name" -v r="$rate" -v c="$COTURN_RATE" -v cpu="$cpu_s" -v d="$DURATION" \
      -v k="$ROUNDS" -v inv="${INVALID[$name]}" -v lat="${LATENCY[$name]}" -v all="${RATES[$name]}" \
      'BEGIN {
         per_cpu = cpu > 0 ? r * d / (cpu / k) : 0
         printf "%-10s %14.0f %10.2f %8.0f %18.0f %8d  %s  (runs:%s)\n", n, r, r / c,
                100 * cpu / (d * k), per_cpu, inv, lat, all
       }'
done
# Two verdicts. Throughput is what the closed-loop generator achieved; on a two-core machine
# the generator needs about as much CPU per request as a batching server per response, so it
# can stay below a server's capacity (see the cpu % column). Responses per server CPU-second is
# the capacity of one service thread and does not depend on the generator.
ratio_of() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
per_cpu() { awk -v r="$(echo "${RATES[$1]}" | median)" -v t="${TICKS[$1]}" -v hz="$HZ" \
              -v d="$DURATION" -v k="$ROUNDS" 'BEGIN {print (t > 0 ? r * d * k * hz / t : 0)}'; }
THROUGHPUT_RATIO=$(ratio_of "$(echo "${RATES[qp2p]}" | median)" "$COTURN_RATE")
CAPACITY_RATIO=$(ratio_of "$(per_cpu qp2p)" "$(per_cpu coturn)")
verdict() { awk -v r="$1" 'BEGIN {print (r >= 1.5 ? "met" : "NOT met")}'; }
echo
echo "qp2p / coturn throughput:          $THROUGHPUT_RATIO (target >= 1.5: $(verdict "$THROUGHPUT_RATIO"))"
echo "qp2p / coturn per server CPU-second: $CAPACITY_RATIO (target >= 1.5: $(verdict "$CAPACITY_RATIO"))"
