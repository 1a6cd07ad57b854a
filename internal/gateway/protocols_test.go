package gateway_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/llmgate/llmgate/internal/gateway"
	"github.com/llmgate/llmgate/router"
	"github.com/llmgate/llmgate/store"
)

const otherGatewayKey = "lg_otherAbCdEfGhIjKlMnOpQrStUvWxYz012345678"

// cutNested removes the llmgate object the gateway inserted into the
// object at path of an event's data, returning the data as it was.
func cutNested(t *testing.T, data, path string) (string, gjson.Result) {
	t.Helper()
	m := gjson.Get(data, path+".llmgate")
	if !m.Exists() || !m.Get("request_id").Exists() {
		t.Fatalf("no llmgate object at %s: %s", path, data)
	}
	return strings.Replace(data, `,"llmgate":`+m.Raw, "", 1), m
}

// Recorded Responses streams pass through an account that serves the
// Responses API byte for byte; the only change is the llmgate object in
// the terminal response, and the row has the recorded usage.
func TestResponsesPassthroughByteIdentical(t *testing.T) {
	for _, name := range []string{"responses-stream-text", "responses-stream-function-call", "responses-stream-reasoning-function-call"} {
		content := fixture(t, "openai/"+name+".sse")
		up := newUpstream(t, sseReplay(content, smallChunks))
		h := newHarness(t, harnessOpts{accounts: []acctSpec{{name: "oa", baseURL: up.URL, models: []string{"gpt-5-nano"}, options: map[string]string{"responses": "on"}}}})
		req, _ := sjson.Set(gjson.GetBytes(fixture(t, "openai/"+name+".request.json"), "body").Raw, "model", "gpt-5-nano")
		resp, got := h.post("/v1/responses", req)
		if resp.StatusCode != 200 || resp.Header.Get("X-Llmgate-Provider") != "oa" {
			t.Fatalf("%s: %d %s", name, resp.StatusCode, got)
		}
		evs, want := splitEvents(got), splitEvents(content)
		if len(evs) != len(want) {
			t.Fatalf("%s: %d events, recorded %d", name, len(evs), len(want))
		}
		for i := range evs {
			if i == len(evs)-1 {
				data := strings.TrimPrefix(strings.SplitN(evs[i], "\n", 2)[1], "data: ")
				orig, m := cutNested(t, strings.TrimSuffix(data, "\n\n"), "response")
				evs[i] = "event: response.completed\ndata: " + orig + "\n\n"
				if m.Get("provider").Str != "oa" || m.Get("cost_usd").Float() <= 0 {
					t.Fatalf("%s: llmgate %s", name, m.Raw)
				}
			}
			if evs[i] != want[i] {
				t.Fatalf("%s: event %d differs:\n got %q\nwant %q", name, i, evs[i], want[i])
			}
		}
		if body := up.lastBody(t); gjson.GetBytes(body, "stream_options").Exists() || gjson.GetBytes(body, "messages").Exists() {
			t.Fatalf("%s: the request was not passed through: %s", name, body)
		}
		row := h.row(resp.Header.Get("X-Llmgate-Request-Id"))
		usage := gjson.Get(strings.TrimPrefix(strings.SplitN(want[len(want)-1], "\n", 2)[1], "data: "), "response.usage")
		if row.Endpoint != "responses" || row.Status != store.StatusOK || row.PromptTokens != usage.Get("input_tokens").Int() ||
			row.CompletionTokens != usage.Get("output_tokens").Int() || row.CostUSD <= 0 {
			t.Fatalf("%s: row %+v, usage %s", name, row, usage.Raw)
		}
	}
}

