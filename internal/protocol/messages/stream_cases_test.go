package messages

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// Chat SSE frames as the gateway's relay writes them.
func chunk(delta string) string {
	return `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":` + delta + `,"finish_reason":null}]}` + "\n\n"
}

func finishChunk(reason, extra string) string {
	return `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"` + reason + `"}]` + extra + "}\n\n"
}

func usageChunk(prompt, completion int, extra string) string {
	return fmt.Sprintf(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":%d,"completion_tokens":%d}%s}`+"\n\n", prompt, completion, extra)
}

func toolChunk(calls string) string { return chunk(`{"tool_calls":` + calls + `}`) }

const (
	done        = "data: [DONE]\n\n"
	meta        = `"llmgate":{"request_id":"req_1","provider":"openai","model":"gpt-4o","attempts":1,"cost_usd":0.0012}`
	streamError = `data: {"error":{"message":"upstream connection reset","type":"upstream_error","code":"stream_interrupted"}}` + "\n\n"
	first       = `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}` + "\n\n"
)

func TestStreamCases(t *testing.T) {
	ref := referenceEvents(t)
	tests := []struct {
		name  string
		chat  string
		sigs  []string // collapsed, without pings; nil: not checked
		want  answer   // fields compared when set
		check func(t *testing.T, evs []sseEvent, out string)
	}{
		{
			name: "length becomes max_tokens",
			chat: first + chunk(`{"content":"Once upon"}`) + finishChunk("length", "") + usageChunk(5, 2, "") + done,
			want: answer{text: "Once upon", stop: "max_tokens", usage: `{"input_tokens":5,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":2}`},
		},
		{
			name: "content_filter becomes refusal",
			chat: first + chunk(`{"content":"I can"}`) + finishChunk("content_filter", "") + usageChunk(5, 2, "") + done,
			want: answer{text: "I can", stop: "refusal"},
		},
		{
			name: "cache reads and writes leave input_tokens",
			chat: first + chunk(`{"content":"hi"}`) + finishChunk("stop", "") +
				`data: {"choices":[],"usage":{"prompt_tokens":1000,"completion_tokens":7,"prompt_tokens_details":{"cached_tokens":600,"cache_write_tokens":300},"completion_tokens_details":{"reasoning_tokens":3}}}` + "\n\n" + done,
			want: answer{text: "hi", stop: "end_turn", usage: `{"input_tokens":100,"cache_creation_input_tokens":300,"cache_read_input_tokens":600,"output_tokens":7}`},
		},
		{
			name: "llmgate on the usage chunk rides on message_delta",
			chat: first + chunk(`{"content":"hi"}`) + finishChunk("stop", "") + usageChunk(5, 1, ","+meta) + done,
			want: answer{text: "hi", stop: "end_turn"},
			check: func(t *testing.T, evs []sseEvent, _ string) {
				md := withoutPings(evs)[len(withoutPings(evs))-2]
				if got := md.Data.Get("llmgate"); !sameJSON(got.Raw, meta[len(`"llmgate":`):]) {
					t.Errorf("message_delta llmgate = %s", got.Raw)
				}
			},
		},
		{
			name: "no usage chunk: message_delta at [DONE] with the estimate and llmgate",
			chat: first + chunk(`{"content":"hi"}`) + finishChunk("stop", ","+meta) + done,
			want: answer{text: "hi", stop: "end_turn", usage: `{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}`},
			check: func(t *testing.T, evs []sseEvent, _ string) {
				if !withoutPings(evs)[len(withoutPings(evs))-2].Data.Get("llmgate.request_id").Exists() {
					t.Error("llmgate from the finish chunk was lost")
				}
			},
		},
		{
			name: "usage on the finish chunk ends the message there",
			chat: first + chunk(`{"content":"hi"}`) +
				`data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":4},` + meta + "}\n\n" +
				usageChunk(1, 1, "") + done,
			want: answer{text: "hi", stop: "end_turn", usage: `{"input_tokens":9,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":4}`},
		},
		{
			name: "cumulative usage before the finish does not end the message",
			chat: first + `data: {"choices":[{"index":0,"delta":{"content":"a"}}],"usage":{"prompt_tokens":9,"completion_tokens":1}}` + "\n\n" +
				chunk(`{"content":"b"}`) + finishChunk("stop", "") + usageChunk(9, 2, "") + done,
			want: answer{text: "ab", stop: "end_turn", usage: `{"input_tokens":9,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":2}`},
		},
		{
			name: "[DONE] without a finish_reason",
			chat: first + chunk(`{"content":"hi"}`) + done,
			sigs: []string{"message_start", "content_block_start/text", "content_block_delta/text_delta", "content_block_stop", "message_delta", "message_stop"},
			want: answer{text: "hi", stop: "end_turn"},
		},
		{
			name: "reasoning then text: a thinking block, then a text block",
			chat: first + chunk(`{"reasoning_content":"Let me"}`) + chunk(`{"reasoning_content":" think."}`) +
				chunk(`{"content":"Done."}`) + finishChunk("stop", "") + usageChunk(5, 9, "") + done,
			sigs: []string{"message_start", "content_block_start/thinking", "content_block_delta/thinking_delta", "content_block_stop",
				"content_block_start/text", "content_block_delta/text_delta", "content_block_stop", "message_delta", "message_stop"},
			want: answer{thinking: "Let me think.", text: "Done.", stop: "end_turn"},
		},
		{
			name: "reasoning under OpenRouter's name",
			chat: first + chunk(`{"reasoning":"hmm"}`) + chunk(`{"content":"ok"}`) + finishChunk("stop", "") + done,
			want: answer{thinking: "hmm", text: "ok", stop: "end_turn"},
		},
		{
			name: "text then a tool call",
			chat: first + chunk(`{"content":"Checking."}`) +
				toolChunk(`[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]`) +
				toolChunk(`[{"index":0,"function":{"arguments":"{\"city\":"}}]`) + toolChunk(`[{"index":0,"function":{"arguments":"\"SF\"}"}}]`) +
				finishChunk("tool_calls", "") + usageChunk(5, 9, "") + done,
			sigs: collapse(signatures(withoutPings(parseEvents(t, fixture(t, "anthropic/messages-stream-text-tool-use.sse"))))),
			want: answer{text: "Checking.", stop: "tool_use", tools: []toolUse{{"call_1", "get_weather", `{"city":"SF"}`}}},
		},
		{
			name: "finish stop with tool calls reports tool_use",
			chat: first + toolChunk(`[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]`) + finishChunk("stop", "") + done,
			want: answer{stop: "tool_use", tools: []toolUse{{"call_1", "f", `{}`}}},
		},
		{
			name: "calls whole in one chunk",
			chat: first + toolChunk(`[{"index":0,"id":"a","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}},{"index":1,"id":"b","type":"function","function":{"name":"g","arguments":"{\"y\":2}"}}]`) +
				finishChunk("tool_calls", "") + done,
			want: answer{stop: "tool_use", tools: []toolUse{{"a", "f", `{"x":1}`}, {"b", "g", `{"y":2}`}}},
		},
		{
			name: "interleaved calls: later call waits, nothing is lost",
			chat: first +
				toolChunk(`[{"index":0,"id":"a","type":"function","function":{"name":"f","arguments":""}}]`) +
				toolChunk(`[{"index":1,"id":"b","type":"function","function":{"name":"g","arguments":""}}]`) +
				toolChunk(`[{"index":0,"function":{"arguments":"{\"x\":"}}]`) +
				toolChunk(`[{"index":1,"function":{"arguments":"{\"y\":"}}]`) +
				toolChunk(`[{"index":0,"function":{"arguments":"1}"}}]`) +
				toolChunk(`[{"index":1,"function":{"arguments":"2}"}}]`) +
				finishChunk("tool_calls", "") + done,
			want: answer{stop: "tool_use", tools: []toolUse{{"a", "f", `{"x":1}`}, {"b", "g", `{"y":2}`}}},
		},
		{
			name: "interleaved calls never completing are flushed at the finish",
			chat: first +
				toolChunk(`[{"index":0,"id":"a","type":"function","function":{"name":"f","arguments":"{\"x\":"}}]`) +
				toolChunk(`[{"index":1,"id":"b","type":"function","function":{"name":"g","arguments":"{\"y\":2}"}}]`) +
				finishChunk("length", "") + done,
			check: func(t *testing.T, evs []sseEvent, out string) {
				if !strings.Contains(out, `"partial_json":"{\"y\":2}"`) || !strings.Contains(out, `"partial_json":"{\"x\":"`) {
					t.Errorf("fragments lost:\n%s", out)
				}
			},
		},
		{
			name: "a call without an id gets a toolu_ id",
			chat: first + toolChunk(`[{"index":0,"type":"function","function":{"name":"f","arguments":"{}"}}]`) + finishChunk("tool_calls", "") + done,
			check: func(t *testing.T, evs []sseEvent, _ string) {
				for _, e := range evs {
					if signature(e) == "content_block_start/tool_use" && !strings.HasPrefix(e.Data.Get("content_block.id").Str, "toolu_") {
						t.Errorf("id = %q", e.Data.Get("content_block.id").Str)
					}
				}
			},
		},
		{
			name: "keep-alive comments become pings",
			chat: ": keep-alive\n\n" + first + chunk(`{"content":"hi"}`) + ": keep-alive\n\n" + finishChunk("stop", "") + done,
			want: answer{text: "hi", stop: "end_turn"},
			check: func(t *testing.T, evs []sseEvent, _ string) {
				if got := []string{evs[0].Name, evs[1].Name}; !reflect.DeepEqual(got, []string{"message_start", "ping"}) {
					t.Errorf("first events %v, want message_start then ping", got)
				}
				if !strings.Contains(fmt.Sprint(signatures(evs)), "content_block_delta/text_delta ping") {
					t.Errorf("mid-stream ping missing: %v", signatures(evs))
				}
			},
		},
		{
			name: "a frame that is not JSON is skipped",
			chat: first + "data: {\"usage\"{)0\"llmgate\"{0\n\n" + chunk(`{"content":"hi"}`) + finishChunk("stop", "") + done,
			want: answer{text: "hi", stop: "end_turn"},
		},
		{
			name: "a multi-line data field",
			chat: first + "data: {\"choices\":[{\"index\":0,\n" + `data: "delta":{"content":"hi"}}],` + "\n" + "data: " + meta + "}\n\n" + done,
			want: answer{text: "hi", stop: "end_turn"},
			check: func(t *testing.T, evs []sseEvent, _ string) {
				if !withoutPings(evs)[len(withoutPings(evs))-2].Data.Get("llmgate.request_id").Exists() {
					t.Error("llmgate lost")
				}
			},
		},
		{
			name: "text with characters JSON escapes",
			chat: first + chunk(`{"content":"line\n\"quoted\" <b>&</b> \u00e9 \ud83d\ude00"}`) + finishChunk("stop", "") + done,
			want: answer{text: "line\n\"quoted\" <b>&</b> é 😀", stop: "end_turn"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := translate(t, []byte(tt.chat), testMeta, nil)
			evs := parseEvents(t, out)
			checkStream(t, evs, ref)
			if tt.sigs != nil {
				if got := collapse(signatures(withoutPings(evs))); !reflect.DeepEqual(got, tt.sigs) {
					t.Errorf("events:\n got %v\nwant %v", got, tt.sigs)
				}
			}
			a := assemble(t, evs)
			w := tt.want
			if (w.text != "" && a.text != w.text) || (w.thinking != "" && a.thinking != w.thinking) ||
				(w.stop != "" && a.stop != w.stop) || (w.usage != "" && a.usage != w.usage) {
				t.Errorf("got text %q thinking %q stop %q usage %s\nwant text %q thinking %q stop %q usage %s",
					a.text, a.thinking, a.stop, a.usage, w.text, w.thinking, w.stop, w.usage)
			}
			if w.tools != nil {
				for i := range w.tools {
					w.tools[i].input = mustJSON(t, w.tools[i].input)
				}
				if !reflect.DeepEqual(a.tools, w.tools) {
					t.Errorf("tools:\n got %+v\nwant %+v", a.tools, w.tools)
				}
			}
			if tt.check != nil {
				tt.check(t, evs, string(out))
			}
		})
	}
}

// TestStreamErrors: a failed stream ends with Anthropic's error event and
// nothing after it, shaped like the documented one.
func TestStreamErrors(t *testing.T) {
	rec := parseEvents(t, fixture(t, "anthropic/messages-stream-error-overloaded.sse"))[0]
	tests := []struct {
		name, chat, wantType, wantMsg string
		wantEvents                    int // events before the error
	}{
		{"mid-stream", first + chunk(`{"content":"par"}`) + streamError + done, "api_error", "upstream connection reset", 3},
		{"overloaded", first + `data: {"error":{"message":"The model is overloaded, try later","type":"upstream_error","code":"stream_interrupted"}}` + "\n\n" + done,
			"overloaded_error", "The model is overloaded, try later", 1},
		{"before anything else", streamError + done, "api_error", "upstream connection reset", 0},
		{"after the finish", first + chunk(`{"content":"x"}`) + finishChunk("stop", "") + streamError + done, "api_error", "upstream connection reset", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs := parseEvents(t, translate(t, []byte(tt.chat), testMeta, nil))
			last := evs[len(evs)-1]
			if last.Name != "error" || len(evs) != tt.wantEvents+1 {
				t.Fatalf("events %v: want %d events then error", signatures(evs), tt.wantEvents)
			}
			assertShape(t, "error", last.Data, rec.Data)
			if last.Data.Get("error.type").Str != tt.wantType || last.Data.Get("error.message").Str != tt.wantMsg {
				t.Errorf("error = %s", last.Data.Raw)
			}
			if tt.wantEvents > 0 && evs[0].Name != "message_start" {
				t.Errorf("first event %s", evs[0].Name)
			}
		})
	}
}

