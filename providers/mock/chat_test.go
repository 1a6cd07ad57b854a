package mock

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/providers/providertest"
	"github.com/tidwall/gjson"
)

func TestCompletionShape(t *testing.T) {
	p := newMock(t, nil)
	resp := doChatOK(t, p, chatReq("mock-mini", plainBody))
	body := gjson.ParseBytes(resp.Body)

	id := body.Get("id").Str
	if !strings.HasPrefix(id, "chatcmpl-mock-") || len(id) != len("chatcmpl-mock-")+24 {
		t.Errorf("id = %q", id)
	}
	want := map[string]string{
		"object":                          `"chat.completion"`,
		"created":                         `1767225600`,
		"model":                           `"mock-mini"`,
		"system_fingerprint":              `"fp_llmgate_mock"`,
		"service_tier":                    `"default"`,
		"choices.#":                       `1`,
		"choices.0.index":                 `0`,
		"choices.0.message.role":          `"assistant"`,
		"choices.0.message.refusal":       `null`,
		"choices.0.message.annotations":   `[]`,
		"choices.0.logprobs":              `null`,
		"choices.0.finish_reason":         `"stop"`,
		"usage.prompt_tokens_details":     `{"cached_tokens":0,"audio_tokens":0}`,
		"usage.completion_tokens_details": `{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}`,
	}
	for path, raw := range want {
		if got := body.Get(path).Raw; got != raw {
			t.Errorf("%s = %s, want %s", path, got, raw)
		}
	}
	if body.Get("choices.0.message.tool_calls").Exists() {
		t.Error("text answer carries tool_calls")
	}
	var keys []string
	body.ForEach(func(k, _ gjson.Result) bool { keys = append(keys, k.Str); return true })
	wantKeys := []string{"id", "object", "created", "model", "choices", "usage", "service_tier", "system_fingerprint"}
	if !reflect.DeepEqual(keys, wantKeys) {
		t.Errorf("keys = %v, want %v", keys, wantKeys)
	}

	u := body.Get("usage")
	if u.Get("total_tokens").Int() != u.Get("prompt_tokens").Int()+u.Get("completion_tokens").Int() {
		t.Errorf("usage does not add up: %s", u.Raw)
	}
	if resp.Usage != providers.ParseOpenAIUsage(u) {
		t.Errorf("Response.Usage %+v != body usage %s", resp.Usage, u.Raw)
	}
	content := body.Get("choices.0.message.content").Str
	if int64(len(splitTokens(content))) != resp.Usage.CompletionTokens {
		t.Errorf("completion_tokens %d != tokens in %q", resp.Usage.CompletionTokens, content)
	}
}

func TestPromptTokens(t *testing.T) {
	// 14 + 48 characters -> ceil(62/4) = 16, plus 3 per message and 3.
	resp := doChatOK(t, newMock(t, nil), chatReq("mock-mini", plainBody))
	if got, want := resp.Usage.PromptTokens, int64(16+2*3+3); got != want {
		t.Errorf("prompt_tokens = %d, want %d", got, want)
	}
	parts := `{"messages":[{"role":"user","content":[{"type":"text","text":"abcd"},{"type":"image_url","image_url":{"url":"data:x"}},{"type":"text","text":"e"}]}]}`
	resp = doChatOK(t, newMock(t, nil), chatReq("m", parts))
	if got, want := resp.Usage.PromptTokens, int64(2+3+3); got != want {
		t.Errorf("prompt_tokens with parts = %d, want %d", got, want)
	}
}

// Usage must agree between Do and Stream, and completion_tokens must equal
// the number of streamed content events, for every kind of answer.
func TestUsageConsistency(t *testing.T) {
	cases := map[string]string{
		"plain":       plainBody,
		"echo":        `{"messages":[{"role":"user","content":"echo Hello, world! How's it going?"}],"stream_options":{"include_usage":true}}`,
		"tool call":   toolBody,
		"tool result": `{"messages":[{"role":"user","content":"Weather?"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},{"role":"tool","tool_call_id":"call_1","content":"{\"temp\":21,\"sky\":\"clear\"}"}],"tools":[{"type":"function","function":{"name":"get_weather"}}]}`,
		"length":      `{"max_tokens":7,"messages":[{"role":"user","content":"Hi"}]}`,
		"json schema": `{"messages":[{"role":"user","content":"Give me a person"}],"response_format":{"type":"json_schema","json_schema":{"name":"p","schema":{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name","age"]}}}}`,
		"vision":      `{"messages":[{"role":"user","content":[{"type":"text","text":"What is in this image?"},{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]}`,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			p := newMock(t, nil)
			resp := doChatOK(t, p, chatReq("mock-mini", body))
			rec, su := streamOK(t, p, chatReq("mock-mini", body))
			u := resp.Usage
			if su != u {
				t.Errorf("stream usage %+v != Do usage %+v", su, u)
			}
			if u.Estimated || u.CompletionTokens == 0 || u.PromptTokens == 0 {
				t.Errorf("usage %+v", u)
			}
			if got := sumTokens(rec.Events); got != u.CompletionTokens {
				t.Errorf("sum of Event.Tokens = %d, completion_tokens = %d", got, u.CompletionTokens)
			}
			msg := gjson.GetBytes(resp.Body, "choices.0.message")
			if msg.Get("tool_calls").Exists() {
				if got, want := streamedArgs(rec.Events), msg.Get("tool_calls.0.function.arguments").Str; got != want {
					t.Errorf("streamed arguments %q != %q", got, want)
				}
				return
			}
			text, chunks := streamed(rec.Events)
			if int64(chunks) != u.CompletionTokens {
				t.Errorf("content chunks = %d, completion_tokens = %d", chunks, u.CompletionTokens)
			}
			if want := msg.Get("content").Str; text != want {
				t.Errorf("streamed %q != content %q", text, want)
			}
		})
	}
}

