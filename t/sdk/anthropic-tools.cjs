// The official OpenAI Node SDK against the anthropic dialect's tool
// streams: prints, as one JSON object, what the SDK's own stream
// accumulator made of each model's answer (t/34-anthropic-tools.t checks
// it against the recordings).
//
// usage: node t/sdk/anthropic-tools.cjs <base-url> <tools-json> <model>...
//        (OPENAI_SDK_DIR: where `npm install openai` put node_modules)

const path = require("path");
const OpenAI = require(path.join(process.env.OPENAI_SDK_DIR,
                                 "node_modules", "openai"));

const client = new OpenAI({ baseURL: process.argv[2], apiKey: "client-key",
                            maxRetries: 0, timeout: 20000 });
const tools = JSON.parse(process.argv[3]);
const messages = [{ role: "user", content: "What is the weather?" }];

async function main() {
  const out = {};

  for (const model of process.argv.slice(4)) {
    const runner = client.beta.chat.completions.stream({
      model, messages, tools: tools[model] });
    const done = await runner.finalChatCompletion();
    out[model] = { message: done.choices[0].message,
                   finish: done.choices[0].finish_reason };
  }

  try {
    await client.chat.completions.create({ model: process.argv[4],
                                           messages, n: 2 });
    out.n = { thrown: false };
  } catch (e) {
    out.n = { thrown: true, name: e.constructor.name, param: e.param };
  }

  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ fatal: String(e && e.stack || e) }));
});
