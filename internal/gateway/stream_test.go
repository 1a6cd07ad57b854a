package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/catalog"
	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/router"
	"github.com/llmgate/llmgate/store"
)

// streamFixture is one recorded stream the gateway must pass through.
type streamFixture struct {
	file string
	typ  string // provider type of the account
}

func streamFixtures(t *testing.T) []streamFixture {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(fixturesDir, "openai", "chat-stream-*.sse"))
	if err != nil || len(files) < 6 {
		t.Fatalf("expected the six OpenAI chat stream fixtures, got %v (%v)", files, err)
	}
	var out []streamFixture
	for _, f := range files {
		out = append(out, streamFixture{file: filepath.Join("openai", filepath.Base(f)), typ: "openai"})
	}
	return append(out,
		streamFixture{"openai-compatible/groq-stream-tool-call-x-groq-usage.sse", "groq"},
		streamFixture{"openai-compatible/deepseek-reasoner-stream-usage.sse", "deepseek"},
		streamFixture{"openai-compatible/azure-chat-stream-content-filter.sse", "openai"},
	)
}

// fixtureFacts is what the test reads out of a recorded stream on its
// own (encoding/json, not the gateway's gjson peeking).
type fixtureFacts struct {
	events  []string // the events as recorded
	model   string   // the model the upstream reported
	usage   catalog.Usage
	hasDone bool
}

type chunk struct {
	Model   string          `json:"model"`
	Choices json.RawMessage `json:"choices"`
	Usage   *struct {
		PromptTokens        int64 `json:"prompt_tokens"`
		CompletionTokens    int64 `json:"completion_tokens"`
		PromptTokensDetails *struct {
			CachedTokens int64 `json:"cached_tokens"`
		} `json:"prompt_tokens_details"`
		CompletionTokensDetails *struct {
			ReasoningTokens int64 `json:"reasoning_tokens"`
		} `json:"completion_tokens_details"`
	} `json:"usage"`
}

func parseChunk(t testing.TB, data string) chunk {
	t.Helper()
	var c chunk
	if err := json.Unmarshal([]byte(data), &c); err != nil {
		t.Fatalf("chunk is not JSON: %v: %s", err, data)
	}
	return c
}

// usageOnly reports the extra chunk with "choices": [] that carries usage.
func (c chunk) usageOnly() bool {
	return c.Usage != nil && strings.TrimSpace(string(c.Choices)) == "[]"
}

func readFacts(t *testing.T, rel string) fixtureFacts {
	t.Helper()
	f := fixtureFacts{events: splitEvents(fixture(t, rel))}
	for _, ev := range f.events {
		d := dataOf(ev)
		if d == "[DONE]" {
			f.hasDone = true
			continue
		}
		c := parseChunk(t, d)
		if c.Model != "" {
			f.model = c.Model
		}
		if u := c.Usage; u != nil {
			f.usage = catalog.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens}
			if u.PromptTokensDetails != nil {
				f.usage.CachedTokens = u.PromptTokensDetails.CachedTokens
			}
			if u.CompletionTokensDetails != nil {
				f.usage.ReasoningTokens = u.CompletionTokensDetails.ReasoningTokens
			}
		}
	}
	if f.model == "" || f.usage.PromptTokens == 0 || f.usage.CompletionTokens == 0 {
		t.Fatalf("%s: could not read model and usage (%q, %+v)", rel, f.model, f.usage)
	}
	return f
}

func roundUSD(v float64) float64 { return math.Round(v*1e10) / 1e10 }