func TestDeterminism(t *testing.T) {
	p := newMock(t, nil)
	for _, body := range []string{plainBody, toolBody, usageBody} {
		a := doChatOK(t, p, chatReq("mock-mini", body))
		b := doChatOK(t, newMock(t, nil), chatReq("mock-mini", body))
		if !bytes.Equal(a.Body, b.Body) {
			t.Errorf("Do not deterministic:\n%s\n%s", a.Body, b.Body)
		}
		ra, _ := streamOK(t, p, chatReq("mock-mini", body))
		rb, _ := streamOK(t, p, chatReq("mock-mini", body))
		if !reflect.DeepEqual(ra.Events, rb.Events) {
			t.Error("Stream not deterministic")
		}
	}
	other := doChatOK(t, p, chatReq("mock-mini", strings.Replace(plainBody, "today", "tomorrow", 1)))
	first := doChatOK(t, p, chatReq("mock-mini", plainBody))
	if gjson.GetBytes(other.Body, "id").Str == gjson.GetBytes(first.Body, "id").Str {
		t.Error("different requests share an id")
	}
}

func TestAnswerText(t *testing.T) {
	p := newMock(t, nil)
	long := strings.Repeat("abcdefghij ", 10)
	resp := doChatOK(t, p, chatReq("mock-mini", fmt.Sprintf(`{"messages":[{"role":"user","content":%q}]}`, long)))
	content := gjson.GetBytes(resp.Body, "choices.0.message.content").Str
	wantLead := `This is a mock answer from llmgate (model mock-mini) to: "` + long[:60] + `".`
	if !strings.HasPrefix(content, wantLead) {
		t.Errorf("content %q lacks lead %q", content, wantLead)
	}
	for i := range 300 {
		q := fmt.Sprintf("Question number %d about something?", i)
		words := len(strings.Fields(answerText(&chatRequest{lastRole: "user", lastUser: q}, "mock-mini")))
		if words < 20 || words > 60 {
			t.Fatalf("answer to %q has %d words", q, words)
		}
	}

	echoes := []struct {
		msg, want string
		ok        bool
	}{
		{"echo Hello there", "Hello there", true},
		{"Please echo {\"a\": 1}", `{"a": 1}`, true},
		{"Echo  two spaces", " two spaces", true},
		{"echo", "", true},
		{"the echoes are not the word", "", false},
		{"re-echo: yes", ": yes", true},
	}
	for _, tc := range echoes {
		got, ok := echoed(tc.msg)
		if ok != tc.ok || got != tc.want {
			t.Errorf("echoed(%q) = %q, %v; want %q, %v", tc.msg, got, ok, tc.want, tc.ok)
		}
	}
}

func TestToolCall(t *testing.T) {
	p := newMock(t, nil)
	cases := []struct {
		name, body, tool, args string
	}{
		{"first tool", toolBody, "get_weather", `{"city":"example","days":42,"metric":true,"tags":[],"opts":{},"unit":"c"}`},
		{"named tool", strings.Replace(toolBody, `"tools"`, `"tool_choice":{"type":"function","function":{"name":"get_time"}},"tools"`, 1), "get_time", `{"zone":"example","precise":42}`},
		{"required", strings.Replace(toolBody, `"tools"`, `"tool_choice":"required","tools"`, 1), "get_weather", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := doChatOK(t, p, chatReq("mock-mini", tc.body))
			ch := gjson.GetBytes(resp.Body, "choices.0")
			if ch.Get("finish_reason").Str != "tool_calls" || ch.Get("message.content").Raw != "null" {
				t.Errorf("choice = %s", ch.Raw)
			}
			call := ch.Get("message.tool_calls.0")
			if !strings.HasPrefix(call.Get("id").Str, "call_mock_") || call.Get("type").Str != "function" {
				t.Errorf("call = %s", call.Raw)
			}
			if call.Get("function.name").Str != tc.tool {
				t.Errorf("tool = %s, want %s", call.Get("function.name").Str, tc.tool)
			}
			args := call.Get("function.arguments").Str
			var parsed map[string]any
			if err := json.Unmarshal([]byte(args), &parsed); err != nil {
				t.Fatalf("arguments %q: %v", args, err)
			}
			if tc.args != "" && args != tc.args {
				t.Errorf("arguments = %s, want %s", args, tc.args)
			}

			rec, _ := streamOK(t, p, chatReq("mock-mini", tc.body))
			first := gjson.GetBytes(rec.Events[0].Data, "choices.0.delta")
			wantFirst := fmt.Sprintf(`{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":%q,"type":"function","function":{"name":%q,"arguments":""}}],"refusal":null}`,
				call.Get("id").Str, tc.tool)
			if first.Raw != wantFirst {
				t.Errorf("first delta = %s\nwant %s", first.Raw, wantFirst)
			}
			for _, ev := range rec.Events[1 : len(rec.Events)-2] {
				frag := gjson.GetBytes(ev.Data, "choices.0.delta.tool_calls.0")
				if frag.Get("index").Raw != "0" || frag.Get("id").Exists() || frag.Get("function.name").Exists() {
					t.Errorf("fragment = %s", frag.Raw)
				}
			}
			if got := streamedArgs(rec.Events); got != args {
				t.Errorf("streamed arguments %q, want %q", got, args)
			}
		})
	}
}