// Recorded Messages streams pass through an Anthropic account byte for
// byte but for the llmgate object in message_delta.
func TestMessagesPassthroughByteIdentical(t *testing.T) {
	for _, name := range []string{"messages-stream-text-tool-use", "messages-stream-thinking"} {
		content := fixture(t, "anthropic/"+name+".sse")
		up := newUpstream(t, sseReplay(content, smallChunks))
		h := newHarness(t, harnessOpts{accounts: []acctSpec{{name: "claude", typ: "anthropic", baseURL: up.URL, models: []string{"claude-sonnet-4-5"}}}})
		req, _ := sjson.Set(gjson.GetBytes(fixture(t, "anthropic/"+name+".request.json"), "body").Raw, "model", "claude-sonnet-4-5")
		resp, got := h.post("/v1/messages", req, "Authorization", "", "X-Api-Key", testGatewayKey, "Anthropic-Beta", "fine-grained-tool-streaming-2025-05-14")
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", name, resp.StatusCode, got)
		}
		evs, want := splitEvents(got), splitEvents(content)
		if len(evs) != len(want) {
			t.Fatalf("%s: %d events, recorded %d", name, len(evs), len(want))
		}
		for i := range evs {
			if strings.HasPrefix(evs[i], "event: message_delta\n") {
				data := strings.TrimSuffix(strings.TrimPrefix(strings.SplitN(evs[i], "\n", 2)[1], "data: "), "\n\n")
				orig, m, _ := cutMeta(t, data)
				if m.Provider != "claude" {
					t.Fatalf("llmgate %+v", m)
				}
				// The recording has a space after "data:" and inside
				// its JSON: compare the payloads, not the framing.
				wantData := strings.TrimSuffix(strings.TrimPrefix(strings.SplitN(want[i], "\n", 2)[1], "data: "), "\n\n")
				if orig != wantData {
					t.Fatalf("message_delta differs:\n got %s\nwant %s", orig, wantData)
				}
				continue
			}
			if evs[i] != want[i] {
				t.Fatalf("%s: event %d differs:\n got %q\nwant %q", name, i, evs[i], want[i])
			}
		}
		if up.lastHeader(t).Get("Anthropic-Beta") != "fine-grained-tool-streaming-2025-05-14" {
			t.Fatalf("anthropic-beta not forwarded: %v", up.lastHeader(t))
		}
		if row := h.row(resp.Header.Get("X-Llmgate-Request-Id")); row.Endpoint != "messages" || row.Status != store.StatusOK || row.CompletionTokens == 0 || row.PromptTokens == 0 {
			t.Fatalf("row %+v", row)
		}
	}
}

// A Messages request to an OpenAI-type account comes back as Anthropic's
// event sequence, with the llmgate object on message_delta.
func TestMessagesTranslatedStream(t *testing.T) {
	up := newUpstream(t, sseReplay(fixture(t, "openai/chat-stream-tool-call-usage.sse"), byEvent))
	h := newHarness(t, harnessOpts{accounts: []acctSpec{{name: "oa", baseURL: up.URL, models: []string{"gpt-4o-mini"}}}})
	resp, got := h.post("/v1/messages", `{"model":"gpt-4o-mini","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"weather?"}],"tools":[{"name":"get_weather","input_schema":{"type":"object"}}]}`)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, got)
	}
	var names []string
	for _, ev := range splitEvents(got) {
		names = append(names, strings.TrimPrefix(strings.SplitN(ev, "\n", 2)[0], "event: "))
		if strings.HasPrefix(ev, "event: message_delta") && !strings.Contains(ev, `"llmgate":{"request_id"`) {
			t.Fatalf("message_delta without the llmgate object: %s", ev)
		}
	}
	joined := strings.Join(names, ",")
	if !strings.HasPrefix(joined, "message_start,content_block_start") || !strings.HasSuffix(joined, "message_delta,message_stop") || !strings.Contains(joined, "content_block_delta") {
		t.Fatalf("events %s", joined)
	}
	body := up.lastBody(t)
	if !gjson.GetBytes(body, "messages").IsArray() || gjson.GetBytes(body, "tools.0.function.name").Str != "get_weather" {
		t.Fatalf("upstream got %s", body)
	}
	if row := h.row(resp.Header.Get("X-Llmgate-Request-Id")); row.Endpoint != "messages" || row.Status != store.StatusOK || row.CompletionTokens == 0 {
		t.Fatalf("row %+v", row)
	}
}

