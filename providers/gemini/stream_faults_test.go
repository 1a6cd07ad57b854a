package gemini

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/providers/providertest"
)

// sseBody frames payloads the way Gemini does (CRLF, no [DONE]).
func sseBody(payloads ...string) []byte {
	var b strings.Builder
	for _, p := range payloads {
		b.WriteString("data: " + p + "\r\n\r\n")
	}
	return []byte(b.String())
}

const usageMeta = `"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":%d,"thoughtsTokenCount":4,"cachedContentTokenCount":6,"totalTokenCount":99}`

func meta(candidates string) string { return strings.Replace(usageMeta, "%d", candidates, 1) }

// Thoughts stream as reasoning_content, text as content, parallel calls
// get consecutive indexes, and usage is the last cumulative report.
func TestStreamThoughtsTextAndParallelCalls(t *testing.T) {
	body := sseBody(
		`{"candidates":[{"content":{"role":"model","parts":[{"text":"Plan: ","thought":true}]},"index":0}],`+meta("0")+`,"modelVersion":"gemini-2.5-flash","responseId":"r-1"}`,
		`{"candidates":[{"content":{"role":"model","parts":[{"text":"call both.","thought":true},{"text":"On it"}]},"index":0}],`+meta("2")+`,"modelVersion":"gemini-2.5-flash","responseId":"r-1"}`,
		`{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"c2ln"},{"functionCall":{"name":"get_weather","args":{"city":"Rome"}}}]},"index":0}],`+meta("9")+`,"modelVersion":"gemini-2.5-flash","responseId":"r-1"}`,
		`{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"get_time","args":{}}},{"text":"","thoughtSignature":"dGFpbA=="}]},"finishReason":"STOP","index":0}],`+meta("12")+`,"modelVersion":"gemini-2.5-flash","responseId":"r-1"}`,
	)
	up := providertest.NewUpstream(t, providertest.Replay(body, 0))
	sink, u, err := runStream(t, newTestProvider(t, up.URL, providers.Timeouts{}), "gemini-2.5-flash", askBody)
	if err != nil {
		t.Fatal(err)
	}
	if want := (providers.Usage{PromptTokens: 10, CompletionTokens: 16, CachedTokens: 6, ReasoningTokens: 4}); u != want {
		t.Errorf("usage %+v", u)
	}
	acc := accumulate(t, sink)
	msg := acc.Choices[0].Message
	if msg.Content != "On it" || acc.Choices[0].FinishReason != "tool_calls" || len(msg.ToolCalls) != 3 {
		t.Fatalf("message %+v finish %s", msg, acc.Choices[0].FinishReason)
	}
	for i, w := range []wantCall{{"get_weather", `{"city":"Paris"}`, "c2ln"}, {"get_weather", `{"city":"Rome"}`, ""}, {"get_time", `{}`, ""}} {
		tc := msg.ToolCalls[i]
		n, s, ok := decodeCallID(tc.ID)
		if tc.Function.Name != w.name || tc.Function.Arguments != w.args || !ok || n != w.name || s != w.sig {
			t.Errorf("call %d %+v (sig %q)", i, tc, s)
		}
	}
	if msg.ToolCalls[0].ID == msg.ToolCalls[1].ID {
		t.Error("parallel calls of one function share an id")
	}
	var reasoning strings.Builder
	for _, ev := range sink.Events {
		reasoning.WriteString(gjson.GetBytes(ev.Data, "choices.0.delta.reasoning_content").String())
	}
	if reasoning.String() != "Plan: call both." {
		t.Errorf("reasoning %q", reasoning.String())
	}
	// role, 2 thoughts, text, 3 calls, finish, usage, [DONE]
	if len(sink.Events) != 10 {
		t.Errorf("%d events: %q", len(sink.Events), sink.Data())
	}
	check(t, sink.Events[8].Data, map[string]string{"usage.prompt_tokens_details.cached_tokens": `6`, "usage.completion_tokens": `16`})
}

// n>1: candidates stream side by side, each with its own role, tool
// index space and finish chunk.
func TestStreamCandidates(t *testing.T) {
	body := sseBody(
		`{"candidates":[{"content":{"parts":[{"text":"A"}]},"index":0},{"content":{"parts":[{"functionCall":{"name":"f","args":{"x":1}}}]},"index":1}],"responseId":"n2"}`,
		`{"candidates":[{"content":{"parts":[{"text":"B"}]},"finishReason":"MAX_TOKENS","index":0}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":4}}`,
		`{"candidates":[{"content":{"parts":[{"text":"late"}]},"index":0},{"content":{"parts":[]},"finishReason":"STOP","index":1}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":7}}`,
	)
	up := providertest.NewUpstream(t, providertest.Replay(body, 0))
	sink, u, err := runStream(t, newTestProvider(t, up.URL, providers.Timeouts{}), "gemini-2.5-flash", askBody)
	if err != nil || u.CompletionTokens != 7 {
		t.Fatalf("usage %+v err %v", u, err)
	}
	acc := accumulate(t, sink)
	if len(acc.Choices) != 2 || acc.Model != "gemini-2.5-flash" || acc.ID != "chatcmpl-n2" {
		t.Fatalf("accumulated %+v", acc)
	}
	if c := acc.Choices[0]; c.Message.Content != "AB" || c.FinishReason != "length" {
		t.Errorf("choice 0 %+v", c)
	}
	if c := acc.Choices[1]; len(c.Message.ToolCalls) != 1 || c.Message.ToolCalls[0].Function.Arguments != `{"x":1}` || c.FinishReason != "tool_calls" {
		t.Errorf("choice 1 %+v", c)
	}
	finishes := 0
	for _, ev := range sink.Events {
		if ev.Finish {
			finishes++
		}
	}
	if finishes != 2 {
		t.Errorf("%d finish events", finishes)
	}
}

