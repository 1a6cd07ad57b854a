package anthropic

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/providers/providertest"
)

// kv is one expected field of the native request: a gjson path and its
// JSON value ("" = must be absent).
type kv struct{ path, want string }

// sent runs body through Do against a recording upstream and returns the
// native body the upstream received.
func sent(t *testing.T, model, body string) []byte {
	t.Helper()
	up := providertest.NewUpstream(t, providertest.JSONAnswer(200, providertest.Fixture(t, "anthropic", "messages-text-tool-use.json"), nil))
	p := newTestProvider(t, up.URL, providers.Timeouts{}, nil, nil)
	if _, err := p.Do(context.Background(), chatReq(model, false, body)); err != nil {
		t.Fatalf("Do: %v", err)
	}
	b := up.Last(t).Body
	if !gjson.ValidBytes(b) {
		t.Fatalf("upstream got invalid JSON: %s", b)
	}
	return b
}

const pdfData = "JVBERi0xLjQK"

func TestGoldenRequests(t *testing.T) {
	const sonnet = "claude-sonnet-4-5"
	cases := []struct {
		name  string
		model string
		body  string
		want  []kv
	}{
		{"system and developer go to system, cache_control kept", sonnet,
			`{"messages":[{"role":"system","content":"be brief"},{"role":"developer","content":[{"type":"text","text":"cached rules","cache_control":{"type":"ephemeral"}},{"type":"text","text":"more"}]},{"role":"user","content":"hi"}]}`,
			[]kv{
				{"system", `[{"type":"text","text":"be brief"},{"type":"text","text":"cached rules","cache_control":{"type":"ephemeral"}},{"type":"text","text":"more"}]`},
				{"messages", `[{"role":"user","content":[{"type":"text","text":"hi"}]}]`},
				{"model", `"claude-sonnet-4-5"`},
				{"stream", ""},
			}},
		{"user text parts", sonnet,
			`{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":""},{"type":"text","text":"b","cache_control":{"type":"ephemeral","ttl":"1h"}}]}]}`,
			[]kv{{"messages.0.content", `[{"type":"text","text":"a"},{"type":"text","text":"b","cache_control":{"type":"ephemeral","ttl":"1h"}}]`}}},
		{"image data URI", sonnet,
			`{"messages":[{"role":"user","content":[{"type":"text","text":"what is it"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo=","detail":"high"}}]}]}`,
			[]kv{{"messages.0.content.1", `{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}`}}},
		{"image data URI image/jpg is normalised", sonnet,
			`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/jpg;base64,/9j/4AAQ"}}]}]}`,
			[]kv{{"messages.0.content.0.source.media_type", `"image/jpeg"`}}},
		{"image URL", sonnet,
			`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]}`,
			[]kv{{"messages.0.content.0", `{"type":"image","source":{"type":"url","url":"https://example.com/cat.png"}}`}}},
		{"PDF data URI via image_url", sonnet,
			`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:application/pdf;base64,` + pdfData + `"}}]}]}`,
			[]kv{{"messages.0.content.0", `{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"` + pdfData + `"}}`}}},
		{"PDF file part with file_data", sonnet,
			`{"messages":[{"role":"user","content":[{"type":"file","file":{"filename":"r.pdf","file_data":"data:application/pdf;base64,` + pdfData + `"}},{"type":"text","text":"summarise"}]}]}`,
			[]kv{
				{"messages.0.content.0", `{"type":"document","title":"r.pdf","source":{"type":"base64","media_type":"application/pdf","data":"` + pdfData + `"}}`},
				{"messages.0.content.1", `{"type":"text","text":"summarise"}`},
			}},
		{"assistant tool_calls become tool_use", sonnet,
			`{"messages":[{"role":"user","content":"weather?"},{"role":"assistant","content":"Checking.","tool_calls":[{"id":"toolu_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}},{"id":"toolu_2","type":"function","function":{"name":"get_time","arguments":""}}]},{"role":"tool","tool_call_id":"toolu_1","content":"sunny"},{"role":"tool","tool_call_id":"toolu_2","content":"noon"}]}`,
			[]kv{
				{"messages.1", `{"role":"assistant","content":[{"type":"text","text":"Checking."},{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}},{"type":"tool_use","id":"toolu_2","name":"get_time","input":{}}]}`},
			}},
		{"consecutive tool results merge into one user turn", sonnet,
			`{"messages":[{"role":"user","content":"go"},{"role":"assistant","content":null,"tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}},{"id":"b","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"a","content":"one"},{"role":"tool","tool_call_id":"b","content":[{"type":"text","text":"two"}]},{"role":"user","content":"and then?"}]}`,
			[]kv{
				{"messages.#", `3`},
				{"messages.1.content", `[{"type":"tool_use","id":"a","name":"f","input":{}},{"type":"tool_use","id":"b","name":"f","input":{}}]`},
				{"messages.2", `{"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":"one"},{"type":"tool_result","tool_use_id":"b","content":[{"type":"text","text":"two"}]},{"type":"text","text":"and then?"}]}`},
			}},
		{"consecutive same-role turns merge", sonnet,
			`{"messages":[{"role":"user","content":"a"},{"role":"user","content":"b"},{"role":"assistant","content":"c"},{"role":"assistant","content":""},{"role":"user","content":"d"}]}`,
			[]kv{{"messages", `[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},{"role":"assistant","content":[{"type":"text","text":"c"}]},{"role":"user","content":[{"type":"text","text":"d"}]}]`}}},
		{"reasoning on an assistant message is dropped", sonnet,
			`{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b","reasoning_content":"thought"},{"role":"user","content":"c"}]}`,
			[]kv{{"messages.1", `{"role":"assistant","content":[{"type":"text","text":"b"}]}`}}},
		{"tools", sonnet,
			`{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"get_weather","description":"Get weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]},"strict":true}},{"type":"function","function":{"name":"noargs"}}]}`,
			[]kv{
				{"tools", `[{"name":"get_weather","description":"Get weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}},{"name":"noargs","input_schema":{"type":"object","properties":{}}}]`},
				{"tool_choice", ""},
			}},
		{"tool_choice auto", sonnet, withTools(`"tool_choice":"auto"`), []kv{{"tool_choice", `{"type":"auto"}`}}},
		{"tool_choice required", sonnet, withTools(`"tool_choice":"required"`), []kv{{"tool_choice", `{"type":"any"}`}}},
		{"tool_choice none", sonnet, withTools(`"tool_choice":"none"`), []kv{{"tool_choice", `{"type":"none"}`}}},
		{"tool_choice function", sonnet, withTools(`"tool_choice":{"type":"function","function":{"name":"f"}}`), []kv{{"tool_choice", `{"type":"tool","name":"f"}`}}},
		{"parallel_tool_calls false without tool_choice", sonnet, withTools(`"parallel_tool_calls":false`), []kv{{"tool_choice", `{"type":"auto","disable_parallel_tool_use":true}`}}},
		{"parallel_tool_calls false with required", sonnet, withTools(`"parallel_tool_calls":false,"tool_choice":"required"`), []kv{{"tool_choice", `{"type":"any","disable_parallel_tool_use":true}`}}},
		{"parallel_tool_calls true changes nothing", sonnet, withTools(`"parallel_tool_calls":true`), []kv{{"tool_choice", ""}}},
		{"max_tokens default", sonnet, `{"messages":[{"role":"user","content":"x"}]}`, []kv{{"max_tokens", `8192`}}},
		{"max_tokens explicit", sonnet, `{"messages":[{"role":"user","content":"x"}],"max_tokens":300}`, []kv{{"max_tokens", `300`}}},
		{"max_completion_tokens preferred", sonnet, `{"messages":[{"role":"user","content":"x"}],"max_tokens":300,"max_completion_tokens":500}`, []kv{{"max_tokens", `500`}}},
		{"stop string", sonnet, `{"messages":[{"role":"user","content":"x"}],"stop":"END"}`, []kv{{"stop_sequences", `["END"]`}}},
		{"stop array", sonnet, `{"messages":[{"role":"user","content":"x"}],"stop":["a","b"]}`, []kv{{"stop_sequences", `["a","b"]`}}},
		{"temperature clamped to 1", sonnet, `{"messages":[{"role":"user","content":"x"}],"temperature":1.7}`, []kv{{"temperature", `1`}}},
		{"temperature kept in range", sonnet, `{"messages":[{"role":"user","content":"x"}],"temperature":0.3}`, []kv{{"temperature", `0.3`}}},
		{"top_p passed", sonnet, `{"messages":[{"role":"user","content":"x"}],"top_p":0.9}`, []kv{{"top_p", `0.9`}, {"temperature", ""}}},
		{"top_p dropped beside temperature", sonnet, `{"messages":[{"role":"user","content":"x"}],"top_p":0.9,"temperature":0.5}`, []kv{{"top_p", ""}, {"temperature", `0.5`}}},
		{"user becomes metadata.user_id", sonnet, `{"messages":[{"role":"user","content":"x"}],"user":"u-42"}`, []kv{{"metadata", `{"user_id":"u-42"}`}}},
		{"reasoning_effort on a budget model", sonnet,
			`{"messages":[{"role":"user","content":"x"}],"reasoning_effort":"medium","temperature":0.2,"max_tokens":1000}`,
			[]kv{{"thinking", `{"type":"enabled","budget_tokens":2048}`}, {"max_tokens", `3072`}, {"temperature", ""}, {"output_config", ""}}},
		{"reasoning_effort minimal uses the API minimum", "claude-3-7-sonnet-20250219",
			`{"messages":[{"role":"user","content":"x"}],"reasoning_effort":"minimal"}`,
			[]kv{{"thinking", `{"type":"enabled","budget_tokens":1024}`}, {"max_tokens", `8192`}}},
		{"reasoning_effort xhigh on a budget model", "claude-opus-4-6",
			`{"messages":[{"role":"user","content":"x"}],"reasoning_effort":"xhigh"}`,
			[]kv{{"thinking", `{"type":"enabled","budget_tokens":8192}`}, {"max_tokens", `9216`}}},
		{"reasoning_effort on an adaptive-only model", "claude-opus-4-7",
			`{"messages":[{"role":"user","content":"x"}],"reasoning_effort":"high","temperature":0.5}`,
			[]kv{{"thinking", `{"type":"adaptive"}`}, {"output_config", `{"effort":"high"}`}, {"max_tokens", `8192`}, {"temperature", ""}}},
		{"reasoning_effort xhigh on sonnet 5 maps to high", "claude-sonnet-5",
			`{"messages":[{"role":"user","content":"x"}],"reasoning_effort":"xhigh"}`,
			[]kv{{"thinking", `{"type":"adaptive"}`}, {"output_config.effort", `"high"`}}},
		{"reasoning_effort minimal on an adaptive model is low", "claude-opus-5",
			`{"messages":[{"role":"user","content":"x"}],"reasoning_effort":"minimal"}`,
			[]kv{{"output_config.effort", `"low"`}}},
		{"reasoning_effort none", sonnet, `{"messages":[{"role":"user","content":"x"}],"reasoning_effort":"none","temperature":0.5}`, []kv{{"thinking", ""}, {"temperature", `0.5`}}},
		{"thinking is left off when a tool is forced", sonnet, withTools(`"tool_choice":"required","reasoning_effort":"high"`), []kv{{"thinking", ""}, {"tool_choice", `{"type":"any"}`}}},
		{"thinking is left off in a tool loop", sonnet,
			`{"reasoning_effort":"high","messages":[{"role":"user","content":"go"},{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"a","content":"done"}]}`,
			[]kv{{"thinking", ""}}},
		{"response_format json_schema", sonnet,
			`{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"r","strict":true,"schema":{"type":"object","properties":{"a":{"type":"string"}},"required":["a"],"additionalProperties":false}}}}`,
			[]kv{{"output_config", `{"format":{"type":"json_schema","schema":{"type":"object","properties":{"a":{"type":"string"}},"required":["a"],"additionalProperties":false}}}`}}},
		{"response_format json_schema with adaptive thinking", "claude-opus-4-8",
			`{"messages":[{"role":"user","content":"x"}],"reasoning_effort":"max","response_format":{"type":"json_schema","json_schema":{"name":"r","schema":{"type":"object"}}}}`,
			[]kv{{"output_config", `{"effort":"max","format":{"type":"json_schema","schema":{"type":"object"}}}`}}},
		{"trailing assistant prefill with prefix:true", sonnet,
			`{"reasoning_effort":"low","messages":[{"role":"user","content":"count"},{"role":"assistant","content":"One, two, \n","prefix":true}]}`,
			[]kv{
				{"messages.1", `{"role":"assistant","content":[{"type":"text","text":"One, two,"}]}`},
				{"messages.1.prefix", ""},
				{"thinking", ""},
			}},
		{"trailing assistant prefill without prefix", sonnet,
			`{"messages":[{"role":"user","content":"count"},{"role":"assistant","content":"One"}]}`,
			[]kv{{"messages.1", `{"role":"assistant","content":[{"type":"text","text":"One"}]}`}}},
		{"a whitespace-only prefill is dropped", sonnet,
			`{"messages":[{"role":"user","content":"count"},{"role":"assistant","content":"  "}]}`,
			[]kv{{"messages.#", `1`}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := sent(t, c.model, c.body)
			for _, f := range c.want {
				field(t, b, f.path, f.want)
			}
			if strings.Contains(string(b), `"prefix"`) {
				t.Errorf("the llmgate-only prefix key leaked upstream: %s", b)
			}
		})
	}
}

