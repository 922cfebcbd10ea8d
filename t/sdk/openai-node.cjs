// Drives the gateway with the official OpenAI Node SDK and prints what the
// SDK made of each answer as one JSON object (t/40-openai-sdk.t checks it).
//
// usage: node t/sdk/openai-node.cjs <base-url>    (OPENAI_SDK_DIR: where
//        `npm install openai` put node_modules; ./build.sh deps does it)

const path = require("path");
const OpenAI = require(path.join(process.env.OPENAI_SDK_DIR,
                                 "node_modules", "openai"));

const client = new OpenAI({ baseURL: process.argv[2], apiKey: "client-key",
                            maxRetries: 0, timeout: 20000 });
const messages = [{ role: "user", content: "Hello there" }];

async function caught(fn) {
  try {
    await fn();
    return { thrown: false };
  } catch (e) {
    return { thrown: true, name: e.constructor.name, status: e.status,
             code: e.code, type: e.type, param: e.param,
             message: e.message,
             retryAfter: e.headers ? e.headers["retry-after"] : undefined };
  }
}

async function main() {
  const out = {};

  const r = await client.chat.completions.create({ model: "demo", messages });
  out.nonstream = { content: r.choices[0].message.content, usage: r.usage,
                    model: r.model, finish: r.choices[0].finish_reason };

  let text = "", usage = null, chunks = 0, model = null;
  const s = await client.chat.completions.create({
    model: "demo", messages, stream: true,
    stream_options: { include_usage: true } });
  for await (const c of s) {
    chunks++;
    model = c.model;
    if (c.choices.length) text += c.choices[0].delta.content || "";
    if (c.usage) usage = c.usage;
  }
  out.stream = { text, usage, chunks, model };

  for (const m of ["tool-openai", "tool-mistral", "tool-groq"]) {
    const runner = client.beta.chat.completions.stream({
      model: m, messages, stream_options: { include_usage: true } });
    const done = await runner.finalChatCompletion();
    out[m] = { message: done.choices[0].message,
               finish: done.choices[0].finish_reason, usage: done.usage };
  }

  out.notfound = await caught(() => client.chat.completions.create({
    model: "no-such-model", messages }));
  out.ratelimit = await caught(() => client.chat.completions.create({
    model: "limited", messages }));
  out.badparam = await caught(() => client.chat.completions.create({
    model: "demo", messages, temperature: 7 }));

  let before = "";
  out.cut = await caught(async () => {
    const cs = await client.chat.completions.create({
      model: "cut", messages, stream: true });
    for await (const c of cs) {
      if (c.choices.length) before += c.choices[0].delta.content || "";
    }
  });
  out.cut.before = before;

  const list = await client.models.list();
  out.models = list.data.map((m) => m.id).sort();
  out.retrieve = await client.models.retrieve("meta-llama/Llama-3-8B");
  out.retrieveMissing = await caught(() => client.models.retrieve("nope"));

  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ fatal: String(e && e.stack || e) }));
  process.exit(1);
});