func TestToolChoiceNoneAndToolResult(t *testing.T) {
	p := newMock(t, nil)
	none := strings.Replace(toolBody, `"tools"`, `"tool_choice":"none","tools"`, 1)
	resp := doChatOK(t, p, chatReq("mock-mini", none))
	if gjson.GetBytes(resp.Body, "choices.0.message.tool_calls").Exists() {
		t.Error("tool_choice none still called a tool")
	}
	result := `{"messages":[{"role":"user","content":"Weather?"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},{"role":"tool","tool_call_id":"call_1","content":"Sunny and 21 degrees in Paris"}],"tools":[{"type":"function","function":{"name":"get_weather"}}]}`
	resp = doChatOK(t, p, chatReq("mock-mini", result))
	content := gjson.GetBytes(resp.Body, "choices.0.message.content").Str
	if !strings.HasPrefix(content, `The tool get_weather returned: "Sunny and 21 degrees in Paris".`) {
		t.Errorf("content = %q", content)
	}
	if fr := gjson.GetBytes(resp.Body, "choices.0.finish_reason").Str; fr != "stop" {
		t.Errorf("finish_reason = %s", fr)
	}
}

func TestLengthCut(t *testing.T) {
	cases := []struct {
		name   string
		body   string
		tokens int64
		finish string
	}{
		{"max_tokens", `{"max_tokens":5,"messages":[{"role":"user","content":"Hi"}]}`, 5, "length"},
		{"max_completion_tokens wins", `{"max_tokens":9,"max_completion_tokens":3,"messages":[{"role":"user","content":"Hi"}]}`, 3, "length"},
		{"cap above answer", `{"max_tokens":4000,"messages":[{"role":"user","content":"echo one two"}]}`, 2, "stop"},
		{"tool call", strings.Replace(toolBody, `"tools"`, `"max_tokens":4,"tools"`, 1), 4, "length"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newMock(t, nil)
			resp := doChatOK(t, p, chatReq("mock-mini", tc.body))
			if resp.Usage.CompletionTokens != tc.tokens {
				t.Errorf("completion_tokens = %d, want %d", resp.Usage.CompletionTokens, tc.tokens)
			}
			if fr := gjson.GetBytes(resp.Body, "choices.0.finish_reason").Str; fr != tc.finish {
				t.Errorf("finish_reason = %s, want %s", fr, tc.finish)
			}
			rec, _ := streamOK(t, p, chatReq("mock-mini", tc.body))
			if got := sumTokens(rec.Events); got != tc.tokens {
				t.Errorf("streamed tokens = %d, want %d", got, tc.tokens)
			}
			fin := rec.Events[len(rec.Events)-2]
			if !fin.Finish || gjson.GetBytes(fin.Data, "choices.0.finish_reason").Str != tc.finish {
				t.Errorf("finish chunk = %s", fin.Data)
			}
		})
	}
}

func TestBadRequests(t *testing.T) {
	p := newMock(t, nil)
	for name, body := range map[string]string{
		"not json":       `{"messages":`,
		"no messages":    `{"model":"x"}`,
		"empty messages": `{"messages":[]}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := p.Do(t.Context(), chatReq("mock-mini", body))
			var se *providers.StatusError
			if !errors.As(err, &se) || se.Status != 400 || !gjson.GetBytes(se.Body, "error.message").Exists() {
				t.Fatalf("err = %v", err)
			}
			rec := &providertest.Sink{}
			if _, err := p.Stream(t.Context(), chatReq("mock-mini", body), rec); !errors.As(err, &se) || len(rec.Events) > 0 {
				t.Fatalf("Stream err = %v, events %d", err, len(rec.Events))
			}
		})
	}
}
