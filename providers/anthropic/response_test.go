package anthropic

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/internal/catalog"
	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/providers/providertest"
)

func doFixture(t *testing.T, name, model, body string) *providers.Response {
	t.Helper()
	up := providertest.NewUpstream(t, providertest.JSONAnswer(200, providertest.Fixture(t, "anthropic", name), nil))
	p := newTestProvider(t, up.URL, providers.Timeouts{}, nil, nil)
	resp, err := p.Do(context.Background(), chatReq(model, false, body))
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	if !gjson.ValidBytes(resp.Body) {
		t.Fatalf("invalid JSON: %s", resp.Body)
	}
	return resp
}

// checkCost asserts the catalogue prices usage as computed by hand from
// the model's per-million rates.
func checkCost(t *testing.T, model string, u providers.Usage, want float64) {
	t.Helper()
	got, ok := catalog.Default().Cost(model, catalog.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens,
		CachedTokens: u.CachedTokens, CacheWriteTokens: u.CacheWriteTokens, ReasoningTokens: u.ReasoningTokens})
	if !ok {
		t.Fatalf("model %s not in the catalogue", model)
	}
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("cost(%s) = %.9f, want %.9f", model, got, want)
	}
}

func TestDoTextToolUse(t *testing.T) {
	before := time.Now().Unix()
	resp := doFixture(t, "messages-text-tool-use.json", "claude-3-7-sonnet-latest", `{"messages":[{"role":"user","content":"x"}]}`)
	b := resp.Body
	field(t, b, "id", `"chatcmpl-msg_01VLZuPg94y7NULJySZhEDJY"`)
	field(t, b, "object", `"chat.completion"`)
	field(t, b, "model", `"claude-3-7-sonnet-20250219"`)
	if c := gjson.GetBytes(b, "created").Int(); c < before || c > time.Now().Unix() {
		t.Errorf("created = %d", c)
	}
	field(t, b, "choices.#", `1`)
	field(t, b, "choices.0.index", `0`)
	field(t, b, "choices.0.message.role", `"assistant"`)
	field(t, b, "choices.0.message.content", `"I'll get the current weather in San Francisco for you in Fahrenheit."`)
	field(t, b, "choices.0.message.refusal", `null`)
	field(t, b, "choices.0.message.reasoning_content", "")
	field(t, b, "choices.0.message.tool_calls", `[{"id":"toolu_01TZR6ZrLHdpAWdmhVPuDfjQ","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"San Francisco\",\"units\":\"fahrenheit\"}"}}]`)
	field(t, b, "choices.0.logprobs", `null`)
	field(t, b, "choices.0.finish_reason", `"tool_calls"`)
	field(t, b, "usage", `{"prompt_tokens":402,"completion_tokens":89,"total_tokens":491,"prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}`)
	if resp.Usage != (providers.Usage{PromptTokens: 402, CompletionTokens: 89}) {
		t.Errorf("usage = %+v", resp.Usage)
	}
	// claude-3-7-sonnet is retired and not in the catalogue.
	if _, ok := catalog.Default().Cost("claude-3-7-sonnet-20250219", catalog.Usage{PromptTokens: 1}); ok {
		t.Log("claude-3-7-sonnet is priced now; add a cost assertion")
	}
}

func TestDoThinkingToolUse(t *testing.T) {
	resp := doFixture(t, "messages-thinking-tool-use.json", "claude-sonnet-4-0", `{"messages":[{"role":"user","content":"x"}],"reasoning_effort":"high"}`)
	b := resp.Body
	field(t, b, "id", `"chatcmpl-msg_01WvueFjZVbHcj4H4zUzeGv2"`)
	field(t, b, "model", `"claude-sonnet-4-20250514"`)
	field(t, b, "choices.0.message.content", `"I'll help you find the largest city in your country. First, let me determine which country you're from."`)
	want := gjson.GetBytes(providertest.Fixture(t, "anthropic", "messages-thinking-tool-use.json"), "content.0.thinking").Str
	if got := gjson.GetBytes(b, "choices.0.message.reasoning_content").Str; got != want || !strings.HasPrefix(got, "The user is asking about the largest city") {
		t.Errorf("reasoning_content = %q", got)
	}
	field(t, b, "choices.0.message.tool_calls", `[{"id":"toolu_01YGzqpRE16Vricda3Aqcejo","type":"function","function":{"name":"get_user_country","arguments":"{}"}}]`)
	field(t, b, "choices.0.finish_reason", `"tool_calls"`)
	field(t, b, "usage.prompt_tokens", `398`)
	field(t, b, "usage.completion_tokens", `155`)
	field(t, b, "usage.total_tokens", `553`)
	field(t, b, "usage.completion_tokens_details.reasoning_tokens", `0`)
}

