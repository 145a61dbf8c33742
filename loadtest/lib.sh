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

# `--isa auto|amx|avx512|avx2|portable` among a script's arguments caps
# both sides the same way: Stratus with --cpu-isa, CTranslate2 with
# CT2_FORCE_CPU_ISA, PyTorch with ATEN_CPU_CAPABILITY, and the oneDNN and
# MKL both use with ONEDNN_MAX_CPU_ISA / MKL_ENABLE_INSTRUCTIONS. The
# other arguments are left in ARGS for the driver.
ISA=auto
ARGS=()
while [ $# -gt 0 ]; do
  case $1 in
    --isa) ISA=$2; shift 2 ;;
    --isa=*) ISA=${1#--isa=}; shift ;;
    *) ARGS+=("$1"); shift ;;
  esac
done
case $ISA in
  auto) ;;
  amx) export CT2_FORCE_CPU_ISA=AVX512 ATEN_CPU_CAPABILITY=avx512 ONEDNN_MAX_CPU_ISA=AVX512_CORE_AMX ;;
  avx512) export CT2_FORCE_CPU_ISA=AVX512 ATEN_CPU_CAPABILITY=avx512 ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16 ;;
  avx2) export CT2_FORCE_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2 ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 ;;
  portable) export CT2_FORCE_CPU_ISA=GENERIC MKL_ENABLE_INSTRUCTIONS=SSE4_2 ATEN_CPU_CAPABILITY=default ONEDNN_MAX_CPU_ISA=SSE41 ;;
  *) echo "--isa: auto, amx, avx512, avx2 or portable, not $ISA" >&2; exit 2 ;;
esac

# venv IMPORTS PACKAGE... : create the peer's venv and install the packages
# unless the Python statement IMPORTS already works.
venv() {
  local imports=$1
  shift
  [ -x "$BENCH_VENV/bin/python" ] || python3 -m venv "$BENCH_VENV"
  "$BENCH_VENV/bin/python" -c "$imports" 2>/dev/null || "$BENCH_VENV/bin/pip" install -q "$@"
}

build_stratus() {
  [ -z "${STRATUS_BIN:-}" ] || return 0
  case $ISA in
    avx2|portable)
      # As it runs on a CPU without AVX-512: Candle's gemm without its
      # AVX-512 kernels too (it picks them at run time, beyond --cpu-isa).
      (cd "$ROOT" && cargo build -q --profile ci -p stratus --no-default-features --features whisper-cpp)
      cp "$TARGET/ci/stratus" "$TARGET/ci/stratus-no-avx512-gemm"
      (cd "$ROOT" && cargo build -q --profile ci -p stratus --features whisper-cpp)
      STRATUS=$TARGET/ci/stratus-no-avx512-gemm
      ;;
    *) (cd "$ROOT" && cargo build -q --profile ci -p stratus --features whisper-cpp) ;;
  esac
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
    --package-cache "$PACKAGE_CACHE" --models "$model" --offline --cpu-isa "$ISA" "$@" \
    >"$WORK/$kind-server-$port.log" 2>&1 &
  SERVER_PID=$!
  trap 'kill $SERVER_PID 2>/dev/null || true' EXIT
  for _ in $(seq 1 240); do
    if curl -sf "$URL/readyz" >/dev/null; then return 0; fi
    kill -0 $SERVER_PID 2>/dev/null || { cat "$WORK/$kind-server-$port.log"; return 1; }
    sleep 0.5
  done
  echo "the $kind service did not become ready" >&2
  return 1
}

machine() {
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average $(cut -d' ' -f1-3 /proc/loadavg) at start, $(date -u +%FT%TZ)"
  echo "stratus: $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet || echo '+changes'), RAYON_NUM_THREADS=${RAYON_NUM_THREADS:-unset}"
  echo "cpu flags: $(grep -m1 -o -w 'avx2\|avx512f\|avx512_vnni\|avx512_bf16\|amx_tile\|avx_vnni' /proc/cpuinfo | sort -u | xargs); tier: --isa $ISA (peers: CT2_FORCE_CPU_ISA=${CT2_FORCE_CPU_ISA:-unset} ATEN_CPU_CAPABILITY=${ATEN_CPU_CAPABILITY:-unset} ONEDNN_MAX_CPU_ISA=${ONEDNN_MAX_CPU_ISA:-unset})"
}
