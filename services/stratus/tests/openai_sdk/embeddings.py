"""OpenAI's official Python SDK against a running `stratus serve`.

Run by openai_sdk.rs: python openai_embeddings.py BASE_URL MODEL. Exits
non-zero with the failed assertion on any mismatch; prints "ok" at the end.
"""

import base64
import math
import struct
import os
import sys

import openai

base_url, model = sys.argv[1], sys.argv[2]
client = openai.OpenAI(base_url=f"{base_url}/v1", api_key=os.environ["STRATUS_API_KEY"])
sentences = ["The quick brown fox jumps over the lazy dog.", "Stratus runs on your own machines."]

# The SDK asks for base64 by default and decodes it itself.
default = client.embeddings.create(model=model, input=sentences)
assert default.object == "list", default
assert [d.index for d in default.data] == [0, 1], default.data
assert len(default.data[0].embedding) == 384, len(default.data[0].embedding)
assert default.usage.prompt_tokens == default.usage.total_tokens > 0, default.usage

# Explicit floats equal the decoded base64 (JSON writes each f32 in its
# shortest form, which Python reads as a nearby f64).
floats = client.embeddings.create(model=model, input=sentences, encoding_format="float")
for a, b in zip(default.data, floats.data):
    assert max(abs(x - y) for x, y in zip(a.embedding, b.embedding)) < 1e-7

# Raw base64 is little-endian f32.
raw = client.embeddings.with_raw_response.create(
    model=model, input=sentences[0], encoding_format="base64"
)
payload = raw.http_response.json()["data"][0]["embedding"]
decoded = struct.unpack("<384f", base64.b64decode(payload))
assert max(abs(x - y) for x, y in zip(decoded, floats.data[0].embedding)) < 1e-6
assert int(raw.headers["x-stratus-usage-input-tokens"]) == raw.parse().usage.prompt_tokens

# dimensions: truncated and unit length.
short = client.embeddings.create(model=model, input=sentences[0], dimensions=128)
vector = short.data[0].embedding
assert len(vector) == 128
assert abs(math.sqrt(sum(x * x for x in vector)) - 1.0) < 1e-5

# Unknown model: the SDK's NotFoundError with OpenAI's code.
try:
    client.embeddings.create(model="text-embedding-3-small", input="hi")
    raise AssertionError("unknown model accepted")
except openai.NotFoundError as e:
    assert e.code == "model_not_found", e

# Bad input: BadRequestError naming the parameter.
try:
    client.embeddings.create(model=model, input="hi", dimensions=1000)
    raise AssertionError("dimensions over the model's accepted")
except openai.BadRequestError as e:
    assert e.param == "dimensions", e

print("ok")
