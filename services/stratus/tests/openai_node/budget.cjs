// OpenAI's Node SDK with its default retries against a tenant whose
// monthly budget is spent: the SDK must give up at once (the server says
// `x-should-retry: false` and sends no Retry-After), not wait for a budget
// that will not come back. Prints one JSON object for
// services/stratus/tests/openai_node.rs.
//
// Usage: node budget.cjs BASE_URL   (key in STRATUS_API_KEY)
"use strict";

const OpenAI = require("openai");

const [baseURL] = process.argv.slice(2);
// The SDK's defaults (2 retries, its own backoff), as an app would have them.
const client = new OpenAI({ baseURL: `${baseURL}/v1`, apiKey: process.env.STRATUS_API_KEY });

async function main() {
  const started = Date.now();
  const out = {};
  try {
    await client.embeddings.create({ model: "all-minilm-l6-v2", input: "a spent budget" });
    out.outcome = "answered";
  } catch (e) {
    out.outcome = "error";
    out.class = e.constructor.name;
    out.status = e.status ?? null;
    out.code = e.code ?? null;
    out.type = e.type ?? null;
    out.should_retry = e.headers?.get?.("x-should-retry") ?? null;
    out.retry_after = e.headers?.get?.("retry-after") ?? null;
  }
  out.elapsed_ms = Date.now() - started;
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  process.stderr.write(`${e.stack ?? e}\n`);
  process.exit(1);
});
