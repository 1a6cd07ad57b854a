package gateway_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	_ "github.com/llmgate/llmgate/providers/anthropic"
	"github.com/llmgate/llmgate/router"
	"github.com/llmgate/llmgate/store"
)

// An Anthropic account answering 529 (overloaded) falls over to an OpenAI
// account for the same request; the client gets an ordinary OpenAI answer
// and can tell only from the headers.
func TestFailoverAcrossTypes(t *testing.T) {
	overloaded := fixture(t, "anthropic/error-529-overloaded.json")
	anth := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(529)
		w.Write(overloaded)
	})
	oa := newUpstream(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if gjson.GetBytes(body, "stream").Bool() {
			sseReplay(fixture(t, "openai/chat-stream-text-usage.sse"), byEvent)(w, r, body)
			return
		}
		jsonReply(200, fixture(t, "openai/chat-completion-text.json"))(w, r, body)
	})
	h := newHarness(t, harnessOpts{accounts: []acctSpec{
		{name: "claude", typ: "anthropic", baseURL: anth.URL, models: []string{"claude-sonnet-4-6"}},
		{name: "oa", baseURL: oa.URL, models: []string{"gpt-4o-mini"}},
	}, retry: router.RetryPolicy{Attempts: 1}})
	for _, stream := range []bool{false, true} {
		body := `{"model":"claude-sonnet-4-6","stream":` + map[bool]string{true: "true", false: "false"}[stream] +
			`,"messages":[{"role":"user","content":"hi"}],"llmgate":{"fallbacks":["gpt-4o-mini"]}}`
		resp, got := h.chat(body)
		if resp.StatusCode != 200 {
			t.Fatalf("stream=%v: status %d: %s", stream, resp.StatusCode, got)
		}
		if resp.Header.Get("X-Llmgate-Provider") != "oa" || resp.Header.Get("X-Llmgate-Attempts") != "2" || resp.Header.Get("X-Llmgate-Model") != "gpt-4o-mini" {
			t.Errorf("stream=%v: headers provider %q attempts %q model %q", stream, resp.Header.Get("X-Llmgate-Provider"),
				resp.Header.Get("X-Llmgate-Attempts"), resp.Header.Get("X-Llmgate-Model"))
		}
		if stream {
			text, errEv := clientText(t, got)
			if errEv != "" || !strings.HasPrefix(text, "I'm unable to provide real-time weather") {
				t.Errorf("stream: %q %s", text, errEv)
			}
		} else if gjson.GetBytes(got, "object").Str != "chat.completion" || gjson.GetBytes(got, "choices.0.message.content").Str == "" {
			t.Errorf("answer %s", got)
		}
		row := h.row(resp.Header.Get("X-Llmgate-Request-Id"))
		if row.Status != store.StatusOK || len(row.Attempts) != 2 || row.Attempts[0].Status != 529 || row.Attempts[0].Provider != "claude" {
			t.Errorf("stream=%v: row %q attempts %+v", stream, row.Status, row.Attempts)
		}
	}
}

// A translated Anthropic stream goes through the relay like a native
// OpenAI one: usage hidden unless asked for, the llmgate object on the
// last chunk, cost from the Anthropic price with cache tokens at their
// own rates.
func TestAnthropicStreamThroughGateway(t *testing.T) {
	sse := fixture(t, "anthropic/messages-stream-text-tool-use.sse")
	anth := newUpstream(t, sseReplay(sse, smallChunks))
	h := newHarness(t, harnessOpts{accounts: []acctSpec{{name: "claude", typ: "anthropic", baseURL: anth.URL, models: []string{"claude-sonnet-4-5"}}}})
	for _, includeUsage := range []bool{false, true} {
		resp, got := h.chat(chatBody("claude-sonnet-4-5", true, includeUsage))
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, got)
		}
		evs := splitEvents(got)
		last := dataOf(evs[len(evs)-2])
		if !gjson.Get(last, "llmgate.request_id").Exists() {
			t.Errorf("include_usage=%v: llmgate object not on the last chunk: %s", includeUsage, last)
		}
		hasUsageChunk := strings.Contains(string(got), `"choices":[]`)
		if hasUsageChunk != includeUsage {
			t.Errorf("include_usage=%v: usage chunk present=%v", includeUsage, hasUsageChunk)
		}
		if !strings.Contains(string(got), `"tool_calls"`) || evs[len(evs)-1] != "data: [DONE]\n\n" {
			t.Errorf("translated stream lacks tool calls or [DONE]:\n%s", got)
		}
		row := h.row(resp.Header.Get("X-Llmgate-Request-Id"))
		if row.Status != store.StatusOK || row.PromptTokens == 0 || row.CompletionTokens == 0 || row.CostUSD <= 0 || row.PriceUnknown {
			t.Errorf("row %+v", row)
		}
	}
}