// Errors on /v1/messages are Anthropic-shaped, including an upstream's
// own 4xx from a translated provider.
func TestMessagesErrorsAreAnthropicShaped(t *testing.T) {
	up := newUpstream(t, jsonReply(400, []byte(`{"error":{"message":"bad thing","type":"invalid_request_error","code":"bad"}}`)))
	h := newHarness(t, harnessOpts{accounts: []acctSpec{{name: "oa", baseURL: up.URL, models: []string{"gpt-4o-mini"}}}})
	for _, c := range []struct {
		body, typ string
		status    int
		hdr       []string
	}{
		{`{"model":"gpt-4o-mini","max_tokens":10,"messages":[]}`, "authentication_error", 401, []string{"Authorization", "Bearer lg_wrong000000000000000000000000000000"}},
		{`{"model":"nope","max_tokens":10,"messages":[{"role":"user","content":"x"}]}`, "not_found_error", 404, nil},
		{`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}]}`, "invalid_request_error", 400, nil},
		{`{"model":"gpt-4o-mini","max_tokens":10,"messages":[{"role":"user","content":"x"}]}`, "invalid_request_error", 400, nil},
	} {
		resp, got := h.post("/v1/messages", c.body, c.hdr...)
		if resp.StatusCode != c.status || gjson.GetBytes(got, "type").Str != "error" || gjson.GetBytes(got, "error.type").Str != c.typ || gjson.GetBytes(got, "error.message").Str == "" {
			t.Errorf("%s: %d %s", c.body, resp.StatusCode, got)
		}
	}
}