func TestConvertResponseShapes(t *testing.T) {
	cases := []struct {
		name   string
		native string
		want   []kv
		usage  providers.Usage
	}{
		{"tool calls only: content null",
			`{"id":"msg_1","model":"claude-haiku-4-5","content":[{"type":"tool_use","id":"t1","name":"f","input":{"a":[1, 2]}},{"type":"tool_use","id":"t2","name":"g","input":{}}],"stop_reason":"tool_use","usage":{"input_tokens":10,"output_tokens":5}}`,
			[]kv{{"choices.0.message.content", `null`}, {"choices.0.message.tool_calls.#", `2`}, {"choices.0.message.tool_calls.0.function.arguments", `"{\"a\":[1,2]}"`}, {"choices.0.message.tool_calls.1.id", `"t2"`}},
			providers.Usage{PromptTokens: 10, CompletionTokens: 5}},
		{"cache reads and writes are part of the prompt",
			`{"id":"msg_2","model":"claude-sonnet-4-6","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}],"stop_reason":"end_turn","usage":{"input_tokens":100,"cache_read_input_tokens":2000,"cache_creation_input_tokens":300,"output_tokens":50}}`,
			[]kv{{"choices.0.message.content", `"ab"`}, {"choices.0.message.tool_calls", ""}, {"choices.0.finish_reason", `"stop"`},
				{"usage", `{"prompt_tokens":2400,"completion_tokens":50,"total_tokens":2450,"prompt_tokens_details":{"cached_tokens":2000,"cache_write_tokens":300},"completion_tokens_details":{"reasoning_tokens":0}}`}},
			providers.Usage{PromptTokens: 2400, CompletionTokens: 50, CachedTokens: 2000, CacheWriteTokens: 300}},
		{"redacted thinking and server tools are ignored",
			`{"id":"msg_3","model":"m","content":[{"type":"redacted_thinking","data":"xx"},{"type":"server_tool_use","id":"srv","name":"web_search","input":{"q":"x"}},{"type":"web_search_tool_result","tool_use_id":"srv","content":[]},{"type":"text","text":"found"}],"stop_reason":"pause_turn","usage":{"input_tokens":1,"output_tokens":2}}`,
			[]kv{{"choices.0.message.content", `"found"`}, {"choices.0.message.tool_calls", ""}, {"choices.0.message.reasoning_content", ""}, {"choices.0.finish_reason", `"stop"`}},
			providers.Usage{PromptTokens: 1, CompletionTokens: 2}},
		{"no content at all is an empty string",
			`{"id":"msg_4","model":"m","content":[],"stop_reason":"max_tokens","usage":{"input_tokens":1,"output_tokens":0}}`,
			[]kv{{"choices.0.message.content", `""`}, {"choices.0.finish_reason", `"length"`}},
			providers.Usage{PromptTokens: 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := convertResponse([]byte(c.native), "", 1700000000)
			if err != nil {
				t.Fatal(err)
			}
			field(t, r.Body, "created", `1700000000`)
			for _, f := range c.want {
				field(t, r.Body, f.path, f.want)
			}
			if r.Usage != c.usage {
				t.Errorf("usage = %+v, want %+v", r.Usage, c.usage)
			}
		})
	}
	// Cache pricing: 100 fresh at 3, 2000 read at 0.3, 300 written at 3.75, 50 out at 15 per 1M.
	checkCost(t, "claude-sonnet-4-6", providers.Usage{PromptTokens: 2400, CompletionTokens: 50, CachedTokens: 2000, CacheWriteTokens: 300},
		(100*3+2000*0.3+300*3.75+50*15)/1e6)
}