// withTools is a request with one tool plus the given extra fields.
func withTools(extra string) string {
	return `{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],` + extra + `}`
}

// TestRecordedRequests rebuilds the recorded native requests from the
// OpenAI requests a client would send for them.
func TestRecordedRequests(t *testing.T) {
	weatherTool := `[{"type":"function","function":{"name":"get_weather","description":"Get weather","parameters":{"properties":{"city":{"type":"string"},"units":{"enum":["celsius","fahrenheit"],"type":"string"}},"required":["city"],"type":"object"}}}]`
	cases := []struct {
		fixture, model string
		stream         bool
		body           string
		// drop lists recorded fields this translation does not reproduce
		// on purpose.
		drop []string
	}{
		{"messages-text-tool-use.request.json", "claude-3-7-sonnet-latest", false,
			`{"max_tokens":512,"messages":[{"role":"user","content":"What's the weather in San Francisco? Use fahrenheit."}],"tools":` + weatherTool + `}`, nil},
		{"messages-stream-text-tool-use.request.json", "claude-3-7-sonnet-latest", true,
			`{"max_tokens":512,"stream":true,"messages":[{"role":"user","content":"Weather in SF?"}],"tools":` + weatherTool + `}`, nil},
		// An empty description is omitted rather than sent as "".
		{"messages-stream-parallel-tool-use.request.json", "claude-haiku-4-5-20251001", true,
			`{"stream":true,"temperature":1.0,"messages":[{"role":"user","content":[{"type":"text","text":"Two names for a pet pelican"}]}],"tools":[{"type":"function","function":{"name":"pelican_name_generator","description":"","parameters":{"properties":{},"type":"object"}}}]}`,
			[]string{"tools.0.description"}},
		// With thinking on, temperature is never sent (1.0 was the only
		// value the API accepts there anyway).
		{"messages-stream-thinking.request.json", "claude-sonnet-4-5", true,
			`{"stream":true,"temperature":1,"reasoning_effort":"low","messages":[{"role":"user","content":"Two names for a pet pelican, be brief"}]}`,
			[]string{"temperature"}},
	}
	for _, c := range cases {
		t.Run(c.fixture, func(t *testing.T) {
			rec := gjson.GetBytes(providertest.Fixture(t, "anthropic", c.fixture), "body").Raw
			for _, d := range c.drop {
				rec, _ = sjson.Delete(rec, d)
			}
			tr, err := translate(c.model, []byte(c.body), c.stream)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tr.marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !jsonEqual(string(got), rec) {
				t.Errorf("translated\n%s\nrecorded\n%s", got, rec)
			}
		})
	}
}

