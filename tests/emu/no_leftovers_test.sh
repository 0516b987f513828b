#!/usr/bin/env bash
# The emulation test-bed leaves nothing behind (issue 7): after a normal run, a failed run, an
# interrupted run (SIGINT mid-run) and a terminated one (SIGTERM), no network namespace with the
# run's prefix remains, no process it started is alive, no nft table "qp2p" is left in this
# namespace and the run directory is gone. Every wait is bounded.
#
#   no_leftovers_test.sh BUILD_DIR/scenarios/emulation
#
# Exit status: 0 pass, 1 fail, 77 skipped (not root / no network namespaces).
set -uo pipefail
EMU_DIR=${1:?usage: no_leftovers_test.sh DIR_OF_EMU_BINARIES}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/qp2p-emu-leftovers.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
failures=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

if [ "$(id -u)" -ne 0 ]; then echo "skipped: needs root (network namespaces)"; exit 77; fi
probe="qp2p-$$-probe"
if ! ip netns add "$probe" 2>/dev/null; then echo "skipped: network namespaces unavailable"; exit 77; fi
ip netns del "$probe"

# Namespaces named PREFIX*.
namespaces() { ip netns list | awk '{print $1}' | grep "^$1" || true; }

# PIDs of every process in the namespaces named PREFIX*.
pids_in() {
  local ns
  for ns in $(namespaces "$1"); do ip netns pids "$ns" 2>/dev/null; done
}

# Waits up to $2 seconds for a PID to end; sets $status to its exit code.
wait_bounded() {
  local pid=$1 limit=$2 i
  for ((i = 0; i < limit * 10; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then wait "$pid"; status=$?; return 0; fi
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; status=137
  return 1
}

# Waits up to $2 seconds for at least $3 processes inside namespaces PREFIX ($1).
wait_for_processes() {
  local i
  for ((i = 0; i < $2 * 4; i++)); do
    [ "$(pids_in "$1" | wc -l)" -ge "$3" ] && return 0
    sleep 0.25
  done
  return 1
}

# Everything of run PREFIX ($1) is gone; $2..: PIDs that must have ended.
check_clean() {
  local prefix=$1 what=$2
  shift 2
  local left
  left=$(namespaces "$prefix")
  [ -z "$left" ] || fail "$what: namespaces left: $left"
  local pid
  for pid in "$@"; do
    if kill -0 "$pid" 2>/dev/null && [ "$(cat /proc/"$pid"/stat 2>/dev/null | awk '{print $3}')" != Z ]; then
      fail "$what: process $pid ($(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null)) still runs"
    fi
  done
  if nft list table ip qp2p >/dev/null 2>&1; then fail "$what: nft table ip qp2p in this namespace"; fi
  if compgen -G "${TMPDIR:-/tmp}/${prefix}run.*" >/dev/null; then fail "$what: run directory left"; fi
}

# 1. A normal run of the topology tool.
"$EMU_DIR/emu-topology" --hold 1 >"$WORK/normal.log" 2>&1 &
pid=$!
wait_bounded "$pid" 60; [ "$status" -eq 0 ] || fail "normal run: exit $status: $(tail -3 "$WORK/normal.log")"
check_clean "qp2p-$pid-" "normal run"
grep -q "removed qp2p-$pid-" "$WORK/normal.log" || fail "normal run: no 'removed' line"

# 2. A failed run: the scenario cannot start the supernode (no binaries there).
"$EMU_DIR/emu-nat-discovery" --presets port-restricted-cone --bin-dir "$WORK/nowhere" \
  --json "$WORK/failed.json" >"$WORK/failed.log" 2>&1 &
pid=$!
wait_bounded "$pid" 60; [ "$status" -eq 1 ] || fail "failed run: exit $status, expected 1"
check_clean "qp2p-$pid-" "failed run"

# 3. SIGINT while every netcheck runs (supernode + netchecks + NAT-PMP answerers alive).
"$EMU_DIR/emu-nat-discovery" --json "$WORK/int.json" >"$WORK/int.log" 2>&1 &
pid=$!
if wait_for_processes "qp2p-$pid-" 30 10; then
  sleep 0.5
  started=$(pids_in "qp2p-$pid-")
  kill -INT "$pid"
  wait_bounded "$pid" 20 || fail "SIGINT: the run did not end within 20 s"
  [ "$status" -eq 130 ] || fail "SIGINT: exit $status, expected 130: $(tail -3 "$WORK/int.log")"
  # shellcheck disable=SC2086
  check_clean "qp2p-$pid-" "SIGINT" $started
  echo "SIGINT mid-run: $(echo $started | wc -w) processes were running; all gone"
else
  kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  "$EMU_DIR/emu-topology" --cleanup "qp2p-$pid-" >/dev/null 2>&1
  fail "SIGINT: the run never had its processes up: $(tail -5 "$WORK/int.log")"
fi

# 4. SIGTERM to the topology tool while it holds the test-bed.
"$EMU_DIR/emu-topology" --hosts 2 >"$WORK/term.log" 2>&1 &
pid=$!
if wait_for_processes "qp2p-$pid-" 30 7; then  # the 7 NAT-PMP answerers
  started=$(pids_in "qp2p-$pid-")
  kill -TERM "$pid"
  wait_bounded "$pid" 20 || fail "SIGTERM: the run did not end within 20 s"
  [ "$status" -eq 143 ] || fail "SIGTERM: exit $status, expected 143"
  # shellcheck disable=SC2086
  check_clean "qp2p-$pid-" "SIGTERM" $started
else
  kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  "$EMU_DIR/emu-topology" --cleanup "qp2p-$pid-" >/dev/null 2>&1
  fail "SIGTERM: the test-bed never came up: $(tail -5 "$WORK/term.log")"
fi

if [ "$failures" -ne 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "no leftovers after normal, failed, SIGINT and SIGTERM runs"
