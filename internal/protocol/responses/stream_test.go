package responses

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3/responses"
	"github.com/tidwall/gjson"
)

// run feeds chat SSE to a StreamWriter in pieces of n bytes (0: at once).
func run(t *testing.T, chat, req []byte, n int) ([]byte, *StreamWriter) {
	t.Helper()
	var out bytes.Buffer
	sw := NewStreamWriter(&out, req, testMeta)
	for len(chat) > 0 {
		k := len(chat)
		if n > 0 && n < k {
			k = n
		}
		if m, err := sw.Write(chat[:k]); err != nil || m != k {
			t.Fatalf("Write = %d, %v", m, err)
		}
		chat = chat[k:]
	}
	return out.Bytes(), sw
}

// frames builds chat SSE from data payloads.
func frames(data ...string) []byte {
	var b []byte
	for _, d := range data {
		if strings.HasPrefix(d, ":") {
			b = append(b, d+"\n\n"...)
			continue
		}
		b = append(b, "data: "+d+"\n\n"...)
	}
	return b
}

// checkStream asserts what every translated stream must satisfy: the event
// line repeats the data type, sequence numbers count from 0, the SDK
// decodes every event, nothing follows the terminal event, and Response()
// is the terminal event's response.
func checkStream(t *testing.T, evs []event, sw *StreamWriter) gjson.Result {
	t.Helper()
	seq := int64(0)
	var final gjson.Result
	for i, e := range evs {
		if e.name == ":" {
			continue
		}
		if final.Exists() {
			t.Fatalf("event %s after the terminal event", e.name)
		}
		if e.data.Get("type").String() != e.name {
			t.Errorf("event %d: name %q, type %q", i, e.name, e.data.Get("type"))
		}
		if e.data.Get("sequence_number").Int() != seq {
			t.Errorf("event %d (%s): sequence_number %s, want %d", i, e.name, e.data.Get("sequence_number").Raw, seq)
		}
		seq++
		var u responses.ResponseStreamEventUnion
		if err := json.Unmarshal([]byte(e.data.Raw), &u); err != nil || u.Type != e.name {
			t.Errorf("openai-go cannot decode %s: %v", e.name, err)
		}
		switch e.name {
		case "response.completed", "response.incomplete", "response.failed":
			final = e.data.Get("response")
			var r responses.Response
			if err := json.Unmarshal([]byte(final.Raw), &r); err != nil {
				t.Errorf("openai-go cannot decode the final response: %v", err)
			}
		}
	}
	if !final.Exists() {
		t.Fatal("no terminal event")
	}
	if got := sw.Response(); string(got) != final.Raw {
		t.Errorf("Response() = %s\nwant the terminal event's response %s", got, final.Raw)
	}
	return final
}

// The translated stream has the recorded Responses stream's events, in the
// same order, each with at least the recorded fields.
func TestStreamMatchesRecordedEvents(t *testing.T) {
	tests := []struct{ name, chat, req, want string }{
		{"text", "chat-stream-text-usage.sse", "responses-stream-text.request.json", "responses-stream-text.sse"},
		{"function call", "chat-stream-tool-call-usage.sse", "responses-stream-function-call.request.json", "responses-stream-function-call.sse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chat := fixture(t, tt.chat)
			out, sw := run(t, chat, fixtureRequest(t, tt.req), 0)
			got, want := parseEvents(t, out), parseEvents(t, fixture(t, tt.want))
			if g, w := names(got), names(want); !slices.Equal(g, w) {
				t.Fatalf("events\n got %v\nwant %v", g, w)
			}
			final := checkStream(t, got, sw)
			recorded := map[string]gjson.Result{}
			for _, e := range want {
				if _, ok := recorded[e.name]; !ok {
					recorded[e.name] = e.data
				}
			}
			for _, e := range got {
				w := recorded[e.name]
				for _, sub := range []string{"", "item", "part", "response", "response.usage", "response.text", "response.tools.0"} {
					g, ww := e.data, w
					if sub != "" {
						g, ww = g.Get(sub), w.Get(sub)
					}
					if miss := missingKeys(g, ww); len(miss) > 0 {
						t.Errorf("%s %s lacks %v", e.name, sub, miss)
					}
				}
			}

			// The client gets the upstream's text or arguments and usage.
			var text, args strings.Builder
			for _, line := range strings.Split(string(chat), "\n") {
				d := gjson.Parse(strings.TrimPrefix(line, "data: "))
				text.WriteString(d.Get("choices.0.delta.content").String())
				args.WriteString(d.Get("choices.0.delta.tool_calls.0.function.arguments").String())
				if u := d.Get("usage"); u.IsObject() && final.Get("usage.input_tokens").Int() != u.Get("prompt_tokens").Int() {
					t.Errorf("usage = %s, chat usage %s", final.Get("usage").Raw, u.Raw)
				}
			}
			item := final.Get("output.0")
			if got := item.Get("content.0.text").String() + item.Get("arguments").String(); got != text.String()+args.String() {
				t.Errorf("final output %q, want %q", got, text.String()+args.String())
			}
			if final.Get("status").String() != "completed" || sw.Failed() {
				t.Errorf("status %s, Failed() %v", final.Get("status"), sw.Failed())
			}
		})
	}
}

