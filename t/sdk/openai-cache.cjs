// The official OpenAI Node SDK against the response cache: each model is
// asked with a stream (the SDK's own stream accumulator), then without,
// then with a stream again, and the answers and their X-LLM-Cache headers
// are printed as one JSON object (t/85-cache.t checks them).
//
// usage: node t/sdk/openai-cache.cjs <base-url> <model>...
//        (OPENAI_SDK_DIR: where `npm install openai` put node_modules)

const path = require("path");
const OpenAI = require(path.join(process.env.OPENAI_SDK_DIR,
                                 "node_modules", "openai"));
const { ChatCompletionStream } = require(path.join(
  process.env.OPENAI_SDK_DIR, "node_modules", "openai", "lib",
  "ChatCompletionStream"));

const client = new OpenAI({ baseURL: process.argv[2], apiKey: "client-key",
                            maxRetries: 0, timeout: 20000 });
const messages = [{ role: "user", content: "What is the capital of the UK?" }];
const tools = [{ type: "function", function: {
  name: "get_capital", description: "The capital of a country",
  parameters: { type: "object", properties: { country: { type: "string" } },
                required: ["country"] } } }];

// a stream: the headers from the request, the answer from the SDK's own
// stream accumulator
async function streamed(model) {
  const { data, response } = await client.chat.completions.create({
    model, messages, tools, stream: true,
    stream_options: { include_usage: true } }).withResponse();
  const done = await ChatCompletionStream.fromReadableStream(
    data.toReadableStream()).finalChatCompletion();
  return { stream: true, cache: response.headers.get("x-llm-cache"),
           buffering: response.headers.get("x-accel-buffering"),
           message: done.choices[0].message, model: done.model,
           finish: done.choices[0].finish_reason, usage: done.usage };
}

async function whole(model) {
  const { data, response } = await client.chat.completions.create({
    model, messages, tools }).withResponse();
  return { stream: false, cache: response.headers.get("x-llm-cache"),
           message: data.choices[0].message, model: data.model,
           finish: data.choices[0].finish_reason, usage: data.usage };
}

async function main() {
  const out = {};

  for (const model of process.argv.slice(3)) {
    out[model] = [await streamed(model), await whole(model),
                  await streamed(model)];
  }

  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ fatal: String(e && e.stack || e) }));
});
