package openai

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/providers/providertest"
)

const (
	testKey = "sk-secret-test-key-123"
)

// newTestProvider builds an account of the OpenAI-compatible flavour typ
// on baseURL with the test key.
func newTestProvider(t testing.TB, typ, baseURL string, to providers.Timeouts, hdr map[string]string) providers.Provider {
	t.Helper()
	return providertest.New(t, providers.Config{Type: typ, BaseURL: baseURL, APIKey: testKey, Timeouts: to, Headers: hdr})
}

func chatReq(stream bool, body string) *providers.Request {
	return &providers.Request{Endpoint: providers.Chat, Model: "gpt-4o", Body: []byte(body), Stream: stream}
}

const streamBodyJSON = `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"stream":true}`

// ------------------------------------------------------------------ tests

func TestStreamBody(t *testing.T) {
	oa, _ := newProvider(flavors[0], providers.Config{BaseURL: "http://127.0.0.1:1"})
	var mis *Provider
	for _, f := range flavors {
		if f.name == "mistral" {
			mis, _ = newProvider(f, providers.Config{BaseURL: "http://127.0.0.1:1"})
		}
	}
	cases := []struct {
		name string
		p    *Provider
		in   string
		want string
	}{
		{"openai adds include_usage", oa, `{"model":"m", "stream":true}`, `{"model":"m", "stream":true,"stream_options":{"include_usage":true}}`},
		{"openai keeps a body that asks already", oa, `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`, `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`},
		{"openai turns include_usage on", oa, `{"model":"m","stream_options":{"include_usage":false},"x":1}`, `{"model":"m","stream_options":{"include_usage":true},"x":1}`},
		{"openai keeps other stream_options", oa, `{"model":"m","stream_options":{"continuous_usage_stats":true}}`, `{"model":"m","stream_options":{"continuous_usage_stats":true,"include_usage":true}}`},
		{"openai replaces a null stream_options", oa, `{"model":"m","stream_options":null}`, `{"model":"m","stream_options":{"include_usage":true}}`},
		{"openai fills an empty stream_options", oa, `{"model":"m","stream_options":{}}`, `{"model":"m","stream_options":{"include_usage":true}}`},
		{"mistral drops stream_options", mis, `{"model":"m","stream_options":{"include_usage":true},"stream":true}`, `{"model":"m","stream":true}`},
		{"mistral leaves a body without it", mis, `{"model":"m" , "stream":true }`, `{"model":"m" , "stream":true }`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := string(c.p.streamBody([]byte(c.in))); got != c.want {
				t.Errorf("streamBody(%s) = %s, want %s", c.in, got, c.want)
			}
		})
	}
}

func TestFlavorsRegistered(t *testing.T) {
	for _, f := range flavors {
		tp, ok := providers.Lookup(f.name)
		if !ok || tp.DefaultBaseURL != f.baseURL || tp.New == nil {
			t.Errorf("type %s: %+v registered=%v", f.name, tp, ok)
		}
		p, err := tp.New(providers.Config{Name: f.name})
		if err != nil {
			t.Errorf("%s with the default base URL: %v", f.name, err)
			continue
		}
		if got := p.(*Provider).baseURL; got != strings.TrimRight(f.baseURL, "/") {
			t.Errorf("%s base URL %q", f.name, got)
		}
	}
	if _, err := newProvider(flavors[0], providers.Config{BaseURL: "api.openai.com/v1"}); err == nil {
		t.Error("a base URL without a scheme was accepted")
	}
}