func sameUSD(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

// expectedCost is the catalogue price of the usage for the model.
func expectedCost(model string, u catalog.Usage) (float64, bool) {
	usd, known := catalog.Default().Cost(model, u)
	return roundUSD(usd), known
}

// checkMeta asserts the llmgate object of an answer.
func checkMeta(t *testing.T, m meta, reqID, provider, model string, attempts int, cost float64) {
	t.Helper()
	if m.RequestID != reqID || m.Provider != provider || m.Model != model || m.Attempts != attempts {
		t.Errorf("llmgate = %+v, want request_id %s provider %s model %s attempts %d", m, reqID, provider, model, attempts)
	}
	if m.CostUSD == nil || !sameUSD(*m.CostUSD, cost) {
		t.Errorf("llmgate.cost_usd = %v, want %v", m.CostUSD, cost)
	}
	if m.SavedUSD == nil || *m.SavedUSD != 0 {
		t.Errorf("llmgate.saved_usd = %v, want 0", m.SavedUSD)
	}
	if m.LatencyMS == nil || *m.LatencyMS < 0 || *m.LatencyMS > 10000 {
		t.Errorf("llmgate.latency_ms = %v", m.LatencyMS)
	}
}

// Tests 1 and 2: every recorded stream reaches the client byte-identical,
// with the llmgate object on the last chunk before [DONE]; the usage chunk
// is hidden when the client did not ask for it; the row has the real usage
// and the catalogue cost.
func TestStreamPassthroughFixtures(t *testing.T) {
	for _, fx := range streamFixtures(t) {
		facts := readFacts(t, fx.file)
		for _, includeUsage := range []bool{true, false} {
			for _, mode := range []replayMode{byEvent, smallChunks} {
				name := fmt.Sprintf("%s/include_usage=%v/%s", strings.TrimSuffix(filepath.Base(fx.file), ".sse"), includeUsage, mode)
				t.Run(name, func(t *testing.T) {
					testStreamFixture(t, fx, facts, includeUsage, mode)
				})
			}
		}
	}
}

func testStreamFixture(t *testing.T, fx streamFixture, facts fixtureFacts, includeUsage bool, mode replayMode) {
	up := newUpstream(t, sseReplay(fixture(t, fx.file), mode))
	h := newHarness(t, harnessOpts{accounts: []acctSpec{{name: "up", typ: fx.typ, baseURL: up.URL, models: []string{facts.model}}}})
	model := facts.model
	clientBody := chatBody(model, true, includeUsage)
	resp, got := h.chat(clientBody)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, got)
	}
	reqID := resp.Header.Get("X-Llmgate-Request-Id")
	for k, want := range map[string]string{"Content-Type": "text/event-stream", "X-Llmgate-Provider": "up", "X-Llmgate-Model": model, "X-Llmgate-Attempts": "1"} {
		if v := resp.Header.Get(k); v != want {
			t.Errorf("header %s = %q, want %q", k, v, want)
		}
	}

	// What the upstream was asked: the client's body, with usage switched on.
	upBody := up.lastBody(t)
	if includeUsage && string(upBody) != clientBody {
		t.Errorf("upstream body changed although it already asked for usage:\n got %s\nwant %s", upBody, clientBody)
	}
	var upReq struct {
		StreamOptions struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
	}
	if err := json.Unmarshal(upBody, &upReq); err != nil || !upReq.StreamOptions.IncludeUsage {
		t.Errorf("upstream body %s lacks stream_options.include_usage=true (%v)", upBody, err)
	}

	// What the client must see.
	var want []string
	for _, ev := range facts.events {
		if d := dataOf(ev); !includeUsage && d != "[DONE]" && parseChunk(t, d).usageOnly() {
			continue // hidden: the client did not ask for usage
		}
		want = append(want, ev)
	}
	if !facts.hasDone {
		want = append(want, "data: [DONE]\n\n")
	}
	carrier := len(want) - 2 // the last chunk before [DONE]

	gotEvents := splitEvents(got)
	if len(gotEvents) != len(want) {
		t.Fatalf("client got %d events, want %d\n%s", len(gotEvents), len(want), got)
	}
	if gotEvents[len(gotEvents)-1] != "data: [DONE]\n\n" {
		t.Errorf("stream does not end with data: [DONE]: %q", gotEvents[len(gotEvents)-1])
	}
	cost, known := expectedCost(model, facts.usage)
	if fx.typ == "openai" && !known {
		t.Errorf("catalogue has no price for %s", model)
	}
	metas := 0
	for i, ev := range gotEvents {
		if i != carrier {
			if ev != want[i] {
				t.Errorf("event %d differs from the upstream's\n got %q\nwant %q", i, ev, want[i])
			}
			if strings.Contains(ev, `"llmgate"`) {
				t.Errorf("event %d carries an llmgate object; only the last chunk may", i)
			}
			continue
		}
		if !strings.HasPrefix(ev, "data: ") || !strings.HasSuffix(ev, "\n\n") {
			t.Fatalf("carrier event badly framed: %q", ev)
		}
		orig, m, ok := cutMeta(t, dataOf(ev))
		if !ok {
			t.Fatalf("last chunk before [DONE] has no llmgate object: %q", ev)
		}
		metas++
		if "data: "+orig+"\n\n" != want[i] {
			t.Errorf("carrier without llmgate differs from the upstream's\n got %q\nwant %q", orig, want[i])
		}
		checkMeta(t, m, reqID, "up", model, 1, cost)
		if includeUsage && parseChunk(t, orig).Usage == nil {
			t.Errorf("client asked for usage but the carrier has none: %s", orig)
		}
	}
	if metas != 1 {
		t.Errorf("%d chunks carry the llmgate object, want 1", metas)
	}
	if !includeUsage {
		for i, ev := range gotEvents {
			if d := dataOf(ev); d != "[DONE]" && parseChunk(t, d).usageOnly() {
				t.Errorf("event %d is a usage chunk the client did not ask for: %s", i, d)
			}
		}
	}

	row := h.row(reqID)
	if row.Status != store.StatusOK || !row.Stream || row.HTTPStatus != 200 || row.ClientCancelled {
		t.Errorf("row status=%q stream=%v http=%d cancelled=%v, want ok/true/200/false", row.Status, row.Stream, row.HTTPStatus, row.ClientCancelled)
	}
	u := facts.usage
	if row.PromptTokens != u.PromptTokens || row.CompletionTokens != u.CompletionTokens ||
		row.CachedTokens != u.CachedTokens || row.ReasoningTokens != u.ReasoningTokens || row.UsageEstimated {
		t.Errorf("row usage p=%d c=%d cached=%d reasoning=%d est=%v, want %+v (not estimated)",
			row.PromptTokens, row.CompletionTokens, row.CachedTokens, row.ReasoningTokens, row.UsageEstimated, u)
	}
	if !sameUSD(row.CostUSD, cost) || row.PriceUnknown == known {
		t.Errorf("row cost %v (unknown=%v), want %v (known=%v)", row.CostUSD, row.PriceUnknown, cost, known)
	}
	if row.Provider != "up" || row.ProviderType != fx.typ || row.Model != model || row.RequestedModel != model ||
		row.Endpoint != "chat.completions" || row.KeyName != "t" || len(row.Attempts) != 1 || row.Attempts[0].Status != 200 {
		t.Errorf("row = %+v", row)
	}
}

