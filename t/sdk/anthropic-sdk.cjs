// The official Anthropic TypeScript SDK against the gateway's
// /v1/messages: prints, as one JSON object, what the SDK made of each
// case (t/71-anthropic-sdk.t checks it).  Each backend prefix names the
// models of one provider: "<prefix>demo", "<prefix>tool", "<prefix>tool-s"
// (a tool call, whole and streamed) and "<prefix>cut" (a stream that
// breaks).
//
// usage: node t/sdk/anthropic-sdk.cjs <base-url> <prefix>...
//        (SDK_DIR: where `npm install @anthropic-ai/sdk` put node_modules)

const path = require("path");
const sdk = require(path.join(process.env.SDK_DIR, "node_modules",
                              "@anthropic-ai", "sdk"));
const Anthropic = sdk.default || sdk;

const client = new Anthropic({ baseURL: process.argv[2],
                               apiKey: "client-key", maxRetries: 0,
                               timeout: 20000 });

const tools = [
  { name: "get_capital", description: "The capital of a country",
    input_schema: { type: "object",
                    properties: { country: { type: "string" } },
                    required: ["country"] } },
  { name: "weather", description: "The weather in a city",
    input_schema: { type: "object",
                    properties: { location: { type: "string" } } } },
  { name: "get_country", description: "A country",
    input_schema: { type: "object", properties: {} } },
  { name: "final_result", description: "The final result",
    input_schema: { type: "object", properties: {} } },
  { name: "json", description: "Answer as JSON",
    input_schema: { type: "object", properties: {} } },
];

// a 1x1 PNG
const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk" +
            "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

function errorOf(e) {
  return { status: e.status ?? null, type: e.type ?? e.error?.error?.type
           ?? null, name: e.constructor.name,
           message: String(e.message).slice(0, 300) };
}

async function attempt(fn) {
  try {
    return await fn();
  } catch (e) {
    return { error: errorOf(e) };
  }
}

function ask(model, extra) {
  return Object.assign({ model, max_tokens: 256,
                         messages: [{ role: "user",
                                      content: "Hello there" }] },
                       extra || {});
}

// a two-turn tool conversation: the call, then its result to the demo model
async function toolRound(prefix, model, stream) {
  const first = stream
    ? await client.messages.stream(ask(prefix + model, { tools })).finalMessage()
    : await client.messages.create(ask(prefix + model, { tools }));
  const calls = first.content.filter((b) => b.type === "tool_use");
  const results = calls.map((c) => ({ type: "tool_result", tool_use_id: c.id,
                                      content: "Paris" }));
  const second = await client.messages.create({
    model: prefix + "demo", max_tokens: 256, tools,
    messages: [{ role: "user", content: "Hello there" },
               { role: "assistant", content: first.content },
               { role: "user", content: results.length ? results
                                                       : "go on" }] });
  return { first, second };
}

async function backend(prefix) {
  const out = {};

  out.create = await attempt(() => client.messages.create(ask(prefix + "demo")));
  out.stream = await attempt(async () => {
    const s = client.messages.stream(ask(prefix + "demo"));
    const events = [];
    s.on("streamEvent", (e) => events.push(e.type));
    const message = await s.finalMessage();
    return { message, events };
  });

  out.system = await attempt(() => client.messages.create(ask(prefix + "demo", {
    system: [{ type: "text", text: "Be brief." }],
    temperature: 0.5, top_p: 0.9, stop_sequences: ["END"],
    metadata: { user_id: "user-42" } })));

  out.image = await attempt(() => client.messages.create(ask(prefix + "demo", {
    messages: [{ role: "user", content: [
      { type: "image", source: { type: "base64", media_type: "image/png",
                                 data: png } },
      { type: "image", source: { type: "url",
                                 url: "https://example.com/cat.png" } },
      { type: "text", text: "What is in these images?" }] }] })));

  out.tools = await attempt(() => toolRound(prefix, "tool", false));
  out.tools_stream = await attempt(() => toolRound(prefix, "tool-s", true));

  out.thinking = await attempt(() => client.messages.create(ask(prefix + "demo", {
    max_tokens: 4096, thinking: { type: "enabled", budget_tokens: 2048 } })));

  out.cut = await attempt(async () => {
    const s = client.messages.stream(ask(prefix + "cut"));
    let text = "";
    s.on("text", (t) => { text += t; });
    try {
      await s.finalMessage();
      return { text, completed: true };
    } catch (e) {
      return { text, error: errorOf(e) };
    }
  });

  out.count = await attempt(() => client.messages.countTokens({
    model: prefix + "demo",
    system: "Be brief.",
    messages: [{ role: "user", content: "Hello there, how are you today?" }],
    tools }));

  return out;
}

async function main() {
  const out = {};

  for (const prefix of process.argv.slice(3)) {
    out[prefix] = await backend(prefix);
  }

  // errors before any provider: the SDK's typed errors
  out.unknown = await attempt(() => client.messages.create(ask("no-such-model")));
  out.invalid = await attempt(() => client.messages.create({
    model: "o-demo", messages: [{ role: "user", content: "hi" }] }));
  out.limited = await attempt(() => client.messages.create(ask("limited")));

  // Claude's thinking, streamed, then sent back: to Anthropic and elsewhere
  out.think = await attempt(async () => {
    const first = await client.messages.stream(ask("a-thinking"))
                                       .finalMessage();
    const history = [{ role: "user", content: "Hello there" },
                     { role: "assistant", content: first.content },
                     { role: "user", content: "And then?" }];
    const again = {};
    for (const model of ["a-demo", "o-demo", "g-demo"]) {
      again[model] = await attempt(() => client.messages.create({
        model, max_tokens: 256, messages: history }));
    }
    return { first, again };
  });

  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ fatal: String(e && e.stack || e) }));
});
