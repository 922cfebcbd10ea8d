// The official OpenAI Node SDK's Responses API against the gateway's
// /v1/responses: prints, as one JSON object, what the SDK made of each
// case (t/73-responses-sdk.t checks it).  Each backend prefix names the
// models of one provider: "<prefix>demo", "<prefix>tool", "<prefix>tool-s"
// (a function call, whole and streamed) and "<prefix>cut" (a stream that
// breaks).
//
// usage: node t/sdk/openai-responses.cjs <package> <base-url> <prefix>...
//        (SDK_DIR: where npm put node_modules; <package>: openai, or
//        openai-current, the newer major ./build.sh deps installs too)

const path = require("path");
const sdk = require(path.join(process.env.SDK_DIR, "node_modules",
                              process.argv[2]));
const OpenAI = sdk.default || sdk;

const client = new OpenAI({ baseURL: process.argv[3] + "/v1",
                            apiKey: "client-key", maxRetries: 0,
                            timeout: 20000 });

const tools = [{ type: "function", name: "get_capital",
                 description: "The capital of a country", strict: false,
                 parameters: { type: "object",
                               properties: { country: { type: "string" } } } },
               { type: "function", name: "weather", strict: false,
                 description: "The weather in a city",
                 parameters: { type: "object",
                               properties: { location: { type: "string" } } } },
               { type: "function", name: "get_country", strict: false,
                 description: "A country",
                 parameters: { type: "object", properties: {} } },
               { type: "function", name: "final_result", strict: false,
                 description: "The final result",
                 parameters: { type: "object", properties: {} } },
               { type: "function", name: "json", strict: false,
                 description: "Answer as JSON",
                 parameters: { type: "object", properties: {} } }];

function errorOf(e) {
  return { status: e.status ?? null, code: e.code ?? null,
           param: e.param ?? null, name: e.constructor.name,
           message: String(e.message).slice(0, 300) };
}

async function attempt(fn) {
  try {
    return await fn();
  } catch (e) {
    return { error: errorOf(e) };
  }
}

// the parts of a response a test looks at; output_text is the SDK's
// (4.x leaves it out of a stream's final response), text the items'
function summary(r) {
  const text = (r.output || []).filter((i) => i.type === "message")
    .flatMap((i) => i.content).filter((c) => c.type === "output_text")
    .map((c) => c.text).join("");
  return { id: r.id, status: r.status, model: r.model,
           output_text: r.output_text, text, usage: r.usage,
           error: r.error, output: r.output };
}

// a streamed response: its events' types and the SDK's final response
async function streamed(params) {
  const s = client.responses.stream(params);
  const types = [];
  let text = "";
  s.on("event", (e) => types.push(e.type));
  s.on("response.output_text.delta", (e) => { text += e.delta; });
  const final = await s.finalResponse();
  return { types, text, final: summary(final) };
}

// a two-turn function-call conversation: the call, then its output
async function toolRound(prefix, model, stream) {
  const input = [{ role: "user", content: "What is the capital of France?" }];
  const first = stream
    ? (await streamed({ model: prefix + model, input, tools })).final
    : summary(await client.responses.create({ model: prefix + model, input,
                                              tools }));
  const calls = first.output.filter((i) => i.type === "function_call");
  const next = input.concat(first.output,
                            calls.map((c) => ({ type: "function_call_output",
                                                call_id: c.call_id,
                                                output: "Paris" })));
  const second = await client.responses.create({ model: prefix + "demo",
                                                 input: next, tools });
  return { first, calls, second: summary(second) };
}