func TestHeadersAndPath(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.JSONAnswer(200, providertest.Fixture(t, "anthropic", "messages-text-tool-use.json"), nil))
	p := newTestProvider(t, up.URL+"/v1/", providers.Timeouts{}, nil, map[string]string{"X-Extra": "yes"})
	if _, err := p.Do(context.Background(), chatReq("claude-sonnet-4-5", false, `{"messages":[{"role":"user","content":"x"}]}`)); err != nil {
		t.Fatal(err)
	}
	got := up.Last(t)
	h := got.Header
	if got.Path != "/v1/messages" {
		t.Errorf("path = %q", got.Path)
	}
	want := map[string]string{"X-Api-Key": testKey, "Anthropic-Version": "2023-06-01", "Content-Type": "application/json", "X-Extra": "yes", "Anthropic-Beta": "", "Authorization": ""}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}

	p = newTestProvider(t, up.URL, providers.Timeouts{}, map[string]string{"version": "2099-01-01", "beta": "context-1m-2025-08-07,files-api-2025-04-14"}, nil)
	if _, err := p.Do(context.Background(), chatReq("claude-sonnet-4-5", false, `{"messages":[{"role":"user","content":"x"}]}`)); err != nil {
		t.Fatal(err)
	}
	h = up.Last(t).Header
	if h.Get("Anthropic-Version") != "2099-01-01" || h.Get("Anthropic-Beta") != "context-1m-2025-08-07,files-api-2025-04-14" {
		t.Errorf("options not applied: version %q beta %q", h.Get("Anthropic-Version"), h.Get("Anthropic-Beta"))
	}
}

