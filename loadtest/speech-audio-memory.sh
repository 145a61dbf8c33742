#!/usr/bin/env bash
# Peak memory of `stratus speech` for the upload of issue 18: a 7.2 MB WAV
# (8-bit, 1 kHz, 7,190 s; within every upload and duration limit) that
# decodes to two hours of 16 kHz audio. Three runs on a fresh server each:
#   job   — one POST /v1/audio/jobs
#   sync3 — three concurrent POST /v1/audio/transcriptions
#   wide  — the same three requests with --audio-budget-seconds 14400 (two
#           in flight: the bound scales with the budget)
# For each it prints the server's RSS once the model is loaded, the peak RSS
# (VmHWM) within WATCH_SECONDS after the requests went out, the increase,
# and the HTTP statuses seen by then. The server is then stopped: the peak
# comes from decoding and the spectrogram, in the first seconds; the
# transcription of two hours itself is not waited for.
#
# Loopback only. Usage:
#   STRATUS_BIN=target/ci/stratus loadtest/speech-audio-memory.sh
# STRATUS_HOME must hold whisper-tiny.en (`stratus models pull
# whisper-tiny.en --home …`), or it is pulled into a temporary one.
# BUDGET_FLAG='' runs a build without --audio-budget-seconds (the baseline).
set -euo pipefail

BIN=${STRATUS_BIN:-${CARGO_TARGET_DIR:-target}/ci/stratus}
PORT=${PORT:-18181}
WATCH=${WATCH_SECONDS:-45}
WORK=$(mktemp -d)
HOME_DIR=${STRATUS_HOME:-$WORK/home}
BUDGET_FLAG=${BUDGET_FLAG---audio-budget-seconds}
trap 'kill "${SERVER:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

if [ ! -d "$HOME_DIR/models/whisper-tiny.en" ]; then
  "$BIN" models --home "$HOME_DIR" pull whisper-tiny.en >/dev/null
fi

# 7,190 s of 8-bit unsigned mono at 1 kHz: a 300 Hz tone in low noise, so
# voice activity detection keeps all of it (the worst case for memory).
python3 - "$WORK/long.wav" <<'EOF'
import math, random, struct, sys
rate, seconds = 1000, 7190
n = rate * seconds
random.seed(18)
tone = bytes(int(128 + 60 * math.sin(2 * math.pi * 300 * i / rate) + random.randint(-8, 8))
             for i in range(rate))
data = tone * seconds
header = b"RIFF" + struct.pack("<I", 36 + n) + b"WAVE" + b"fmt " + struct.pack(
    "<IHHIIHH", 16, 1, 1, rate, rate, 1, 8) + b"data" + struct.pack("<I", n)
open(sys.argv[1], "wb").write(header + data)
EOF
ls -l "$WORK/long.wav" | awk '{printf "upload: %.1f MB\n", $5 / 1e6}'

rss_kb() { awk "/^$2:/ {print \$2}" "/proc/$1/status"; }

# run NAME REQUESTS EXTRA_FLAGS...: start a server, send REQUESTS, report.
run() {
  local name=$1 requests=$2
  shift 2
  "$BIN" speech --home "$HOME_DIR" --offline --models whisper-tiny.en \
    --listen "127.0.0.1:$PORT" --store "sqlite://$WORK/$name.db" "$@" \
    >"$WORK/$name.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 600); do
    if curl -sf "http://127.0.0.1:$PORT/v1/models" | grep -q whisper-tiny.en; then break; fi
    sleep 0.2
  done
  sleep 1
  local base
  base=$(rss_kb "$SERVER" VmRSS)
  # Reset the peak to now (Linux: "5" clears VmHWM).
  echo 5 >"/proc/$SERVER/clear_refs" 2>/dev/null || true
  local statuses="$WORK/$name.status"
  : >"$statuses"
  local clients=()
  for i in $(seq 1 "$requests"); do
    if [ "$name" = job ]; then
      curl -s -o /dev/null -w '%{http_code}\n' -F file=@"$WORK/long.wav" \
        -F model=whisper-1 "http://127.0.0.1:$PORT/v1/audio/jobs" >>"$statuses" &
      clients+=($!)
    else
      # Transcriptions run for many minutes; --max-time only stops waiting.
      curl -s -o /dev/null -w '%{http_code}\n' --max-time "$WATCH" -F file=@"$WORK/long.wav" \
        -F model=whisper-1 "http://127.0.0.1:$PORT/v1/audio/transcriptions" >>"$statuses" &
      clients+=($!)
    fi
  done
  local peak=$base now
  for _ in $(seq 1 $((WATCH * 5))); do
    now=$(rss_kb "$SERVER" VmHWM)
    if [ "$now" -gt "$peak" ]; then peak=$now; fi
    sleep 0.2
  done
  wait "${clients[@]}" 2>/dev/null || true
  kill "$SERVER"
  wait "$SERVER" 2>/dev/null || true
  printf '%-6s base %5d MB  peak %5d MB  increase %5d MB  statuses: %s\n' "$name" \
    $((base / 1024)) $((peak / 1024)) $(((peak - base) / 1024)) \
    "$(sed -E 's/^(000|100)$/running/' "$statuses" | sort | uniq -c | tr -s ' \n' ' ')"
}

run job 1 --job-workers 1
run sync3 3
if [ -n "$BUDGET_FLAG" ]; then
  run wide 3 "$BUDGET_FLAG" 14400
fi
