package messages

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

var testMeta = Meta{ID: "msg_gateway0000000000000001", Model: "gpt-4o-2024-08-06", InputTokens: 12}

// translate feeds chat SSE to a StreamWriter, split into pieces by cut
// (nil: one Write), and returns what it wrote.
func translate(t testing.TB, chat []byte, m Meta, cut func([]byte) [][]byte) []byte {
	t.Helper()
	var out bytes.Buffer
	s := NewStreamWriter(&out, m)
	pieces := [][]byte{chat}
	if cut != nil {
		pieces = cut(chat)
	}
	for _, p := range pieces {
		if n, err := s.Write(p); err != nil || n != len(p) {
			t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(p))
		}
	}
	return out.Bytes()
}

func byteByByte(b []byte) [][]byte {
	out := make([][]byte, len(b))
	for i := range b {
		out[i] = b[i : i+1]
	}
	return out
}

func randomCuts(seed uint64) func([]byte) [][]byte {
	return func(b []byte) [][]byte {
		r := rand.New(rand.NewPCG(seed, seed))
		var out [][]byte
		for len(b) > 0 {
			n := min(1+r.IntN(40), len(b))
			out = append(out, b[:n])
			b = b[n:]
		}
		return out
	}
}

// anthropicToChat rebuilds, from a recorded Anthropic stream, the chat SSE
// the gateway's relay would write for the same answer had it come from a
// chat upstream (providers/anthropic's mapping, done here independently):
// text_delta → content, thinking_delta → reasoning_content, tool_use
// blocks → tool_calls counted from 0, message_delta → a finish chunk and
// a usage chunk, message_stop → [DONE], ping → a keep-alive comment.
func anthropicToChat(t testing.TB, evs []sseEvent) []byte {
	t.Helper()
	var b strings.Builder
	chunk := func(delta string) {
		fmt.Fprintf(&b, `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":%s,"finish_reason":null}]}`+"\n\n", delta)
	}
	tool := -1
	for _, e := range evs {
		d := e.Data
		switch signature(e) {
		case "ping":
			b.WriteString(": keep-alive\n\n")
		case "message_start":
			chunk(`{"role":"assistant","content":""}`)
		case "content_block_start/tool_use":
			tool++
			chunk(fmt.Sprintf(`{"tool_calls":[{"index":%d,"id":%s,"type":"function","function":{"name":%s,"arguments":""}}]}`,
				tool, d.Get("content_block.id").Raw, d.Get("content_block.name").Raw))
		case "content_block_delta/input_json_delta":
			chunk(fmt.Sprintf(`{"tool_calls":[{"index":%d,"function":{"arguments":%s}}]}`, tool, d.Get("delta.partial_json").Raw))
		case "content_block_delta/text_delta":
			chunk(`{"content":` + d.Get("delta.text").Raw + `}`)
		case "content_block_delta/thinking_delta":
			chunk(`{"reasoning_content":` + d.Get("delta.thinking").Raw + `}`)
		case "message_delta":
			finish := map[string]string{"end_turn": "stop", "tool_use": "tool_calls", "max_tokens": "length"}[d.Get("delta.stop_reason").Str]
			fmt.Fprintf(&b, `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":%q}]}`+"\n\n", finish)
			u := d.Get("usage")
			cr, cw := u.Get("cache_read_input_tokens").Int(), u.Get("cache_creation_input_tokens").Int()
			fmt.Fprintf(&b, `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":%d,"completion_tokens":%d,"prompt_tokens_details":{"cached_tokens":%d,"cache_write_tokens":%d}}}`+"\n\n",
				u.Get("input_tokens").Int()+cr+cw, u.Get("output_tokens").Int(), cr, cw)
		case "message_stop":
			b.WriteString("data: [DONE]\n\n")
		}
	}
	return []byte(b.String())
}

