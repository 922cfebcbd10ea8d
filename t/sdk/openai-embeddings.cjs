// The official OpenAI Node SDK on the embeddings endpoint and on chat
// templates; prints what the SDK made of each answer as one JSON object
// (t/52-openai-sdk-embeddings.t checks it).
//
// usage: node t/sdk/openai-embeddings.cjs <base-url>   (OPENAI_SDK_DIR)

const path = require("path");
const OpenAI = require(path.join(process.env.OPENAI_SDK_DIR,
                                 "node_modules", "openai"));

const client = new OpenAI({ baseURL: process.argv[2], apiKey: "client-key",
                            maxRetries: 0, timeout: 20000 });

async function caught(fn) {
  try {
    await fn();
    return { thrown: false };
  } catch (e) {
    return { thrown: true, name: e.constructor.name, status: e.status,
             code: e.code, param: e.param, message: e.message };
  }
}

async function main() {
  const out = {};

  // the SDK asks for base64 by default and decodes it to floats itself
  const d = await client.embeddings.create({ model: "embed",
                                             input: ["hello", "wörld"] });
  out.defaultFormat = { data: d.data, usage: d.usage, model: d.model };

  const f = await client.embeddings.create({ model: "embed", input: "hi",
                                             encoding_format: "float" });
  out.float = { data: f.data };

  const b = await client.embeddings.create({ model: "embed", input: "hi",
                                             encoding_format: "base64" });
  out.base64 = { embedding: b.data[0].embedding };

  out.chatModel = await caught(() => client.embeddings.create({
    model: "demo", input: "x" }));

  // a template through the request body (extra_body in Python)
  const t = await client.chat.completions.create({
    model: "echo", messages: [{ role: "user", content: "and then?" }],
    template: { name: "greet", variables: { name: "Zoë \"Z\"" } } });
  out.template = { content: t.choices[0].message.content };

  let text = "";
  const s = await client.chat.completions.create({
    model: "echo", stream: true,
    template: { name: "greet", variables: { name: "stream" } } });
  for await (const c of s) {
    text += c.choices[0]?.delta?.content ?? "";
  }
  out.templateStream = { text };

  out.missing = await caught(() => client.chat.completions.create({
    model: "echo", template: { name: "greet" } }));
  out.unknown = await caught(() => client.chat.completions.create({
    model: "echo", template: { name: "nope" } }));

  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ fatal: String(e && e.stack || e) }));
});
