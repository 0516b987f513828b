#!/usr/bin/env bash
# qp2p setup and entry point. Installs the Debian 12 packages the project needs (and nothing
# from anywhere else), configures and builds with CMake + Ninja + ccache, then runs a job.
#
#   ./setup.sh            install, build, run the main job: the ns-3 traversal matrix (every pair
#                         of NAT presets, tunnels direct or relayed, setup times; JSON and a
#                         heatmap PNG in build/results/)
#   ./setup.sh demo       install, build, run the local demo (real processes on 127.0.0.1)
#   ./setup.sh test       install, build, run the default test suite (what CI runs)
#   ./setup.sh test-long  the long suites too (labels: long, bench excluded)
#   ./setup.sh build      install and build only
set -euo pipefail

cd "$(dirname "$0")"
ROOT=$(pwd)
BUILD_DIR=${QP2P_BUILD_DIR:-$ROOT/build}
JOBS=${QP2P_JOBS:-$(nproc)}
# ccache hits across clones in different folders (CI builds a fresh clone every time).
export CCACHE_BASEDIR=$ROOT CCACHE_NOHASHDIR=true

PACKAGES=(
  cmake ninja-build ccache g++ pkg-config git
  libboost-dev libspdlog-dev libfmt-dev libsodium-dev nlohmann-json3-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libns3-dev ns3 libgsl-dev libsqlite3-dev libxml2-dev
  coturn gnuplot-nox iproute2 nftables procps curl
  prometheus  # promtool checks the supernode's /metrics (tests/apps)
)

install_packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup.sh: missing packages: ${missing[*]}; run as root (or sudo) to install them" >&2
    exit 1
  fi
  echo "setup.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # coturn's package starts a TURN server on 3478; the demo and tests use that port range.
  if command -v systemctl >/dev/null 2>&1; then systemctl disable --now coturn >/dev/null 2>&1 || true; fi
  pkill -x turnserver >/dev/null 2>&1 || true
}

build() {
  if [ ! -f "$BUILD_DIR/build.ninja" ]; then
    cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
  fi
  cmake --build "$BUILD_DIR" -j "$JOBS"
}

run_tests() {
  local exclude=$1
  cd "$BUILD_DIR"
  ctest --output-on-failure -j "$JOBS" --timeout 600 -LE "$exclude"
}

run_matrix() {
  local out="$BUILD_DIR/results"
  mkdir -p "$out"
  exec "$BUILD_DIR/scenarios/traversal-matrix/traversal-matrix-scenario" --trials=5 \
    --json="$out/traversal-matrix.json" --heatmap="$out/traversal-matrix.png"
}

job=${1:-matrix}
case "$job" in
  matrix)    install_packages; build; run_matrix ;;
  demo)      install_packages; build; exec "$ROOT/scenarios/demo/local-demo.sh" "$BUILD_DIR" ;;
  test)      install_packages; build; run_tests 'long|bench' ;;
  test-long) install_packages; build; run_tests 'bench' ;;
  build)     install_packages; build ;;
  *) echo "setup.sh: unknown job '$job' (expected matrix, demo, test, test-long or build)" >&2; exit 2 ;;
esac
