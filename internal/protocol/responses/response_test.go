package responses

import (
	"encoding/json"
	"testing"

	"github.com/openai/openai-go/v3/responses"
	"github.com/tidwall/gjson"
)

var testMeta = Meta{ID: "resp_test", CreatedAt: 1743075632, Model: "gpt-4o-2024-08-06"}

// The response object has every field of a recorded OpenAI response, in the
// shapes the SDKs decode.
func TestFromChatMatchesRecordedShape(t *testing.T) {
	req := fixtureRequest(t, "responses-create-reasoning.request.json")
	got := FromChat(fixture(t, "chat-completion-text.json"), req, testMeta)
	if !gjson.ValidBytes(got) {
		t.Fatalf("invalid JSON: %s", got)
	}
	want := gjson.ParseBytes(fixture(t, "responses-create-reasoning.json"))
	r := gjson.ParseBytes(got)
	if miss := missingKeys(r, want); len(miss) > 0 {
		t.Errorf("response lacks %v", miss)
	}
	for _, path := range []string{"usage", "usage.input_tokens_details", "usage.output_tokens_details", "text", "text.format"} {
		if miss := missingKeys(r.Get(path), want.Get(path)); len(miss) > 0 {
			t.Errorf("%s lacks %v", path, miss)
		}
	}
	msg := r.Get("output.0")
	for _, path := range []string{"", "content.0"} {
		w, g := want.Get("output.1"), msg
		if path != "" {
			w, g = w.Get(path), g.Get(path)
		}
		if miss := missingKeys(g, w); len(miss) > 0 {
			t.Errorf("message%s lacks %v", path, miss)
		}
	}
	for path, v := range map[string]string{
		"id": `"resp_test"`, "object": `"response"`, "created_at": "1743075632", "status": `"completed"`,
		"error": "null", "incomplete_details": "null", "instructions": `""`, "model": `"gpt-4o-2024-08-06"`,
		"reasoning": `{"effort":"low","summary":null}`, "store": "true", "tool_choice": `"auto"`, "tools": "[]",
		"truncation": `"disabled"`, "metadata": "{}", "previous_response_id": "null", "parallel_tool_calls": "true",
		"output.#": "1", "output.0.type": `"message"`, "output.0.role": `"assistant"`, "output.0.status": `"completed"`,
		"usage": `{"input_tokens":14,"input_tokens_details":{"cached_tokens":0},"output_tokens":37,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":51}`,
	} {
		if got := r.Get(path).Raw; got != v {
			t.Errorf("%s = %s, want %s", path, got, v)
		}
	}
	if r.Get("output_text").Exists() {
		t.Error("output_text is an SDK convenience and must not be sent")
	}

	var sdk responses.Response
	if err := json.Unmarshal(got, &sdk); err != nil {
		t.Fatalf("openai-go cannot decode the response: %v", err)
	}
	if sdk.OutputText() != gjson.GetBytes(fixture(t, "chat-completion-text.json"), "choices.0.message.content").String() {
		t.Errorf("SDK OutputText() = %q", sdk.OutputText())
	}
	if sdk.Usage.TotalTokens != 51 || sdk.Status != "completed" {
		t.Errorf("SDK usage/status = %+v %q", sdk.Usage, sdk.Status)
	}
}

