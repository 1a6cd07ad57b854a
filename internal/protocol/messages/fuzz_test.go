package messages

import (
	"bytes"
	"testing"

	"github.com/tidwall/gjson"
)

// FuzzStreamWriter: whatever the gateway writes, the client gets a
// well-formed Anthropic stream: frames with an event name and JSON data
// of that type, blocks one at a time, nothing after an error or
// message_stop.
func FuzzStreamWriter(f *testing.F) {
	for _, name := range []string{"chat-stream-text-usage.sse", "chat-stream-tool-call-usage.sse", "chat-stream-parallel-tool-calls-usage.sse", "chat-stream-refusal-usage.sse"} {
		f.Add(fixture(f, "openai/"+name), uint8(7))
	}
	f.Add([]byte(first+chunk(`{"reasoning_content":"a"}`)+chunk(`{"content":"b"}`)+streamError+done), uint8(3))
	f.Add([]byte(first+toolChunk(`[{"index":1,"id":"b","function":{"name":"g","arguments":"{"}},{"index":0,"id":"a","function":{"name":"f","arguments":"{}"}}]`)+chunk(`{"content":"x"}`)+
		"data: {\"choices\":[],\n"+"data: \"usage\":{\"prompt_tokens\":1},\n"+"data: "+meta+"}\n\n"), uint8(1))
	f.Fuzz(func(t *testing.T, in []byte, step uint8) {
		var out bytes.Buffer
		s := NewStreamWriter(&out, testMeta)
		n := int(step%32) + 1
		for i := 0; i < len(in); i += n {
			if _, err := s.Write(in[i:min(i+n, len(in))]); err != nil {
				t.Fatal(err)
			}
		}
		evs := parseEvents(t, out.Bytes())
		assemble(t, evs)
		for i, e := range evs {
			if (e.Name == "error" || e.Name == "message_stop") && i != len(evs)-1 {
				t.Fatalf("%s followed by more events: %v", e.Name, signatures(evs))
			}
		}
		if md := evs; len(md) > 1 {
			if lg := md[len(md)-2].Data.Get("llmgate"); lg.Exists() && !gjson.Valid(lg.Raw) {
				t.Fatalf("llmgate %q", lg.Raw)
			}
		}
	})
}

// FuzzToChat: ToChat never panics, and what it accepts it turns into
// valid JSON.
func FuzzToChat(f *testing.F) {
	for _, name := range []string{"messages-text-tool-use.request.json", "messages-thinking-tool-use.request.json", "messages-stream-thinking.request.json"} {
		f.Add(requestFixture(f, "anthropic/"+name))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		out, err := ToChat(body)
		if err == nil && !gjson.ValidBytes(out) {
			t.Fatalf("invalid chat body %s", out)
		}
		_, _ = CountTokens(body, words)
	})
}