// The catalogue lookup is checked by hand once, so a wrong price table and
// a wrong gateway cannot agree by accident: chat-stream-text-usage is
// gpt-4o-2024-08-06 (billed as gpt-4o, $2.50 in / $10 out per 1M) with 14
// prompt and 30 completion tokens.
func TestStreamCostByHand(t *testing.T) {
	up := newUpstream(t, sseReplay(fixture(t, "openai/chat-stream-text-usage.sse"), byEvent))
	h := newHarness(t, harnessOpts{accounts: []acctSpec{{name: "up", baseURL: up.URL, models: []string{"gpt-4o"}}}})
	resp, got := h.chat(chatBody("gpt-4o", true, false))
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, got)
	}
	want := (14*2.5 + 30*10.0) / 1e6
	row := h.row(resp.Header.Get("X-Llmgate-Request-Id"))
	if !sameUSD(row.CostUSD, want) {
		t.Errorf("row cost %v, want %v", row.CostUSD, want)
	}
	evs := splitEvents(got)
	_, m, ok := cutMeta(t, dataOf(evs[len(evs)-2]))
	if !ok || m.CostUSD == nil || !sameUSD(*m.CostUSD, want) {
		t.Errorf("llmgate = %+v, want cost %v", m, want)
	}
}

// A mistral-type account never receives stream_options (Mistral answers
// 422 to it), even when the client sent it; usage still arrives on the
// finish chunk and the llmgate object rides on it.
func TestStreamMistralDropsStreamOptions(t *testing.T) {
	const stream = "data: {\"id\":\"m1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"mistral-small-2603\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n" +
		"data: {\"id\":\"m1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"mistral-small-2603\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"finish_reason\":null}]}\n\n" +
		"data: {\"id\":\"m1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"mistral-small-2603\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":10,\"total_tokens\":12,\"completion_tokens\":2}}\n\n" +
		"data: [DONE]\n\n"
	for _, includeUsage := range []bool{true, false} {
		t.Run(fmt.Sprint("include_usage=", includeUsage), func(t *testing.T) {
			up := newUpstream(t, sseReplay([]byte(stream), byEvent))
			h := newHarness(t, harnessOpts{accounts: []acctSpec{{name: "mis", typ: "mistral", baseURL: up.URL, models: []string{"mistral-small-2603"}}}})
			clientBody := `{"model":"mistral-small-2603","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true},"temperature":0.2}`
			if !includeUsage {
				clientBody = `{"model":"mistral-small-2603","messages":[{"role":"user","content":"hi"}],"stream":true,"temperature":0.2}`
			}
			resp, got := h.chat(clientBody)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, got)
			}
			upBody := up.lastBody(t)
			if strings.Contains(string(upBody), "stream_options") {
				t.Errorf("mistral upstream received stream_options: %s", upBody)
			}
			wantUp := `{"model":"mistral-small-2603","messages":[{"role":"user","content":"hi"}],"stream":true,"temperature":0.2}`
			if !jsonEqual(t, upBody, []byte(wantUp)) {
				t.Errorf("mistral upstream body %s, want %s", upBody, wantUp)
			}
			evs := splitEvents(got)
			if len(evs) != 4 || evs[3] != "data: [DONE]\n\n" {
				t.Fatalf("client events %q", evs)
			}
			want := splitEvents([]byte(stream))
			orig, m, ok := cutMeta(t, dataOf(evs[2]))
			if !ok || "data: "+orig+"\n\n" != want[2] || evs[0] != want[0] || evs[1] != want[1] {
				t.Errorf("client events %q, want %q with llmgate on the finish chunk", evs, want)
			}
			cost, _ := expectedCost("mistral-small-2603", catalog.Usage{PromptTokens: 10, CompletionTokens: 2})
			checkMeta(t, m, resp.Header.Get("X-Llmgate-Request-Id"), "mis", "mistral-small-2603", 1, cost)
			row := h.row(resp.Header.Get("X-Llmgate-Request-Id"))
			if row.Status != "ok" || row.PromptTokens != 10 || row.CompletionTokens != 2 || row.UsageEstimated || !sameUSD(row.CostUSD, cost) {
				t.Errorf("row = %+v", row)
			}
		})
	}
}

