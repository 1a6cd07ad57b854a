package mock

import (
	"context"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/providers/providertest"
	"github.com/tidwall/gjson"
)

// newMock builds a mock account through the registry, as the gateway does.
func newMock(t *testing.T, opts map[string]string) *Provider {
	t.Helper()
	return providertest.New(t, providers.Config{Name: "mock", Type: "mock", Options: opts}).(*Provider)
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

func streamOK(t *testing.T, p *Provider, req *providers.Request) (*providertest.Sink, providers.Usage) {
	t.Helper()
	rec := &providertest.Sink{}
	u, err := p.Stream(context.Background(), req, rec)
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	return rec, u
}

// streamed concatenates the content deltas and counts the chunks carrying
// content.
func streamed(events []providers.Event) (text string, chunks int) {
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
func streamedArgs(events []providers.Event) string {
	var b strings.Builder
	for _, ev := range events {
		b.WriteString(gjson.GetBytes(ev.Data, "choices.0.delta.tool_calls.0.function.arguments").Str)
	}
	return b.String()
}

func sumTokens(events []providers.Event) int64 {
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
