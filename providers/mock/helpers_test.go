package mock

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/llmgate/llmgate/providers"
	"github.com/tidwall/gjson"
)

// recorder is a fake Sink that keeps every event and can stop or fail the
// stream after a given number of events.
type recorder struct {
	mu     sync.Mutex
	events []*providers.Event
	// after is the 1-based event number on which err is returned.
	after int
	err   error
	// onEvent runs after each recorded event (for cancelling mid-stream).
	onEvent func(n int)
}

func (r *recorder) Event(ev *providers.Event) error {
	r.mu.Lock()
	r.events = append(r.events, ev)
	n := len(r.events)
	r.mu.Unlock()
	if r.onEvent != nil {
		r.onEvent(n)
	}
	if r.err != nil && n == r.after {
		return r.err
	}
	return nil
}

func (r *recorder) Committed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events) > 0
}

func newMock(t *testing.T, opts map[string]string) *Provider {
	t.Helper()
	p, err := New(providers.Config{Name: "mock", Type: "mock", Options: opts})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p.(*Provider)
}

func chatReq(model, body string) *providers.Request {
	return &providers.Request{Endpoint: providers.Chat, Model: model, Body: []byte(body)}
}

func doChatOK(t *testing.T, p *Provider, req *providers.Request) *providers.Response {
	t.Helper()
	resp, err := p.Do(context.Background(), req)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	if !gjson.ValidBytes(resp.Body) {
		t.Fatalf("Do body is not JSON: %s", resp.Body)
	}
	return resp
}

func streamOK(t *testing.T, p *Provider, req *providers.Request) (*recorder, providers.Usage) {
	t.Helper()
	rec := &recorder{}
	u, err := p.Stream(context.Background(), req, rec)
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	return rec, u
}

// streamed concatenates the content deltas and counts the chunks carrying
// content.
func streamed(events []*providers.Event) (text string, chunks int) {
	var b strings.Builder
	for _, ev := range events {
		c := gjson.GetBytes(ev.Data, "choices.0.delta.content")
		if c.Type == gjson.String && c.Str != "" {
			b.WriteString(c.Str)
			chunks++
		}
	}
	return b.String(), chunks
}

// streamedArgs concatenates tool-call argument fragments.
func streamedArgs(events []*providers.Event) string {
	var b strings.Builder
	for _, ev := range events {
		b.WriteString(gjson.GetBytes(ev.Data, "choices.0.delta.tool_calls.0.function.arguments").Str)
	}
	return b.String()
}

func sumTokens(events []*providers.Event) int64 {
	var n int64
	for _, ev := range events {
		n += ev.Tokens
	}
	return n
}

const (
	plainBody = `{"model":"mock-mini","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"What is the weather like in San Francisco today?"}]}`
	usageBody = `{"model":"mock-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Tell me about gateways."}]}`
	toolBody  = `{"model":"mock-mini","messages":[{"role":"user","content":"Weather in Paris?"}],"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"},"metric":{"type":"boolean"},"tags":{"type":"array","items":{"type":"string"}},"opts":{"type":"object"},"unit":{"type":"string","enum":["c","f"]},"note":{"type":"string"}},"required":["city","days","metric","tags","opts","unit"]}}},{"type":"function","function":{"name":"get_time","parameters":{"type":"object","properties":{"zone":{"type":["string","null"]},"precise":{"type":"number"}},"required":["zone","precise"]}}}]}`
)