// Together's finish_reason "eos" reaches OpenAI SDKs as "stop".
func TestStreamTogetherEOSBecomesStop(t *testing.T) {
	const stream = "data: {\"id\":\"t1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"meta-llama/Llama-3.3-70B-Instruct-Turbo\",\"choices\":[{\"index\":0,\"text\":\"Hi\",\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n" +
		"data: {\"id\":\"t1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"meta-llama/Llama-3.3-70B-Instruct-Turbo\",\"choices\":[{\"index\":0,\"text\":\"\",\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":\"eos\"}],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":2,\"total_tokens\":9}}\n\n" +
		"data: [DONE]\n\n"
	const model = "meta-llama/Llama-3.3-70B-Instruct-Turbo"
	for _, includeUsage := range []bool{true, false} {
		t.Run(fmt.Sprint("include_usage=", includeUsage), func(t *testing.T) {
			up := newUpstream(t, sseReplay([]byte(stream), byEvent))
			h := newHarness(t, harnessOpts{accounts: []acctSpec{{name: "tog", typ: "together", baseURL: up.URL, models: []string{model}}}})
			resp, got := h.chat(chatBody(model, true, includeUsage))
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, got)
			}
			if strings.Contains(string(got), `"eos"`) {
				t.Errorf("client saw finish_reason eos:\n%s", got)
			}
			evs := splitEvents(got)
			if len(evs) != 3 || evs[2] != "data: [DONE]\n\n" {
				t.Fatalf("client events %q", evs)
			}
			want := splitEvents([]byte(stream))
			if evs[0] != want[0] {
				t.Errorf("first event changed: %q", evs[0])
			}
			orig, _, ok := cutMeta(t, dataOf(evs[1]))
			wantFinish := strings.Replace(dataOf(want[1]), `"finish_reason":"eos"`, `"finish_reason":"stop"`, 1)
			if !ok || orig != wantFinish {
				t.Errorf("finish chunk %q, want %q plus llmgate", dataOf(evs[1]), wantFinish)
			}
			row := h.row(resp.Header.Get("X-Llmgate-Request-Id"))
			if row.Status != "ok" || row.PromptTokens != 7 || row.CompletionTokens != 2 {
				t.Errorf("row = %+v", row)
			}
		})
	}
}

// A non-streaming Together answer is rewritten the same way.
func TestTogetherEOSNonStream(t *testing.T) {
	const body = `{"id":"t2","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"eos"}],"usage":{"prompt_tokens":7,"completion_tokens":2,"total_tokens":9}}`
	up := newUpstream(t, jsonReply(200, []byte(body)))
	h := newHarness(t, harnessOpts{accounts: []acctSpec{{name: "tog", typ: "together", baseURL: up.URL, models: []string{"m"}}}})
	resp, got := h.chat(chatBody("m", false, false))
	orig, _, ok := cutMeta(t, string(got))
	want := strings.Replace(body, `"eos"`, `"stop"`, 1)
	if resp.StatusCode != 200 || !ok || orig != want {
		t.Errorf("status %d body %s, want %s plus llmgate", resp.StatusCode, got, want)
	}
}