// TestStreamSplits: the output does not depend on how the input was cut
// into Writes, nor on CRLF line ends.
func TestStreamSplits(t *testing.T) {
	inputs := map[string][]byte{
		"text":     fixture(t, "openai/chat-stream-text-usage.sse"),
		"parallel": fixture(t, "openai/chat-stream-parallel-tool-calls-usage.sse"),
		"thinking": anthropicToChat(t, parseEvents(t, fixture(t, "anthropic/messages-stream-thinking.sse"))),
		"error":    []byte(first + chunk(`{"content":"é😀"}`) + ": ping\n\n" + streamError + done),
	}
	for name, in := range inputs {
		want := translate(t, in, testMeta, nil)
		cuts := map[string]func([]byte) [][]byte{"byte by byte": byteByByte, "random 1": randomCuts(1), "random 2": randomCuts(2)}
		for cname, cut := range cuts {
			if got := translate(t, in, testMeta, cut); !bytes.Equal(got, want) {
				t.Errorf("%s, %s: output differs from a single Write\n got %q\nwant %q", name, cname, got, want)
			}
		}
		crlf := bytes.ReplaceAll(in, []byte("\n"), []byte("\r\n"))
		if got := translate(t, crlf, testMeta, randomCuts(3)); !bytes.Equal(got, want) {
			t.Errorf("%s, CRLF: output differs\n got %q\nwant %q", name, got, want)
		}
	}
}

