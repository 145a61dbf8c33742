#!/usr/bin/env bash
# Gateway overhead benchmark (issues 5 and 19): latency through the Stratus
# gateway minus latency direct to the same trivial upstream, at 500, 1000
# and 2000 req/s, with LiteLLM's proxy (its own master-key auth on, no
# database) in front of the same upstream in the same run as the peer.
#
# The product rows run `stratus gateway` itself with its defaults (billing
# with the built-in catalog, budgets, metering, limits, access log):
#   stratus                  SQLite store, a tenant without a budget
#   stratus-budget           the same gateway, a tenant with a hard budget
#   stratus-pg-redis-budget  a second gateway on PostgreSQL with Redis
#                            limits, the budgeted tenant of its own store
#                            (skipped when no PostgreSQL or Redis answers)
# and, with ABLATION=1, bench-gateway rows with one part switched off each
# (ablation-no-billing, ablation-no-metering, ablation-no-limits) so each
# part's cost is the difference to `stratus`.
#
#   loadtest/gateway-overhead.sh            # everything, prints the table
#
# Environment:
#   RATES="500 1000 2000"   DURATION=10   WARMUP=3
#   QUIET=85                 before each row, wait (up to 90 s) until the
#                            machine is this % idle: a row that fell behind
#                            (LiteLLM, an old build) keeps working through
#                            its backlog and would steal CPU from the next
#   BENCH_POSTGRES=postgres://postgres@127.0.0.1:5432/postgres
#   BENCH_REDIS=redis://127.0.0.1:6379
#   STRATUS_BENCH_ARGS="…"   extra `stratus gateway` flags
#   BENCH_VENV=…             where LiteLLM is (installed there if missing)
#   SKIP_LITELLM=1           measure Stratus only
#   ABLATION=1               add the bench-gateway ablation rows
#   BEFORE_BIN=…             another build of `stratus` (e.g. the commit
#                            before a change) run the same way on SQLite:
#                            rows `before` and `before-budget`
#   GATEWAY_CPUS=0 LOAD_CPUS=1
#                            pin the gateways (LiteLLM too) to these CPUs
#                            (taskset) and the generator and upstream to
#                            those:
#                            past the gateway's capacity the generator must
#                            not starve with it, or the row measures the
#                            generator's lateness, not the gateway's
# Every process listens on 127.0.0.1 only and is stopped on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# `on gateway CMD…` / `on load CMD…`: run CMD on that side's CPUs (as is
# when no pinning was asked for).
on() {
  local side=$1; shift
  local cpus=""
  if [ "$side" = gateway ]; then cpus="${GATEWAY_CPUS:-}"; else cpus="${LOAD_CPUS:-}"; fi
  if [ -n "$cpus" ]; then exec taskset -c "$cpus" "$@"; else exec "$@"; fi
}
RATES="${RATES:-500 1000 2000}"
DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-3}"
QUIET="${QUIET:-85}"
BENCH_VENV="${BENCH_VENV:-/root/.cache/stratus-ci/bench-venv}"
BENCH_POSTGRES="${BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}"
BENCH_REDIS="${BENCH_REDIS:-redis://127.0.0.1:6379}"
UPSTREAM_PORT=18081 STRATUS_PORT=18080 PG_PORT=18083 BEFORE_PORT=18087 LITELLM_PORT=18090
ABLATION_PORTS=(18084 18085 18086)
LITELLM_KEY="sk-bench-litellm-master-key"
WORK="$(mktemp -d /tmp/gateway-overhead.XXXXXX)"
RESULTS="$WORK/results.jsonl"
PIDS=()
PG_DB=""
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "$PG_DB" ]; then psql -q "$BENCH_POSTGRES" -c "DROP DATABASE IF EXISTS $PG_DB" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
(cd "$ROOT" && cargo build --profile ci -p stratus -p stratus-loadtest --bins >&2)
BIN="$CARGO_TARGET_DIR/ci"
STRATUS="$BIN/stratus"
SECRET="bench-auth-secret-bench-auth-secret-0123456789"

wait_for() { # url, what
  for _ in $(seq 1 300); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.2; done
  echo "$2 did not come up ($1); logs in $WORK" >&2; exit 1
}

