#!/usr/bin/env bash
# Sustained usage-event write throughput on SQLite and PostgreSQL (issue 6).
# Runs services/gateway/examples/usage_throughput.rs: CONCURRENCY tasks record
# events through the real metering pipeline (synced write-ahead log, group
# commit, batched idempotent inserts) for SECONDS, then the store drains.
# Results go to loadtest/RESULTS.md by hand, with the machine and this command.
#
#   loadtest/usage-throughput.sh [SECONDS] [CONCURRENCY...]
#   USAGE_WAL_SYNC=0 to run without fdatasync (--usage-wal-sync false)
#   STRATUS_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/postgres (default)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
shift || true
concurrency=("${@:-64 256}")
pg_admin=${STRATUS_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}

cargo build --profile ci -p stratus-gateway --example usage_throughput
bin="${CARGO_TARGET_DIR:-target}/ci/examples/usage_throughput"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

nosync=()
[ "${USAGE_WAL_SYNC:-1}" = 0 ] && nosync=(nosync)
for c in ${concurrency[@]}; do
    "$bin" "sqlite://$work/sqlite-$c/stratus.db" "$seconds" "$c" "$work/sqlite-$c/wal" "${nosync[@]}"
    db="stratus_bench_$(date +%s%N)"
    psql "$pg_admin" -q -c "CREATE DATABASE $db"
    "$bin" "${pg_admin%/*}/$db" "$seconds" "$c" "$work/pg-$c/wal" "${nosync[@]}"
    psql "$pg_admin" -q -c "DROP DATABASE $db"
done
