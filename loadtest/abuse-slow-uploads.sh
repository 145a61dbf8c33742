#!/usr/bin/env bash
# Slow-upload abuse (issue 18, item 5): `stratus serve` on loopback with
# --max-in-flight 40 (the setting the outside probe used); one tenant keeps
# 50 multipart uploads open, each trickling 1 byte every 5 s and reopened
# whenever the server cuts it; another tenant's /v1/models and
# /v1/audio/jobs are timed with the server idle, then under the abuse.
# Prints p50/p99 of both phases and the p99 ratio (the target: within 2x).
#
#   loadtest/abuse-slow-uploads.sh
#
# Environment: UPLOADS=50 MAX_IN_FLIGHT=40 IDLE=10 ABUSE=20 (seconds),
# STRATUS_BIN (a built `stratus`, e.g. another commit's), STRATUS_ARGS
# (extra `serve` flags). Loopback only; about 45 s after the build; every
# process is stopped on exit. No model is loaded: the uploads are read (and
# held) by the speech service's form parser before any model is needed.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
if [ -z "${STRATUS_BIN:-}" ]; then
  (cd "$ROOT" && cargo build -q --profile ci -p stratus -p stratus-loadtest --bin stratus --bin abuse-slow-uploads >&2)
else
  (cd "$ROOT" && cargo build -q --profile ci -p stratus-loadtest --bin abuse-slow-uploads >&2)
fi
BIN="$CARGO_TARGET_DIR/ci"
STRATUS="${STRATUS_BIN:-$BIN/stratus}"
WORK="$(mktemp -d /tmp/abuse-slow-uploads.XXXXXX)"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
HOME_DIR="$WORK/home"
SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT

# shellcheck disable=SC2086
"$STRATUS" serve --listen "127.0.0.1:$PORT" --home "$HOME_DIR" --offline --models "" \
  --max-in-flight "${MAX_IN_FLIGHT:-40}" ${STRATUS_ARGS:-} 2>"$WORK/serve.log" &
SERVER_PID=$!
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$PORT/healthz" 2>/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/serve.log" >&2; exit 1; }
  sleep 0.1
done

key() { # tenant name → a new key with the speech and language scopes
  "$STRATUS" tenants create "$1" --home "$HOME_DIR" >/dev/null
  "$STRATUS" keys create --tenant "$1" --scopes speech,language --home "$HOME_DIR"
}
ABUSER=$(key abuser)
VICTIM=$(key victim)

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); stratus $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet || echo '+changes'); $(date -u +%FT%TZ)"
echo "stratus serve --max-in-flight ${MAX_IN_FLIGHT:-40} ${STRATUS_ARGS:-}"
timeout 70 "$BIN/abuse-slow-uploads" --addr "127.0.0.1:$PORT" \
  --abuser-key "$ABUSER" --victim-key "$VICTIM" --uploads "${UPLOADS:-50}" \
  --idle "${IDLE:-10}" --abuse "${ABUSE:-20}"