async function backend(prefix) {
  const out = {};

  out.create = await attempt(async () => summary(
    await client.responses.create({ model: prefix + "demo",
                                    instructions: "Be brief.",
                                    input: "Hello there" })));

  out.stream = await attempt(() => streamed({ model: prefix + "demo",
                                              instructions: "Be brief.",
                                              input: "Hello there" }));

  out.tools = await attempt(() => toolRound(prefix, "tool", false));
  out.tools_stream = await attempt(() => toolRound(prefix, "tool-s", true));

  out.structured = await attempt(async () => summary(
    await client.responses.create({
      model: prefix + "demo", input: "Capital of France, as JSON",
      text: { format: { type: "json_schema", name: "capital", strict: true,
                        schema: { type: "object",
                                  properties: { city: { type: "string" } },
                                  required: ["city"],
                                  additionalProperties: false } } } })));

  out.reasoning = await attempt(async () => summary(
    await client.responses.create({ model: prefix + "demo",
                                    input: "Think about it",
                                    max_output_tokens: 4096,
                                    reasoning: { effort: "high" } })));

  out.previous = await attempt(async () => {
    const first = await client.responses.create({ model: prefix + "demo",
                                                  input: "My name is Ada." });
    const second = await client.responses.create({
      model: prefix + "demo", input: "What is my name?",
      previous_response_id: first.id });
    return { first: first.id, second: summary(second) };
  });

  out.cut = await attempt(async () => {
    const s = client.responses.stream({ model: prefix + "cut",
                                        input: "Hello there" });
    const types = [];
    let failed = null, text = "";
    s.on("event", (e) => {
      types.push(e.type);
      if (e.type === "response.failed") failed = e.response;
    });
    s.on("response.output_text.delta", (e) => { text += e.delta; });
    try {
      const final = await s.finalResponse();
      return { types, text, failed, final: final.status };
    } catch (e) {
      return { types, text, failed, error: errorOf(e) };
    }
  });

  return out;
}

async function main() {
  const out = {};

  for (const prefix of process.argv.slice(4)) {
    out[prefix] = await backend(prefix);
  }

  // structured output parsed by the SDK: the echo model answers JSON
  out.parsed = await attempt(async () => {
    const r = await client.responses.parse({
      model: "o-echo", input: "Echo me",
      text: { format: { type: "json_schema", name: "echo", strict: false,
                        schema: { type: "object" } } } });
    return { parsed: r.output_parsed };
  });

  // a provider's thinking as a reasoning item with its summary
  out.thinking = await attempt(() => streamed({ model: "a-thinking",
                                                input: "Think" }));

  // errors before any provider: the SDK's typed errors
  out.unknown = await attempt(() => client.responses.create({
    model: "no-such-model", input: "hi" }));
  out.notfound = await attempt(() => client.responses.create({
    model: "o-demo", input: "hi", previous_response_id: "resp_nowhere" }));
  out.hosted = await attempt(() => client.responses.create({
    model: "o-demo", input: "hi", tools: [{ type: "web_search" }] }));

  // OpenAI's own Responses API behind the gateway: hosted tools work
  out.native = await attempt(async () => summary(
    await client.responses.create({ model: "n-demo", input: "Search",
                                    tools: [{ type: "web_search" }] })));
  out.native_stream = await attempt(() => streamed({ model: "n-demo",
                                                     input: "Hello" }));

  // a gateway without a response store (NO_STORE_URL): refused, saying so;
  // store: false and the whole conversation as input work
  if (process.env.NO_STORE_URL) {
    const bare = new OpenAI({ baseURL: process.env.NO_STORE_URL + "/v1",
                              apiKey: "client-key", maxRetries: 0,
                              timeout: 20000 });
    out.nostore = await attempt(() => bare.responses.create({
      model: "o-demo", input: "hi", previous_response_id: "resp_any" }));
    out.nostore_stateless = await attempt(async () => {
      const first = await bare.responses.create({
        model: "o-demo", input: "My name is Ada.", store: false });
      const second = await bare.responses.create({
        model: "o-demo", store: false,
        input: [{ role: "user", content: "My name is Ada." },
                ...first.output,
                { role: "user", content: "What is my name?" }] });
      return summary(second);
    });
  }

  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ fatal: String(e.stack || e) }));
});