// TestStreamReproducesAnthropicRecordings replays recorded Anthropic
// answers through a chat upstream's shape and checks that the client gets
// the recording back: the same events in the same order with the same
// keys and values. The only differences allowed are the ones chat cannot
// carry: the thinking signature (no signature_delta), pings' positions,
// and Anthropic-only fields (optionalKeys).
func TestStreamReproducesAnthropicRecordings(t *testing.T) {
	for _, name := range []string{
		"messages-stream-text-tool-use.sse",
		"messages-stream-parallel-tool-use.sse",
		"messages-stream-thinking.sse",
	} {
		t.Run(name, func(t *testing.T) {
			rec := parseEvents(t, fixture(t, "anthropic/"+name))
			start := rec[0].Data.Get("message")
			m := Meta{ID: start.Get("id").Str, Model: start.Get("model").Str, InputTokens: start.Get("usage.input_tokens").Int()}
			got := withoutPings(parseEvents(t, translate(t, anthropicToChat(t, rec), m, nil)))

			var want []sseEvent
			for _, e := range withoutPings(rec) {
				if signature(e) != "content_block_delta/signature_delta" {
					want = append(want, e)
				}
			}
			if g, w := signatures(got), signatures(want); !reflect.DeepEqual(g, w) {
				t.Fatalf("events:\n got %v\nwant %v", g, w)
			}
			for i := range got {
				g, w := got[i].Data, want[i].Data
				where := fmt.Sprintf("event %d (%s)", i, signature(got[i]))
				assertShape(t, where, g, w)
				switch got[i].Name {
				case "message_start":
					for _, p := range []string{"message.id", "message.model", "message.usage.input_tokens", "message.content", "message.stop_reason"} {
						if g.Get(p).Raw != w.Get(p).Raw {
							t.Errorf("%s: %s = %s, want %s", where, p, g.Get(p).Raw, w.Get(p).Raw)
						}
					}
				case "content_block_start":
					if !sameJSON(g.Get("content_block").Raw, dropKeys(w.Get("content_block").Raw, "caller")) || g.Get("index").Int() != w.Get("index").Int() {
						t.Errorf("%s: got %s, want %s", where, g.Raw, w.Raw)
					}
				case "content_block_delta", "content_block_stop":
					if !sameJSON(g.Raw, w.Raw) {
						t.Errorf("%s: got %s, want %s", where, g.Raw, w.Raw)
					}
				case "message_delta":
					if g.Get("delta.stop_reason").Str != w.Get("delta.stop_reason").Str || !sameJSON(g.Get("usage").Raw, dropKeys(w.Get("usage").Raw, "server_tool_use")) {
						t.Errorf("%s: got %s, want %s", where, g.Raw, w.Raw)
					}
				}
			}
		})
	}
}

// dropKeys removes top-level keys from a JSON object.
func dropKeys(obj string, ks ...string) string {
	r := gjson.Parse(obj)
	var b strings.Builder
	b.WriteByte('{')
	n := 0
	r.ForEach(func(k, v gjson.Result) bool {
		for _, d := range ks {
			if k.Str == d {
				return true
			}
		}
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		b.WriteString(k.Raw + ":" + v.Raw)
		return true
	})
	b.WriteByte('}')
	return b.String()
}

// referenceEvents indexes the recorded Anthropic events by signature, the
// shapes every translated event must match.
func referenceEvents(t testing.TB) map[string]gjson.Result {
	ref := map[string]gjson.Result{}
	for _, name := range []string{"messages-stream-text-tool-use.sse", "messages-stream-parallel-tool-use.sse", "messages-stream-thinking.sse", "messages-stream-error-overloaded.sse"} {
		for _, e := range parseEvents(t, fixture(t, "anthropic/"+name)) {
			if _, ok := ref[signature(e)]; !ok {
				ref[signature(e)] = e.Data
			}
		}
	}
	return ref
}

// answer is what a client assembles from the events.
type answer struct {
	text, thinking string
	tools          []toolUse
	stop           string
	usage          string
}

type toolUse struct{ id, name, input string }

func assemble(t testing.TB, evs []sseEvent) answer {
	t.Helper()
	var a answer
	var args []string
	open := -1
	for i, e := range evs {
		d := e.Data
		switch e.Name {
		case "content_block_start":
			if open >= 0 {
				t.Fatalf("event %d: block %d starts while block %d is open", i, d.Get("index").Int(), open)
			}
			open = int(d.Get("index").Int())
			if d.Get("content_block.type").Str == "tool_use" {
				a.tools = append(a.tools, toolUse{id: d.Get("content_block.id").Str, name: d.Get("content_block.name").Str})
				args = append(args, "")
			}
		case "content_block_delta":
			if int(d.Get("index").Int()) != open {
				t.Fatalf("event %d: delta for block %d while block %d is open", i, d.Get("index").Int(), open)
			}
			switch d.Get("delta.type").Str {
			case "text_delta":
				a.text += d.Get("delta.text").Str
			case "thinking_delta":
				a.thinking += d.Get("delta.thinking").Str
			case "input_json_delta":
				args[len(args)-1] += d.Get("delta.partial_json").Str
			}
		case "content_block_stop":
			if int(d.Get("index").Int()) != open {
				t.Fatalf("event %d: stop for block %d while block %d is open", i, d.Get("index").Int(), open)
			}
			open = -1
		case "message_delta":
			a.stop, a.usage = d.Get("delta.stop_reason").Str, d.Get("usage").Raw
		}
	}
	for i := range a.tools {
		a.tools[i].input = args[i]
		if gjson.Valid(args[i]) {
			a.tools[i].input = mustJSON(t, args[i])
		}
	}
	return a
}

// checkStream checks what every Anthropic client relies on: message_start
// first; blocks one at a time with indexes 0, 1, 2…; message_delta then
// message_stop last; every event shaped like a recorded one.
func checkStream(t testing.TB, evs []sseEvent, ref map[string]gjson.Result) {
	t.Helper()
	if len(evs) == 0 || evs[0].Name != "message_start" {
		t.Fatalf("stream does not begin with message_start: %v", signatures(evs))
	}
	next := 0
	for i, e := range evs {
		w, ok := ref[signature(e)]
		if !ok {
			t.Errorf("event %d: %s has no recorded counterpart", i, signature(e))
		} else {
			assertShape(t, fmt.Sprintf("event %d (%s)", i, signature(e)), e.Data, w)
		}
		if e.Name == "content_block_start" {
			if got := e.Data.Get("index").Int(); got != int64(next) {
				t.Errorf("event %d: block index %d, want %d", i, got, next)
			}
			next++
		}
	}
	s := withoutPings(evs)
	if n := len(s); n < 3 || s[n-2].Name != "message_delta" || s[n-1].Name != "message_stop" {
		t.Errorf("stream does not end with message_delta, message_stop: %v", signatures(evs))
	}
}