// Every recorded stream is delivered byte for byte (Raw concatenates to
// the recording), with usage, finish and usage-only flags as recorded.
func TestStreamFixtures(t *testing.T) {
	cases := []struct {
		file                string
		typ                 string
		prompt, completion  int64
		cached, reasoning   int64
		finishes, usageOnly int
		done                bool
	}{
		{"openai/chat-stream-text-usage.sse", "openai", 14, 30, 0, 0, 1, 1, true},
		{"openai/chat-stream-tool-call-usage.sse", "openai", 44, 16, 0, 0, 1, 1, true},
		{"openai/chat-stream-parallel-tool-calls-usage.sse", "openai", 149, 60, 0, 0, 1, 1, true},
		{"openai/chat-stream-n3-usage.sse", "openai", 79, 42, 0, 0, 3, 1, true},
		{"openai/chat-stream-logprobs-usage.sse", "openai", 9, 2, 0, 0, 1, 1, true},
		{"openai/chat-stream-refusal-usage.sse", "openai", 79, 11, 0, 0, 1, 1, true},
		{"openai-compatible/groq-stream-tool-call-x-groq-usage.sse", "groq", 304, 49, 0, 23, 1, 0, true},
		{"openai-compatible/deepseek-reasoner-stream-usage.sse", "deepseek", 6, 212, 0, 198, 1, 0, true},
		{"openai-compatible/azure-chat-stream-content-filter.sse", "openai", 15, 78, 0, 64, 1, 1, false},
	}
	for _, c := range cases {
		for _, seed := range []uint64{0, 7} {
			t.Run(fmt.Sprintf("%s/seed=%d", filepath.Base(c.file), seed), func(t *testing.T) {
				content := providertest.Fixture(t, c.file)
				up := providertest.NewUpstream(t, providertest.Replay(content, seed))
				p := newTestProvider(t, c.typ, up.URL, providers.Timeouts{}, nil)
				sink := &providertest.Sink{}
				u, err := p.Stream(context.Background(), chatReq(true, streamBodyJSON), sink)
				if err != nil {
					t.Fatalf("Stream: %v", err)
				}
				var raw bytes.Buffer
				finishes, usageOnly, withUsage, dones := 0, 0, 0, 0
				var tokens int64
				for _, ev := range sink.Events {
					raw.Write(ev.Raw)
					if ev.Finish {
						finishes++
					}
					if ev.UsageOnly {
						usageOnly++
					}
					if ev.Usage != nil {
						withUsage++
					}
					if ev.Done {
						dones++
					}
					tokens += ev.Tokens
				}
				if raw.String() != string(content) {
					t.Errorf("raw events do not reassemble the recording (%d vs %d bytes)", raw.Len(), len(content))
				}
				if finishes != c.finishes || usageOnly != c.usageOnly || withUsage != 1 {
					t.Errorf("finish=%d usageOnly=%d withUsage=%d, want %d/%d/1", finishes, usageOnly, withUsage, c.finishes, c.usageOnly)
				}
				if (dones == 1) != c.done || (c.done && !sink.Events[len(sink.Events)-1].Done) {
					t.Errorf("done events %d", dones)
				}
				if tokens <= 0 {
					t.Error("no content tokens counted")
				}
				want := providers.Usage{PromptTokens: c.prompt, CompletionTokens: c.completion, CachedTokens: c.cached, ReasoningTokens: c.reasoning}
				if u != want {
					t.Errorf("usage %+v, want %+v", u, want)
				}
				sent := up.Last(t)
				body, hdr, path := sent.Body, sent.Header, sent.Path
				if path != "/chat/completions" || hdr.Get("Accept") != "text/event-stream" || hdr.Get("Authorization") != "Bearer "+testKey {
					t.Errorf("path %q headers %v", path, hdr)
				}
				if !bytes.Contains(body, []byte(`"stream_options":{"include_usage":true}`)) {
					t.Errorf("upstream body %s", body)
				}
			})
		}
	}
}