// Parallel tool calls, recorded: one function_call item per chat index, in
// order, each with its own arguments.
func TestStreamParallelToolCalls(t *testing.T) {
	out, sw := run(t, fixture(t, "chat-stream-parallel-tool-calls-usage.sse"), []byte(`{"model":"gpt-4o","input":"x","stream":true}`), 0)
	evs := parseEvents(t, out)
	final := checkStream(t, evs, sw)
	wantNames := []string{"response.created", "response.in_progress",
		"response.output_item.added", "response.function_call_arguments.delta",
		"response.output_item.added", "response.function_call_arguments.delta",
		"response.function_call_arguments.done", "response.output_item.done",
		"response.function_call_arguments.done", "response.output_item.done", "response.completed"}
	if g := names(evs); !slices.Equal(g, wantNames) {
		t.Fatalf("events\n got %v\nwant %v", g, wantNames)
	}
	for path, want := range map[string]string{
		"output.#.call_id":    `["call_JMW1whyEaYG438VE1OIflxA2","call_DNYTawLBoN8fj3KN6qU9N1Ou"]`,
		"output.#.name":       `["GetWeatherArgs","get_stock_price"]`,
		"output.0.arguments":  `"{\"city\": \"Edinburgh\", \"country\": \"GB\", \"units\": \"c\"}"`,
		"output.1.arguments":  `"{\"ticker\": \"AAPL\", \"exchange\": \"NASDAQ\"}"`,
		"output.#.status":     `["completed","completed"]`,
		"usage.output_tokens": "60",
		"usage.input_tokens":  "149",
	} {
		if g := final.Get(path).Raw; g != want {
			t.Errorf("%s = %s, want %s", path, g, want)
		}
	}
}

// Interleaved fragments of parallel calls each land in their own item;
// output_index follows first appearance, not the chat index.
func TestStreamInterleavedToolCalls(t *testing.T) {
	chat := frames(
		`{"choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"g","arguments":""}}]}}]}`,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"f","arguments":"{\"x\""}}]}}]}`,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{\"y\":2}"}}]}}]}`,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":":1}"}}]}}]}`,
		`{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`,
		`[DONE]`)
	out, sw := run(t, chat, []byte(`{"model":"m","input":"x"}`), 0)
	evs := parseEvents(t, out)
	final := checkStream(t, evs, sw)
	ids := map[int64]string{}
	args := map[string]string{}
	for _, e := range evs {
		switch e.name {
		case "response.output_item.added":
			ids[e.data.Get("output_index").Int()] = e.data.Get("item.id").String()
		case "response.function_call_arguments.delta":
			if ids[e.data.Get("output_index").Int()] != e.data.Get("item_id").String() {
				t.Errorf("delta item_id and output_index disagree: %s", e.data.Raw)
			}
			args[e.data.Get("item_id").String()] += e.data.Get("delta").String()
		}
	}
	if final.Get("output.#.call_id").Raw != `["call_b","call_a"]` ||
		final.Get("output.#.arguments").Raw != `["{\"y\":2}","{\"x\":1}"]` {
		t.Errorf("output = %s", final.Get("output").Raw)
	}
	if args[ids[0]] != `{"y":2}` || args[ids[1]] != `{"x":1}` {
		t.Errorf("deltas per item = %v", args)
	}
	if final.Get("usage").Raw != "null" {
		t.Errorf("usage = %s, want null without a usage chunk", final.Get("usage").Raw)
	}
}