func TestFromChat(t *testing.T) {
	tests := []struct {
		name  string
		chat  string
		req   string
		meta  Meta
		check map[string]string // gjson path -> raw JSON
	}{
		{
			name: "parallel tool calls become function_call items keyed by the chat call ids",
			chat: string(fixture(t, "chat-completion-parallel-tool-calls.json")),
			req:  `{"model":"gpt-4o","input":"x"}`,
			check: map[string]string{
				"output.#":             "2",
				"output.#.type":        `["function_call","function_call"]`,
				"output.#.call_id":     `["call_fdNz3vOBKYgOIpMdWotB9MjY","call_h1DWI1POMJLb0KwIyQHWXD4p"]`,
				"output.#.name":        `["GetWeatherArgs","get_stock_price"]`,
				"output.#.status":      `["completed","completed"]`,
				"output.1.arguments":   `"{\"ticker\": \"AAPL\", \"exchange\": \"NASDAQ\"}"`,
				"usage.total_tokens":   "209",
				"status":               `"completed"`,
				"instructions":         "null",
				"previous_response_id": "null",
				"text":                 `{"format":{"type":"text"},"verbosity":"medium"}`,
				"reasoning":            `{"effort":null,"summary":null}`,
				"temperature":          "1.0",
				"top_p":                "1.0",
				"user":                 "null",
				"max_output_tokens":    "null",
				"output.0.arguments":   `"{\"city\": \"Edinburgh\", \"country\": \"GB\", \"units\": \"c\"}"`,
			},
		},
		{
			name: "reasoning, text and a call, in that order",
			chat: `{"choices":[{"message":{"role":"assistant","reasoning_content":"think","content":"hello",
				"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}],
				"usage":{"prompt_tokens":10,"completion_tokens":5,"prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":{"reasoning_tokens":2}}}`,
			req: `{"model":"m","input":"x"}`,
			check: map[string]string{
				"output.#.type":      `["reasoning","message","function_call"]`,
				"output.0.summary":   `[{"type":"summary_text","text":"think"}]`,
				"output.1.content":   `[{"type":"output_text","text":"hello","annotations":[],"logprobs":[]}]`,
				"output.2.call_id":   `"call_1"`,
				"usage":              `{"input_tokens":10,"input_tokens_details":{"cached_tokens":4},"output_tokens":5,"output_tokens_details":{"reasoning_tokens":2},"total_tokens":15}`,
				"incomplete_details": "null",
			},
		},
		{
			name: "url citations and logprobs carry over to the output_text part",
			chat: `{"choices":[{"message":{"role":"assistant","content":"See docs.","annotations":[{"type":"url_citation",
				"url_citation":{"start_index":4,"end_index":8,"title":"Docs","url":"https://x/docs"}}]},
				"logprobs":{"content":[{"token":"See","logprob":-0.1,"bytes":[83,101,101],"top_logprobs":[]}]},"finish_reason":"stop"}]}`,
			req: `{"model":"m","input":"x"}`,
			check: map[string]string{
				"output.0.content.0.annotations": `[{"type":"url_citation","start_index":4,"end_index":8,"title":"Docs","url":"https://x/docs"}]`,
				"output.0.content.0.logprobs":    `[{"token":"See","logprob":-0.1,"bytes":[83,101,101],"top_logprobs":[]}]`,
			},
		},
		{
			name: "refusal becomes a refusal part",
			chat: `{"choices":[{"message":{"role":"assistant","content":null,"refusal":"I can't help with that."},"finish_reason":"stop"}]}`,
			req:  `{"model":"m","input":"x"}`,
			check: map[string]string{
				"output.0.content": `[{"type":"refusal","refusal":"I can't help with that."}]`,
				"usage":            "null",
			},
		},
		{
			name: "length cut-off is incomplete with max_output_tokens",
			chat: `{"choices":[{"message":{"role":"assistant","content":"partial"},"finish_reason":"length"}]}`,
			req:  `{"model":"m","input":"x","max_output_tokens":5}`,
			check: map[string]string{
				"status":             `"incomplete"`,
				"incomplete_details": `{"reason":"max_output_tokens"}`,
				"output.0.status":    `"incomplete"`,
				"max_output_tokens":  "5",
			},
		},
		{
			name: "content filter is incomplete with content_filter",
			chat: `{"choices":[{"message":{"role":"assistant","content":""},"finish_reason":"content_filter"}]}`,
			req:  `{"model":"m","input":"x"}`,
			check: map[string]string{
				"status":             `"incomplete"`,
				"incomplete_details": `{"reason":"content_filter"}`,
				"output":             "[]",
			},
		},
		{
			name: "request parameters are echoed and llmgate is kept",
			chat: `{"choices":[{"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],
				"llmgate":{"request_id":"r1","provider":"p","attempts":1,"cost_usd":0.001}}`,
			req: `{"model":"alias","input":"x","instructions":"sys","temperature":0.3,"top_p":0.5,"store":false,
				"parallel_tool_calls":false,"user":"u1","metadata":{"k":"v"},"reasoning":{"effort":"high","summary":"auto"},
				"text":{"format":{"type":"json_schema","name":"o","schema":{"type":"object"},"strict":true}},
				"tool_choice":{"type":"function","name":"f"},
				"tools":[{"type":"function","name":"f","description":"","parameters":{"type":"object"},"strict":true}]}`,
			meta: Meta{ID: "resp_2", CreatedAt: 7, Model: "gpt-5", PreviousResponseID: "resp_1"},
			check: map[string]string{
				"id":                   `"resp_2"`,
				"created_at":           "7",
				"model":                `"gpt-5"`,
				"previous_response_id": `"resp_1"`,
				"instructions":         `"sys"`,
				"temperature":          "0.3",
				"top_p":                "0.5",
				"store":                "false",
				"parallel_tool_calls":  "false",
				"user":                 `"u1"`,
				"metadata":             `{"k":"v"}`,
				"reasoning":            `{"effort":"high","summary":"auto"}`,
				"text.format":          `{"type":"json_schema","name":"o","schema":{"type":"object"},"strict":true}`,
				"tool_choice":          `{"type":"function","name":"f"}`,
				"tools":                `[{"type":"function","description":null,"name":"f","parameters":{"type":"object"},"strict":true}]`,
				"llmgate":              `{"request_id":"r1","provider":"p","attempts":1,"cost_usd":0.001}`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.meta
			if m.ID == "" {
				m = testMeta
			}
			got := FromChat([]byte(tt.chat), []byte(tt.req), m)
			if !gjson.ValidBytes(got) {
				t.Fatalf("invalid JSON: %s", got)
			}
			r := gjson.ParseBytes(got)
			for path, want := range tt.check {
				if g := r.Get(path).Raw; g != want {
					t.Errorf("%s = %s, want %s", path, g, want)
				}
			}
			ids := map[string]bool{}
			r.Get("output").ForEach(func(_, it gjson.Result) bool {
				id := it.Get("id").String()
				prefix := map[string]string{"message": "msg_", "function_call": "fc_", "reasoning": "rs_"}[it.Get("type").String()]
				if !idRE.MatchString(id) || id[:len(prefix)] != prefix || ids[id] {
					t.Errorf("bad or repeated item id %q for %s", id, it.Get("type"))
				}
				ids[id] = true
				return true
			})
			var sdk responses.Response
			if err := json.Unmarshal(got, &sdk); err != nil {
				t.Fatalf("openai-go cannot decode the response: %v", err)
			}
		})
	}
}