// Test 4: OpenRouter reports a failure inside an HTTP 200 stream. The
// ": OPENROUTER PROCESSING" comments before the first data event must not
// commit the response; the in-band error ends the stream with a
// stream_interrupted error event and [DONE], never a clean finish.
func TestStreamOpenRouterMidStreamError(t *testing.T) {
	raw := fixture(t, "openai-compatible/openrouter-stream-midstream-error.sse")
	upEvents := splitEvents(raw)
	var dataEvents []string // data events before the in-band error
	for _, ev := range upEvents {
		if strings.HasPrefix(ev, "data: ") && !strings.Contains(ev, `"error":`) && dataOf(ev) != "[DONE]" {
			dataEvents = append(dataEvents, ev)
		}
	}
	if len(dataEvents) != 3 {
		t.Fatalf("fixture has %d data events before the error, want 3", len(dataEvents))
	}
	const model = "minimax/minimax-m2:free"
	for _, includeUsage := range []bool{true, false} {
		for _, mode := range []replayMode{byEvent, smallChunks} {
			t.Run(fmt.Sprintf("include_usage=%v/%s", includeUsage, mode), func(t *testing.T) {
				up := newUpstream(t, sseReplay(raw, mode))
				// One attempt: nowhere to carry the stream over to.
				h := newHarness(t, harnessOpts{accounts: []acctSpec{{name: "openrouter", baseURL: up.URL}}, retry: router.RetryPolicy{Attempts: 1}})
				resp, got := h.chat(chatBody("openrouter/"+model, true, includeUsage))
				if resp.StatusCode != 200 {
					t.Fatalf("status %d: %s", resp.StatusCode, got)
				}
				if up.lastBody(t) == nil || !strings.Contains(string(up.lastBody(t)), `"model":"`+model+`"`) {
					t.Errorf("upstream got %s", up.lastBody(t))
				}
				if strings.Contains(string(got), "OPENROUTER PROCESSING") {
					t.Errorf("comments from before the first data event reached the client:\n%s", got)
				}
				evs := splitEvents(got)
				if len(evs) != len(dataEvents)+2 {
					t.Fatalf("client got %d events, want %d:\n%s", len(evs), len(dataEvents)+2, got)
				}
				for i, ev := range dataEvents {
					if evs[i] != ev {
						t.Errorf("event %d\n got %q\nwant %q", i, evs[i], ev)
					}
				}
				if strings.Contains(string(got), `"llmgate"`) {
					t.Errorf("an interrupted stream carries the success metadata:\n%s", got)
				}
				errEv := evs[len(evs)-2]
				var e apiErr
				if err := json.Unmarshal([]byte(dataOf(errEv)), &e); err != nil {
					t.Fatalf("error event %q: %v", errEv, err)
				}
				if e.Error.Type != "upstream_error" || e.Error.Code != "stream_interrupted" || !strings.Contains(e.Error.Message, "Token limit reached") {
					t.Errorf("error event = %+v", e.Error)
				}
				if strings.Contains(errEv, testProviderKey) || strings.Contains(errEv, testGatewayKey) {
					t.Errorf("error event leaks a key: %s", errEv)
				}
				if evs[len(evs)-1] != "data: [DONE]\n\n" {
					t.Errorf("stream does not end with [DONE]: %q", evs[len(evs)-1])
				}
				row := h.row(resp.Header.Get("X-Llmgate-Request-Id"))
				if row.Status != store.StatusTruncated || row.ErrorCode != "stream_interrupted" || row.ClientCancelled {
					t.Errorf("row status=%q code=%q cancelled=%v, want truncated/stream_interrupted", row.Status, row.ErrorCode, row.ClientCancelled)
				}
				// OpenRouter reported (and billed) the usage on the error chunk:
				// the row keeps it rather than an estimate.
				if row.PromptTokens != 43 || row.CompletionTokens != 10 || row.ReasoningTokens != 11 || row.UsageEstimated || row.CostUSD != 0 || row.PriceUnknown {
					t.Errorf("row usage p=%d c=%d r=%d est=%v cost=%v unknown=%v, want OpenRouter's 43/10/11 at its cost 0",
						row.PromptTokens, row.CompletionTokens, row.ReasoningTokens, row.UsageEstimated, row.CostUSD, row.PriceUnknown)
				}
			})
		}
	}
}

// Comments alone do not commit: an upstream that sends only keep-alive
// comments and then ends is failed over invisibly to the next target.
func TestStreamCommentsDoNotCommit(t *testing.T) {
	raw := fixture(t, "openai-compatible/openrouter-stream-midstream-error.sse")
	comments := raw[:strings.Index(string(raw), "data: ")]
	bad := newUpstream(t, sseReplay(comments, byEvent))
	good := newUpstream(t, sseReplay(fixture(t, "openai/chat-stream-text-usage.sse"), byEvent))
	h := newHarness(t, harnessOpts{accounts: []acctSpec{{name: "orA", baseURL: bad.URL}, {name: "orB", baseURL: good.URL}}})
	resp, got := h.chat(`{"model":"orA/gpt-4o","messages":[{"role":"user","content":"hi"}],"stream":true,"llmgate":{"fallbacks":["orB/gpt-4o"]}}`)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, got)
	}
	if bad.hits.Load() != 1 || good.hits.Load() != 1 {
		t.Errorf("hits bad=%d good=%d, want 1/1", bad.hits.Load(), good.hits.Load())
	}
	if resp.Header.Get("X-Llmgate-Attempts") != "2" || resp.Header.Get("X-Llmgate-Provider") != "orB" {
		t.Errorf("attempts=%q provider=%q, want 2/orB", resp.Header.Get("X-Llmgate-Attempts"), resp.Header.Get("X-Llmgate-Provider"))
	}
	if strings.Contains(string(got), "OPENROUTER") || strings.Contains(string(got), "stream_interrupted") {
		t.Errorf("the failed attempt is visible to the client:\n%s", got)
	}
	evs := splitEvents(got)
	_, m, ok := cutMeta(t, dataOf(evs[len(evs)-2]))
	if !ok || m.Attempts != 2 || m.Provider != "orB" {
		t.Errorf("llmgate = %+v (found %v), want attempts 2 on orB", m, ok)
	}
	row := h.row(resp.Header.Get("X-Llmgate-Request-Id"))
	if row.Status != "ok" || len(row.Attempts) != 2 || row.Provider != "orB" || row.PromptTokens != 14 {
		t.Errorf("row = %+v", row)
	}
}