func TestStreamCases(t *testing.T) {
	const role = `{"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}`
	text := func(s string) string { return `{"choices":[{"index":0,"delta":{"content":` + s + `}}]}` }
	finish := func(r string) string { return `{"choices":[{"index":0,"delta":{},"finish_reason":"` + r + `"}]}` }
	const usage = `{"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4,"prompt_tokens_details":{"cached_tokens":3},"completion_tokens_details":{"reasoning_tokens":2}},"llmgate":{"request_id":"r1","cost_usd":0.5}}`
	tests := []struct {
		name   string
		chat   []byte
		events []string          // expected names (delta runs collapsed); nil: not checked
		final  map[string]string // gjson path in the final response -> raw JSON
		failed bool
		check  func(t *testing.T, evs []event)
	}{
		{
			name: "reasoning then text",
			chat: frames(role,
				`{"choices":[{"index":0,"delta":{"reasoning_content":"Let me "}}]}`,
				`{"choices":[{"index":0,"delta":{"reasoning_content":"think."}}]}`,
				text(`"Answer"`), finish("stop"), usage, "[DONE]"),
			events: []string{"response.created", "response.in_progress",
				"response.output_item.added", "response.reasoning_summary_part.added", "response.reasoning_summary_text.delta",
				"response.reasoning_summary_text.done", "response.reasoning_summary_part.done", "response.output_item.done",
				"response.output_item.added", "response.content_part.added", "response.output_text.delta",
				"response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"},
			final: map[string]string{
				"output.#.type":    `["reasoning","message"]`,
				"output.0.summary": `[{"type":"summary_text","text":"Let me think."}]`,
				"output.1.content": `[{"type":"output_text","text":"Answer","annotations":[],"logprobs":[]}]`,
				"usage":            `{"input_tokens":9,"input_tokens_details":{"cached_tokens":3},"output_tokens":4,"output_tokens_details":{"reasoning_tokens":2},"total_tokens":13}`,
				"llmgate":          `{"request_id":"r1","cost_usd":0.5}`,
			},
			check: func(t *testing.T, evs []event) {
				// Same fields as OpenAI's own reasoning summary events.
				rec := parseEvents(t, fixture(t, "responses-stream-reasoning-summary.sse"))
				for _, e := range evs {
					if !strings.Contains(e.name, "reasoning_summary") {
						continue
					}
					for _, r := range rec {
						if r.name == e.name {
							if miss := missingKeys(e.data, r.data); len(miss) > 0 && !(len(miss) == 1 && miss[0] == "obfuscation") {
								t.Errorf("%s lacks %v", e.name, miss)
							}
							break
						}
					}
				}
			},
		},
		{
			name:   "length cut-off ends in response.incomplete",
			chat:   frames(role, text(`"Once upon"`), finish("length"), usage, "[DONE]"),
			events: []string{"response.created", "response.in_progress", "response.output_item.added", "response.content_part.added", "response.output_text.delta", "response.output_text.done", "response.content_part.done", "response.output_item.done", "response.incomplete"},
			final: map[string]string{
				"status":                  `"incomplete"`,
				"incomplete_details":      `{"reason":"max_output_tokens"}`,
				"output.0.status":         `"incomplete"`,
				"output.0.content.0.text": `"Once upon"`,
			},
		},
		{
			name:  "content filter ends in response.incomplete",
			chat:  frames(role, finish("content_filter"), usage, "[DONE]"),
			final: map[string]string{"status": `"incomplete"`, "incomplete_details": `{"reason":"content_filter"}`, "output": "[]"},
		},
		{
			name:   "no usage chunk: metadata on the finish chunk ends the stream there",
			chat:   frames(role, text(`"hi"`), `{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"llmgate":{"request_id":"r2"}}`),
			events: nil,
			final:  map[string]string{"status": `"completed"`, "usage": "null", "llmgate": `{"request_id":"r2"}`},
		},
		{
			name:  "no usage chunk and no metadata: [DONE] ends the stream",
			chat:  frames(role, text(`"hi"`), finish("stop"), "[DONE]"),
			final: map[string]string{"status": `"completed"`, "usage": "null", "output.0.content.0.text": `"hi"`},
		},
		{
			name: "upstream failure mid-stream",
			chat: frames(role, text(`"partial"`),
				`{"error":{"message":"upstream went away","type":"upstream_error","code":"stream_interrupted"},"llmgate":{"request_id":"r3"}}`,
				"[DONE]", text(`"ignored"`)),
			events: []string{"response.created", "response.in_progress", "response.output_item.added", "response.content_part.added", "response.output_text.delta", "error", "response.failed"},
			failed: true,
			final: map[string]string{
				"status":                  `"failed"`,
				"error":                   `{"code":"stream_interrupted","message":"upstream went away"}`,
				"llmgate":                 `{"request_id":"r3"}`,
				"output.0.status":         `"incomplete"`,
				"output.0.content.0.text": `"partial"`,
			},
			check: func(t *testing.T, evs []event) {
				e := evs[len(evs)-2].data
				for path, want := range map[string]string{"code": `"stream_interrupted"`, "message": `"upstream went away"`, "param": "null", "error.message": `"upstream went away"`, "error.type": `"upstream_error"`} {
					if g := e.Get(path).Raw; g != want {
						t.Errorf("error event %s = %s, want %s", path, g, want)
					}
				}
				var u responses.ResponseStreamEventUnion
				_ = json.Unmarshal([]byte(e.Raw), &u)
				if ev := u.AsError(); ev.Code != "stream_interrupted" || ev.Message != "upstream went away" {
					t.Errorf("SDK error event = %+v", ev)
				}
			},
		},
		{
			name: "refusal streams as a refusal part",
			chat: fixture(t, "chat-stream-refusal-usage.sse"),
			events: []string{"response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
				"response.refusal.delta", "response.refusal.done", "response.content_part.done", "response.output_item.done", "response.completed"},
			final: map[string]string{"output.0.content.#.type": `["refusal"]`},
		},
		{
			name: "logprobs ride along with the text",
			chat: fixture(t, "chat-stream-logprobs-usage.sse"),
			check: func(t *testing.T, evs []event) {
				for _, e := range evs {
					if e.name == "response.output_text.delta" && e.data.Get("logprobs.0.token").String() != e.data.Get("delta").String() {
						t.Errorf("delta without its logprob: %s", e.data.Raw)
					}
					if e.name == "response.output_text.done" && !e.data.Get("logprobs.0.logprob").Exists() {
						t.Errorf("done without logprobs: %s", e.data.Raw)
					}
				}
			},
		},
		{
			name:   "keep-alive comments pass through, after created",
			chat:   frames(": keep-alive", role, ": keep-alive", text(`"x"`), finish("stop"), usage, "[DONE]", ": late"),
			events: []string{"response.created", "response.in_progress", ":", ":", "response.output_item.added", "response.content_part.added", "response.output_text.delta", "response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"},
		},
		{
			name: "complete calls all sent at index 0 stay separate",
			chat: frames(
				`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]}}]}`,
				`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c2","type":"function","function":{"name":"g","arguments":"{\"a\":1}"}}]}}]}`,
				finish("tool_calls"), "[DONE]"),
			final: map[string]string{"output.#.call_id": `["c1","c2"]`, "output.#.arguments": `["{}","{\"a\":1}"]`},
		},
		{
			name:  "choices other than 0 are ignored",
			chat:  frames(text(`"zero"`), `{"choices":[{"index":1,"delta":{"content":"one"}}]}`, finish("stop"), "[DONE]"),
			final: map[string]string{"output.0.content.0.text": `"zero"`},
		},
		{
			name: "text after reasoning after text opens new items",
			chat: frames(text(`"a"`), `{"choices":[{"index":0,"delta":{"reasoning_content":"r"}}]}`, text(`"b"`), finish("stop"), "[DONE]"),
			final: map[string]string{
				"output.#.type":           `["message","reasoning","message"]`,
				"output.#.status":         `["completed","completed"]`,
				"output.2.content.0.text": `"b"`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, sw := run(t, tt.chat, []byte(`{"model":"m","input":"x","stream":true}`), 0)
			evs := parseEvents(t, out)
			if tt.events != nil {
				if got := names(evs); !slices.Equal(got, tt.events) {
					t.Fatalf("events\n got %v\nwant %v", got, tt.events)
				}
			}
			final := checkStream(t, evs, sw)
			for path, want := range tt.final {
				if g := final.Get(path).Raw; g != want {
					t.Errorf("%s = %s, want %s", path, g, want)
				}
			}
			if sw.Failed() != tt.failed {
				t.Errorf("Failed() = %v", sw.Failed())
			}
			if tt.check != nil {
				tt.check(t, evs)
			}
		})
	}
}

