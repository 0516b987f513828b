#!/usr/bin/env bash
# qp2p local demo: one supernode and two peers on loopback.
#
#   scenarios/demo/local-demo.sh [BUILD_DIR]      (default: ./build next to the sources)
#
# Peer A logs in and publishes metadata; peer B logs in, searches the directory and finds A,
# then sends A an instant message; A receives it and B gets the delivery report; B opens a
# tunnel to A, the supernode is stopped and the tunnel still carries data. Every JSON
# line the peers print is shown with a short explanation. Each step waits at most
# QP2P_DEMO_STEP_SECONDS (default 10) seconds; all processes are stopped on exit, and the
# script exits non-zero when a step fails.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${1:-${QP2P_BUILD_DIR:-$ROOT/build}}
SUPERNODE=$BUILD_DIR/apps/qp2p-supernode
PEER=$BUILD_DIR/apps/qp2p-peer
STEP_SECONDS=${QP2P_DEMO_STEP_SECONDS:-10}

for binary in "$SUPERNODE" "$PEER"; do
  if [ ! -x "$binary" ]; then
    echo "local-demo: $binary not found; build first (./setup.sh build)" >&2
    exit 1
  fi
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/qp2p-demo.XXXXXX")
PIDS=()
cleanup() {
  local status=$?
  if [ -n "${a_in:-}" ]; then exec {a_in}>&-; fi
  if [ -n "${b_in:-}" ]; then exec {b_in}>&-; fi
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$status" -ne 0 ]; then
    for log in "$WORK"/*.err; do
      [ -s "$log" ] && { echo "--- $(basename "$log")"; tail -n 20 "$log"; } >&2
    done
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -t 1 ]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; else BOLD='' PLAIN=''; fi
say() { printf '\n%s== %s%s\n' "$BOLD" "$*" "$PLAIN"; }
fail() { echo "local-demo: FAILED: $*" >&2; exit 1; }

# A UDP port with nothing bound to it, and the next one free too (the alternate STUN port).
free_port_pair() {
  local port
  for _ in $(seq 1 50); do
    port=$(( 20000 + RANDOM % 30000 ))
    if ! ss -Hlun "( sport = :$port or sport = :$((port + 1)) )" | grep -q .; then
      echo "$port"
      return 0
    fi
  done
  fail "no free UDP port pair found"
}

# wait_for NAME FILE PATTERN: waits up to STEP_SECONDS for a line of FILE matching the
# extended regex PATTERN and prints it.
wait_for() {
  local name=$1 file=$2 pattern=$3 line deadline=$((SECONDS + STEP_SECONDS))
  while true; do
    line=$(grep -E -m1 -- "$pattern" "$file" 2>/dev/null || true)
    if [ -n "$line" ]; then
      echo "  $name> $line"
      return 0
    fi
    [ "$SECONDS" -ge "$deadline" ] && fail "$name printed no line matching /$pattern/ within ${STEP_SECONDS}s"
    sleep 0.1
  done
}

json_field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" <<<"$2"; }

PORT=$(free_port_pair)
SN="127.0.0.1:$PORT"

say "Starting a supernode on $SN (STUN alternate on port $((PORT + 1)))"
"$SUPERNODE" --listen "$SN" --alt-listen "127.0.0.1:$((PORT + 1))" --key "$WORK/supernode.key" \
  --log-level info >"$WORK/supernode.out" 2>"$WORK/supernode.err" &
PIDS+=($!)

# Each peer reads commands from a FIFO that this script keeps open, and writes JSON to a file.
start_peer() {
  local name=$1; shift
  mkfifo "$WORK/$name.in"
  "$PEER" --supernode "$SN" --key "$WORK/$name.key" "$@" \
    <"$WORK/$name.in" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PIDS+=($!)
}

say "Peer A logs in with metadata role=camera site=lab-1 (it is published right after login)"
start_peer a --meta role=camera --meta site=lab-1 --auto-accept
exec {a_in}>"$WORK/a.in"
wait_for A "$WORK/a.out" '"event":"registered"'
echo "  A proved its key to the supernode, which saw it at the 'mapped' address."
wait_for A "$WORK/a.out" '"event":"published"'
echo "  A's signed record (version above) is now in the supernode's index."
A_ID=$(json_field peer_id "$(grep -m1 '"event":"registered"' "$WORK/a.out")")
[ -n "$A_ID" ] || fail "no peer id in A's registered line"

say "Peer B logs in"
start_peer b
exec {b_in}>"$WORK/b.in"
wait_for B "$WORK/b.out" '"event":"registered"'

say "B searches for role=camera AND site=lab* (a prefix term)"
echo "search role=camera site=lab*" >&"$b_in"
wait_for B "$WORK/b.out" '"event":"search"'
grep -m1 '"event":"search"' "$WORK/b.out" | grep -q "\"peer_id\":\"$A_ID\"" ||
  fail "B's search did not find A ($A_ID)"
echo "  The index answered with A's id, metadata and mapped address: B found A."

say "B sends A an instant message"
echo "send $A_ID hello from B" >&"$b_in"
wait_for B "$WORK/b.out" '"event":"sent"'
echo "  The supernode accepted the message for routing."
wait_for A "$WORK/a.out" '"event":"message".*"text":"hello from B"'
echo "  A received it, authenticated by its session with the supernode."
wait_for B "$WORK/b.out" '"event":"delivered"'
echo "  A acknowledged it, and the supernode told B: delivered."

say "B asks A for a tunnel (A was started with --auto-accept)"
echo "connect $A_ID" >&"$b_in"
wait_for A "$WORK/a.out" '"event":"tunnel-request"'
echo "  The supernode's handshake service offered A the tunnel; A accepted it."
wait_for B "$WORK/b.out" '"event":"punch-start"'
echo "  The handshake service picked a strategy from both NAT profiles and started both peers together."
wait_for B "$WORK/b.out" '"event":"tunnel"'
wait_for A "$WORK/a.out" '"event":"tunnel"'
echo "  Direct, end-to-end encrypted tunnel up on both sides (setup_ms: from B's request)."

say "The supernode stops; the tunnel carries on"
kill "${PIDS[0]}" 2>/dev/null || true
wait "${PIDS[0]}" 2>/dev/null || true
echo "tsend $A_ID through the tunnel, no supernode involved" >&"$b_in"
wait_for A "$WORK/a.out" '"event":"tdata".*"text":"through the tunnel, no supernode involved"'
echo "  The tunnel depends only on the two peers (and their NAT mappings, kept by keepalives)."

say "B closes the tunnel; both peers quit"
echo "close $A_ID" >&"$b_in"
wait_for A "$WORK/a.out" '"event":"tunnel-closed".*"reason":"closed by peer"'
echo quit >&"$a_in"
echo quit >&"$b_in"

say "Demo complete"
