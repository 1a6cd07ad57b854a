package gateway_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/providers"
	_ "github.com/llmgate/llmgate/providers/mock"
	"github.com/llmgate/llmgate/router"
	"github.com/llmgate/llmgate/store"
)

// streamOf renders an OpenAI chat stream of the given tokens: role chunk,
// one chunk per token, finish chunk, usage chunk, [DONE].
func streamOf(id string, tokens []string) []string {
	ev := func(delta, finish string) string {
		return fmt.Sprintf(`data: {"id":%q,"object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":%s,"logprobs":null,"finish_reason":%s}]}`+"\n\n", id, delta, finish)
	}
	out := []string{ev(`{"role":"assistant","content":""}`, "null")}
	for _, t := range tokens {
		out = append(out, ev(fmt.Sprintf(`{"content":%q}`, t), "null"))
	}
	out = append(out, ev(`{}`, `"stop"`),
		fmt.Sprintf(`data: {"id":%q,"object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":%d,"total_tokens":%d}}`+"\n\n", id, len(tokens), 9+len(tokens)),
		"data: [DONE]\n\n")
	return out
}

var answer = []string{"The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", "."}

// streamer serves events; cut > 0 aborts the connection after that many
// events, stall > 0 stops sending (but keeps the connection) after that many.
func streamer(events []string, cut, stall int) func(http.ResponseWriter, *http.Request, []byte) {
	return func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		for i, e := range events {
			if cut > 0 && i == cut {
				panic(http.ErrAbortHandler) // the connection drops mid-stream
			}
			if stall > 0 && i == stall {
				<-r.Context().Done()
				return
			}
			fmt.Fprint(w, e)
			rc.Flush()
		}
	}
}

// clientText reassembles the content the client received and checks the
// stream's shape: every chunk has the first id, no error event, [DONE].
func clientText(t *testing.T, got []byte) (text string, errEv string) {
	t.Helper()
	var id string
	for _, ev := range splitEvents(got) {
		d := dataOf(ev)
		if d == "[DONE]" || d == "" {
			continue
		}
		if gjson.Get(d, "error").Exists() {
			errEv = d
			continue
		}
		if id == "" {
			id = gjson.Get(d, "id").Str
		} else if gjson.Get(d, "id").Str != id {
			t.Errorf("chunk id changed mid-stream: %s", d)
		}
		text += gjson.Get(d, "choices.0.delta.content").Str
	}
	if !strings.HasSuffix(string(got), "data: [DONE]\n\n") {
		t.Errorf("stream does not end with [DONE]")
	}
	return text, errEv
}

// A stream cut after its first bytes continues on the next account by
// replaying the request and forwarding only what extends the text
// already delivered: the client sees one clean, complete answer.
func TestContinueByReplay(t *testing.T) {
	a := newUpstream(t, streamer(streamOf("chatcmpl-A", answer), 5, 0))
	b := newUpstream(t, streamer(streamOf("chatcmpl-B", answer), 0, 0))
	h := newHarness(t, harnessOpts{accounts: []acctSpec{
		{name: "a", baseURL: a.URL, models: []string{"m"}, weight: 1000000},
		{name: "b", baseURL: b.URL, models: []string{"m"}, weight: 1},
	}, retry: router.RetryPolicy{Attempts: 1}})
	for i := 0; i < 3; i++ {
		resp, got := h.chat(chatBody("m", true, false))
		text, errEv := clientText(t, got)
		if resp.Header.Get("X-Llmgate-Provider") != "a" {
			t.Skip("weighted order put b first; the cut account must lead") // vanishingly rare with 10^6:1
		}
		if errEv != "" || text != strings.Join(answer, "") {
			t.Fatalf("client got %q (error %s), want the whole answer once", text, errEv)
		}
		if !strings.Contains(string(got), `"llmgate":{`) || !strings.Contains(string(got), `"provider":"b"`) {
			t.Errorf("the llmgate object must name the account that finished the answer:\n%s", got)
		}
		row := h.row(resp.Header.Get("X-Llmgate-Request-Id"))
		if row.Status != store.StatusOK || len(row.Attempts) != 2 || row.Attempts[0].Error == "" || row.Provider != "b" {
			t.Errorf("row status %q attempts %+v provider %q", row.Status, row.Attempts, row.Provider)
		}
	}
}

// A replay that says something else than what the client already has
// ends the stream with an explicit error, never a spliced answer.
func TestContinueReplayDiverges(t *testing.T) {
	other := []string{"A", " different", " answer", " entirely", "."}
	a := newUpstream(t, streamer(streamOf("chatcmpl-A", answer), 4, 0))
	b := newUpstream(t, streamer(streamOf("chatcmpl-B", other), 0, 0))
	h2 := newHarness(t, harnessOpts{accounts: []acctSpec{{name: "a", baseURL: a.URL, models: []string{"m"}}, {name: "b", baseURL: b.URL, models: []string{"x"}}},
		retry: router.RetryPolicy{Attempts: 1}})
	resp, got := h2.chat(`{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}],"llmgate":{"fallbacks":["x"]}}`)
	text, errEv := clientText(t, got)
	if text != "The quick brown" || !strings.Contains(errEv, "stream_interrupted") || !strings.Contains(errEv, "diverged") {
		t.Fatalf("client got %q then %s", text, errEv)
	}
	if row := h2.row(resp.Header.Get("X-Llmgate-Request-Id")); row.Status != store.StatusTruncated {
		t.Errorf("row status %q, want truncated", row.Status)
	}
}

