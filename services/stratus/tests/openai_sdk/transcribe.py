"""Transcribe one file against a running Stratus with OpenAI's official
Python SDK, in every response format and streamed; print what came back as JSON for the
Rust test (services/stratus/tests/openai_sdk.rs) to check.

Usage: python transcribe.py BASE_URL AUDIO_FILE
"""

import json
import os
import sys

import openai
from openai import OpenAI

base_url, path = sys.argv[1], sys.argv[2]
# No keys are checked yet; the SDK insists on one.
client = OpenAI(base_url=base_url + "/v1", api_key=os.environ["STRATUS_API_KEY"], max_retries=0)
out = {"sdk_version": openai.__version__}


def transcribe(**kwargs):
    with open(path, "rb") as f:
        return client.audio.transcriptions.create(file=f, **kwargs)


r = transcribe(model="whisper-1", response_format="json")
out["json"] = {"text": r.text, "usage": r.usage.model_dump() if r.usage else None}
for fmt in ["text", "srt", "vtt"]:
    # The SDK returns these bodies as plain strings.
    out[fmt] = transcribe(model="whisper-1", response_format=fmt)
r = transcribe(
    model="whisper-tiny.en",
    response_format="verbose_json",
    timestamp_granularities=["segment"],
    language="en",
)
out["verbose_json"] = {
    "text": r.text,
    "language": r.language,
    "duration": r.duration,
    "segments": [s.model_dump() for s in r.segments or []],
}
# Streaming: the SDK parses the server-sent events into its event types.
stream = transcribe(model="whisper-1", response_format="json", stream=True)
out["stream"] = []
for event in stream:
    record = {"type": event.type, "class": type(event).__name__}
    if event.type == "transcript.text.delta":
        record["delta"] = event.delta
    elif event.type == "transcript.text.done":
        record["text"] = event.text
        # OpenAI's own streaming models bill by tokens; Stratus bills audio
        # by duration, which the SDK keeps as it came.
        record["usage"] = event.usage.to_dict() if event.usage else None
    out["stream"].append(record)
try:
    transcribe(model="whisper-huge", response_format="json")
    out["unknown_model"] = None
except openai.NotFoundError as e:
    out["unknown_model"] = {"status": e.status_code, "code": e.code, "param": e.param}
print(json.dumps(out))