// Frames split anywhere (inside "data:", inside JSON, inside a multi-byte
// character, between \r and \n) translate exactly as whole frames do.
func TestStreamSplitWrites(t *testing.T) {
	crlf := bytes.ReplaceAll(fixture(t, "chat-stream-text-usage.sse"), []byte("\n"), []byte("\r\n"))
	utf := frames(`{"choices":[{"index":0,"delta":{"content":"héllo — ✓"}}]}`, `{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`, "[DONE]")
	for name, chat := range map[string][]byte{
		"text":     fixture(t, "chat-stream-text-usage.sse"),
		"parallel": fixture(t, "chat-stream-parallel-tool-calls-usage.sse"),
		"crlf":     crlf,
		"utf8":     utf,
	} {
		t.Run(name, func(t *testing.T) {
			req := []byte(`{"model":"m","input":"x","stream":true}`)
			whole, _ := run(t, chat, req, 0)
			for _, n := range []int{1, 2, 7, 64} {
				split, sw := run(t, chat, req, n)
				if normalizeIDs(split) != normalizeIDs(whole) {
					t.Fatalf("%d-byte writes differ from one write:\n%s\n---\n%s", n, split, whole)
				}
				checkStream(t, parseEvents(t, split), sw)
			}
		})
	}
}

// recorder keeps each Write separately.
type recorder struct{ writes []string }

