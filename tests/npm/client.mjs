// The official openai package as a client of minions serve: one whole and
// one streamed chat completion, and an error; prints what it got as JSON
// for tests/e2e/test_serve_openai.sh to check. Usage: node client.mjs URL
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.argv[2] + "/v1", apiKey: "unused", maxRetries: 0 });
const messages = [
  { role: "user", content: "Memo: the vault code is ZEBRA-4417." },
  { role: "user", content: "What is the vault code?" },
];
const out = {};
const models = await client.models.list();
out.models = models.data.map((m) => m.id);
const whole = await client.chat.completions.create({ model: "remote-only", messages });
out.whole = { content: whole.choices[0].message.content, finish: whole.choices[0].finish_reason,
              total_tokens: whole.usage.total_tokens };
const stream = await client.chat.completions.create({
  model: "remote-only", messages, stream: true, stream_options: { include_usage: true } });
let content = "", reasoning = 0, finish = null, usage = null;
for await (const chunk of stream) {
  const c = chunk.choices[0];
  if (c?.delta?.content) content += c.delta.content;
  if (c?.delta?.reasoning_content) reasoning++;
  if (c?.finish_reason) finish = c.finish_reason;
  if (chunk.usage) usage = chunk.usage.total_tokens;
}
out.stream = { content, reasoning, finish, total_tokens: usage };
try {
  await client.chat.completions.create({ model: "gpt-4", messages });
  out.error = null;
} catch (e) {
  out.error = { status: e.status, code: e.code, type: e.type };
}
console.log(JSON.stringify(out));
