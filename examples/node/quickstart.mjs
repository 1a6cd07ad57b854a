// llmgate quickstart with the official OpenAI Node SDK (openai 6.49.0).
//
// Chat, streaming chat, a tool-call round trip, embeddings, the model list and
// a bad-key error, checking llmgate's own `llmgate` object and X-Llmgate-*
// headers along the way. Exits non-zero when anything is missing or wrong.
//
//   npm ci && node quickstart.mjs
//   # LLMGATE_BASE_URL, LLMGATE_API_KEY, LLMGATE_MODEL, LLMGATE_EMBED_MODEL
import OpenAI from 'openai';

const baseURL = process.env.LLMGATE_BASE_URL || 'http://localhost:8080/v1';
const apiKey = process.env.LLMGATE_API_KEY || 'lg_demo0000000000000000000000000000000';
const model = process.env.LLMGATE_MODEL || 'mock-mini';
const embedModel = process.env.LLMGATE_EMBED_MODEL || 'mock-embed';

// The gateway is OpenAI-compatible: only the base URL and key change.
const client = new OpenAI({ baseURL, apiKey });

// The SDK keeps unknown JSON fields, so the gateway's object is simply
// `response.llmgate` (top level, or on the last chunk of a stream).
function checkLlmgate(obj, what) {
  const info = obj?.llmgate;
  if (!info || !info.request_id || !info.provider || !info.model || !(info.attempts >= 1)) {
    throw new Error(`${what}: missing or incomplete llmgate object: ${JSON.stringify(info)}`);
  }
  console.log('llmgate: ', JSON.stringify(info));
  return info;
}

async function chat() {
  // .withResponse() gives the parsed body and the raw fetch Response (headers).
  const { data: completion, response } = await client.chat.completions
    .create({ model, messages: [{ role: 'user', content: 'Say hello in five words.' }] })
    .withResponse();
  const answer = completion.choices[0]?.message?.content;
  if (!answer) throw new Error('empty answer');
  console.log('answer:  ', answer);
  console.log('usage:   ', JSON.stringify(completion.usage));
  const info = checkLlmgate(completion, 'chat');

  const h = response.headers;
  for (const name of ['x-llmgate-request-id', 'x-llmgate-provider', 'x-llmgate-model', 'x-llmgate-attempts']) {
    console.log(`header:   ${name}: ${h.get(name)}`);
  }
  if (h.get('x-llmgate-request-id') !== info.request_id) {
    throw new Error('X-Llmgate-Request-Id differs from llmgate.request_id');
  }
}

async function stream() {
  const s = await client.chat.completions.create({
    model,
    messages: [{ role: 'user', content: 'Count from one to five.' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let usage, info;
  process.stdout.write('stream:   ');
  for await (const chunk of s) {
    process.stdout.write(chunk.choices[0]?.delta?.content ?? '');
    if (chunk.usage) usage = chunk.usage; // last chunk: choices [], usage, llmgate
    if (chunk.llmgate) info = chunk;
  }
  process.stdout.write('\n');
  if (!usage) throw new Error('stream ended without a usage chunk');
  console.log('usage:   ', JSON.stringify(usage));
  checkLlmgate(info, 'stream');
}

async function tools() {
  const toolDefs = [
    {
      type: 'function',
      function: {
        name: 'get_weather',
        description: 'Current weather for a city',
        parameters: {
          type: 'object',
          properties: { city: { type: 'string' } },
          required: ['city'],
        },
      },
    },
  ];
  const messages = [{ role: 'user', content: 'What is the weather in Paris?' }];
  const first = await client.chat.completions.create({ model, messages, tools: toolDefs });
  const msg = first.choices[0]?.message;
  const call = msg?.tool_calls?.[0];
  if (!call) throw new Error('expected a tool call');
  console.log(`tool call: ${call.function.name}(${call.function.arguments}) id=${call.id}`);

  // "Run" the tool, then send the assistant turn and the tool result back.
  const result = JSON.stringify({ city: 'Paris', temp_c: 18, sky: 'clear' });
  messages.push(msg, { role: 'tool', tool_call_id: call.id, content: result });
  const second = await client.chat.completions.create({ model, messages, tools: toolDefs });
  const answer = second.choices[0]?.message?.content;
  if (!answer) throw new Error('empty answer after the tool result');
  console.log('answer:  ', answer);
  checkLlmgate(second, 'tools');
}

async function embeddings() {
  const res = await client.embeddings.create({ model: embedModel, input: ['hello', 'world'] });
  if (res.data.length !== 2 || !res.data[0].embedding.length) throw new Error('want 2 non-empty vectors');
  console.log(`vectors:  ${res.data.length} x ${res.data[0].embedding.length} dims, first values ${res.data[0].embedding.slice(0, 2).map((x) => x.toFixed(4)).join(' ')}`);
  checkLlmgate(res, 'embeddings');
}

async function models() {
  // The models and routes this key may use.
  const ids = [];
  for await (const m of client.models.list()) {
    console.log(`model:    ${m.id} (owned_by ${m.owned_by})`);
    ids.push(m.id);
  }
  if (!ids.includes(model)) throw new Error(`${model} is not in the model list`);
}

async function badKey() {
  // An unknown key gets 401 with an OpenAI-shaped error body.
  const bad = new OpenAI({ baseURL, apiKey: 'lg_not_a_real_key_000000000000000000' });
  try {
    await bad.models.list();
  } catch (err) {
    if (!(err instanceof OpenAI.APIError)) throw err;
    console.log(`error:    status=${err.status} type=${err.type} code=${err.code} message=${JSON.stringify(err.error?.message)}`);
    if (err.status !== 401 || err.code !== 'invalid_api_key') throw new Error('want 401 invalid_api_key');
    return;
  }
  throw new Error('a bad key was accepted');
}

try {
  for (const [name, fn] of Object.entries({ chat, stream, tools, embeddings, models, 'bad key': badKey })) {
    console.log(`== ${name}`);
    await fn();
  }
  console.log('OK: all examples passed');
} catch (err) {
  console.error('FAIL:', err?.message ?? err);
  process.exit(1);
}