// A stored response belongs to the key that made it: another key can
// neither continue it, read it nor delete it.
func TestStoredResponsesArePerKey(t *testing.T) {
	up := newUpstream(t, jsonReply(200, fixture(t, "openai/chat-completion-text.json")))
	h := newHarness(t, harnessOpts{
		accounts: []acctSpec{{name: "oa", baseURL: up.URL, models: []string{"gpt-4o-mini"}}},
		keys:     []gateway.StaticKey{{Secret: testGatewayKey, Name: "a"}, {Secret: otherGatewayKey, Name: "b"}},
	})
	resp, got := h.post("/v1/responses", `{"model":"gpt-4o-mini","input":"hello"}`)
	id := gjson.GetBytes(got, "id").Str
	if resp.StatusCode != 200 || !strings.HasPrefix(id, "resp_") || gjson.GetBytes(got, "object").Str != "response" {
		t.Fatalf("%d %s", resp.StatusCode, got)
	}
	// The owner continues it: the upstream sees the earlier turn.
	resp, got = h.post("/v1/responses", `{"model":"gpt-4o-mini","input":"and again","previous_response_id":"`+id+`"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, got)
	}
	msgs := gjson.GetBytes(up.lastBody(t), "messages").Array()
	if len(msgs) != 3 || msgs[0].Get("content").Str != "hello" || msgs[1].Get("role").Str != "assistant" || msgs[2].Get("content").Str != "and again" {
		t.Fatalf("conversation sent upstream: %v", msgs)
	}
	other := []string{"Authorization", "Bearer " + otherGatewayKey}
	resp, got = h.post("/v1/responses", `{"model":"gpt-4o-mini","input":"x","previous_response_id":"`+id+`"}`, other...)
	if resp.StatusCode != 400 || gjson.GetBytes(got, "error.code").Str != "previous_response_not_found" {
		t.Fatalf("another key continued it: %d %s", resp.StatusCode, got)
	}
	get := func(method, key string) (*http.Response, []byte) {
		req, _ := http.NewRequest(method, h.URL+"/v1/responses/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		return h.do(req)
	}
	if resp, got := get(http.MethodGet, otherGatewayKey); resp.StatusCode != 404 {
		t.Fatalf("another key read it: %d %s", resp.StatusCode, got)
	}
	if resp, _ := get(http.MethodDelete, otherGatewayKey); resp.StatusCode != 404 {
		t.Fatalf("another key deleted it: %d", resp.StatusCode)
	}
	if resp, got := get(http.MethodGet, testGatewayKey); resp.StatusCode != 200 || gjson.GetBytes(got, "id").Str != id {
		t.Fatalf("owner read: %d %s", resp.StatusCode, got)
	}
	req, _ := http.NewRequest(http.MethodGet, h.URL+"/v1/responses/"+id+"/input_items", nil)
	req.Header.Set("Authorization", "Bearer "+testGatewayKey)
	if resp, got := h.do(req); resp.StatusCode != 200 || gjson.GetBytes(got, "object").Str != "list" ||
		gjson.GetBytes(got, "data.0.content.0.text").Str != "hello" {
		t.Fatalf("input_items: %d %s", resp.StatusCode, got)
	}
	if resp, got := get(http.MethodDelete, testGatewayKey); resp.StatusCode != 200 || !gjson.GetBytes(got, "deleted").Bool() {
		t.Fatalf("owner delete: %d %s", resp.StatusCode, got)
	}
	if resp, _ := get(http.MethodGet, testGatewayKey); resp.StatusCode != 404 {
		t.Fatalf("deleted response still readable: %d", resp.StatusCode)
	}
	// store:false keeps nothing.
	_, got = h.post("/v1/responses", `{"model":"gpt-4o-mini","input":"hello","store":false}`)
	if resp, _ := h.post("/v1/responses", `{"model":"gpt-4o-mini","input":"x","previous_response_id":"`+gjson.GetBytes(got, "id").Str+`"}`); resp.StatusCode != 400 {
		t.Fatalf("a store:false response was continued: %d", resp.StatusCode)
	}
}

// previous_response_id passes through to the account that stored the
// response itself; any other account gets the conversation inlined.
func TestResponsesContinuationAcrossAccounts(t *testing.T) {
	// Each answer gets its own id, as the API gives.
	var n atomic.Int64
	created := fixture(t, "openai/responses-create-reasoning.json")
	native := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		b, _ := sjson.SetBytes(created, "id", fmt.Sprintf("resp_native%d", n.Add(1)))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	})
	chat := newUpstream(t, jsonReply(200, fixture(t, "openai/chat-completion-text.json")))
	h := newHarness(t, harnessOpts{accounts: []acctSpec{
		{name: "oa", baseURL: native.URL, models: []string{"gpt-5-nano"}, options: map[string]string{"responses": "on"}},
		{name: "compat", baseURL: chat.URL, models: []string{"gpt-4o-mini"}},
	}})
	resp, got := h.post("/v1/responses", `{"model":"gpt-5-nano","input":"hello"}`)
	id := gjson.GetBytes(got, "id").Str
	if resp.StatusCode != 200 || id == "" || gjson.GetBytes(got, "llmgate.provider").Str != "oa" {
		t.Fatalf("%d %s", resp.StatusCode, got)
	}
	// Same account: passed through by id.
	h.post("/v1/responses", `{"model":"gpt-5-nano","input":"more","previous_response_id":"`+id+`"}`)
	if b := native.lastBody(t); gjson.GetBytes(b, "previous_response_id").Str != id || gjson.GetBytes(b, "input").Str != "more" {
		t.Fatalf("native continuation: %s", b)
	}
	// Another account: the stored turn is inlined as chat messages.
	resp, got = h.post("/v1/responses", `{"model":"gpt-4o-mini","input":"more","previous_response_id":"`+id+`"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, got)
	}
	msgs := gjson.GetBytes(chat.lastBody(t), "messages").Array()
	if len(msgs) < 3 || msgs[0].Get("content").Str != "hello" || msgs[len(msgs)-1].Get("content").Str != "more" {
		t.Fatalf("inlined conversation: %v", msgs)
	}
	if gjson.GetBytes(got, "previous_response_id").Str != id {
		t.Fatalf("previous_response_id not echoed: %s", got)
	}
}

// An Anthropic account that is overloaded before its first token is
// left invisibly: the next account (an OpenAI-type one, translated)
// answers, and the client gets one clean Anthropic stream.
func TestMessagesFailoverNativeToTranslated(t *testing.T) {
	anth := newUpstream(t, sseReplay(fixture(t, "anthropic/messages-stream-error-overloaded.sse"), byEvent))
	oa := newUpstream(t, sseReplay(fixture(t, "openai/chat-stream-text-usage.sse"), byEvent))
	h := newHarness(t, harnessOpts{
		accounts: []acctSpec{
			{name: "claude", typ: "anthropic", baseURL: anth.URL, models: []string{"shared-model"}, weight: 1000},
			{name: "oa", baseURL: oa.URL, models: []string{"shared-model"}, weight: 1},
		},
		retry: router.RetryPolicy{Attempts: 1},
	})
	for i := 0; i < 5; i++ {
		resp, got := h.post("/v1/messages", `{"model":"shared-model","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi"}]}`)
		if resp.StatusCode != 200 || resp.Header.Get("X-Llmgate-Provider") != "oa" {
			t.Fatalf("%d %v %s", resp.StatusCode, resp.Header, got)
		}
		evs := splitEvents(got)
		if !strings.HasPrefix(evs[0], "event: message_start") || !strings.HasPrefix(evs[len(evs)-1], "event: message_stop") || strings.Contains(string(got), "overloaded") {
			t.Fatalf("stream:\n%s", got)
		}
		row := h.row(resp.Header.Get("X-Llmgate-Request-Id"))
		if row.Status != store.StatusOK || (len(row.Attempts) == 2 && row.Attempts[0].Status != 529) {
			t.Fatalf("row %+v", row)
		}
	}
	if b := anth.lastBody(t); gjson.GetBytes(b, "messages.0.content").Str != "hi" {
		t.Fatalf("the Anthropic account got %s", b)
	}
}

