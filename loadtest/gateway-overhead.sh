#!/usr/bin/env bash
# Gateway overhead benchmark (issue 5 "Must show"): latency through the
# Stratus gateway minus latency direct to the same trivial upstream, at
# 500, 1000 and 2000 req/s, with LiteLLM's proxy (its own master-key auth
# on, no database) in front of the same upstream in the same run as the peer.
#
#   loadtest/gateway-overhead.sh            # everything, prints the table
#
# Environment:
#   RATES="500 1000 2000"   DURATION=15   WARMUP=3
#   STRATUS_BENCH_KEY=sk_…   an API key for the gateway (sent as Bearer) once
#                            authentication is on; unset: no credential sent
#   STRATUS_BENCH_ARGS="…"   extra `stratus gateway` flags
#   BENCH_VENV=…             where LiteLLM is (installed there if missing)
#   SKIP_LITELLM=1           measure Stratus only
#   COMPARE_METERING=1       also a second bench-gateway with metering off
#                            (label `stratus-unmetered`), to show what
#                            metering's write-ahead log adds (issue 6)
# Every process listens on 127.0.0.1 only and is stopped on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RATES="${RATES:-500 1000 2000}"
DURATION="${DURATION:-15}"
WARMUP="${WARMUP:-3}"
BENCH_VENV="${BENCH_VENV:-/root/.cache/stratus-ci/bench-venv}"
UPSTREAM_PORT=18081 STRATUS_PORT=18080 UNMETERED_PORT=18082 LITELLM_PORT=18090
LITELLM_KEY="sk-bench-litellm-master-key"
WORK="$(mktemp -d /tmp/gateway-overhead.XXXXXX)"
RESULTS="$WORK/results.jsonl"
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
# BENCH_GATEWAY=stratus runs the `stratus gateway` command; the default runs
# bench-gateway (the same router and defaults, without the model services).
if [ "${BENCH_GATEWAY:-}" = stratus ]; then
  (cd "$ROOT" && cargo build --profile ci -p stratus -p stratus-loadtest --bins >&2)
else
  (cd "$ROOT" && cargo build --profile ci -p stratus-loadtest --bins >&2)
fi
BIN="$CARGO_TARGET_DIR/ci"

wait_for() { # url, what
  for _ in $(seq 1 300); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.2; done
  echo "$2 did not come up ($1); logs in $WORK" >&2; exit 1
}

"$BIN/bench-upstream" --listen "127.0.0.1:$UPSTREAM_PORT" 2>"$WORK/upstream.log" &
PIDS+=($!)
wait_for "http://127.0.0.1:$UPSTREAM_PORT/readyz" "bench-upstream"

# The gateway with its normal middleware stack and default log level (the
# access log is written, to a file, as in production).
# shellcheck disable=SC2086
GATEWAY=("$BIN/bench-gateway")
[ "${BENCH_GATEWAY:-}" = stratus ] && GATEWAY=("$BIN/stratus" gateway)
"${GATEWAY[@]}" --listen "127.0.0.1:$STRATUS_PORT" --home "$WORK/stratus-home" \
  --language-url "http://127.0.0.1:$UPSTREAM_PORT" ${STRATUS_BENCH_ARGS:-} 2>"$WORK/stratus.log" &
PIDS+=($!)
wait_for "http://127.0.0.1:$STRATUS_PORT/readyz" "stratus gateway"
if [ -n "${COMPARE_METERING:-}" ]; then
  "$BIN/bench-gateway" --listen "127.0.0.1:$UNMETERED_PORT" --home "$WORK/unmetered-home" \
    --language-url "http://127.0.0.1:$UPSTREAM_PORT" --metering false 2>"$WORK/unmetered.log" &
  PIDS+=($!)
  wait_for "http://127.0.0.1:$UNMETERED_PORT/readyz" "unmetered bench-gateway"
fi

if [ -z "${SKIP_LITELLM:-}" ]; then
  if [ ! -x "$BENCH_VENV/bin/litellm" ]; then
    python3 -m venv "$BENCH_VENV"
    "$BENCH_VENV/bin/pip" install -q 'litellm[proxy]'
  fi
  cat >"$WORK/litellm.yaml" <<YAML
model_list:
  - model_name: bench-embed
    litellm_params:
      model: openai/bench-embed
      api_base: http://127.0.0.1:$UPSTREAM_PORT/v1
      api_key: unused-by-the-upstream
general_settings:
  master_key: $LITELLM_KEY
YAML
  LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_LOG=ERROR \
    "$BENCH_VENV/bin/litellm" --config "$WORK/litellm.yaml" --host 127.0.0.1 --port "$LITELLM_PORT" \
    --num_workers 1 >"$WORK/litellm.log" 2>&1 &
  PIDS+=($!)
  wait_for "http://127.0.0.1:$LITELLM_PORT/health/liveliness" "litellm"
  # Its key auth is on: a request without the key must be refused. (LiteLLM
  # 1.108 answers 500, not 401, here: its error handler imports `prisma`,
  # which a database-free install lacks; it is still refused.)
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$LITELLM_PORT/v1/embeddings" \
    -H 'content-type: application/json' -d '{"model":"bench-embed","input":"x"}')
  case "$code" in 2*) echo "litellm accepted a request without its key ($code)" >&2; exit 1;; esac
fi

# bench-gateway writes the key it made for this run; with the real binary,
# pass one in STRATUS_BENCH_KEY.
if [ -z "${STRATUS_BENCH_KEY:-}" ] && [ -s "$WORK/stratus-home/bench-key" ]; then
  STRATUS_BENCH_KEY=$(cat "$WORK/stratus-home/bench-key")
fi
STRATUS_AUTH=()
[ -n "${STRATUS_BENCH_KEY:-}" ] && STRATUS_AUTH=(--header "Authorization: Bearer $STRATUS_BENCH_KEY")

run() { # label url rate [headers…]
  local label=$1 url=$2 rate=$3; shift 3
  "$BIN/loadgen" run --label "$label" --url "$url" --rate "$rate" --duration "$DURATION" \
    --warmup "$WARMUP" --out "$RESULTS" "$@"
}
for rate in $RATES; do
  run direct "http://127.0.0.1:$UPSTREAM_PORT/v1/embeddings" "$rate"
  run stratus "http://127.0.0.1:$STRATUS_PORT/v1/embeddings" "$rate" "${STRATUS_AUTH[@]}"
  if [ -n "${COMPARE_METERING:-}" ]; then
    run stratus-unmetered "http://127.0.0.1:$UNMETERED_PORT/v1/embeddings" "$rate" \
      --header "Authorization: Bearer $(cat "$WORK/unmetered-home/bench-key")"
  fi
  if [ -z "${SKIP_LITELLM:-}" ]; then
    run litellm "http://127.0.0.1:$LITELLM_PORT/v1/embeddings" "$rate" \
      --header "Authorization: Bearer $LITELLM_KEY"
  fi
done

echo "machine: $(nproc) cores, $(uname -srm); litellm $("$BENCH_VENV/bin/pip" show litellm 2>/dev/null | awk '/^Version/{print $2}')"
echo "each row: ${DURATION}s measured after ${WARMUP}s warm-up, open loop; raw results: $RESULTS"
"$BIN/loadgen" report "$RESULTS"