func TestFinishReasons(t *testing.T) {
	for in, want := range map[string]string{
		"end_turn": "stop", "stop_sequence": "stop", "pause_turn": "stop",
		"max_tokens": "length", "model_context_window_exceeded": "length",
		"tool_use": "tool_calls", "refusal": "content_filter", "": "stop", "something_new": "stop",
	} {
		if got := finishReason(in); got != want {
			t.Errorf("finishReason(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDoPrefillContinuation(t *testing.T) {
	native := `{"id":"msg_p","model":"claude-haiku-4-5","content":[{"type":"text","text":" three, four."}],"stop_reason":"end_turn","usage":{"input_tokens":12,"output_tokens":4}}`
	up := providertest.NewUpstream(t, providertest.JSONAnswer(200, []byte(native), nil))
	p := newTestProvider(t, up.URL, providers.Timeouts{}, nil, nil)
	resp, err := p.Do(context.Background(), chatReq("claude-haiku-4-5", false,
		`{"messages":[{"role":"user","content":"count"},{"role":"assistant","content":"One, two, ","prefix":true}]}`))
	if err != nil {
		t.Fatal(err)
	}
	b := up.Last(t).Body
	field(t, b, "messages.1.content.0.text", `"One, two,"`)
	// The client has "One, two, " already: the space is not sent twice.
	field(t, resp.Body, "choices.0.message.content", `"three, four."`)
}

func TestWSSkipper(t *testing.T) {
	cases := []struct {
		trimmed string
		frags   []string
		want    string
	}{
		{" ", []string{" world"}, "world"},
		{" ", []string{"world"}, "world"},
		{"\n\n", []string{"\n", "\nNext"}, "Next"},
		{"\n\n", []string{"\n", "x", "\n"}, "x\n"},
		{"", []string{" a"}, " a"},
		{" \n", []string{" ", " b"}, " b"},
	}
	for _, c := range cases {
		s := wsSkipper{rest: c.trimmed}
		var got string
		for _, f := range c.frags {
			got += s.feed(f)
		}
		if got != c.want {
			t.Errorf("trimmed %q, frags %q: got %q, want %q", c.trimmed, c.frags, got, c.want)
		}
	}
}

func TestDoErrors(t *testing.T) {
	cases := []struct {
		name    string
		status  int
		body    []byte
		hdr     map[string]string
		code    string
		msg     string
		retryIn time.Duration
	}{
		{"400 invalid request", 400, providertest.Fixture(t, "anthropic", "error-400-invalid-request.json"), nil, "invalid_request_error",
			"This model does not support effort level 'xhigh'. Supported levels: high, low, max, medium.", 0},
		{"529 overloaded", 529, providertest.Fixture(t, "anthropic", "error-529-overloaded.json"), nil, "overloaded_error", "Overloaded", 0},
		{"529 with retry-after", 529, providertest.Fixture(t, "anthropic", "error-529-overloaded.json"), map[string]string{"retry-after": "3"}, "overloaded_error", "Overloaded", 3 * time.Second},
		{"429 rate limited", 429, []byte(`{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"},"request_id":"req_1"}`),
			map[string]string{"retry-after": "17"}, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit", 17 * time.Second},
		{"non-JSON 502", 502, []byte("<html>bad gateway</html>"), nil, "", "<html>bad gateway</html>", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			up := providertest.NewUpstream(t, providertest.JSONAnswer(c.status, c.body, c.hdr))
			p := newTestProvider(t, up.URL, providers.Timeouts{}, nil, nil)
			for _, stream := range []bool{false, true} {
				req := chatReq("claude-opus-4-6", stream, `{"messages":[{"role":"user","content":"x"}]}`)
				var err error
				if stream {
					sink := &providertest.Sink{}
					_, err = p.Stream(context.Background(), req, sink)
					if sink.Committed() {
						t.Error("an error status reached the sink")
					}
				} else {
					_, err = p.Do(context.Background(), req)
				}
				var se *providers.StatusError
				if !errors.As(err, &se) {
					t.Fatalf("stream=%v: err = %v, want *StatusError", stream, err)
				}
				if se.Status != c.status || se.Code != c.code || se.Message != c.msg || se.RetryAfter != c.retryIn {
					t.Errorf("stream=%v: got status %d code %q message %q retry %v", stream, se.Status, se.Code, se.Message, se.RetryAfter)
				}
				if string(se.Body) != string(c.body) {
					t.Errorf("body not kept as received: %s", se.Body)
				}
			}
		})
	}
}

func TestDoBadAnswers(t *testing.T) {
	for name, body := range map[string]string{
		"truncated JSON":   `{"id":"msg_1","content":[{"type":"text","te`,
		"error in a 200":   `{"type":"error","error":{"type":"api_error","message":"boom"}}`,
		"empty 200 answer": ``,
	} {
		t.Run(name, func(t *testing.T) {
			up := providertest.NewUpstream(t, providertest.JSONAnswer(200, []byte(body), nil))
			p := newTestProvider(t, up.URL, providers.Timeouts{}, nil, nil)
			_, err := p.Do(context.Background(), chatReq("claude-haiku-4-5", false, `{"messages":[{"role":"user","content":"x"}]}`))
			if !errors.Is(err, providers.ErrBadResponse) {
				t.Errorf("err = %v, want ErrBadResponse", err)
			}
		})
	}
}

func TestEmbeddingsRefused(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.JSONAnswer(200, []byte(`{}`), nil))
	p := newTestProvider(t, up.URL, providers.Timeouts{}, nil, nil)
	req := &providers.Request{Endpoint: providers.Embeddings, Model: "claude-haiku-4-5", Body: []byte(`{"input":"x"}`)}
	_, err := p.Do(context.Background(), req)
	var se *providers.StatusError
	if !errors.As(err, &se) || se.Status != 400 || se.Message != "anthropic does not offer embeddings" {
		t.Fatalf("err = %v", err)
	}
	if gjson.GetBytes(se.Body, "error.message").Str != "anthropic does not offer embeddings" || gjson.GetBytes(se.Body, "error.type").Str != "invalid_request_error" {
		t.Errorf("body = %s", se.Body)
	}
	if up.Count() != 0 {
		t.Error("an embeddings request reached the upstream")
	}
	caps := p.(providers.Capable).Capabilities()
	if caps != (providers.Capabilities{Tools: true, Vision: true, JSONSchema: true, Reasoning: true, AssistantPrefix: true}) {
		t.Errorf("capabilities = %+v", caps)
	}
}

func TestRegistration(t *testing.T) {
	tp, ok := providers.Lookup("anthropic")
	if !ok || tp.Family != "anthropic" || tp.DefaultBaseURL != "https://api.anthropic.com/v1" {
		t.Fatalf("registered type = %+v", tp)
	}
	if _, err := tp.New(providers.Config{BaseURL: "ftp://x"}); err == nil {
		t.Error("a non-http base_url was accepted")
	}
	p, err := New(providers.Config{})
	if err != nil || p.baseURL != "https://api.anthropic.com/v1" {
		t.Errorf("default base URL: %v %v", p, err)
	}
}

func TestDoTimeout(t *testing.T) {
	up := providertest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	p := newTestProvider(t, up.URL, providers.Timeouts{Headers: 100 * time.Millisecond}, nil, nil)
	_, err := p.Do(context.Background(), chatReq("claude-haiku-4-5", false, `{"messages":[{"role":"user","content":"x"}]}`))
	if !errors.Is(err, providers.ErrTimeout) || !strings.Contains(err.Error(), "response headers") {
		t.Errorf("err = %v, want a response headers timeout", err)
	}
}
