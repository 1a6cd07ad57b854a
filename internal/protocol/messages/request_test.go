package messages

import (
	"errors"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

const weatherSchema = `{"properties":{"city":{"type":"string"},"units":{"enum":["celsius","fahrenheit"],"type":"string"}},"required":["city"],"type":"object"}`

// TestToChatRecordedRequests translates the recorded Messages requests.
func TestToChatRecordedRequests(t *testing.T) {
	tests := []struct {
		file      string
		want      string // the whole chat body
		wantParam string // or the refused field
	}{
		{
			file: "messages-text-tool-use.request.json",
			want: `{"model":"claude-3-7-sonnet-latest","messages":[{"role":"user","content":"What's the weather in San Francisco? Use fahrenheit."}],
				"stream":false,"max_completion_tokens":512,
				"tools":[{"type":"function","function":{"name":"get_weather","description":"Get weather","parameters":` + weatherSchema + `}}]}`,
		},
		{
			file: "messages-stream-text-tool-use.request.json",
			want: `{"model":"claude-3-7-sonnet-latest","messages":[{"role":"user","content":"Weather in SF?"}],
				"stream":true,"stream_options":{"include_usage":true},"max_completion_tokens":512,
				"tools":[{"type":"function","function":{"name":"get_weather","description":"Get weather","parameters":` + weatherSchema + `}}]}`,
		},
		{
			file: "messages-stream-parallel-tool-use.request.json",
			want: `{"model":"claude-haiku-4-5-20251001","messages":[{"role":"user","content":"Two names for a pet pelican"}],
				"stream":true,"stream_options":{"include_usage":true},"max_completion_tokens":8192,"temperature":1.0,
				"tools":[{"type":"function","function":{"name":"pelican_name_generator","parameters":{"properties":{},"type":"object"}}}]}`,
		},
		{
			file: "messages-stream-thinking.request.json",
			want: `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Two names for a pet pelican, be brief"}],
				"stream":true,"stream_options":{"include_usage":true},"max_completion_tokens":8192,"temperature":1.0,"reasoning_effort":"low"}`,
		},
		{
			file: "messages-thinking-tool-use.request.json",
			want: `{"model":"claude-sonnet-4-0","messages":[{"role":"user","content":"What is the largest city in the user country?"}],
				"stream":false,"max_completion_tokens":4096,"reasoning_effort":"low",
				"tools":[{"type":"function","function":{"name":"get_user_country","parameters":{"additionalProperties":false,"properties":{},"type":"object"}}}],
				"tool_choice":"auto"}`,
		},
		{
			file: "error-400-invalid-request.request.json", // output_config.effort "xhigh"
			want: `{"model":"claude-opus-4-6","messages":[{"role":"user","content":"What is 2+2?"}],"stream":false,"max_completion_tokens":4096,"reasoning_effort":"high"}`,
		},
		{
			file:      "messages-stream-thinking-server-tool.request.json", // code_execution_20260120
			wantParam: "tools.0.type",
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ToChat(requestFixture(t, "anthropic/"+tt.file))
			checkToChat(t, got, err, tt.want, tt.wantParam)
		})
	}
}

func checkToChat(t *testing.T, got []byte, err error, want, wantParam string) {
	t.Helper()
	if wantParam != "" {
		var re *RequestError
		if !errors.As(err, &re) || !errors.Is(err, ErrInvalid) || re.Param != wantParam {
			t.Fatalf("error = %v, want a RequestError for %s", err, wantParam)
		}
		if msg := err.Error(); msg != strings.ToLower(msg[:1])+msg[1:] || !strings.HasPrefix(msg, wantParam+": ") {
			t.Errorf("error message %q", msg)
		}
		return
	}
	if err != nil {
		t.Fatalf("ToChat: %v", err)
	}
	if !sameJSON(string(got), want) {
		t.Errorf("chat body:\n got %s\nwant %s", got, mustJSON(t, want))
	}
}