func TestStreamBlockedPrompt(t *testing.T) {
	body := sseBody(`{"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[]},"usageMetadata":{"promptTokenCount":8,"totalTokenCount":8},"modelVersion":"gemini-2.5-flash","responseId":"blk"}`)
	up := providertest.NewUpstream(t, providertest.Replay(body, 0))
	sink, u, err := runStream(t, newTestProvider(t, up.URL, providers.Timeouts{}), "gemini-2.5-flash", askBody)
	if err != nil || u.PromptTokens != 8 {
		t.Fatalf("usage %+v err %v", u, err)
	}
	if d := sink.Data(); len(d) != 4 || !strings.Contains(d[1], `"finish_reason":"content_filter"`) || d[3] != "[DONE]" {
		t.Errorf("events %q", d)
	}
}

// Malformed payloads are flagged and skipped; unknown fields and part
// kinds are ignored; the stream goes on to its end.
func TestStreamMalformedAndUnknown(t *testing.T) {
	body := []byte(": keep-alive\r\n\r\n" + string(sseBody(
		`{"candidates":[{"content":{"parts":[{"text":"a"}]}}],"responseId":"m"}`,
		`{not json`,
		`[1,2]`,
		`{"candidates":[{"content":{"parts":[{"executableCode":{"language":"PYTHON","code":"print(1)"}},{"inlineData":{"mimeType":"image/png","data":"AA=="}},{"text":"b","newField":{"x":1}}]},"citationMetadata":{},"index":0}],"futureField":true}`,
		`{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":"not an object"}}]},"index":7000}]}`,
		`{"candidates":[{"content":{"parts":[]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":2,"candidatesTokenCount":2}}`,
	)) + "event: ping\r\ndata:\r\n\r\n")
	up := providertest.NewUpstream(t, providertest.Replay(body, 0))
	sink, u, err := runStream(t, newTestProvider(t, up.URL, providers.Timeouts{}), "gemini-2.5-flash", askBody)
	if err != nil || u.PromptTokens != 2 {
		t.Fatalf("usage %+v err %v", u, err)
	}
	malformed := 0
	for _, ev := range sink.Events {
		if ev.Malformed {
			malformed++
			if ev.Data != nil {
				t.Errorf("malformed event carries data %s", ev.Data)
			}
		}
	}
	if malformed != 2 {
		t.Errorf("%d malformed events", malformed)
	}
	if acc := accumulate(t, sink); acc.Choices[0].Message.Content != "ab" || acc.Choices[0].FinishReason != "stop" {
		t.Errorf("accumulated %+v", acc.Choices)
	}
}

// An error object inside the stream ends it with ErrStreamBroken and the
// upstream's message, after what was already delivered.
func TestStreamInBandError(t *testing.T) {
	body := sseBody(
		`{"candidates":[{"content":{"parts":[{"text":"partial"}]}}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":1},"responseId":"e"}`,
		`{"error":{"code":500,"message":"An internal error has occurred.","status":"INTERNAL"}}`,
		`{"candidates":[{"content":{"parts":[{"text":"never"}]},"finishReason":"STOP"}]}`,
	)
	up := providertest.NewUpstream(t, providertest.Replay(body, 0))
	sink, u, err := runStream(t, newTestProvider(t, up.URL, providers.Timeouts{}), "gemini-2.5-flash", askBody)
	if !errors.Is(err, providers.ErrStreamBroken) || !strings.Contains(err.Error(), "An internal error has occurred.") {
		t.Fatalf("err = %v", err)
	}
	if u.PromptTokens != 5 || u.CompletionTokens != 1 || u.Estimated {
		t.Errorf("usage %+v", u)
	}
	if d := sink.Data(); len(d) != 2 || strings.Contains(strings.Join(d, ""), "never") {
		t.Errorf("events %q", d)
	}
}