(on load "$BIN/bench-upstream" --listen "127.0.0.1:$UPSTREAM_PORT") 2>"$WORK/upstream.log" &
PIDS+=($!)
wait_for "http://127.0.0.1:$UPSTREAM_PORT/readyz" "bench-upstream"

# Two tenants in a store, a language key each: `free` without a budget,
# `capped` with a hard budget far above what the run spends (so every
# request is admitted, and every one is held against it). Prints the keys.
provision() { # store-flags…
  "$STRATUS" tenants create free "$@" >/dev/null
  "$STRATUS" tenants create capped "$@" >/dev/null
  "$STRATUS" tenants budget --tenant capped --hard 1000000 "$@" >/dev/null
  echo "$("$STRATUS" keys create --tenant free --scopes language "$@")" \
    "$("$STRATUS" keys create --tenant capped --scopes language "$@")"
}

# The product, SQLite (its home's default store).
read -r FREE_KEY CAPPED_KEY < <(provision --home "$WORK/stratus-home" --auth-secret "$SECRET" --init)
# shellcheck disable=SC2086
(on gateway "$STRATUS" gateway --listen "127.0.0.1:$STRATUS_PORT" --home "$WORK/stratus-home" \
  --auth-secret "$SECRET" --language-url "http://127.0.0.1:$UPSTREAM_PORT" \
  ${STRATUS_BENCH_ARGS:-}) 2>"$WORK/stratus.log" &
PIDS+=($!)
wait_for "http://127.0.0.1:$STRATUS_PORT/readyz" "stratus gateway"

if [ -n "${BEFORE_BIN:-}" ]; then
  read -r BEFORE_FREE BEFORE_CAPPED < <(STRATUS="$BEFORE_BIN" provision --home "$WORK/before-home" --auth-secret "$SECRET")
  # shellcheck disable=SC2086
  (on gateway "$BEFORE_BIN" gateway --listen "127.0.0.1:$BEFORE_PORT" --home "$WORK/before-home" \
    --auth-secret "$SECRET" --language-url "http://127.0.0.1:$UPSTREAM_PORT") 2>"$WORK/before.log" &
  PIDS+=($!)
  wait_for "http://127.0.0.1:$BEFORE_PORT/readyz" "stratus gateway ($BEFORE_BIN)"
fi

# The product, PostgreSQL + Redis limits, in a database of its own.
PG_KEY=""
if psql -q "$BENCH_POSTGRES" -c 'SELECT 1' >/dev/null 2>&1 \
  && redis-cli -u "$BENCH_REDIS" ping 2>/dev/null | grep -q PONG; then
  PG_DB="stratus_bench_$$"
  psql -q "$BENCH_POSTGRES" -c "CREATE DATABASE $PG_DB" >/dev/null
  PG_URL="${BENCH_POSTGRES%/*}/$PG_DB"
  read -r _ PG_KEY < <(provision --store "$PG_URL" --home "$WORK/pg-home" --auth-secret "$SECRET")
  # shellcheck disable=SC2086
  (on gateway "$STRATUS" gateway --listen "127.0.0.1:$PG_PORT" --home "$WORK/pg-home" --store "$PG_URL" \
    --redis "$BENCH_REDIS" --redis-prefix "bench:$$" --auth-secret "$SECRET" \
    --language-url "http://127.0.0.1:$UPSTREAM_PORT" ${STRATUS_BENCH_ARGS:-}) 2>"$WORK/pg.log" &
  PIDS+=($!)
  wait_for "http://127.0.0.1:$PG_PORT/readyz" "stratus gateway (PostgreSQL)"
else
  echo "no PostgreSQL at $BENCH_POSTGRES or no Redis at $BENCH_REDIS: the pg-redis row is skipped" >&2
fi

