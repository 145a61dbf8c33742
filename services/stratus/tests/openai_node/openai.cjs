// Drive a running Stratus with OpenAI's official Node SDK (`openai` from
// npm), unchanged but for `baseURL`: transcription in every response
// format, streamed transcription, translation and embeddings (float and
// base64). Prints what came back as one JSON object for the Rust test
// (services/stratus/tests/openai_node.rs) to check.
//
// Usage: node openai.cjs BASE_URL AUDIO_FILE
// The key is read from STRATUS_API_KEY; `openai` is found through NODE_PATH
// (scripts/test installs it with `npm ci` into the test cache).
"use strict";

const fs = require("node:fs");
const OpenAI = require("openai");
const { VERSION } = require("openai/version");

const [baseURL, audio] = process.argv.slice(2);
const client = new OpenAI({
  baseURL: `${baseURL}/v1`,
  apiKey: process.env.STRATUS_API_KEY,
  maxRetries: 0,
  timeout: 300 * 1000,
});

function transcribe(params) {
  return client.audio.transcriptions.create({ file: fs.createReadStream(audio), ...params });
}

async function main() {
  const out = { sdk_version: VERSION };

  const json = await transcribe({ model: "whisper-1", response_format: "json" });
  out.json = { text: json.text, usage: json.usage ?? null };
  for (const format of ["text", "srt", "vtt"]) {
    // The SDK gives these bodies back as strings.
    out[format] = await transcribe({ model: "whisper-1", response_format: format });
  }
  const verbose = await transcribe({
    model: "whisper-tiny.en",
    response_format: "verbose_json",
    timestamp_granularities: ["segment"],
    language: "en",
  });
  out.verbose_json = {
    text: verbose.text,
    language: verbose.language,
    duration: verbose.duration,
    segments: verbose.segments ?? [],
  };

  // Streaming: the SDK parses the server-sent events into its event objects.
  const stream = await transcribe({ model: "whisper-1", response_format: "json", stream: true });
  out.stream = [];
  for await (const event of stream) {
    const record = { type: event.type };
    if (event.type === "transcript.text.delta") record.delta = event.delta;
    if (event.type === "transcript.text.done") {
      record.text = event.text;
      record.usage = event.usage ?? null;
    }
    out.stream.push(record);
  }

  const translation = await client.audio.translations.create({
    file: fs.createReadStream(audio),
    model: "whisper-base",
  });
  out.translation = { text: translation.text };

  // English-only models cannot translate: the SDK's typed 400.
  try {
    await client.audio.translations.create({ file: fs.createReadStream(audio), model: "whisper-tiny.en" });
    out.translate_english_only = null;
  } catch (e) {
    out.translate_english_only = {
      class: e.constructor.name,
      status: e.status,
      param: e.param ?? null,
      type: e.type ?? null,
    };
  }

  const input = ["The quick brown fox.", "A fast auburn fox."];
  const floats = await client.embeddings.create({
    model: "all-minilm-l6-v2",
    input,
    encoding_format: "float",
  });
  // Without encoding_format the SDK asks for base64 and decodes it to
  // floats itself.
  const decoded = await client.embeddings.create({ model: "all-minilm-l6-v2", input });
  const raw = await client.embeddings.create({
    model: "all-minilm-l6-v2",
    input: input[0],
    encoding_format: "base64",
  });
  out.embeddings = {
    float: floats.data.map((d) => d.embedding),
    decoded: decoded.data.map((d) => d.embedding),
    base64: raw.data.map((d) => d.embedding),
    model: floats.model,
    usage: floats.usage,
  };

  try {
    await client.embeddings.create({ model: "no-such-model", input: "x" });
    out.unknown_model = null;
  } catch (e) {
    out.unknown_model = { class: e.constructor.name, status: e.status, code: e.code ?? null, param: e.param ?? null };
  }

  // models.list and models.retrieve (by id and by alias), and the SDK's
  // typed 404 for a model that is not loaded.
  const listed = [];
  for await (const model of client.models.list()) listed.push(model.id);
  out.models = {
    listed,
    by_id: await client.models.retrieve("whisper-tiny.en"),
    by_alias: await client.models.retrieve("whisper-1"),
  };
  try {
    await client.models.retrieve("no-such-model");
    out.models.missing = null;
  } catch (e) {
    out.models.missing = { class: e.constructor.name, status: e.status, code: e.code ?? null };
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