// cutStream answers 200 with the first n events of content and then drops
// the TCP connection in the middle of the chunked body (hijacked, so no
// terminating chunk is written).
func cutStream(content []byte, n int) func(http.ResponseWriter, *http.Request, []byte) {
	return func(w http.ResponseWriter, r *http.Request, _ []byte) {
		conn, bw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		defer conn.Close()
		fmt.Fprint(bw, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
		for _, ev := range splitEvents(content)[:n] {
			fmt.Fprintf(bw, "%x\r\n%s\r\n", len(ev), ev)
		}
		bw.Flush()
	}
}

// Test 6 (last case): a 200 stream cut before any finish_reason ends with a
// stream_interrupted event and [DONE]; the row is truncated and its usage
// is an estimate, flagged as such.
func TestStreamCutBeforeFinish(t *testing.T) {
	content := fixture(t, "openai/chat-stream-text-usage.sse")
	upEvents := splitEvents(content)
	cases := map[string]func(http.ResponseWriter, *http.Request, []byte){
		"connection dropped": cutStream(content, 4),
		"clean EOF": func(w http.ResponseWriter, r *http.Request, _ []byte) {
			w.Header().Set("Content-Type", "text/event-stream")
			writeSSE(w, []byte(strings.Join(upEvents[:4], "")), byEvent, 1)
		},
	}
	for name, handler := range cases {
		t.Run(name, func(t *testing.T) {
			up := newUpstream(t, handler)
			h := newHarness(t, harnessOpts{accounts: []acctSpec{{name: "up", baseURL: up.URL, models: []string{"gpt-4o"}}}})
			resp, got := h.chat(chatBody("gpt-4o", true, false))
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, got)
			}
			evs := splitEvents(got)
			if len(evs) != 6 {
				t.Fatalf("client got %d events, want 4 + error + [DONE]:\n%s", len(evs), got)
			}
			for i := range 4 {
				if evs[i] != upEvents[i] {
					t.Errorf("event %d = %q, want %q", i, evs[i], upEvents[i])
				}
			}
			var e apiErr
			if err := json.Unmarshal([]byte(dataOf(evs[4])), &e); err != nil || e.Error.Code != "stream_interrupted" || e.Error.Type != "upstream_error" {
				t.Errorf("event 4 = %q, want a stream_interrupted error (%v)", evs[4], err)
			}
			if strings.Contains(evs[4], testProviderKey) || strings.Contains(evs[4], testGatewayKey) {
				t.Errorf("error leaks the key: %s", evs[4])
			}
			if evs[5] != "data: [DONE]\n\n" {
				t.Errorf("last event %q", evs[5])
			}
			if strings.Contains(string(got), `"finish_reason":"stop"`) || strings.Contains(string(got), `"llmgate"`) {
				t.Errorf("a cut stream looks like a clean finish:\n%s", got)
			}
			row := h.row(resp.Header.Get("X-Llmgate-Request-Id"))
			if row.Status != store.StatusTruncated || row.ErrorCode != "stream_interrupted" || !row.UsageEstimated ||
				row.CompletionTokens != 3 || row.PromptTokens <= 0 || row.ClientCancelled {
				t.Errorf("row status=%q code=%q est=%v p=%d c=%d cancelled=%v, want truncated, estimated 3 completion tokens",
					row.Status, row.ErrorCode, row.UsageEstimated, row.PromptTokens, row.CompletionTokens, row.ClientCancelled)
			}
		})
	}
}