// OpenRouter: comments are delivered as comments; the in-band error ends
// the stream with ErrStreamBroken, and the usage it carried is returned.
func TestStreamInBandError(t *testing.T) {
	content := providertest.Fixture(t, "openai-compatible/openrouter-stream-midstream-error.sse")
	up := providertest.NewUpstream(t, providertest.Replay(content, 0))
	p := newTestProvider(t, "openrouter", up.URL, providers.Timeouts{}, nil)
	sink := &providertest.Sink{}
	u, err := p.Stream(context.Background(), chatReq(true, streamBodyJSON), sink)
	if !errors.Is(err, providers.ErrStreamBroken) || !strings.Contains(err.Error(), "Token limit reached") {
		t.Fatalf("err = %v, want ErrStreamBroken with the upstream's message", err)
	}
	comments, data := 0, 0
	for _, ev := range sink.Events {
		switch {
		case ev.Comment:
			comments++
			if string(ev.Raw) != ": OPENROUTER PROCESSING\n\n" {
				t.Errorf("comment raw %q", ev.Raw)
			}
		default:
			data++
			if bytes.Contains(ev.Data, []byte(`"error"`)) {
				t.Error("the error chunk was delivered as data")
			}
		}
	}
	if comments != 17 || data != 3 {
		t.Errorf("comments=%d data=%d, want 17/3", comments, data)
	}
	if u.PromptTokens != 43 || u.CompletionTokens != 10 || u.ReasoningTokens != 11 || !u.HasCost || u.CostUSD != 0 || u.Estimated {
		t.Errorf("usage %+v", u)
	}
}

// A stream that ends before any finish_reason is broken; its usage is the
// flagged estimate of what was delivered.
func TestStreamEndsBeforeFinish(t *testing.T) {
	evs := bytes.SplitAfter(providertest.Fixture(t, "openai/chat-stream-text-usage.sse"), []byte("\n\n"))
	up := providertest.NewUpstream(t, providertest.Replay(bytes.Join(evs[:5], nil), 0))
	p := newTestProvider(t, "openai", up.URL, providers.Timeouts{}, nil)
	sink := &providertest.Sink{}
	u, err := p.Stream(context.Background(), chatReq(true, streamBodyJSON), sink)
	if !errors.Is(err, providers.ErrStreamBroken) {
		t.Fatalf("err = %v", err)
	}
	if !u.Estimated || u.CompletionTokens != 4 || u.PromptTokens != 0 {
		t.Errorf("usage %+v, want estimated 4 completion tokens", u)
	}
}

// The sink decides when the stream is complete: ErrStop ends the call
// without error even if the upstream keeps the connection open, and a
// client error is returned as is.
func TestStreamSinkControl(t *testing.T) {
	evs := bytes.SplitAfter(providertest.Fixture(t, "openai/chat-stream-text-usage.sse"), []byte("\n\n"))
	noDone := bytes.Join(evs[:len(evs)-2], nil) // up to the usage chunk, no [DONE]
	var up *providertest.Upstream
	up = providertest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		providertest.Replay(noDone, 0)(w, r)
		up.Block(r)
	})
	p := newTestProvider(t, "openai", up.URL, providers.Timeouts{}, nil)

	done := make(chan struct{})
	go func() {
		defer close(done)
		sink := &providertest.Sink{StopOn: func(ev *providers.Event) bool { return ev.UsageOnly }}
		u, err := p.Stream(context.Background(), chatReq(true, streamBodyJSON), sink)
		if err != nil || u.PromptTokens != 14 || u.CompletionTokens != 30 {
			t.Errorf("ErrStop: usage %+v err %v", u, err)
		}
	}()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("Stream kept reading after the sink returned ErrStop")
	}

	sink := &providertest.Sink{FailAfter: 3}
	u, err := p.Stream(context.Background(), chatReq(true, streamBodyJSON), sink)
	if !errors.Is(err, providertest.ErrGone) || !u.Estimated || u.CompletionTokens != 2 {
		t.Errorf("client gone: usage %+v err %v", u, err)
	}
}

func TestStreamMalformedEventSkipped(t *testing.T) {
	const s = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"},\"finish_reason\":null}]}\n\n" +
		"data: {not json\n\n" +
		"data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}\n\n" +
		"data: [DONE]\n\n"
	up := providertest.NewUpstream(t, providertest.Replay([]byte(s), 0))
	p := newTestProvider(t, "openai", up.URL, providers.Timeouts{}, nil)
	sink := &providertest.Sink{}
	u, err := p.Stream(context.Background(), chatReq(true, streamBodyJSON), sink)
	// The malformed event reaches the sink flagged (the gateway logs and
	// drops it) and the stream goes on to its usage and [DONE].
	if err != nil || u.PromptTokens != 3 || len(sink.Events) != 4 || !sink.Events[1].Malformed {
		t.Errorf("usage %+v err %v events %d", u, err, len(sink.Events))
	}
}