// A stream that ends before any finishReason is broken: cut mid-way, cut
// inside a JSON payload, or empty.
func TestStreamEndsEarly(t *testing.T) {
	full := providertest.Fixture(t, "gemini", "stream-text-usage.sse")
	events := strings.SplitAfter(string(full), "\r\n\r\n")
	cases := map[string]struct {
		body      string
		delivered int
		usage     providers.Usage
	}{
		"after two events":  {events[0] + events[1], 3, providers.Usage{PromptTokens: 18, CompletionTokens: 114, ReasoningTokens: 35}},
		"inside a payload":  {events[0] + events[1] + events[2][:80], 4, providers.Usage{PromptTokens: 18, CompletionTokens: 114, ReasoningTokens: 35}},
		"empty":             {"", 0, providers.Usage{Estimated: true}},
		"no usage reported": {string(sseBody(`{"candidates":[{"content":{"parts":[{"text":"x"}]}}]}`)), 2, providers.Usage{CompletionTokens: 1, Estimated: true}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			up := providertest.NewUpstream(t, providertest.Replay([]byte(c.body), 0))
			sink, u, err := runStream(t, newTestProvider(t, up.URL, providers.Timeouts{}), "gemini-2.5-flash", askBody)
			if !errors.Is(err, providers.ErrStreamBroken) {
				t.Fatalf("err = %v", err)
			}
			if len(sink.Events) != c.delivered || u != c.usage {
				t.Errorf("%d events %q, usage %+v", len(sink.Events), sink.Data(), u)
			}
			if c.delivered == 0 && sink.Committed() {
				t.Error("an empty stream committed the client")
			}
		})
	}
}

func TestStreamNotAnEventStream(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.JSONAnswer(200, providertest.Fixture(t, "gemini", "generate-content-text.json"), jsonUTF8))
	sink, _, err := runStream(t, newTestProvider(t, up.URL, providers.Timeouts{}), "gemini-2.5-flash", askBody)
	if !errors.Is(err, providers.ErrBadResponse) || sink.Committed() {
		t.Errorf("err = %v committed=%v", err, sink.Committed())
	}
}

// The sink decides when the stream is complete: ErrStop ends the call
// cleanly even if the upstream keeps the connection open; a gone client's
// error comes back as is.
func TestStreamSinkControl(t *testing.T) {
	rec := providertest.Fixture(t, "gemini", "stream-text-usage.sse")
	var up *providertest.Upstream
	up = providertest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		providertest.Replay(rec, 0)(w, r)
		up.Block(r)
	})
	p := newTestProvider(t, up.URL, providers.Timeouts{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		sink := &providertest.Sink{StopOn: func(ev *providers.Event) bool { return ev.Finish }}
		u, err := p.Stream(context.Background(), chatReq("gemini-2.5-flash", true, askBody), sink)
		if err != nil || u.PromptTokens != 18 || u.CompletionTokens != 115 {
			t.Errorf("ErrStop: usage %+v err %v", u, err)
		}
	}()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("Stream kept reading after the sink returned ErrStop")
	}

	up2 := providertest.NewUpstream(t, providertest.Replay(rec, 0))
	sink := &providertest.Sink{FailAfter: 2}
	_, err := newTestProvider(t, up2.URL, providers.Timeouts{}).Stream(context.Background(), chatReq("gemini-2.5-flash", true, askBody), sink)
	if !errors.Is(err, providertest.ErrGone) || len(sink.Events) != 2 {
		t.Errorf("client gone: err %v after %d events", err, len(sink.Events))
	}
}

// Each deadline fires as ErrTimeout, quickly.
func TestTimeouts(t *testing.T) {
	first := "data: " + `{"candidates":[{"content":{"parts":[{"text":"a"}]}}]}` + "\r\n\r\n"
	cases := []struct {
		name   string
		to     providers.Timeouts
		stream bool
		h      func(u *providertest.Upstream) http.HandlerFunc
	}{
		{"headers", providers.Timeouts{Headers: 150 * time.Millisecond}, false, func(u *providertest.Upstream) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { u.Block(r) }
		}},
		{"body idle", providers.Timeouts{Idle: 150 * time.Millisecond}, false, func(u *providertest.Upstream) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, `{"candidates":`)
				w.(http.Flusher).Flush()
				u.Block(r)
			}
		}},
		{"first token", providers.Timeouts{FirstToken: 150 * time.Millisecond}, true, func(u *providertest.Upstream) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				w.WriteHeader(200)
				w.(http.Flusher).Flush()
				u.Block(r)
			}
		}},
		{"idle gap", providers.Timeouts{Idle: 150 * time.Millisecond}, true, func(u *providertest.Upstream) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				_, _ = io.WriteString(w, first)
				w.(http.Flusher).Flush()
				u.Block(r)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var up *providertest.Upstream
			up = providertest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) { c.h(up)(w, r) })
			p := newTestProvider(t, up.URL, c.to)
			start := time.Now()
			var err error
			if c.stream {
				_, _, err = runStream(t, p, "gemini-2.5-flash", askBody)
			} else {
				_, err = p.Do(context.Background(), chatReq("gemini-2.5-flash", false, askBody))
			}
			if !errors.Is(err, providers.ErrTimeout) {
				t.Fatalf("err = %v, want ErrTimeout", err)
			}
			if el := time.Since(start); el > 2*time.Second {
				t.Errorf("took %v", el)
			}
		})
	}
}
