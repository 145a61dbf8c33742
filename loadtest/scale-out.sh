#!/usr/bin/env bash
# Language-service throughput with 1 and then 2 replicas behind one
# `stratus gateway` (issue 8 "Must show"): embeddings at a fixed number of
# concurrent connections (wrk, closed loop), requests per second and the
# CPU seconds per request of each process (utime + stime from
# /proc/<pid>/stat before and after), so the scaling can be projected onto
# machines with more cores.
#
#   loadtest/scale-out.sh
#
# Environment:
#   CONCURRENCY=8  DURATION=20  WARMUP=3
#   REPLICA_THREADS=…   RAYON_NUM_THREADS of each replica (unset: the
#                       matrix kernels' default, one per core)
#   STRATUS_BIN=…       a built stratus (default: build the ci profile)
# Every process listens on 127.0.0.1 only and is stopped on exit.
source "$(dirname "$0")/lib.sh"
CONCURRENCY=${CONCURRENCY:-8}
DURATION=${DURATION:-20}
WARMUP=${WARMUP:-3}
MODEL=all-minilm-l6-v2
TOKEN=scale-out-bench-internal-token-0123456789
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }
build_stratus
pull "$MODEL" >/dev/null 2>&1
RUN=$(mktemp -d "$WORK/scale-out.XXXXXX")
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_ready() {
  for _ in $(seq 1 600); do curl -sf "$1/readyz" >/dev/null && return 0; sleep 0.2; done
  echo "$1 did not become ready (logs in $RUN)" >&2; exit 1
}
cpu() { # pid -> CPU seconds (utime + stime; USER_HZ is 100)
  awk '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / 100 }' "/proc/$1/stat"
}

replica() { # name -> sets REPLICA_URL, REPLICA_PID
  local p; p=$(port)
  env ${REPLICA_THREADS:+RAYON_NUM_THREADS=$REPLICA_THREADS} \
    "$STRATUS" language --listen "127.0.0.1:$p" --home "$STRATUS_HOME_DIR" --package-cache "$PACKAGE_CACHE" \
    --models "$MODEL" --offline --internal-token "$TOKEN" --log warn 2>"$RUN/$1.log" &
  REPLICA_PID=$!; PIDS+=("$REPLICA_PID"); REPLICA_URL=http://127.0.0.1:$p
  wait_ready "$REPLICA_URL"
}

gateway() { # name upstreams -> sets GATEWAY_URL, GATEWAY_PID, KEY
  local p; p=$(port)
  "$STRATUS" gateway --listen "127.0.0.1:$p" --home "$RUN/$1-home" --internal-token "$TOKEN" \
    --language-url "$2" --log warn 2>"$RUN/$1.log" &
  GATEWAY_PID=$!; PIDS+=("$GATEWAY_PID"); GATEWAY_URL=http://127.0.0.1:$p
  wait_ready "$GATEWAY_URL"
  "$STRATUS" tenants --home "$RUN/$1-home" create bench >/dev/null 2>&1
  KEY=$("$STRATUS" keys --home "$RUN/$1-home" create --tenant bench --scopes language 2>/dev/null)
}

cat >"$RUN/embed.lua" <<LUA
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.body = '{"model": "$MODEL", "input": "Scaling out the language service with more replicas behind the gateway."}'
LUA

machine
echo "embeddings ($MODEL, one 14-word sentence per request), $CONCURRENCY connections, ${DURATION}s after ${WARMUP}s warm-up, wrk on the same machine"
echo
echo "| replicas | req/s | p50 ms | p99 ms | non-2xx | CPU s/req (replicas) | CPU s/req (gateway) | load avg (1 min) at end |"
echo "|---|---|---|---|---|---|---|---|"

replica one; URL1=$REPLICA_URL; PID1=$REPLICA_PID
replica two; URL2=$REPLICA_URL; PID2=$REPLICA_PID

for n in 1 2; do
  if [ "$n" = 1 ]; then upstream=$URL1; pids=("$PID1"); else upstream=$URL1,$URL2; pids=("$PID1" "$PID2"); fi
  gateway "g$n" "$upstream"
  wrk -t 2 -c "$CONCURRENCY" -d "${WARMUP}s" -s "$RUN/embed.lua" -H "authorization: Bearer $KEY" "$GATEWAY_URL/v1/embeddings" >/dev/null
  before=0; for pid in "${pids[@]}"; do before=$(echo "$before + $(cpu "$pid")" | bc); done
  gw_before=$(cpu "$GATEWAY_PID")
  wrk -t 2 -c "$CONCURRENCY" -d "${DURATION}s" --latency -s "$RUN/embed.lua" -H "authorization: Bearer $KEY" \
    "$GATEWAY_URL/v1/embeddings" >"$RUN/wrk-$n.txt"
  after=0; for pid in "${pids[@]}"; do after=$(echo "$after + $(cpu "$pid")" | bc); done
  gw_after=$(cpu "$GATEWAY_PID")
  requests=$(awk '/requests in/ {print $1}' "$RUN/wrk-$n.txt")
  rps=$(awk '/^Requests\/sec/ {print $2}' "$RUN/wrk-$n.txt")
  p50=$(awk '$1 == "50%" {print $2}' "$RUN/wrk-$n.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$RUN/wrk-$n.txt")
  errors=$(awk '/Non-2xx/ {print $5}' "$RUN/wrk-$n.txt"); errors=${errors:-0}
  per=$(echo "scale=4; ($after - $before) / $requests" | bc)
  gw_per=$(echo "scale=4; ($gw_after - $gw_before) / $requests" | bc)
  echo "| $n | $rps | $p50 | $p99 | $errors | $per | $gw_per | $(cut -d' ' -f1 /proc/loadavg) |"
  kill "$GATEWAY_PID" 2>/dev/null || true
done
echo
echo "wrk output and logs: $RUN"