func (r *recorder) Write(p []byte) (int, error) {
	r.writes = append(r.writes, string(p))
	return len(p), nil
}

// Nothing is held back: created/in_progress go out on the first byte, and
// each frame's events go out in the Write that completes the frame.
func TestStreamIsNotDelayed(t *testing.T) {
	var rec recorder
	sw := NewStreamWriter(&rec, []byte(`{"model":"m","input":"x"}`), testMeta)
	write := func(s string) []event {
		t.Helper()
		before := len(rec.writes)
		if _, err := sw.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
		return parseEvents(t, []byte(strings.Join(rec.writes[before:], "")))
	}
	if evs := write(`data: {"choices":[{"index":0,"delta":{"role":"assistant",`); len(evs) != 2 || evs[1].name != "response.in_progress" {
		t.Fatalf("first write produced %v", names(evs))
	}
	if evs := write(`"content":""}}]}` + "\n"); len(evs) != 0 {
		t.Fatalf("incomplete frame produced %v", names(evs))
	}
	if evs := write("\n" + `data: {"choices":[{"index":0,"delta":{"content":"Hi"}}]}` + "\n\n"); len(evs) != 3 || evs[2].data.Get("delta").String() != "Hi" {
		t.Fatalf("content frame produced %v", names(evs))
	}
	if evs := write("data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"); names(evs)[len(evs)-1] != "response.output_item.done" {
		t.Fatalf("finish frame produced %v", names(evs))
	}
	if sw.Response() != nil {
		t.Fatal("Response() before the terminal event")
	}
	if evs := write("data: [DONE]\n\n"); len(evs) != 1 || evs[0].name != "response.completed" {
		t.Fatalf("[DONE] produced %v", names(evs))
	}
	if sw.Response() == nil {
		t.Fatal("no Response() after the terminal event")
	}
}

type failWriter struct{ n int }

var errBroken = errors.New("broken pipe")

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errBroken
	}
	f.n--
	return len(p), nil
}

// A client that went away stops the relay: Write reports the writer's error.
func TestStreamWriteError(t *testing.T) {
	sw := NewStreamWriter(&failWriter{n: 1}, []byte(`{"model":"m","input":"x"}`), testMeta)
	if _, err := sw.Write([]byte(`data: {"choices":[{"index":0,"delta":{"content":"a"}}]}` + "\n\n")); !errors.Is(err, errBroken) {
		t.Fatalf("err = %v, want the writer's error", err)
	}
	if _, err := sw.Write([]byte("data: [DONE]\n\n")); !errors.Is(err, errBroken) {
		t.Fatalf("later err = %v, want the writer's error", err)
	}
}