// slowStream streams a content event every 50ms for up to 5s and reports
// when the request's context ended.
func slowStream(ctxDone chan<- time.Time, stop <-chan struct{}) func(http.ResponseWriter, *http.Request, []byte) {
	return func(w http.ResponseWriter, r *http.Request, _ []byte) {
		defer func() { ctxDone <- time.Now() }()
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		f := w.(http.Flusher)
		f.Flush()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < 100; i++ {
			_, err := fmt.Fprintf(w, "data: {\"id\":\"s\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tok%d \"},\"finish_reason\":null}]}\n\n", i)
			if err != nil {
				<-r.Context().Done()
				return
			}
			f.Flush()
			select {
			case <-r.Context().Done():
				return
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}
}

// Test 7: a client that hangs up mid-stream cancels the upstream call, and
// the row says so, with the completion estimated from what was delivered.
func TestStreamClientDisconnectCancelsUpstream(t *testing.T) {
	ctxDone := make(chan time.Time, 1)
	var up *upstream
	up = newUpstream(t, func(w http.ResponseWriter, r *http.Request, b []byte) { slowStream(ctxDone, up.stop)(w, r, b) })
	h := newHarness(t, harnessOpts{accounts: []acctSpec{{name: "up", baseURL: up.URL, models: []string{"gpt-4o"}}}})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, h.URL+"/v1/chat/completions", strings.NewReader(chatBody("gpt-4o", true, false)))
	req.Header.Set("Authorization", "Bearer "+testGatewayKey)
	resp, err := h.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	reqID := resp.Header.Get("X-Llmgate-Request-Id")
	evs := readEvents(t, bufio.NewReader(resp.Body), 2)
	if !strings.Contains(evs[1], "tok1 ") {
		t.Errorf("second event %q", evs[1])
	}
	closed := time.Now()
	resp.Body.Close()
	cancel()

	select {
	case at := <-ctxDone:
		if d := at.Sub(closed); d > 2*time.Second {
			t.Errorf("upstream context ended %v after the client left, want < 2s", d)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the upstream call was not cancelled within 3s of the client leaving")
	}
	if n := up.hits.Load(); n != 1 {
		t.Errorf("upstream hit %d times", n)
	}
	row := h.row(reqID)
	if row.Status != store.StatusCancelled || !row.ClientCancelled || row.CompletionTokens <= 0 || !row.UsageEstimated || !row.Stream {
		t.Errorf("row status=%q client_cancelled=%v completion=%d est=%v, want cancelled/true/>0/true",
			row.Status, row.ClientCancelled, row.CompletionTokens, row.UsageEstimated)
	}
}

// Test 8: an upstream that sends headers and then nothing hits the
// first-token deadline; nothing reached the client yet, so it gets a 504
// JSON error at once rather than a hung stream.
func TestStreamFirstTokenTimeout(t *testing.T) {
	var up *upstream
	up = newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-up.stop:
		}
	})
	h := newHarness(t, harnessOpts{accounts: []acctSpec{{name: "up", baseURL: up.URL, models: []string{"gpt-4o"},
		timeouts: providers.Timeouts{FirstToken: 200 * time.Millisecond}}}})
	start := time.Now()
	resp, got := h.chat(chatBody("gpt-4o", true, true))
	el := time.Since(start)
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("status %d: %s", resp.StatusCode, got)
	}
	if el < 150*time.Millisecond || el > 2*time.Second {
		t.Errorf("answered after %v, want about 200ms", el)
	}
	e := decodeErr(t, got)
	if e.Error.Type != "upstream_error" || e.Error.Code != "upstream_timeout" || !strings.Contains(e.Error.Message, "up") {
		t.Errorf("error = %+v", e.Error)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content-type %q", ct)
	}
	row := h.row(resp.Header.Get("X-Llmgate-Request-Id"))
	if row.Status != "error" || row.HTTPStatus != 504 || row.ErrorCode != "upstream_timeout" {
		t.Errorf("row = %+v", row)
	}
}

// The idle deadline after the first byte ends the stream explicitly.
func TestStreamIdleTimeoutAfterCommit(t *testing.T) {
	first := splitEvents(fixture(t, "openai/chat-stream-text-usage.sse"))[:2]
	var up *upstream
	up = newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "text/event-stream")
		writeSSE(w, []byte(strings.Join(first, "")), byEvent, 1)
		select {
		case <-r.Context().Done():
		case <-up.stop:
		}
	})
	h := newHarness(t, harnessOpts{accounts: []acctSpec{{name: "up", baseURL: up.URL, models: []string{"gpt-4o"},
		timeouts: providers.Timeouts{Idle: 200 * time.Millisecond}}}})
	start := time.Now()
	resp, got := h.chat(chatBody("gpt-4o", true, false))
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %v", el)
	}
	evs := splitEvents(got)
	if resp.StatusCode != 200 || len(evs) != 4 || evs[0] != first[0] || evs[1] != first[1] ||
		!strings.Contains(evs[2], `"stream_interrupted"`) || evs[3] != "data: [DONE]\n\n" {
		t.Fatalf("status %d events %q", resp.StatusCode, evs)
	}
	row := h.row(resp.Header.Get("X-Llmgate-Request-Id"))
	if row.Status != store.StatusTruncated || !row.UsageEstimated || row.CompletionTokens != 1 {
		t.Errorf("row = %+v", row)
	}
}