// Groq's usage may come only inside x_groq.
func TestStreamXGroqUsageOnly(t *testing.T) {
	const s = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"},\"finish_reason\":null}]}\n\n" +
		"data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"x_groq\":{\"id\":\"r\",\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1}}}\n\n" +
		"data: [DONE]\n\n"
	up := providertest.NewUpstream(t, providertest.Replay([]byte(s), 7))
	p := newTestProvider(t, "groq", up.URL, providers.Timeouts{}, nil)
	sink := &providertest.Sink{}
	u, err := p.Stream(context.Background(), chatReq(true, streamBodyJSON), sink)
	if err != nil || u.PromptTokens != 5 || u.CompletionTokens != 1 || sink.Events[1].Usage == nil || !sink.Events[1].Finish {
		t.Errorf("usage %+v err %v events %+v", u, err, sink.Events)
	}
}

// Together's "eos" becomes "stop", on streams and answers alike; other
// types leave the bytes alone.
func TestTogetherEOS(t *testing.T) {
	const s = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"},\"finish_reason\":null}]}\n\n" +
		"data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"eos\"}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1}}\n\n" +
		"data: [DONE]\n\n"
	const answer = `{"choices":[{"index":0,"message":{"role":"assistant","content":"a"},"finish_reason":"eos"}],"usage":{"prompt_tokens":5,"completion_tokens":1}}`
	for _, typ := range []string{"together", "openai"} {
		t.Run(typ, func(t *testing.T) {
			up := providertest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				if strings.Contains(r.Header.Get("Accept"), "event-stream") {
					providertest.Replay([]byte(s), 0)(w, r)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, answer)
			})
			p := newTestProvider(t, typ, up.URL, providers.Timeouts{}, nil)
			sink := &providertest.Sink{}
			if _, err := p.Stream(context.Background(), chatReq(true, streamBodyJSON), sink); err != nil {
				t.Fatal(err)
			}
			fin := sink.Events[1]
			resp, err := p.Do(context.Background(), chatReq(false, `{"model":"m"}`))
			if err != nil {
				t.Fatal(err)
			}
			if typ == "together" {
				if fin.Raw != nil || !bytes.Contains(fin.Data, []byte(`"finish_reason":"stop"`)) || bytes.Contains(fin.Data, []byte("eos")) {
					t.Errorf("stream finish event raw=%q data=%s", fin.Raw, fin.Data)
				}
				if string(resp.Body) != strings.Replace(answer, `"eos"`, `"stop"`, 1) {
					t.Errorf("answer %s", resp.Body)
				}
			} else {
				if !bytes.Contains(fin.Raw, []byte(`"eos"`)) || string(resp.Body) != answer {
					t.Errorf("openai rewrote eos: %q / %s", fin.Raw, resp.Body)
				}
			}
		})
	}
}

// Non-streaming calls return the body unchanged with usage peeked.
func TestDo(t *testing.T) {
	answer := providertest.Fixture(t, "openai/chat-completion-parallel-tool-calls.json")
	up := providertest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
	})
	p := newTestProvider(t, "openai", up.URL+"/v1/", providers.Timeouts{}, map[string]string{"OpenAI-Organization": "org-1"})
	body := `{"model":"gpt-4o" ,"messages":[],"x":{"y":[1,2]}}`
	resp, err := p.Do(context.Background(), chatReq(false, body))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(resp.Body, answer) || resp.Usage.PromptTokens != 149 || resp.Usage.CompletionTokens != 60 {
		t.Errorf("resp usage %+v body equal=%v", resp.Usage, bytes.Equal(resp.Body, answer))
	}
	sent := up.Last(t)
	got, hdr, path := sent.Body, sent.Header, sent.Path
	if string(got) != body || path != "/v1/chat/completions" || hdr.Get("Authorization") != "Bearer "+testKey ||
		hdr.Get("Content-Type") != "application/json" || hdr.Get("Accept") != "application/json" || hdr.Get("OpenAI-Organization") != "org-1" {
		t.Errorf("upstream got %s at %s with %v", got, path, hdr)
	}

	emb := &providers.Request{Endpoint: providers.Embeddings, Model: "e", Body: []byte(`{"model":"e","input":"x"}`)}
	if _, err := p.Do(context.Background(), emb); err != nil {
		t.Fatal(err)
	}
	if path := up.Last(t).Path; path != "/v1/embeddings" {
		t.Errorf("embeddings went to %s", path)
	}
}

