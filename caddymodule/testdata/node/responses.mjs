// Drives llmgate's /v1/responses with the official openai npm package
// against a chat-only upstream (the gateway translates). Run by
// caddymodule's end-to-end tests; exits non-zero on the first failed check.
import OpenAI from 'openai';

const client = new OpenAI({ baseURL: process.env.LLMGATE_URL + '/v1', apiKey: process.env.LLMGATE_KEY, maxRetries: 0 });
const model = process.env.LLMGATE_MODEL;
const tools = [{
  type: 'function', name: 'get_weather', description: 'Current weather for a city', strict: false,
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
}];
const out = {};
function check(ok, what) {
  if (!ok) { console.error('check failed: ' + what); console.error(JSON.stringify(out, null, 1)); process.exit(1); }
}

// Plain text, not streamed.
const r1 = await client.responses.create({ model, input: 'Say hello', instructions: 'Be brief.' });
out.text = r1.output_text;
check(r1.object === 'response' && r1.status === 'completed' && r1.id.startsWith('resp_'), 'response object');
check(r1.output_text.includes('Say hello'), 'output_text echoes the prompt');
check(r1.usage && r1.usage.input_tokens > 0 && r1.usage.output_tokens > 0, 'usage');

// A function tool round trip through previous_response_id, not streamed.
const r2 = await client.responses.create({ model, input: 'What is the weather in Paris?', tools });
const call = r2.output.find((i) => i.type === 'function_call');
check(call && call.name === 'get_weather' && JSON.parse(call.arguments).city === 'Paris', 'function_call item');
const r3 = await client.responses.create({
  model, previous_response_id: r2.id, tools,
  input: [{ type: 'function_call_output', call_id: call.call_id, output: 'sunny, 21C' }],
});
out.toolAnswer = r3.output_text;
check(r3.output_text.includes('sunny, 21C'), 'the tool output reached the model');
check(r3.previous_response_id === r2.id, 'previous_response_id echoed');

// The same round trip streamed.
const types = [];
let completed;
const s1 = await client.responses.create({ model, input: 'What is the weather in Paris?', tools, stream: true });
for await (const ev of s1) {
  types.push(ev.type);
  if (ev.type === 'response.completed') completed = ev.response;
}
out.streamTypes = types;
check(types[0] === 'response.created' && types.at(-1) === 'response.completed', 'stream starts and ends right');
check(types.includes('response.function_call_arguments.delta') && types.includes('response.output_item.done'), 'function call events');
const scall = completed.output.find((i) => i.type === 'function_call');
check(scall && JSON.parse(scall.arguments).city === 'Paris', 'streamed function_call item');
check(completed.usage && completed.usage.output_tokens > 0, 'usage on response.completed');
check(completed.llmgate && completed.llmgate.request_id, 'llmgate object on the terminal response');

// The follow-up with the stream helper.
const s2 = client.responses.stream({
  model, previous_response_id: completed.id, tools,
  input: [{ type: 'function_call_output', call_id: scall.call_id, output: 'rainy, 12C' }],
});
let deltas = '';
s2.on('response.output_text.delta', (e) => { deltas += e.delta; });
const final = await s2.finalResponse();
out.streamAnswer = final.output_text;
check(final.output_text.includes('rainy, 12C') && deltas === final.output_text, 'streamed follow-up');

// Stored responses: retrieve, then delete.
const got = await client.responses.retrieve(r3.id);
check(got.id === r3.id && got.output_text.includes('sunny, 21C'), 'retrieve');
await client.responses.delete(r3.id);
try {
  await client.responses.retrieve(r3.id);
  check(false, 'retrieve after delete must fail');
} catch (e) {
  check(e.status === 404, 'retrieve after delete is a 404, got ' + e.status);
}
try {
  await client.responses.create({ model, previous_response_id: 'resp_doesnotexist', input: 'hi' });
  check(false, 'an unknown previous_response_id must fail');
} catch (e) {
  check(e.status === 400, 'unknown previous_response_id is a 400, got ' + e.status);
}
console.log(JSON.stringify(out));