func jsonEqual(t testing.TB, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("not JSON: %v: %s", err, a)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("not JSON: %v: %s", err, b)
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xb) == string(yb)
}

// An upstream that ignores stream_options (no usage at all) still ends
// cleanly: the held finish chunk goes out with the llmgate object at
// [DONE], and the row's usage is an estimate, flagged.
func TestStreamUpstreamWithoutUsage(t *testing.T) {
	var kept []string
	for _, ev := range splitEvents(fixture(t, "openai/chat-stream-text-usage.sse")) {
		if d := dataOf(ev); d == "[DONE]" || !parseChunk(t, d).usageOnly() {
			kept = append(kept, ev)
		}
	}
	up := newUpstream(t, sseReplay([]byte(strings.Join(kept, "")), byEvent))
	h := newHarness(t, harnessOpts{accounts: []acctSpec{{name: "up", baseURL: up.URL, models: []string{"gpt-4o"}}}})
	for _, includeUsage := range []bool{false, true} {
		resp, got := h.chat(chatBody("gpt-4o", true, includeUsage))
		evs := splitEvents(got)
		if resp.StatusCode != 200 || len(evs) != len(kept) {
			t.Fatalf("status %d, %d events, want %d:\n%s", resp.StatusCode, len(evs), len(kept), got)
		}
		orig, m, ok := cutMeta(t, dataOf(evs[len(evs)-2]))
		if !ok || "data: "+orig+"\n\n" != kept[len(kept)-2] || m.Attempts != 1 {
			t.Errorf("include_usage=%v: finish chunk %q", includeUsage, evs[len(evs)-2])
		}
		row := h.row(resp.Header.Get("X-Llmgate-Request-Id"))
		if row.Status != "ok" || !row.UsageEstimated || row.CompletionTokens != 30 || row.PromptTokens <= 0 {
			t.Errorf("include_usage=%v: row status=%q est=%v p=%d c=%d", includeUsage, row.Status, row.UsageEstimated, row.PromptTokens, row.CompletionTokens)
		}
	}
}

// Keep-alive comments after the first data event reach the client, so its
// connection stays alive through a long pause.
func TestStreamCommentsAfterCommitPassThrough(t *testing.T) {
	evs := splitEvents(fixture(t, "openai/chat-stream-text-usage.sse"))
	withPing := append([]string{evs[0], ": keep-alive\n\n"}, evs[1:]...)
	up := newUpstream(t, sseReplay([]byte(strings.Join(withPing, "")), smallChunks))
	h := newHarness(t, harnessOpts{accounts: []acctSpec{{name: "up", baseURL: up.URL, models: []string{"gpt-4o"}}}})
	resp, got := h.chat(chatBody("gpt-4o", true, true))
	gotEvs := splitEvents(got)
	if resp.StatusCode != 200 || len(gotEvs) != len(withPing) || gotEvs[1] != ": keep-alive\n\n" {
		t.Errorf("status %d events %q", resp.StatusCode, gotEvs[:min(3, len(gotEvs))])
	}
}

// A client that leaves while a non-streaming answer is pending cancels
// the upstream call too.
func TestNonStreamClientDisconnect(t *testing.T) {
	ctxDone := make(chan time.Time, 1)
	var up *upstream
	up = newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		defer func() { ctxDone <- time.Now() }()
		select {
		case <-r.Context().Done():
		case <-up.stop:
		}
	})
	rows := make(chan store.Row, 1)
	h := newHarness(t, harnessOpts{accounts: []acctSpec{{name: "up", baseURL: up.URL, models: []string{"gpt-4o"}}},
		onDone: func(_ *http.Request, r *store.Row) { rows <- *r }})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, h.URL+"/v1/chat/completions", strings.NewReader(chatBody("gpt-4o", false, false)))
	req.Header.Set("Authorization", "Bearer "+testGatewayKey)
	if _, err := h.client.Do(req); err == nil {
		t.Fatal("request did not fail")
	}
	left := time.Now()
	select {
	case at := <-ctxDone:
		if at.Sub(left) > 2*time.Second {
			t.Errorf("upstream cancelled %v after the client left", at.Sub(left))
		}
	case <-time.After(3 * time.Second):
		t.Fatal("upstream call not cancelled")
	}
	select {
	case r := <-rows:
		// The request id never reached the client; OnDone hands over the
		// row, and the stored copy must match it.
		row := h.row(r.ID)
		if row.Status != store.StatusCancelled || !row.ClientCancelled || row.HTTPStatus != 499 || len(row.Attempts) != 1 {
			t.Errorf("row = %+v", row)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no row for the abandoned request")
	}
}
