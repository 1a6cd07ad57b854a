#!/usr/bin/env bash
# llmgate with plain curl: chat, streaming chat, a tool call, embeddings, the
# model list and a bad-key error. Exits non-zero when a check fails.
#
#   ./curl.sh        # LLMGATE_BASE_URL, LLMGATE_API_KEY, LLMGATE_MODEL, LLMGATE_EMBED_MODEL
#
# Needs curl and grep only (jq is used for pretty output when installed).
set -euo pipefail

BASE=${LLMGATE_BASE_URL:-http://localhost:8080/v1}
KEY=${LLMGATE_API_KEY:-lg_demo0000000000000000000000000000000}
MODEL=${LLMGATE_MODEL:-mock-mini}
EMBED_MODEL=${LLMGATE_EMBED_MODEL:-mock-embed}

fail() { echo "FAIL: $*" >&2; exit 1; }
pretty() { if command -v jq >/dev/null; then jq .; else cat; echo; fi; }
post() { # post PATH JSON [curl options...]: authenticated JSON POST
	local path=$1 body=$2; shift 2
	curl -sS "$@" "$BASE$path" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -d "$body"
}

echo "== chat (-i: status line and X-Llmgate-* headers, then the body with its llmgate object)"
out=$(post /chat/completions '{"model":"'"$MODEL"'","messages":[{"role":"user","content":"Say hello in five words."}]}' -i)
echo "$out" | grep -i '^HTTP/\|^x-llmgate-\|^x-ratelimit-'
echo "$out" | tail -n 1 | pretty
echo "$out" | head -n 1 | grep -q ' 200' || fail "chat: not 200"
echo "$out" | grep -qi '^x-llmgate-request-id: req_' || fail "chat: no X-Llmgate-Request-Id header"
echo "$out" | tail -n 1 | grep -q '"llmgate":{"request_id":"req_' || fail "chat: no llmgate object"

echo "== streaming chat (-N: print each SSE event as it arrives)"
# With include_usage the last chunk carries usage and the llmgate object;
# without it, the finish chunk carries llmgate.
out=$(post /chat/completions '{"model":"'"$MODEL"'","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Count from one to five."}]}' -N)
echo "$out" | head -n 4
echo "   ..."
echo "$out" | tail -n 4
echo "$out" | tail -n 1 | grep -q '^data: \[DONE\]' || fail "stream: no [DONE]"
echo "$out" | grep '^data: {' | tail -n 1 | grep -q '"usage":{.*"llmgate":{' || fail "stream: last chunk lacks usage and llmgate"

echo "== tool call (the model asks for get_weather; send the result back as a role:tool message)"
tools='[{"type":"function","function":{"name":"get_weather","description":"Current weather for a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]'
out=$(post /chat/completions '{"model":"'"$MODEL"'","tools":'"$tools"',"messages":[{"role":"user","content":"What is the weather in Paris?"}]}')
echo "$out" | pretty
echo "$out" | grep -q '"finish_reason":"tool_calls"' || fail "tools: expected a tool call"
call_id=$(echo "$out" | grep -o '"id":"call_[^"]*"' | head -n 1 | cut -d'"' -f4)
args=$(echo "$out" | grep -o '"arguments":"\([^"\\]\|\\.\)*"' | head -n 1 | cut -d: -f2-)
out=$(post /chat/completions '{"model":"'"$MODEL"'","tools":'"$tools"',"messages":[
	{"role":"user","content":"What is the weather in Paris?"},
	{"role":"assistant","content":null,"tool_calls":[{"id":"'"$call_id"'","type":"function","function":{"name":"get_weather","arguments":'"$args"'}}]},
	{"role":"tool","tool_call_id":"'"$call_id"'","content":"{\"city\":\"Paris\",\"temp_c\":18}"}]}')
echo "$out" | pretty
echo "$out" | grep -q '"finish_reason":"stop"' || fail "tools: no final answer after the tool result"
echo "$out" | grep -q '"llmgate":{"request_id":"req_' || fail "tools: no llmgate object"

echo "== embeddings"
out=$(post /embeddings '{"model":"'"$EMBED_MODEL"'","input":["hello","world"],"dimensions":4}')
echo "$out" | pretty
echo "$out" | grep -q '"embedding":\[' || fail "embeddings: no vectors"
echo "$out" | grep -q '"llmgate":{"request_id":"req_' || fail "embeddings: no llmgate object"

echo "== models (what this key may use)"
out=$(curl -sS "$BASE/models" -H "Authorization: Bearer $KEY")
echo "$out" | pretty
echo "$out" | grep -q '"id":"'"$MODEL"'"' || fail "models: $MODEL is not listed"

echo "== bad key (401, OpenAI error shape; x-api-key works as well as Authorization)"
out=$(curl -sS -i "$BASE/models" -H "x-api-key: lg_not_a_real_key_000000000000000000")
echo "$out" | grep -i '^HTTP/\|^x-llmgate-'
echo "$out" | tail -n 1 | pretty
echo "$out" | head -n 1 | grep -q ' 401' || fail "bad key: not 401"
echo "$out" | tail -n 1 | grep -q '"code":"invalid_api_key"' || fail "bad key: wrong error code"

echo "OK: all examples passed"