// TestStreamOpenAIRecordings translates recorded OpenAI chat streams.
func TestStreamOpenAIRecordings(t *testing.T) {
	ref := referenceEvents(t)
	parallel := collapse(signatures(withoutPings(parseEvents(t, fixture(t, "anthropic/messages-stream-parallel-tool-use.sse")))))
	textOnly := []string{"message_start", "content_block_start/text", "content_block_delta/text_delta", "content_block_stop", "message_delta", "message_stop"}
	toolOnly := []string{"message_start", "content_block_start/tool_use", "content_block_delta/input_json_delta", "content_block_stop", "message_delta", "message_stop"}
	tests := []struct {
		file  string
		sigs  []string
		want  answer
		check func(t *testing.T, a answer)
	}{
		{
			file: "chat-stream-text-usage.sse",
			sigs: textOnly,
			want: answer{stop: "end_turn", usage: `{"input_tokens":14,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":30}`},
			check: func(t *testing.T, a answer) {
				if !strings.HasPrefix(a.text, "I'm unable to provide real-time weather updates.") {
					t.Errorf("text = %q", a.text)
				}
			},
		},
		{
			file: "chat-stream-tool-call-usage.sse",
			sigs: toolOnly,
			want: answer{stop: "tool_use", usage: `{"input_tokens":44,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":16}`,
				tools: []toolUse{{"call_4XzlGBLtUe9dy3GVNV4jhq7h", "get_weather", `{"city":"New York City"}`}}},
		},
		{
			file: "chat-stream-parallel-tool-calls-usage.sse",
			sigs: parallel,
			want: answer{stop: "tool_use", usage: `{"input_tokens":149,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":60}`,
				tools: []toolUse{
					{"call_JMW1whyEaYG438VE1OIflxA2", "GetWeatherArgs", `{"city":"Edinburgh","country":"GB","units":"c"}`},
					{"call_DNYTawLBoN8fj3KN6qU9N1Ou", "get_stock_price", `{"ticker":"AAPL","exchange":"NASDAQ"}`},
				}},
		},
		{
			file: "chat-stream-refusal-usage.sse",
			sigs: textOnly,
			want: answer{stop: "end_turn", usage: `{"input_tokens":79,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":11}`},
			check: func(t *testing.T, a answer) {
				if !strings.HasPrefix(a.text, "I'm sorry, I") {
					t.Errorf("refusal text = %q", a.text)
				}
			},
		},
		{
			file: "chat-stream-n3-usage.sse", // only choice 0 is translated
			sigs: textOnly,
			want: answer{stop: "end_turn", usage: `{"input_tokens":79,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":42}`},
			check: func(t *testing.T, a answer) {
				if !gjson.Valid(a.text) {
					t.Errorf("choice 0's text is not the JSON it should be: %q", a.text)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			chat := fixture(t, "openai/"+tt.file)
			evs := parseEvents(t, translate(t, chat, testMeta, nil))
			checkStream(t, evs, ref)
			if got := collapse(signatures(withoutPings(evs))); !reflect.DeepEqual(got, tt.sigs) {
				t.Errorf("events:\n got %v\nwant %v", got, tt.sigs)
			}
			a := assemble(t, evs)
			if a.stop != tt.want.stop || (tt.want.usage != "" && a.usage != tt.want.usage) {
				t.Errorf("stop %q usage %s; want %q %s", a.stop, a.usage, tt.want.stop, tt.want.usage)
			}
			if tt.want.tools != nil || len(a.tools) > 0 {
				for i := range tt.want.tools {
					tt.want.tools[i].input = mustJSON(t, tt.want.tools[i].input)
				}
				if !reflect.DeepEqual(a.tools, tt.want.tools) {
					t.Errorf("tools:\n got %+v\nwant %+v", a.tools, tt.want.tools)
				}
			}
			if tt.check != nil {
				tt.check(t, a)
			}
			start := evs[0].Data.Get("message")
			if start.Get("id").Str != testMeta.ID || start.Get("model").Str != testMeta.Model || start.Get("usage.input_tokens").Int() != testMeta.InputTokens {
				t.Errorf("message_start = %s", start.Raw)
			}
		})
	}
}

// BenchmarkStreamWriter measures the streaming path on a recorded text
// stream, one frame per Write as the relay writes them.
func BenchmarkStreamWriter(b *testing.B) {
	frames := bytes.SplitAfter(fixture(b, "openai/chat-stream-text-usage.sse"), []byte("\n\n"))
	var size int
	for _, f := range frames {
		size += len(f)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		s := NewStreamWriter(io.Discard, testMeta)
		for _, f := range frames {
			if _, err := s.Write(f); err != nil {
				b.Fatal(err)
			}
		}
	}
}