func TestStreamRequestSetsStream(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.Replay(providertest.Fixture(t, "anthropic", "messages-stream-thinking.sse"), 0))
	p := newTestProvider(t, up.URL, providers.Timeouts{}, nil, nil)
	if _, err := p.Stream(context.Background(), chatReq("claude-sonnet-4-5", true, `{"messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"include_usage":true}}`), &providertest.Sink{}); err != nil {
		t.Fatal(err)
	}
	got := up.Last(t)
	b, h := got.Body, got.Header
	field(t, b, "stream", `true`)
	field(t, b, "stream_options", "")
	if h.Get("Accept") != "text/event-stream" {
		t.Errorf("Accept = %q", h.Get("Accept"))
	}
}

func TestRejectedRequests(t *testing.T) {
	cases := []struct{ name, body, msg string }{
		{"not JSON", `{"messages":`, "not valid JSON"},
		{"unknown role", `{"messages":[{"role":"narrator","content":"x"}]}`, `role "narrator"`},
		{"file id", `{"messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"file-1"}}]}]}`, "file ids"},
		{"audio", `{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AA==","format":"wav"}}]}]}`, `"input_audio"`},
		{"unsupported media", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:audio/wav;base64,AA=="}}]}]}`, "audio/wav"},
		{"bad image URL", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"gs://bucket/x.png"}}]}]}`, "http(s) URL"},
		{"unknown effort", `{"messages":[{"role":"user","content":"x"}],"reasoning_effort":"extreme"}`, "reasoning_effort"},
	}
	up := providertest.NewUpstream(t, providertest.JSONAnswer(200, providertest.Fixture(t, "anthropic", "messages-text-tool-use.json"), nil))
	p := newTestProvider(t, up.URL, providers.Timeouts{}, nil, nil)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := p.Do(context.Background(), chatReq("claude-sonnet-4-5", false, c.body))
			var se *providers.StatusError
			if !errors.As(err, &se) || se.Status != 400 || !strings.Contains(se.Message, c.msg) {
				t.Fatalf("err = %v, want a 400 mentioning %q", err, c.msg)
			}
			if gjson.GetBytes(se.Body, "error.message").Str != se.Message {
				t.Errorf("body %s is not an OpenAI error with the message", se.Body)
			}
		})
	}
	if up.Count() != 0 {
		t.Errorf("rejected requests reached the upstream %d times", up.Count())
	}
}

func TestParseModel(t *testing.T) {
	cases := []struct {
		id       string
		family   string
		maj, min int
		adaptive bool
	}{
		{"claude-opus-4-7", "opus", 4, 7, true},
		{"claude-opus-4-8", "opus", 4, 8, true},
		{"claude-opus-4-6", "opus", 4, 6, false},
		{"claude-opus-4-20250514", "opus", 4, 0, false},
		{"claude-opus-4-1-20250805", "opus", 4, 1, false},
		{"claude-opus-5", "opus", 5, 0, true},
		{"claude-sonnet-5", "sonnet", 5, 0, true},
		{"claude-sonnet-4-6", "sonnet", 4, 6, false},
		{"claude-sonnet-4-5-20250929", "sonnet", 4, 5, false},
		{"claude-3-7-sonnet-20250219", "sonnet", 3, 7, false},
		{"claude-3-haiku-20240307", "haiku", 3, 0, false},
		{"claude-haiku-4-5", "haiku", 4, 5, false},
		{"anthropic.claude-opus-4-7-v1:0", "opus", 4, 7, true},
		{"us.anthropic.claude-sonnet-4-20250514-v1:0", "sonnet", 4, 0, false},
		{"claude-opus-4-5@20251101", "opus", 4, 5, false},
		{"anthropic/claude-opus-4.7", "opus", 4, 7, true},
		{"Claude-Opus-4-7", "opus", 4, 7, true},
	}
	for _, c := range cases {
		v, ok := parseModel(c.id)
		if !ok || v.family != c.family || v.major != c.maj || v.minor != c.min {
			t.Errorf("parseModel(%q) = %+v, %v; want %s %d.%d", c.id, v, ok, c.family, c.maj, c.min)
		}
		if got := adaptiveOnly(c.id); got != c.adaptive {
			t.Errorf("adaptiveOnly(%q) = %v", c.id, got)
		}
	}
	if _, ok := parseModel("my-custom-model"); ok {
		t.Error("a model without a version parsed")
	}
	if adaptiveOnly("") {
		t.Error("empty model is adaptive-only")
	}
}
