package messages

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// chatCompletion builds a chat.completion body around a message.
func chatCompletion(message, finish, extra string) []byte {
	return []byte(`{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"upstream-model","choices":[{"index":0,"message":` +
		message + `,"finish_reason":"` + finish + `"}],"usage":{"prompt_tokens":20,"completion_tokens":5}` + extra + `}`)
}

// TestFromChat checks the message a client gets, and its shape against
// the recorded Anthropic messages: top-level and usage keys, and each
// block's keys against a recorded block of the same type.
func TestFromChat(t *testing.T) {
	recorded := gjson.ParseBytes(fixture(t, "anthropic/messages-text-tool-use.json"))
	blocks := map[string]gjson.Result{}
	for _, f := range []string{"anthropic/messages-text-tool-use.json", "anthropic/messages-thinking-tool-use.json"} {
		for _, b := range gjson.ParseBytes(fixture(t, f)).Get("content").Array() {
			blocks[b.Get("type").Str] = b
		}
	}
	tests := []struct {
		name    string
		chat    []byte
		meta    Meta
		content string // the expected content array
		stop    string
		usage   string
		check   func(t *testing.T, msg gjson.Result)
	}{
		{
			name:    "recorded text answer",
			chat:    fixture(t, "openai/chat-completion-text.json"),
			meta:    testMeta,
			content: `[{"type":"text","text":"I'm unable to provide real-time weather updates. To get the current weather in San Francisco, I recommend checking a reliable weather website or app like the Weather Channel or a local news station."}]`,
			stop:    "end_turn",
			usage:   `{"input_tokens":14,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":37}`,
		},
		{
			name: "recorded parallel tool calls",
			chat: fixture(t, "openai/chat-completion-parallel-tool-calls.json"),
			meta: testMeta,
			content: `[{"type":"tool_use","id":"call_fdNz3vOBKYgOIpMdWotB9MjY","name":"GetWeatherArgs","input":{"city":"Edinburgh","country":"GB","units":"c"}},
				{"type":"tool_use","id":"call_h1DWI1POMJLb0KwIyQHWXD4p","name":"get_stock_price","input":{"ticker":"AAPL","exchange":"NASDAQ"}}]`,
			stop:  "tool_use",
			usage: `{"input_tokens":149,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":60}`,
		},
		{
			name: "reasoning, text and a tool call, in Anthropic's order",
			chat: chatCompletion(`{"role":"assistant","content":"Let me look.","reasoning_content":"The user wants…",
				"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_user_country","arguments":"{}"}}]}`, "tool_calls", ""),
			meta: testMeta,
			content: `[{"type":"thinking","thinking":"The user wants…","signature":""},{"type":"text","text":"Let me look."},
				{"type":"tool_use","id":"call_1","name":"get_user_country","input":{}}]`,
			stop: "tool_use",
		},
		{
			name:    "reasoning under OpenRouter's name",
			chat:    chatCompletion(`{"role":"assistant","content":"ok","reasoning":"hmm"}`, "stop", ""),
			meta:    testMeta,
			content: `[{"type":"thinking","thinking":"hmm","signature":""},{"type":"text","text":"ok"}]`,
			stop:    "end_turn",
		},
		{
			name:    "a refusal is text",
			chat:    chatCompletion(`{"role":"assistant","content":null,"refusal":"I can't help with that."}`, "content_filter", ""),
			meta:    testMeta,
			content: `[{"type":"text","text":"I can't help with that."}]`,
			stop:    "refusal",
		},
		{
			name:    "length is max_tokens; broken arguments become {}",
			chat:    chatCompletion(`{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\": \"tru"}},{"id":"c2","type":"function","function":{"name":"g","arguments":"[1]"}},{"id":"c3","type":"function","function":{"name":"h","arguments":""}}]}`, "length", ""),
			meta:    testMeta,
			content: `[{"type":"tool_use","id":"c1","name":"f","input":{}},{"type":"tool_use","id":"c2","name":"g","input":{}},{"type":"tool_use","id":"c3","name":"h","input":{}}]`,
			stop:    "max_tokens",
		},
		{
			name:    "stop with tool calls is tool_use",
			chat:    chatCompletion(`{"role":"assistant","content":"","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}}]}`, "stop", ""),
			meta:    testMeta,
			content: `[{"type":"tool_use","id":"c1","name":"f","input":{"x":1}}]`,
			stop:    "tool_use",
		},
		{
			name:    "content as an array of parts",
			chat:    chatCompletion(`{"role":"assistant","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}`, "stop", ""),
			meta:    testMeta,
			content: `[{"type":"text","text":"ab"}]`,
			stop:    "end_turn",
		},
		{
			name: "missing tool id gets toolu_; llmgate kept; cache counts split out",
			chat: []byte(`{"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}],
				"usage":{"prompt_tokens":1000,"completion_tokens":9,"prompt_tokens_details":{"cached_tokens":700,"cache_write_tokens":200}},` + meta + `}`),
			meta:  testMeta,
			stop:  "tool_use",
			usage: `{"input_tokens":100,"cache_creation_input_tokens":200,"cache_read_input_tokens":700,"output_tokens":9}`,
			check: func(t *testing.T, msg gjson.Result) {
				if id := msg.Get("content.0.id").Str; !strings.HasPrefix(id, "toolu_") || len(id) != len("toolu_")+24 {
					t.Errorf("tool id = %q", id)
				}
				if !sameJSON(msg.Get("llmgate").Raw, meta[len(`"llmgate":`):]) {
					t.Errorf("llmgate = %s", msg.Get("llmgate").Raw)
				}
			},
		},
		{
			name:    "no usage: the estimate; no meta: generated id, upstream model",
			chat:    []byte(`{"model":"upstream-model","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}`),
			meta:    Meta{InputTokens: 33},
			content: `[{"type":"text","text":"hi"}]`,
			stop:    "end_turn",
			usage:   `{"input_tokens":33,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}`,
			check: func(t *testing.T, msg gjson.Result) {
				if id := msg.Get("id").Str; !strings.HasPrefix(id, "msg_") || msg.Get("model").Str != "upstream-model" {
					t.Errorf("id %q model %q", id, msg.Get("model").Str)
				}
			},
		},
		{
			name:    "empty answer has empty content",
			chat:    chatCompletion(`{"role":"assistant","content":""}`, "stop", ""),
			meta:    testMeta,
			content: `[]`,
			stop:    "end_turn",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := FromChat(tt.chat, tt.meta)
			if !gjson.ValidBytes(out) {
				t.Fatalf("invalid JSON: %s", out)
			}
			msg := gjson.ParseBytes(out)
			assertShape(t, "message", msg, recorded)
			for i, b := range msg.Get("content").Array() {
				if w, ok := blocks[b.Get("type").Str]; ok {
					assertShape(t, fmt.Sprintf("content.%d", i), b, w)
				} else {
					t.Errorf("content.%d: block type %q has no recorded counterpart", i, b.Get("type").Str)
				}
			}
			if tt.meta.ID != "" && (msg.Get("id").Str != tt.meta.ID || msg.Get("model").Str != tt.meta.Model) {
				t.Errorf("id %q model %q", msg.Get("id").Str, msg.Get("model").Str)
			}
			if tt.content != "" && !sameJSON(msg.Get("content").Raw, tt.content) {
				t.Errorf("content:\n got %s\nwant %s", msg.Get("content").Raw, mustJSON(t, tt.content))
			}
			if msg.Get("stop_reason").Str != tt.stop || msg.Get("stop_sequence").Type != gjson.Null {
				t.Errorf("stop_reason %s stop_sequence %s, want %q null", msg.Get("stop_reason").Raw, msg.Get("stop_sequence").Raw, tt.stop)
			}
			if tt.usage != "" && msg.Get("usage").Raw != tt.usage {
				t.Errorf("usage %s, want %s", msg.Get("usage").Raw, tt.usage)
			}
			if tt.check != nil {
				tt.check(t, msg)
			}
		})
	}
}