// An upstream that accepts an assistant prefix (Mistral) gets the text
// already delivered as a prefix and streams only the continuation.
func TestContinueWithPrefix(t *testing.T) {
	a := newUpstream(t, streamer(streamOf("chatcmpl-A", answer), 5, 0))
	var refusedOnce atomic.Bool
	for _, refuse := range []bool{false, true} {
		t.Run(fmt.Sprint("prefix refused=", refuse), func(t *testing.T) {
			refusedOnce.Store(false)
			b := newUpstream(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
				last := gjson.GetBytes(body, "messages.@reverse.0")
				if last.Get("role").Str == "assistant" {
					if refuse && !refusedOnce.Swap(true) {
						w.Header().Set("Content-Type", "application/json")
						w.WriteHeader(400)
						fmt.Fprint(w, `{"object":"error","message":"prefix not supported here","type":"invalid_request_error"}`)
						return
					}
					if !last.Get("prefix").Bool() || last.Get("content").Str != "The quick brown fox" {
						t.Errorf("prefix message %s", last.Raw)
					}
					streamer(streamOf("chatcmpl-B", answer[4:]), 0, 0)(w, r, body)
					return
				}
				streamer(streamOf("chatcmpl-B", answer), 0, 0)(w, r, body)
			})
			h := newHarness(t, harnessOpts{accounts: []acctSpec{
				{name: "a", baseURL: a.URL, models: []string{"m"}},
				{name: "b", typ: "mistral", baseURL: b.URL, models: []string{"x"}},
			}, retry: router.RetryPolicy{Attempts: 1}})
			resp, got := h.chat(`{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}],"llmgate":{"fallbacks":["x"]}}`)
			text, errEv := clientText(t, got)
			if errEv != "" || text != strings.Join(answer, "") {
				t.Fatalf("client got %q (error %s)", text, errEv)
			}
			row := h.row(resp.Header.Get("X-Llmgate-Request-Id"))
			if row.Status != store.StatusOK {
				t.Errorf("row status %q", row.Status)
			}
			if refuse && !refusedOnce.Load() {
				t.Error("the prefix was never refused")
			}
		})
	}
}

// A stream that stalls past its idle deadline after the first byte is
// carried over too.
func TestContinueAfterStall(t *testing.T) {
	a := newUpstream(t, streamer(streamOf("chatcmpl-A", answer), 0, 4))
	b := newUpstream(t, streamer(streamOf("chatcmpl-B", answer), 0, 0))
	h := newHarness(t, harnessOpts{accounts: []acctSpec{
		{name: "a", baseURL: a.URL, models: []string{"m"}, timeouts: providers.Timeouts{Idle: 200 * time.Millisecond}},
		{name: "b", baseURL: b.URL, models: []string{"x"}},
	}, retry: router.RetryPolicy{Attempts: 1}})
	start := time.Now()
	_, got := h.chat(`{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}],"llmgate":{"fallbacks":["x"]}}`)
	text, errEv := clientText(t, got)
	if errEv != "" || text != strings.Join(answer, "") {
		t.Fatalf("client got %q (error %s)", text, errEv)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v: the stall was not abandoned at the idle deadline", d)
	}
}

// With the mock provider (which accepts a prefix), a cut stream falls
// over to another model that continues the same echo.
func TestContinueMockPrefix(t *testing.T) {
	h := newHarness(t, harnessOpts{accounts: []acctSpec{{name: "mock", typ: "mock", models: []string{"mock-cut-2", "mock-mini"}}}, retry: router.RetryPolicy{Attempts: 1}})
	resp, got := h.chat(`{"model":"mock-cut-2","stream":true,"messages":[{"role":"user","content":"echo alpha beta gamma delta"}],"llmgate":{"fallbacks":["mock-mini"]}}`)
	text, errEv := clientText(t, got)
	if errEv != "" || text != "alpha beta gamma delta" {
		t.Fatalf("client got %q (error %s)", text, errEv)
	}
	row := h.row(resp.Header.Get("X-Llmgate-Request-Id"))
	// Continued from the prefix: the second attempt generated only the
	// last two tokens.
	if row.Status != store.StatusOK || row.CompletionTokens != 2 || len(row.Attempts) != 2 {
		t.Errorf("row status %q completion %d attempts %d", row.Status, row.CompletionTokens, len(row.Attempts))
	}
}

// A malformed event in the middle of a stream is dropped (and logged);
// the stream goes on and the client gets every valid event.
func TestMalformedEventDropped(t *testing.T) {
	evs := streamOf("chatcmpl-A", answer)
	withBad := append(append(append([]string{}, evs[:4]...), "data: {\"id\":\"chatcmpl-A\",\"choices\":[{\"delta\":{\"content\":\"tru\n\n"), evs[4:]...)
	a := newUpstream(t, streamer(withBad, 0, 0))
	h := newHarness(t, harnessOpts{accounts: []acctSpec{{name: "a", baseURL: a.URL, models: []string{"m"}}}})
	resp, got := h.chat(chatBody("m", true, true))
	text, errEv := clientText(t, got)
	if errEv != "" || text != strings.Join(answer, "") || strings.Contains(string(got), "tru\n") {
		t.Fatalf("client got %q (error %s):\n%s", text, errEv, got)
	}
	if row := h.row(resp.Header.Get("X-Llmgate-Request-Id")); row.Status != store.StatusOK || len(row.Attempts) != 1 {
		t.Errorf("row status %q attempts %d", row.Status, len(row.Attempts))
	}
}
