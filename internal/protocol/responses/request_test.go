package responses

import (
	"errors"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// The recorded pydantic-ai request (user message, function_call,
// function_call_output, flat function tool) becomes the chat conversation a
// chat model needs to continue it.
func TestToChatRecordedRequest(t *testing.T) {
	got, err := ToChat(fixtureRequest(t, "responses-stream-text.request.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, got, `{
		"model":"gpt-4o",
		"messages":[
			{"role":"user","content":"What is the capital of France?"},
			{"role":"assistant","tool_calls":[{"id":"fc_67e554a1de488191af0831d35cbe082e0794405d35281ae2","type":"function",
				"function":{"name":"get_capital","arguments":"{\"country\":\"France\"}"}}]},
			{"role":"tool","tool_call_id":"fc_67e554a1de488191af0831d35cbe082e0794405d35281ae2","content":"Paris"}
		],
		"stream":true,"stream_options":{"include_usage":true},
		"tools":[{"type":"function","function":{"name":"get_capital","parameters":{"additionalProperties":false,
			"properties":{"country":{"type":"string"}},"required":["country"],"type":"object"},"strict":true}}],
		"tool_choice":"auto"
	}`)
}

func TestToChat(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		history []string
		want    string
	}{
		{
			name: "string input and instructions",
			body: `{"model":"m","instructions":"be brief","input":"hi"}`,
			want: `{"model":"m","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}]}`,
		},
		{
			name: "non-streaming request says so",
			body: `{"model":"m","input":"hi","stream":false}`,
			want: `{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":false}`,
		},
		{
			name: "user content parts: text, image URL, image file id, file",
			body: `{"model":"m","input":[{"type":"message","role":"user","content":[
				{"type":"input_text","text":"look"},
				{"type":"input_image","image_url":"data:image/png;base64,AAA","detail":"high"},
				{"type":"input_image","file_id":"file-img"},
				{"type":"input_file","file_data":"data:application/pdf;base64,BBB","filename":"a.pdf"},
				{"type":"input_file","file_id":"file-pdf"},
				{"type":"input_audio","input_audio":{"data":"UklG","format":"wav"}}]}]}`,
			want: `{"model":"m","messages":[{"role":"user","content":[
				{"type":"text","text":"look"},
				{"type":"image_url","image_url":{"url":"data:image/png;base64,AAA","detail":"high"}},
				{"type":"file","file":{"file_id":"file-img"}},
				{"type":"file","file":{"file_data":"data:application/pdf;base64,BBB","filename":"a.pdf"}},
				{"type":"file","file":{"file_id":"file-pdf"}},
				{"type":"input_audio","input_audio":{"data":"UklG","format":"wav"}}]}]}`,
		},
		{
			name: "developer and system become system; assistant parts become text",
			body: `{"model":"m","input":[
				{"role":"developer","content":[{"type":"input_text","text":"a"},{"type":"input_text","text":"b"}]},
				{"role":"system","content":"s"},
				{"role":"user","content":[{"type":"input_text","text":"q"}]},
				{"type":"message","role":"assistant","id":"msg_1","status":"completed","content":[
					{"type":"output_text","text":"part one, ","annotations":[]},{"type":"refusal","refusal":"no."}]}]}`,
			want: `{"model":"m","messages":[{"role":"system","content":"a\nb"},{"role":"system","content":"s"},
				{"role":"user","content":"q"},{"role":"assistant","content":"part one, no."}]}`,
		},
		{
			name: "assistant text, reasoning and parallel calls merge into one assistant message",
			body: `{"model":"m","input":[
				{"role":"user","content":"weather?"},
				{"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":"gAAA"},
				{"type":"message","role":"assistant","content":[{"type":"output_text","text":"checking"}]},
				{"type":"function_call","id":"fc_1","call_id":"call_a","name":"w","arguments":"{\"c\":\"x\"}"},
				{"type":"function_call","id":"fc_2","call_id":"call_b","name":"w","arguments":""},
				{"type":"function_call_output","call_id":"call_a","output":"sunny"},
				{"type":"function_call_output","call_id":"call_b","output":"rain"}]}`,
			want: `{"model":"m","messages":[{"role":"user","content":"weather?"},
				{"role":"assistant","content":"checking","tool_calls":[
					{"id":"call_a","type":"function","function":{"name":"w","arguments":"{\"c\":\"x\"}"}},
					{"id":"call_b","type":"function","function":{"name":"w","arguments":"{}"}}]},
				{"role":"tool","tool_call_id":"call_a","content":"sunny"},
				{"role":"tool","tool_call_id":"call_b","content":"rain"}]}`,
		},
		{
			name: "tool output images follow the run of tool messages in a user message",
			body: `{"model":"m","input":[
				{"type":"function_call","call_id":"c1","name":"shot","arguments":"{}"},
				{"type":"function_call","call_id":"c2","name":"shot","arguments":"{}"},
				{"type":"function_call_output","call_id":"c1","output":[{"type":"input_text","text":"took it"},{"type":"input_image","image_url":"https://x/1.png"}]},
				{"type":"function_call_output","call_id":"c2","output":[{"type":"input_text","text":"a"},{"type":"input_text","text":"b"}]},
				{"role":"user","content":"and?"}]}`,
			want: `{"model":"m","messages":[
				{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"shot","arguments":"{}"}},
					{"id":"c2","type":"function","function":{"name":"shot","arguments":"{}"}}]},
				{"role":"tool","tool_call_id":"c1","content":"took it\n` + toolOutputNote + `"},
				{"role":"tool","tool_call_id":"c2","content":"a\nb"},
				{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x/1.png"}}]},
				{"role":"user","content":"and?"}]}`,
		},
		{
			name:    "history goes after instructions and before the new input",
			body:    `{"model":"m","instructions":"sys","previous_response_id":"resp_1","input":[{"type":"function_call_output","call_id":"c1","output":"42"}]}`,
			history: []string{`{"type":"message","role":"user","content":[{"type":"input_text","text":"compute"}]}`, `{"type":"reasoning","id":"rs_1","summary":[]}`, `{"type":"function_call","id":"fc_1","status":"completed","call_id":"c1","name":"calc","arguments":"{}"}`},
			want: `{"model":"m","messages":[{"role":"system","content":"sys"},{"role":"user","content":"compute"},
				{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"calc","arguments":"{}"}}]},
				{"role":"tool","tool_call_id":"c1","content":"42"}]}`,
		},
		{
			name: "parameters: copied, renamed, or dropped",
			body: `{"model":"m","input":"x","stream":true,"temperature":0.2,"top_p":0.9,"parallel_tool_calls":false,
				"user":"u","safety_identifier":"s","prompt_cache_key":"k","service_tier":"flex","top_logprobs":2,
				"max_output_tokens":100,"reasoning":{"effort":"low","summary":"auto"},
				"text":{"format":{"type":"json_schema","name":"out","description":"d","schema":{"type":"object"},"strict":true},"verbosity":"low"},
				"metadata":{"a":"b"},"store":true,"include":["reasoning.encrypted_content"],"truncation":"auto",
				"previous_response_id":"resp_1","background":false,"max_tool_calls":3,"stream_options":{"include_obfuscation":false}}`,
			want: `{"model":"m","messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"include_usage":true},
				"parallel_tool_calls":false,"reasoning_effort":"low","verbosity":"low","max_completion_tokens":100,
				"temperature":0.2,"top_p":0.9,"logprobs":true,"top_logprobs":2,"user":"u","safety_identifier":"s",
				"prompt_cache_key":"k","service_tier":"flex",
				"response_format":{"type":"json_schema","json_schema":{"name":"out","description":"d","schema":{"type":"object"},"strict":true}}}`,
		},
		{
			name: "json_object format, forced function, logprobs through include",
			body: `{"model":"m","input":"x","text":{"format":{"type":"json_object"}},"include":["message.output_text.logprobs"],
				"tools":[{"type":"function","name":"f","description":"does f","parameters":{"type":"object","properties":{}}}],
				"tool_choice":{"type":"function","name":"f"}}`,
			want: `{"model":"m","messages":[{"role":"user","content":"x"}],"logprobs":true,"response_format":{"type":"json_object"},
				"tools":[{"type":"function","function":{"name":"f","description":"does f","parameters":{"type":"object","properties":{}}}}],
				"tool_choice":{"type":"function","function":{"name":"f"}}}`,
		},
		{
			name: "allowed_tools and text format",
			body: `{"model":"m","input":"x","text":{"format":{"type":"text"}},"tools":[{"type":"function","name":"f"}],
				"tool_choice":{"type":"allowed_tools","mode":"required","tools":[{"type":"function","name":"f"}]}}`,
			want: `{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}],
				"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"required","tools":[{"type":"function","function":{"name":"f"}}]}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hist [][]byte
			for _, h := range tt.history {
				hist = append(hist, []byte(h))
			}
			got, err := ToChat([]byte(tt.body), hist)
			if err != nil {
				t.Fatal(err)
			}
			jsonEqual(t, got, tt.want)
		})
	}
}

// Requests a chat upstream cannot serve are refused with a 400 that names
// the field and the reason, instead of being answered wrongly.
func TestToChatErrors(t *testing.T) {
	tests := []struct {
		name, body, param, msg string
	}{
		{"missing input", `{"model":"m"}`, "input", "input is required"},
		{"empty string input", `{"model":"m","input":""}`, "input", "must not be empty"},
		{"empty input list", `{"model":"m","input":[]}`, "input", "must not be empty"},
		{"input of wrong type", `{"model":"m","input":3}`, "input", "string or an array"},
		{"item not an object", `{"model":"m","input":["hi"]}`, "input[0]", "JSON object"},
		{"item reference", `{"model":"m","input":[{"type":"item_reference","id":"msg_1"}]}`, "input[0].type", "item_reference"},
		{"unknown item", `{"model":"m","input":[{"role":"user","content":"a"},{"type":"telepathy"}]}`, "input[1].type", `"telepathy"`},
		{"built-in tool item", `{"model":"m","input":[{"type":"web_search_call","id":"ws_1"}]}`, "input[0].type", "Responses API"},
		{"local shell tool", `{"model":"m","input":"x","tools":[{"type":"function","name":"f"},{"type":"local_shell"}]}`, "tools[1].type", `"local_shell" is a built-in Responses API tool`},
		{"custom tool", `{"model":"m","input":"x","tools":[{"type":"custom","name":"apply_patch"}]}`, "tools[0].type", "needs the Responses API"},
		{"local shell tool", `{"model":"m","input":"x","tools":[{"type":"local_shell"}]}`, "tools[0].type", `"local_shell"`},
		{"built-in tool choice", `{"model":"m","input":"x","tool_choice":{"type":"web_search_preview"}}`, "tool_choice.type", "Responses API"},
		{"unknown tool choice mode", `{"model":"m","input":"x","tool_choice":"sometimes"}`, "tool_choice", "sometimes"},
		{"bad role", `{"model":"m","input":[{"role":"tool","content":"x"}]}`, "input[0].role", `"tool"`},
		{"image in system message", `{"model":"m","input":[{"role":"system","content":[{"type":"input_image","image_url":"https://x"}]}]}`, "input[0].content[0].type", "only supported in user messages"},
		{"image without source", `{"model":"m","input":[{"role":"user","content":[{"type":"input_image"}]}]}`, "input[0].content[0].image_url", "image_url or file_id"},
		{"file by URL", `{"model":"m","input":[{"role":"user","content":[{"type":"input_file","file_url":"https://x/a.pdf"}]}]}`, "input[0].content[0].file_url", "file_url"},
		{"function call without call id", `{"model":"m","input":[{"type":"function_call","name":"f","arguments":"{}"}]}`, "input[0].call_id", "call_id"},
		{"bad function output part", `{"model":"m","input":[{"type":"function_call_output","call_id":"c","output":[{"type":"input_audio"}]}]}`, "input[0].output[0].type", "input_audio"},
		{"unknown format", `{"model":"m","input":"x","text":{"format":{"type":"grammar"}}}`, "text.format.type", "grammar"},
		{"conversation", `{"model":"m","input":"x","conversation":"conv_1"}`, "conversation", "previous_response_id"},
		{"stored prompt", `{"model":"m","input":"x","prompt":{"id":"pmpt_1"}}`, "prompt", "Responses API"},
		{"invalid JSON", `{"model":`, "", "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ToChat([]byte(tt.body), nil)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			var re *RequestError
			if !errors.As(err, &re) {
				t.Fatalf("err = %T, want *RequestError", err)
			}
			if re.Param != tt.param || !strings.Contains(re.Msg, tt.msg) {
				t.Errorf("got param %q msg %q, want param %q msg containing %q", re.Param, re.Msg, tt.param, tt.msg)
			}
		})
	}
}

// A bad stored item is reported against previous_response_id.
func TestToChatBadHistory(t *testing.T) {
	_, err := ToChat([]byte(`{"model":"m","input":"x"}`), [][]byte{[]byte(`{"type":"item_reference","id":"x"}`)})
	var re *RequestError
	if !errors.As(err, &re) || re.Param != "previous_response_id" {
		t.Fatalf("err = %v", err)
	}
}

func TestInputItems(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string
	}{
		{"string becomes a user message", `{"input":"hi \"there\"","instructions":"not me"}`,
			[]string{`{"type":"message","role":"user","content":[{"type":"input_text","text":"hi \"there\""}]}`}},
		{"items are kept as sent", `{"input":[{"role":"user","content":"a"},{"type":"function_call_output","call_id":"c","output":"o"}]}`,
			[]string{`{"role":"user","content":"a"}`, `{"type":"function_call_output","call_id":"c","output":"o"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := InputItems([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d items, want %d", len(got), len(tt.want))
			}
			for i := range got {
				jsonEqual(t, got[i], tt.want[i])
			}
		})
	}
}

// The stored items of one turn (its input, then its output) are the
// history of the next: a function call answered in the next request must
// come back as the same chat tool call.
func TestHistoryRoundTrip(t *testing.T) {
	req := []byte(`{"model":"gpt-4o","input":"weather in Edinburgh and AAPL?","tools":[{"type":"function","name":"GetWeatherArgs"},{"type":"function","name":"get_stock_price"}]}`)
	resp := FromChat(fixture(t, "chat-completion-parallel-tool-calls.json"), req, Meta{ID: "resp_1", CreatedAt: 1, Model: "gpt-4o"})
	in, err := InputItems(req)
	if err != nil {
		t.Fatal(err)
	}
	history := append(in, OutputItems(resp)...)
	if len(history) != 3 {
		t.Fatalf("history has %d items, want 3", len(history))
	}
	next := []byte(`{"model":"gpt-4o","previous_response_id":"resp_1","input":[
		{"type":"function_call_output","call_id":"call_fdNz3vOBKYgOIpMdWotB9MjY","output":"cold"},
		{"type":"function_call_output","call_id":"call_h1DWI1POMJLb0KwIyQHWXD4p","output":"190"}]}`)
	chat, err := ToChat(next, history)
	if err != nil {
		t.Fatal(err)
	}
	msgs := gjson.GetBytes(chat, "messages")
	if got := msgs.Get("#.role").Raw; got != `["user","assistant","tool","tool"]` {
		t.Fatalf("roles = %s", got)
	}
	calls := msgs.Get("1.tool_calls")
	if calls.Get("#.id").Raw != `["call_fdNz3vOBKYgOIpMdWotB9MjY","call_h1DWI1POMJLb0KwIyQHWXD4p"]` ||
		calls.Get("#.function.name").Raw != `["GetWeatherArgs","get_stock_price"]` {
		t.Errorf("tool calls = %s", calls.Raw)
	}
	if args := calls.Get("0.function.arguments").String(); !gjson.Valid(args) || gjson.Get(args, "city").String() != "Edinburgh" {
		t.Errorf("arguments = %q", args)
	}
}

// Codex's tool list: namespaced function tools are flattened, hosted
// tools (web_search) are left out, so the agent works on any model.
func TestToChatCodexTools(t *testing.T) {
	body := `{"model":"m","input":"x","tools":[{"type":"function","name":"exec_command","parameters":{"type":"object"}},` +
		`{"type":"namespace","name":"multi_agent_v1","tools":[{"type":"function","name":"close_agent","parameters":{"type":"object"}},{"type":"web_search"}]},` +
		`{"type":"web_search","external_web_access":false}]}`
	chat, err := ToChat([]byte(body), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	gjson.GetBytes(chat, "tools").ForEach(func(_, tl gjson.Result) bool {
		names = append(names, tl.Get("function.name").Str)
		return true
	})
	if strings.Join(names, ",") != "exec_command,close_agent" {
		t.Fatalf("tools %v in %s", names, chat)
	}
}