// recorder records each Write separately.
type recorder struct {
	writes []string
	err    error
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	r.writes = append(r.writes, string(p))
	return len(p), nil
}

// TestStreamWritesEachFrameAtOnce: a frame's translation reaches the
// client in the Write that completes the frame, never later, and a partial
// frame writes nothing.
func TestStreamWritesEachFrameAtOnce(t *testing.T) {
	var r recorder
	s := NewStreamWriter(&r, testMeta)
	steps := []struct {
		in   string
		want []string // event names written by this step
	}{
		{first, []string{"message_start"}},
		{chunk(`{"content":"Hel"}`)[:20], nil},
		{chunk(`{"content":"Hel"}`)[20:], []string{"content_block_start", "content_block_delta"}},
		{chunk(`{"content":"lo"}`) + ": keep-alive\n", []string{"content_block_delta"}},
		{"\n", []string{"ping"}},
		{finishChunk("stop", ""), []string{"content_block_stop"}},
		{usageChunk(3, 2, ","+meta), []string{"message_delta", "message_stop"}},
		{done, nil},
	}
	for i, st := range steps {
		before := len(r.writes)
		if n, err := s.Write([]byte(st.in)); err != nil || n != len(st.in) {
			t.Fatalf("step %d: Write = %d, %v", i, n, err)
		}
		var got []string
		for _, w := range r.writes[before:] {
			for _, e := range parseEvents(t, []byte(w)) {
				got = append(got, e.Name)
			}
		}
		if !reflect.DeepEqual(got, st.want) {
			t.Errorf("step %d (%q): wrote %v, want %v", i, st.in, got, st.want)
		}
	}
}

func TestStreamWriteError(t *testing.T) {
	boom := errors.New("client went away")
	r := &recorder{}
	s := NewStreamWriter(r, testMeta)
	if _, err := s.Write([]byte(first)); err != nil {
		t.Fatal(err)
	}
	r.err = boom
	if _, err := s.Write([]byte(chunk(`{"content":"x"}`))); !errors.Is(err, boom) {
		t.Fatalf("Write error = %v, want %v", err, boom)
	}
	if _, err := s.Write([]byte(done)); !errors.Is(err, boom) {
		t.Fatalf("later Write error = %v, want %v", err, boom)
	}
}
