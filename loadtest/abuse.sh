#!/usr/bin/env bash
# The abuse run of issue 18 ("hardening"), in one command: the attacks an
# outside probe made, replayed against real servers on loopback, each with
# its verdict.
#
#   loadtest/abuse.sh
#
# 1. The abuse tests of the suite, selected by name (real servers, real
#    models, SQLite and PostgreSQL where the store matters):
#    - SSRF: every loopback spelling of `webhook_url` refused at submit with
#      nothing arriving at a listening loopback receiver (end to end); the
#      private, link-local, metadata and special ranges, and a public name
#      that resolves to a private address, refused by the destination
#      policy before any connection (units: nothing leaves loopback);
#    - a 300-request burst of one-word embeddings: 0 x 5xx;
#    - async jobs against a tiny hard budget: spent <= limit + one
#      reservation, paid jobs still readable at the limit;
#    - hostile audio headers (sample_rate 0, 1 Hz) a 400 on every path, the
#      decoder fuzz target (ABUSE_FUZZ_CASES mutated files per container,
#      default 2000; CI runs fewer), and requests over the server's audio
#      budget answered 503 + Retry-After;
#    - a tenant holding slow uploads does not turn other tenants away, and a
#      trickling upload is cut with 408;
#    - sign-in guessing throttled, sessions ended, keys unable to escalate,
#      cookie-only cross-origin writes refused (the identity_abuse suite).
# 2. loadtest/abuse-slow-uploads.sh: 50 trickling uploads against
#    --max-in-flight 40; another tenant's p50/p99 idle and under abuse.
# 3. loadtest/speech-audio-memory.sh (where present): peak RSS of the speech
#    service for the 7,190 s / 1 kHz / 8-bit WAV.
#
# Loopback only; every server is stopped on exit. Needs what scripts/test
# installs (PostgreSQL, Redis, the model cache): run that once first.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
cache="${STRATUS_CI_CACHE:-$HOME/.cache/stratus-ci}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target}"
export STRATUS_TEST_CACHE="${STRATUS_TEST_CACHE:-$cache/test-cache}"
export STRATUS_TESTDATA="${STRATUS_TESTDATA:-$cache/testdata}"
export STRATUS_TEST_POSTGRES="${STRATUS_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}"
export STRATUS_TEST_REDIS="${STRATUS_TEST_REDIS:-redis://127.0.0.1:6379}"
export PROPTEST_CASES="${ABUSE_FUZZ_CASES:-2000}"

filter='test(/every_spelling_of_loopback|private_link_local_metadata|resolves_privately|never_connects_to_a_refused|webhook_destinations|burst_of_small_requests|jobs_hold_their_budget|never_overshoot_the_hard_budget|sample_rate|hostile_sample_rates|exceeds_the_budget|waits_in_its_queue_for_the_audio_budget|mutated_files_of_every_container|tenant_holding_slow_uploads|trickling_upload|half_sent_request_head|idle_keep_alive/) | binary(identity_abuse)'

printf '\n== abuse tests (fuzz cases per container: %s)\n' "$PROPTEST_CASES"
started=$(date +%s)
cargo nextest run --cargo-profile ci --workspace --no-fail-fast -E "$filter"
echo "abuse tests: $(( $(date +%s) - started )) s"

printf '\n== slow uploads\n'
loadtest/abuse-slow-uploads.sh

if [ -x loadtest/speech-audio-memory.sh ]; then
  printf '\n== memory of hostile long audio\n'
  loadtest/speech-audio-memory.sh
fi