func TestDoBadAnswer(t *testing.T) {
	up := providertest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "<html>oops</html>") })
	p := newTestProvider(t, "openai", up.URL, providers.Timeouts{}, nil)
	if _, err := p.Do(context.Background(), chatReq(false, `{}`)); !errors.Is(err, providers.ErrBadResponse) {
		t.Errorf("err = %v", err)
	}
	// A stream request answered with JSON is not a stream.
	up2 := providertest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"x"}`)
	})
	p2 := newTestProvider(t, "openai", up2.URL, providers.Timeouts{}, nil)
	sink := &providertest.Sink{}
	if _, err := p2.Stream(context.Background(), chatReq(true, streamBodyJSON), sink); !errors.Is(err, providers.ErrBadResponse) || sink.Committed() {
		t.Errorf("err = %v committed=%v", err, sink.Committed())
	}
}

// Non-2xx answers become *StatusError, before anything reaches the sink.
func TestStatusErrors(t *testing.T) {
	cases := []struct {
		status     int
		hdr        map[string]string
		body       string
		code, msg  string
		retryAfter time.Duration
	}{
		{400, nil, string(providertest.Fixture(t, "openai/error-400-unsupported-value.json")), "unsupported_value", "Unsupported value: 'messages[0].role' does not support 'system' with this model.", 0},
		{429, map[string]string{"Retry-After": "2"}, `{"error":{"message":"Rate limit","type":"requests","code":"rate_limit_exceeded"}}`, "rate_limit_exceeded", "Rate limit", 2 * time.Second},
		{429, map[string]string{"retry-after-ms": "1500", "Retry-After": "9"}, `{"error":{"message":"slow down","type":"tokens"}}`, "tokens", "slow down", 1500 * time.Millisecond},
		{400, nil, `{"code":"Client specified an invalid argument","error":"Incorrect API key provided"}`, "", "Incorrect API key provided", 0},
		{503, nil, `upstream connect error`, "", "upstream connect error", 0},
	}
	for i, c := range cases {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d-%d/stream=%v", i, c.status, stream), func(t *testing.T) {
				up := providertest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
					for k, v := range c.hdr {
						w.Header().Set(k, v)
					}
					w.WriteHeader(c.status)
					_, _ = io.WriteString(w, c.body)
				})
				p := newTestProvider(t, "openai", up.URL, providers.Timeouts{}, nil)
				var err error
				sink := &providertest.Sink{}
				if stream {
					_, err = p.Stream(context.Background(), chatReq(true, streamBodyJSON), sink)
				} else {
					_, err = p.Do(context.Background(), chatReq(false, `{}`))
				}
				var se *providers.StatusError
				if !errors.As(err, &se) {
					t.Fatalf("err = %v, want *StatusError", err)
				}
				if se.Status != c.status || se.Code != c.code || se.Message != c.msg || string(se.Body) != c.body || se.RetryAfter != c.retryAfter {
					t.Errorf("StatusError %+v", se)
				}
				if len(sink.Events) != 0 {
					t.Error("events reached the sink")
				}
			})
		}
	}
}

// Each deadline fires as ErrTimeout, quickly.
func TestTimeouts(t *testing.T) {
	firstEvent := "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"},\"finish_reason\":null}]}\n\n"
	cases := []struct {
		name    string
		to      providers.Timeouts
		stream  bool
		handler func(u *providertest.Upstream) func(http.ResponseWriter, *http.Request)
		events  int
	}{
		{"headers", providers.Timeouts{Headers: 150 * time.Millisecond}, false, func(u *providertest.Upstream) func(http.ResponseWriter, *http.Request) {
			return func(w http.ResponseWriter, r *http.Request) { u.Block(r) }
		}, 0},
		{"headers/stream", providers.Timeouts{Headers: 150 * time.Millisecond}, true, func(u *providertest.Upstream) func(http.ResponseWriter, *http.Request) {
			return func(w http.ResponseWriter, r *http.Request) { u.Block(r) }
		}, 0},
		{"body idle", providers.Timeouts{Idle: 150 * time.Millisecond}, false, func(u *providertest.Upstream) func(http.ResponseWriter, *http.Request) {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, `{"id":`)
				w.(http.Flusher).Flush()
				u.Block(r)
			}
		}, 0},
		{"first token", providers.Timeouts{FirstToken: 150 * time.Millisecond}, true, func(u *providertest.Upstream) func(http.ResponseWriter, *http.Request) {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				w.WriteHeader(200)
				w.(http.Flusher).Flush()
				u.Block(r)
			}
		}, 0},
		{"first token ignores comments", providers.Timeouts{FirstToken: 300 * time.Millisecond}, true, func(u *providertest.Upstream) func(http.ResponseWriter, *http.Request) {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				w.WriteHeader(200)
				for range 40 {
					_, _ = io.WriteString(w, ": OPENROUTER PROCESSING\n\n")
					w.(http.Flusher).Flush()
					select {
					case <-r.Context().Done():
						return
					case <-time.After(25 * time.Millisecond):
					}
				}
				u.Block(r)
			}
		}, -1},
		{"idle gap", providers.Timeouts{Idle: 150 * time.Millisecond}, true, func(u *providertest.Upstream) func(http.ResponseWriter, *http.Request) {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				_, _ = io.WriteString(w, firstEvent)
				w.(http.Flusher).Flush()
				u.Block(r)
			}
		}, 1},
		{"total", providers.Timeouts{Total: 200 * time.Millisecond}, true, func(u *providertest.Upstream) func(http.ResponseWriter, *http.Request) {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				for range 100 {
					_, _ = io.WriteString(w, firstEvent)
					w.(http.Flusher).Flush()
					select {
					case <-r.Context().Done():
						return
					case <-time.After(20 * time.Millisecond):
					}
				}
			}
		}, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var up *providertest.Upstream
			up = providertest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) { c.handler(up)(w, r) })
			p := newTestProvider(t, "openai", up.URL, c.to, nil)
			start := time.Now()
			sink := &providertest.Sink{}
			var err error
			if c.stream {
				_, err = p.Stream(context.Background(), chatReq(true, streamBodyJSON), sink)
			} else {
				_, err = p.Do(context.Background(), chatReq(false, `{}`))
			}
			el := time.Since(start)
			if !errors.Is(err, providers.ErrTimeout) {
				t.Fatalf("err = %v, want ErrTimeout", err)
			}
			if el > 2*time.Second {
				t.Errorf("took %v", el)
			}
			data := 0
			for _, ev := range sink.Events {
				if !ev.Comment {
					data++
				}
			}
			if c.events >= 0 && data != c.events {
				t.Errorf("%d data events, want %d", data, c.events)
			}
		})
	}
}

// A cancelled caller is reported as context.Canceled, not as an upstream
// failure.
func TestCancelled(t *testing.T) {
	var up *providertest.Upstream
	up = providertest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"},\"finish_reason\":null}]}\n\n")
		w.(http.Flusher).Flush()
		up.Block(r)
	})
	p := newTestProvider(t, "openai", up.URL, providers.Timeouts{}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	sink := &providertest.Sink{StopOn: func(*providers.Event) bool { cancel(); return false }}
	_, err := p.Stream(ctx, chatReq(true, streamBodyJSON), sink)
	if !errors.Is(err, context.Canceled) || errors.Is(err, providers.ErrNetwork) || errors.Is(err, providers.ErrTimeout) {
		t.Errorf("err = %v", err)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if _, err := p.Do(ctx2, chatReq(false, `{}`)); !errors.Is(err, context.Canceled) {
		t.Errorf("Do: err = %v", err)
	}
}