ABLATIONS=()
if [ -n "${ABLATION:-}" ]; then
  i=0
  for part in billing metering limits; do
    port=${ABLATION_PORTS[$i]}; i=$((i + 1))
    (on gateway "$BIN/bench-gateway" --listen "127.0.0.1:$port" --home "$WORK/no-$part" \
      --language-url "http://127.0.0.1:$UPSTREAM_PORT" "--$part" false) 2>"$WORK/no-$part.log" &
    PIDS+=($!)
    wait_for "http://127.0.0.1:$port/readyz" "bench-gateway without $part"
    ABLATIONS+=("ablation-no-$part:$port:$(cat "$WORK/no-$part/bench-key")")
  done
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
  (LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_LOG=ERROR \
    on gateway "$BENCH_VENV/bin/litellm" --config "$WORK/litellm.yaml" --host 127.0.0.1 --port "$LITELLM_PORT" \
    --num_workers 1) >"$WORK/litellm.log" 2>&1 &
  PIDS+=($!)
  wait_for "http://127.0.0.1:$LITELLM_PORT/health/liveliness" "litellm"
  # Its key auth is on: a request without the key must be refused. (LiteLLM
  # 1.108 answers 500, not 401, here: its error handler imports `prisma`,
  # which a database-free install lacks; it is still refused.)
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$LITELLM_PORT/v1/embeddings" \
    -H 'content-type: application/json' -d '{"model":"bench-embed","input":"x"}')
  case "$code" in 2*) echo "litellm accepted a request without its key ($code)" >&2; exit 1;; esac
fi

# Wait until the CPUs are QUIET % idle over half a second (at most 90 s).
quiet() {
  local deadline=$((SECONDS + 90)) a b
  while [ $SECONDS -lt $deadline ]; do
    read -r -a a < <(head -1 /proc/stat); sleep 0.5; read -r -a b < <(head -1 /proc/stat)
    local total=0 i
    for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
    local idle=$(( (b[4] - a[4] + b[5] - a[5]) * 100 / (total > 0 ? total : 1) ))
    [ "$idle" -ge "$QUIET" ] && return 0
  done
  echo "machine not quiet after 90 s; measuring anyway" >&2
}
run() { # label url rate key
  quiet
  (on load "$BIN/loadgen" run --label "$1" --url "$2" --rate "$3" --duration "$DURATION" \
    --warmup "$WARMUP" --out "$RESULTS" --header "Authorization: Bearer $4")
}
for rate in $RATES; do
  quiet
  (on load "$BIN/loadgen" run --label direct --url "http://127.0.0.1:$UPSTREAM_PORT/v1/embeddings" \
    --rate "$rate" --duration "$DURATION" --warmup "$WARMUP" --out "$RESULTS")
  run stratus "http://127.0.0.1:$STRATUS_PORT/v1/embeddings" "$rate" "$FREE_KEY"
  run stratus-budget "http://127.0.0.1:$STRATUS_PORT/v1/embeddings" "$rate" "$CAPPED_KEY"
  if [ -n "$PG_KEY" ]; then
    run stratus-pg-redis-budget "http://127.0.0.1:$PG_PORT/v1/embeddings" "$rate" "$PG_KEY"
  fi
  for ablation in "${ABLATIONS[@]}"; do
    IFS=: read -r label port key <<<"$ablation"
    run "$label" "http://127.0.0.1:$port/v1/embeddings" "$rate" "$key"
  done
  if [ -n "${BEFORE_BIN:-}" ]; then
    run before "http://127.0.0.1:$BEFORE_PORT/v1/embeddings" "$rate" "$BEFORE_FREE"
    run before-budget "http://127.0.0.1:$BEFORE_PORT/v1/embeddings" "$rate" "$BEFORE_CAPPED"
  fi
  if [ -z "${SKIP_LITELLM:-}" ]; then
    run litellm "http://127.0.0.1:$LITELLM_PORT/v1/embeddings" "$rate" "$LITELLM_KEY"
  fi
done

# The budget really was held: the capped tenant's month shows the spend.
"$STRATUS" tenants budget --tenant capped --home "$WORK/stratus-home" --auth-secret "$SECRET" --json \
  >"$WORK/capped-budget.json" 2>/dev/null || true
echo "pinning: gateways on CPUs ${GATEWAY_CPUS:-any}, generator and upstream on ${LOAD_CPUS:-any}"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -srm); commit $(cd "$ROOT" && git rev-parse --short HEAD); litellm $("$BENCH_VENV/bin/pip" show litellm 2>/dev/null | awk '/^Version/{print $2}')"
echo "each row: ${DURATION}s measured after ${WARMUP}s warm-up, open loop; raw results: $RESULTS"
echo "capped tenant's budget after the run: $(cat "$WORK/capped-budget.json" 2>/dev/null)"
"$BIN/loadgen" report "$RESULTS"
