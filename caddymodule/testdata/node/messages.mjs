// Drives llmgate's /v1/messages with the official @anthropic-ai/sdk
// against an OpenAI-type upstream (the gateway translates). Run by
// caddymodule's end-to-end tests; exits non-zero on the first failed check.
import Anthropic from '@anthropic-ai/sdk';

const client = new Anthropic({ baseURL: process.env.LLMGATE_URL, apiKey: process.env.LLMGATE_KEY, maxRetries: 0 });
const model = process.env.LLMGATE_MODEL;
const tools = [{
  name: 'get_weather', description: 'Current weather for a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
}];
const question = { role: 'user', content: 'What is the weather in Paris?' };
const out = {};
function check(ok, what) {
  if (!ok) { console.error('check failed: ' + what); console.error(JSON.stringify(out, null, 1)); process.exit(1); }
}

// Plain text, not streamed.
const m1 = await client.messages.create({ model, max_tokens: 256, system: 'Be brief.', messages: [{ role: 'user', content: 'Say hello' }] });
out.text = m1.content;
check(m1.type === 'message' && m1.role === 'assistant' && m1.id.startsWith('msg_'), 'message object');
check(m1.content[0].type === 'text' && m1.content[0].text.includes('Say hello'), 'text block');
check(m1.stop_reason === 'end_turn' && m1.usage.input_tokens > 0 && m1.usage.output_tokens > 0, 'stop_reason and usage');

// A tool round trip, not streamed.
const m2 = await client.messages.create({ model, max_tokens: 256, tools, messages: [question] });
const use = m2.content.find((b) => b.type === 'tool_use');
check(m2.stop_reason === 'tool_use' && use && use.name === 'get_weather' && use.input.city === 'Paris', 'tool_use block');
const m3 = await client.messages.create({
  model, max_tokens: 256, tools,
  messages: [question, { role: 'assistant', content: m2.content },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'sunny, 21C' }] }],
});
out.toolAnswer = m3.content;
check(m3.content.some((b) => b.type === 'text' && b.text.includes('sunny, 21C')), 'the tool result reached the model');

// The same round trip streamed, with the SDK's stream helper.
const types = [];
const s1 = client.messages.stream({ model, max_tokens: 256, tools, messages: [question] });
s1.on('streamEvent', (e) => types.push(e.type));
const f1 = await s1.finalMessage();
out.streamTypes = types;
check(types[0] === 'message_start' && types.at(-1) === 'message_stop', 'stream starts and ends right');
check(types.includes('content_block_start') && types.includes('content_block_delta') && types.includes('message_delta'), 'block events');
const suse = f1.content.find((b) => b.type === 'tool_use');
check(f1.stop_reason === 'tool_use' && suse && suse.input.city === 'Paris', 'streamed tool_use');
check(f1.usage.output_tokens > 0, 'streamed usage');
let text = '';
const s2 = client.messages.stream({
  model, max_tokens: 256, tools,
  messages: [question, { role: 'assistant', content: f1.content },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: suse.id, content: 'rainy, 12C' }] }],
});
s2.on('text', (t) => { text += t; });
const f2 = await s2.finalMessage();
out.streamAnswer = text;
check(text.includes('rainy, 12C') && f2.stop_reason === 'end_turn', 'streamed follow-up');

// Token counting and an Anthropic-shaped error.
const ct = await client.messages.countTokens({ model, messages: [question], tools });
check(ct.input_tokens > 0, 'count_tokens');
const bad = new Anthropic({ baseURL: process.env.LLMGATE_URL, apiKey: 'lg_not_a_real_key_000000000000000000', maxRetries: 0 });
try {
  await bad.messages.create({ model, max_tokens: 10, messages: [question] });
  check(false, 'a bad key must fail');
} catch (e) {
  check(e.status === 401 && e.error && e.error.type === 'error' && e.error.error.type === 'authentication_error', 'anthropic-shaped 401');
}
console.log(JSON.stringify(out));
