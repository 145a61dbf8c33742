#!/usr/bin/env bash
# Resident memory of `stratus gateway`, `stratus speech` and `stratus
# language` with the catalog's default models, idle and after a small load,
# read from /proc/<pid>/status (VmRSS now, VmHWM the peak). The numbers size
# the resource requests and limits in deploy/kubernetes (see deploy/README.md).
#
#   deploy/measure-memory.sh            # uses $CARGO_TARGET_DIR/ci/stratus
#   STRATUS_BIN=path/to/stratus deploy/measure-memory.sh
#
# Every process listens on 127.0.0.1 only and is stopped on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STRATUS=${STRATUS_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/ci/stratus}
PACKAGES=${STRATUS_PACKAGE_CACHE:-${STRATUS_TEST_CACHE:-/root/.cache/stratus-ci/test-cache}/packages}
TESTDATA=${STRATUS_TESTDATA:-/root/.cache/stratus-ci/testdata}
CLIP=$TESTDATA/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0880.wav
WORK=$(mktemp -d /tmp/stratus-memory.XXXXXX)
TOKEN=measure-memory-internal-token-0123456789
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_ready() {
  for _ in $(seq 1 600); do curl -sf "$1/readyz" >/dev/null && return 0; sleep 0.5; done
  echo "$1 did not become ready" >&2; exit 1
}
mem() { # pid -> "rss_mib peak_mib"
  awk '/^VmRSS/ {r=$2} /^VmHWM/ {h=$2} END {printf "%.0f %.0f", r/1024, h/1024}' "/proc/$1/status"
}

"$STRATUS" models --home "$WORK/home" --package-cache "$PACKAGES" pull >/dev/null 2>&1
common=(--home "$WORK/home" --package-cache "$PACKAGES" --log warn)
SP=$(port); LP=$(port); GP=$(port)
"$STRATUS" speech --listen "127.0.0.1:$SP" "${common[@]}" --offline --internal-token "$TOKEN" 2>"$WORK/speech.log" &
SPEECH=$!; PIDS+=("$SPEECH")
"$STRATUS" language --listen "127.0.0.1:$LP" "${common[@]}" --offline --internal-token "$TOKEN" 2>"$WORK/language.log" &
LANGUAGE=$!; PIDS+=("$LANGUAGE")
wait_ready "http://127.0.0.1:$SP"; wait_ready "http://127.0.0.1:$LP"
"$STRATUS" gateway --listen "127.0.0.1:$GP" "${common[@]}" --internal-token "$TOKEN" \
  --speech-url "http://127.0.0.1:$SP" --language-url "http://127.0.0.1:$LP" 2>"$WORK/gateway.log" &
GATEWAY=$!; PIDS+=("$GATEWAY")
G=http://127.0.0.1:$GP
wait_ready "$G"
"$STRATUS" tenants --home "$WORK/home" create memory >/dev/null 2>&1
KEY=$("$STRATUS" keys --home "$WORK/home" create --tenant memory --scopes speech,language 2>/dev/null)
sleep 2
declare -A idle
for name in gateway speech language; do
  pid=$(eval echo "\$${name^^}"); idle[$name]=$(mem "$pid")
done

# A small load: 400 embeddings (16 at a time, so requests batch) and 40
# PII requests (8 at a time), 8
# transcriptions of a 25 s clip (2 at a time), all through the gateway.
export G KEY CLIP
seq 400 | xargs -P 16 -I{} sh -c 'curl -sf -o /dev/null -H "authorization: Bearer $KEY" -H "content-type: application/json" \
  -d "{\"model\":\"all-minilm-l6-v2\",\"input\":\"request {} of a small load on the language service, a sentence of ordinary length\"}" "$G/v1/embeddings" || echo embeddings failed' 
seq 40 | xargs -P 8 -I{} sh -c 'curl -sf -o /dev/null -H "authorization: Bearer $KEY" -H "content-type: application/json" \
  -d "{\"input\":\"Call Jane Doe on 555-0100 or write to jane.doe@example.com, request {}\"}" "$G/v1/language/pii" || echo pii failed'
seq 8 | xargs -P 2 -I{} sh -c 'curl -sf -o /dev/null -H "authorization: Bearer $KEY" -F file=@"$CLIP" -F model=whisper-tiny.en "$G/v1/audio/transcriptions" || echo transcription failed'

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
printf '%-9s %10s %15s %12s %15s\n' process "idle MiB" "idle peak MiB" "loaded MiB" "loaded peak MiB"
for name in gateway speech language; do
  pid=$(eval echo "\$${name^^}")
  read -r r0 h0 <<<"${idle[$name]}"
  read -r r1 h1 <<<"$(mem "$pid")"
  printf '%-9s %10s %15s %12s %15s\n' "$name" "$r0" "$h0" "$r1" "$h1"
done
