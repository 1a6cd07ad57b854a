package openai

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/providers/providertest"
)

func responsesReq(stream bool) *providers.Request {
	body := `{"model":"gpt-5-nano","input":"hi","stream":` + map[bool]string{true: "true", false: "false"}[stream] + `}`
	return &providers.Request{Endpoint: providers.Responses, Model: "gpt-5-nano", Body: []byte(body), Stream: stream}
}

// Recorded Responses streams reach the sink byte for byte, whole or in
// tiny chunks, with the usage of response.completed and the terminal
// event marked.
func TestResponsesStreamPassthrough(t *testing.T) {
	for _, name := range []string{"responses-stream-text.sse", "responses-stream-function-call.sse",
		"responses-stream-reasoning-function-call.sse", "responses-stream-reasoning-summary.sse"} {
		for _, seed := range []uint64{0, 7} {
			content := providertest.Fixture(t, "openai/"+name)
			up := providertest.NewUpstream(t, providertest.Replay(content, seed))
			p := newTestProvider(t, "openai", up.URL, providers.Timeouts{}, nil)
			sink := &providertest.Sink{}
			u, err := p.Stream(context.Background(), responsesReq(true), sink)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			var got []byte
			for _, ev := range sink.Events {
				got = append(got, ev.Raw...)
			}
			if !bytes.Equal(got, content) {
				t.Fatalf("%s (seed=%d): bytes differ from the recording", name, seed)
			}
			last := sink.Events[len(sink.Events)-1]
			if !last.Done || last.Name != "response.completed" || last.Usage == nil {
				t.Fatalf("%s: last event %q done=%v usage=%v", name, last.Name, last.Done, last.Usage)
			}
			if u.PromptTokens == 0 || u.CompletionTokens == 0 || u.Estimated {
				t.Fatalf("%s: usage %+v", name, u)
			}
			if path := up.Last(t).Path; path != "/responses" {
				t.Fatalf("path %q", path)
			}
			body := up.Last(t).Body
			if bytes.Contains(body, []byte("stream_options")) {
				t.Fatalf("stream_options added to a Responses request: %s", body)
			}
		}
	}
}

// An in-stream quota error before any output fails invisibly, as the 429
// it stands for, so the gateway can move to another account.
func TestResponsesStreamErrorBeforeOutput(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.Replay(providertest.Fixture(t, "openai/responses-stream-error-insufficient-quota.sse"), 0))
	p := newTestProvider(t, "openai", up.URL, providers.Timeouts{}, nil)
	sink := &providertest.Sink{}
	_, err := p.Stream(context.Background(), responsesReq(true), sink)
	var se *providers.StatusError
	if !errors.As(err, &se) || se.Status != http.StatusTooManyRequests || se.Code != "insufficient_quota" {
		t.Fatalf("err = %v", err)
	}
	if len(sink.Events) != 0 {
		t.Fatalf("%d events reached the sink before the failure", len(sink.Events))
	}
}

// A stream cut before its terminal event is broken, not complete.
func TestResponsesStreamCut(t *testing.T) {
	content := providertest.Fixture(t, "openai/responses-stream-text.sse")
	cut := content[:bytes.Index(content, []byte("event: response.output_text.done"))]
	up := providertest.NewUpstream(t, providertest.Replay(cut, 0))
	p := newTestProvider(t, "openai", up.URL, providers.Timeouts{}, nil)
	sink := &providertest.Sink{}
	u, err := p.Stream(context.Background(), responsesReq(true), sink)
	if !errors.Is(err, providers.ErrStreamBroken) {
		t.Fatalf("err = %v", err)
	}
	if !u.Estimated || u.CompletionTokens == 0 {
		t.Fatalf("usage %+v, want an estimate", u)
	}
}

func TestResponsesDo(t *testing.T) {
	body := providertest.Fixture(t, "openai/responses-create-reasoning.json")
	up := providertest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	p := newTestProvider(t, "openai", up.URL, providers.Timeouts{}, nil)
	resp, err := p.Do(context.Background(), responsesReq(false))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(resp.Body, body) || resp.Usage.PromptTokens == 0 || resp.Usage.CompletionTokens == 0 {
		t.Fatalf("usage %+v", resp.Usage)
	}
}

// Which accounts speak the Responses API natively.
func TestSpeaksResponses(t *testing.T) {
	for _, c := range []struct {
		typ, base string
		opt       string
		want      bool
	}{
		{"openai", "", "", true},
		{"openai", "https://api.openai.com/v1/", "", true},
		{"openai", "http://127.0.0.1:8000/v1", "", false},
		{"openai", "http://127.0.0.1:8000/v1", "on", true},
		{"openai", "", "off", false},
		{"xai", "", "", true},
		{"openrouter", "", "", true},
		{"groq", "", "", false},
		{"mistral", "", "", false},
	} {
		tp, _ := providers.Lookup(c.typ)
		cfg := providers.Config{Name: "a", Type: c.typ, BaseURL: c.base, APIKey: "k", Options: map[string]string{}}
		if c.opt != "" {
			cfg.Options["responses"] = c.opt
		}
		p, err := tp.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := providers.Speaks(p, providers.Responses); got != c.want {
			t.Errorf("%s %q responses=%q: speaks = %v, want %v", c.typ, c.base, c.opt, got, c.want)
		}
	}
}
