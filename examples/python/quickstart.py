"""llmgate quickstart with the official OpenAI Python SDK (openai 2.x).

Chat, streaming chat, a tool-call round trip, embeddings, the model list and a
bad-key error, checking llmgate's own `llmgate` object and X-Llmgate-* headers
along the way. Exits non-zero when anything is missing or wrong.

    pip install -r requirements.txt
    python quickstart.py
    # LLMGATE_BASE_URL, LLMGATE_API_KEY, LLMGATE_MODEL, LLMGATE_EMBED_MODEL
"""

import json
import os
import sys

import openai
from openai import OpenAI

BASE_URL = os.environ.get("LLMGATE_BASE_URL") or "http://localhost:8080/v1"
API_KEY = os.environ.get("LLMGATE_API_KEY") or "lg_demo0000000000000000000000000000000"
MODEL = os.environ.get("LLMGATE_MODEL") or "mock-mini"
EMBED_MODEL = os.environ.get("LLMGATE_EMBED_MODEL") or "mock-embed"

# The gateway is OpenAI-compatible: only the base URL and key change.
client = OpenAI(base_url=BASE_URL, api_key=API_KEY)


class Failed(Exception):
    pass


def check_llmgate(obj, what):
    """Return the gateway's `llmgate` object from a response or chunk.

    The SDK's models keep unknown JSON fields in `model_extra` (a dict)."""
    info = (obj.model_extra or {}).get("llmgate") if obj is not None else None
    if not isinstance(info, dict) or not info.get("request_id") or not info.get("provider") \
            or not info.get("model") or not info.get("attempts", 0) >= 1:
        raise Failed(f"{what}: missing or incomplete llmgate object: {info!r}")
    print("llmgate: ", json.dumps(info))
    return info


def chat():
    # with_raw_response gives the HTTP headers; .parse() gives the usual object.
    raw = client.chat.completions.with_raw_response.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Say hello in five words."}],
    )
    completion = raw.parse()
    answer = completion.choices[0].message.content
    if not answer:
        raise Failed("empty answer")
    print("answer:  ", answer)
    print("usage:   ", completion.usage.model_dump_json())
    info = check_llmgate(completion, "chat")

    for name in ("x-llmgate-request-id", "x-llmgate-provider", "x-llmgate-model", "x-llmgate-attempts"):
        print(f"header:   {name}: {raw.headers.get(name)}")
    if raw.headers.get("x-llmgate-request-id") != info["request_id"]:
        raise Failed("X-Llmgate-Request-Id differs from llmgate.request_id")


def stream():
    chunks = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Count from one to five."}],
        stream=True,
        stream_options={"include_usage": True},
    )
    usage = last = None
    print("stream:   ", end="")
    # A stream the gateway cannot finish ends with an error event, which the
    # SDK raises here as openai.APIError.
    for chunk in chunks:
        if chunk.choices and chunk.choices[0].delta.content:
            print(chunk.choices[0].delta.content, end="", flush=True)
        if chunk.usage:  # the last chunk: choices [], usage and llmgate
            usage = chunk.usage
        if chunk.model_extra and "llmgate" in chunk.model_extra:
            last = chunk
    print()
    if usage is None:
        raise Failed("stream ended without a usage chunk")
    print("usage:   ", usage.model_dump_json())
    check_llmgate(last, "stream")


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather for a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]


def tools():
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    first = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
    msg = first.choices[0].message
    if not msg.tool_calls:
        raise Failed("expected a tool call")
    call = msg.tool_calls[0]
    print(f"tool call: {call.function.name}({call.function.arguments}) id={call.id}")

    # "Run" the tool, then send the assistant turn and the tool result back.
    result = json.dumps({"city": "Paris", "temp_c": 18, "sky": "clear"})
    messages.append({
        "role": "assistant",
        "content": msg.content,
        "tool_calls": [
            {"id": tc.id, "type": "function",
             "function": {"name": tc.function.name, "arguments": tc.function.arguments}}
            for tc in msg.tool_calls
        ],
    })
    messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
    second = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
    answer = second.choices[0].message.content
    if not answer:
        raise Failed("empty answer after the tool result")
    print("answer:  ", answer)
    check_llmgate(second, "tools")


def embeddings():
    res = client.embeddings.create(model=EMBED_MODEL, input=["hello", "world"])
    if len(res.data) != 2 or not res.data[0].embedding:
        raise Failed("want 2 non-empty vectors")
    first = res.data[0].embedding
    print(f"vectors:  {len(res.data)} x {len(first)} dims, first values {first[0]:.4f} {first[1]:.4f}")
    check_llmgate(res, "embeddings")


def models():
    # The models and routes this key may use.
    ids = []
    for m in client.models.list():
        print(f"model:    {m.id} (owned_by {m.owned_by})")
        ids.append(m.id)
    if MODEL not in ids:
        raise Failed(f"{MODEL} is not in the model list")


def bad_key():
    # An unknown key gets 401 with an OpenAI-shaped error body.
    bad = OpenAI(base_url=BASE_URL, api_key="lg_not_a_real_key_000000000000000000")
    try:
        bad.models.list()
    except openai.AuthenticationError as err:
        print(f"error:    status={err.status_code} type={err.type} code={err.code} message={err.message!r}")
        if err.code != "invalid_api_key":
            raise Failed(f"want code invalid_api_key, got {err.code}")
        return
    raise Failed("a bad key was accepted")


def main():
    steps = [("chat", chat), ("stream", stream), ("tools", tools),
             ("embeddings", embeddings), ("models", models), ("bad key", bad_key)]
    try:
        for name, fn in steps:
            print(f"== {name}")
            fn()
    except (Failed, openai.OpenAIError) as err:
        print(f"FAIL: {err}", file=sys.stderr)
        return 1
    print("OK: all examples passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