// A Responses request to an Anthropic account goes through both
// translations (Responses to chat, chat to Messages, and back) and comes
// out as the Responses event sequence with the recorded tool call.
func TestResponsesToAnthropic(t *testing.T) {
	up := newUpstream(t, sseReplay(fixture(t, "anthropic/messages-stream-text-tool-use.sse"), smallChunks))
	h := newHarness(t, harnessOpts{accounts: []acctSpec{{name: "claude", typ: "anthropic", baseURL: up.URL, models: []string{"claude-sonnet-4-5"}}}})
	resp, got := h.post("/v1/responses", `{"model":"claude-sonnet-4-5","stream":true,"input":"weather in Paris?","instructions":"be brief",`+
		`"tools":[{"type":"function","name":"get_weather","parameters":{"type":"object"}}]}`)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, got)
	}
	evs := splitEvents(got)
	first, last := evs[0], evs[len(evs)-1]
	if !strings.HasPrefix(first, "event: response.created\n") || !strings.HasPrefix(last, "event: response.completed\n") {
		t.Fatalf("stream:\n%s", got)
	}
	data := strings.TrimPrefix(strings.SplitN(last, "\n", 2)[1], "data: ")
	r := gjson.Get(data, "response")
	if r.Get("llmgate.provider").Str != "claude" || r.Get("usage.output_tokens").Int() == 0 || !strings.Contains(r.Get("output").Raw, `"type":"function_call"`) {
		t.Fatalf("terminal response %s", r.Raw)
	}
	body := up.lastBody(t)
	if gjson.GetBytes(body, "system").String() == "" || gjson.GetBytes(body, "tools.0.name").Str != "get_weather" {
		t.Fatalf("Anthropic got %s", body)
	}
	if row := h.row(resp.Header.Get("X-Llmgate-Request-Id")); row.Endpoint != "responses" || row.Status != store.StatusOK || row.CostUSD <= 0 {
		t.Fatalf("row %+v", row)
	}
}

// With responses_retention off nothing is stored: previous_response_id
// is refused with a message saying why, and GET finds nothing.
func TestResponsesRetentionOff(t *testing.T) {
	up := newUpstream(t, jsonReply(200, fixture(t, "openai/chat-completion-text.json")))
	h := newHarness(t, harnessOpts{accounts: []acctSpec{{name: "oa", baseURL: up.URL, models: []string{"gpt-4o-mini"}}}, retention: -1})
	_, got := h.post("/v1/responses", `{"model":"gpt-4o-mini","input":"hello"}`)
	id := gjson.GetBytes(got, "id").Str
	resp, got := h.post("/v1/responses", `{"model":"gpt-4o-mini","input":"x","previous_response_id":"`+id+`"}`)
	if resp.StatusCode != 400 || !strings.Contains(gjson.GetBytes(got, "error.message").Str, "responses_retention") {
		t.Fatalf("%d %s", resp.StatusCode, got)
	}
	req, _ := http.NewRequest(http.MethodDelete, h.URL+`/v1/responses/a"b`, nil)
	req.Header.Set("Authorization", "Bearer "+testGatewayKey)
	if resp, got := h.do(req); resp.StatusCode != 404 || !gjson.ValidBytes(got) {
		t.Fatalf("delete: %d %s", resp.StatusCode, got)
	}
}