func TestToChat(t *testing.T) {
	const head = `"model":"m","max_tokens":100`
	const user = `"messages":[{"role":"user","content":"hi"}]`
	const out = `"model":"m","stream":false,"max_completion_tokens":100`
	const hi = `"messages":[{"role":"user","content":"hi"}]`
	tool := `"tools":[{"name":"f","input_schema":{"type":"object"}}]`
	chatTool := `"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]`
	tests := []struct {
		name, body, want, wantParam string
	}{
		{
			name: "system string",
			body: `{` + head + `,"system":"Be terse.",` + user + `}`,
			want: `{` + out + `,"messages":[{"role":"system","content":"Be terse."},{"role":"user","content":"hi"}]}`,
		},
		{
			name: "system blocks lose cache_control",
			body: `{` + head + `,"system":[{"type":"text","text":"A","cache_control":{"type":"ephemeral"}},{"type":"text","text":"B"}],` + user + `}`,
			want: `{` + out + `,"messages":[{"role":"system","content":"A\n\nB"},{"role":"user","content":"hi"}]}`,
		},
		{
			name: "images and documents",
			body: `{` + head + `,"messages":[{"role":"user","content":[
				{"type":"text","text":"Look","cache_control":{"type":"ephemeral"}},
				{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBOR"}},
				{"type":"image","source":{"type":"url","url":"https://x.test/a.jpg"}},
				{"type":"document","title":"report.pdf","source":{"type":"base64","media_type":"application/pdf","data":"JVBER"}},
				{"type":"document","source":{"type":"text","media_type":"text/plain","data":"plain doc"}}]}]}`,
			want: `{` + out + `,"messages":[{"role":"user","content":[
				{"type":"text","text":"Look"},
				{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBOR"}},
				{"type":"image_url","image_url":{"url":"https://x.test/a.jpg"}},
				{"type":"file","file":{"file_data":"data:application/pdf;base64,JVBER","filename":"report.pdf"}},
				{"type":"text","text":"plain doc"}]}]}`,
		},
		{
			name: "tool loop: thinking dropped, tool results first, images moved to the user message",
			body: `{` + head + `,` + tool + `,"messages":[
				{"role":"user","content":"weather?"},
				{"role":"assistant","content":[
					{"type":"thinking","thinking":"hmm","signature":"sig"},
					{"type":"redacted_thinking","data":"xx"},
					{"type":"text","text":"Checking "},{"type":"text","text":"both."},
					{"type":"tool_use","id":"toolu_1","name":"f","input":{"city":"SF"}},
					{"type":"tool_use","id":"toolu_2","name":"f","input":{}}]},
				{"role":"user","content":[
					{"type":"tool_result","tool_use_id":"toolu_1","content":"sunny"},
					{"type":"tool_result","tool_use_id":"toolu_2","is_error":true,"content":[
						{"type":"text","text":"no such city"},{"type":"text","text":"try again"},
						{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAA"}}]},
					{"type":"text","text":"thanks"}]}]}`,
			want: `{` + out + `,"messages":[
				{"role":"user","content":"weather?"},
				{"role":"assistant","content":"Checking both.","tool_calls":[
					{"id":"toolu_1","type":"function","function":{"name":"f","arguments":"{\"city\":\"SF\"}"}},
					{"id":"toolu_2","type":"function","function":{"name":"f","arguments":"{}"}}]},
				{"role":"tool","tool_call_id":"toolu_1","content":"sunny"},
				{"role":"tool","tool_call_id":"toolu_2","content":"Error: no such city\ntry again"},
				{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AAA"}},{"type":"text","text":"thanks"}]}],` + chatTool + `}`,
		},
		{
			name: "assistant with only tool calls has null content; only tool results make no user message",
			body: `{` + head + `,` + tool + `,"messages":[{"role":"user","content":"go"},
				{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},
				{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1"}]}]}`,
			want: `{` + out + `,"messages":[{"role":"user","content":"go"},
				{"role":"assistant","content":null,"tool_calls":[{"id":"t1","type":"function","function":{"name":"f","arguments":"{}"}}]},
				{"role":"tool","tool_call_id":"t1","content":""}],` + chatTool + `}`,
		},
		{
			name: "server tool blocks and thinking-only turns are dropped from history",
			body: `{` + head + `,"messages":[{"role":"user","content":"search"},
				{"role":"assistant","content":[{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{"query":"x"}},
					{"type":"web_search_tool_result","tool_use_id":"srvtoolu_1","content":[]},{"type":"text","text":"Found it."}]},
				{"role":"assistant","content":[{"type":"thinking","thinking":"…","signature":"s"}]},
				{"role":"user","content":"ok"}]}`,
			want: `{` + out + `,"messages":[{"role":"user","content":"search"},{"role":"assistant","content":"Found it."},{"role":"user","content":"ok"}]}`,
		},
		{
			name: "sampling, stop, user; top_k and unknown fields dropped",
			body: `{` + head + `,` + user + `,"temperature":0.2,"top_p":0.9,"top_k":40,"stop_sequences":["END","STOP"],
				"metadata":{"user_id":"u-42"},"service_tier":"auto","container":"c1","anthropic_beta":["x"]}`,
			want: `{` + out + `,` + hi + `,"temperature":0.2,"top_p":0.9,"stop":["END","STOP"],"user":"u-42"}`,
		},
		{
			name: "tool_choice any with parallel calls disabled",
			body: `{` + head + `,` + user + `,` + tool + `,"tool_choice":{"type":"any","disable_parallel_tool_use":true}}`,
			want: `{` + out + `,` + hi + `,` + chatTool + `,"tool_choice":"required","parallel_tool_calls":false}`,
		},
		{
			name: "tool_choice tool",
			body: `{` + head + `,` + user + `,` + tool + `,"tool_choice":{"type":"tool","name":"f"}}`,
			want: `{` + out + `,` + hi + `,` + chatTool + `,"tool_choice":{"type":"function","function":{"name":"f"}}}`,
		},
		{
			name: "tool_choice none",
			body: `{` + head + `,` + user + `,` + tool + `,"tool_choice":{"type":"none"}}`,
			want: `{` + out + `,` + hi + `,` + chatTool + `,"tool_choice":"none"}`,
		},
		{
			name: "tool_choice without tools is dropped",
			body: `{` + head + `,` + user + `,"tool_choice":{"type":"auto"}}`,
			want: `{` + out + `,` + hi + `}`,
		},
		{
			name: "custom tool type, description, strict",
			body: `{` + head + `,` + user + `,"tools":[{"type":"custom","name":"g","description":"G","strict":true,"cache_control":{"type":"ephemeral"},"input_schema":{"type":"object","properties":{}}},{"name":"h"}]}`,
			want: `{` + out + `,` + hi + `,"tools":[{"type":"function","function":{"name":"g","description":"G","parameters":{"type":"object","properties":{}},"strict":true}},
				{"type":"function","function":{"name":"h","parameters":{"type":"object","properties":{}}}}]}`,
		},
		{
			name: "thinking budget 4096 is medium",
			body: `{` + head + `,` + user + `,"thinking":{"type":"enabled","budget_tokens":4096}}`,
			want: `{` + out + `,` + hi + `,"reasoning_effort":"medium"}`,
		},
		{
			name: "thinking budget 16384 is high",
			body: `{` + head + `,` + user + `,"thinking":{"type":"enabled","budget_tokens":16384}}`,
			want: `{` + out + `,` + hi + `,"reasoning_effort":"high"}`,
		},
		{
			name: "adaptive thinking is medium",
			body: `{` + head + `,` + user + `,"thinking":{"type":"adaptive"}}`,
			want: `{` + out + `,` + hi + `,"reasoning_effort":"medium"}`,
		},
		{
			name: "effort wins over the budget",
			body: `{` + head + `,` + user + `,"thinking":{"type":"enabled","budget_tokens":2000},"output_config":{"effort":"medium"}}`,
			want: `{` + out + `,` + hi + `,"reasoning_effort":"medium"}`,
		},
		{
			name: "disabled thinking sends no effort",
			body: `{` + head + `,` + user + `,"thinking":{"type":"disabled"},"output_config":{"effort":"high"}}`,
			want: `{` + out + `,` + hi + `}`,
		},
		{
			name: "structured output",
			body: `{` + head + `,` + user + `,"output_config":{"format":{"type":"json_schema","schema":{"type":"object","properties":{"a":{"type":"string"}}}}}}`,
			want: `{` + out + `,` + hi + `,"response_format":{"type":"json_schema","json_schema":{"name":"output","schema":{"type":"object","properties":{"a":{"type":"string"}}}}}}`,
		},
		{
			name: "HTML characters are kept as they are",
			body: `{` + head + `,"messages":[{"role":"user","content":"<b>a & b</b>"}]}`,
			want: `{` + out + `,"messages":[{"role":"user","content":"<b>a & b</b>"}]}`,
		},
		{name: "max_tokens missing", body: `{"model":"m",` + user + `}`, wantParam: "max_tokens"},
		{name: "max_tokens not a number", body: `{"model":"m","max_tokens":"100",` + user + `}`, wantParam: "max_tokens"},
		{name: "model missing", body: `{"max_tokens":10,` + user + `}`, wantParam: "model"},
		{name: "messages missing", body: `{` + head + `}`, wantParam: "messages"},
		{name: "messages empty", body: `{` + head + `,"messages":[]}`, wantParam: "messages"},
		{name: "system role in messages", body: `{` + head + `,"messages":[{"role":"system","content":"x"}]}`, wantParam: "messages.0.role"},
		{name: "server tool", body: `{` + head + `,` + user + `,"tools":[{"type":"web_search_20250305","name":"web_search","max_uses":5}]}`, wantParam: "tools.0.type"},
		{name: "bash tool", body: `{` + head + `,` + user + `,` + tool[:len(tool)-1] + `,{"type":"bash_20250124","name":"bash"}]}`, wantParam: "tools.1.type"},
		{name: "image from the Files API", body: `{` + head + `,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"file","file_id":"file_1"}}]}]}`, wantParam: "messages.0.content.0.source.type"},
		{name: "document by URL", body: `{` + head + `,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"url","url":"https://x.test/a.pdf"}}]}]}`, wantParam: "messages.0.content.0.source.type"},
		{name: "tool_choice tool without name", body: `{` + head + `,` + user + `,` + tool + `,"tool_choice":{"type":"tool"}}`, wantParam: "tool_choice.name"},
		{name: "tool_result without tool_use_id", body: `{` + head + `,"messages":[{"role":"user","content":[{"type":"tool_result","content":"x"}]}]}`, wantParam: "messages.0.content.0.tool_use_id"},
		{name: "tool_use without id", body: `{` + head + `,"messages":[{"role":"assistant","content":[{"type":"tool_use","name":"f","input":{}}]}]}`, wantParam: "messages.0.content.0.id"},
		{name: "temperature not a number", body: `{` + head + `,` + user + `,"temperature":"hot"}`, wantParam: "temperature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ToChat([]byte(tt.body))
			checkToChat(t, got, err, tt.want, tt.wantParam)
		})
	}
}

func TestToChatRejectsNonJSON(t *testing.T) {
	for _, body := range []string{``, `{`, `[1]`, `"x"`} {
		if _, err := ToChat([]byte(body)); !errors.Is(err, ErrInvalid) {
			t.Errorf("ToChat(%q) error = %v, want ErrInvalid", body, err)
		}
	}
}

// TestToChatKeepsKeyOrder: model comes first, which keeps the body easy to
// read in logs, and the output is compact.
func TestToChatKeepsKeyOrder(t *testing.T) {
	got, err := ToChat(requestFixture(t, "anthropic/messages-stream-text-tool-use.request.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(got), `{"model":"claude-3-7-sonnet-latest","messages":`) || strings.ContainsAny(string(got), "\n") {
		t.Errorf("body = %s", got)
	}
	if !gjson.ValidBytes(got) {
		t.Error("invalid JSON")
	}
}
