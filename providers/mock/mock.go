// Package mock is an in-process provider type that answers like OpenAI
// without a network or an API key. The quickstart and the keyless demo run
// on it, and the gateway's own tests use its deterministic answers, pacing
// options and fault-injecting model names to exercise streaming, usage
// accounting, retries and fallbacks without a real upstream.
package mock

import (
	"context"
	"fmt"
	"time"

	"github.com/llmgate/llmgate/providers"
)

func init() {
	providers.Register(providers.Type{
		Name:        "mock",
		Family:      "mock",
		KeyOptional: true,
		New:         New,
	})
}

// Provider is one configured mock account. It holds only pacing settings:
// every answer is computed from the request alone, so any number of
// goroutines may share it.
type Provider struct {
	// delay is the pause between consecutive stream events.
	delay time.Duration
	// firstDelay is the pause before the first stream event (and before a
	// non-streaming answer), standing in for a model's time to first token.
	firstDelay time.Duration
}

var (
	_ providers.Provider = (*Provider)(nil)
	_ providers.Capable  = (*Provider)(nil)
)

// New builds a mock account. Options["delay"] and
// Options["first_token_delay"] are Go durations; both default to zero so
// tests and demos are instant unless they ask for realistic pacing.
func New(cfg providers.Config) (providers.Provider, error) {
	p := &Provider{}
	var err error
	if p.delay, err = durationOption(cfg.Options, "delay"); err != nil {
		return nil, err
	}
	if p.firstDelay, err = durationOption(cfg.Options, "first_token_delay"); err != nil {
		return nil, err
	}
	return p, nil
}

// durationOption reads one non-negative duration option; a typo in a
// config should fail loudly at load time rather than silently not pace.
func durationOption(opts map[string]string, name string) (time.Duration, error) {
	v, ok := opts[name]
	if !ok || v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("mock: option %s: %w", name, err)
	}
	if d < 0 {
		return 0, fmt.Errorf("mock: option %s: negative duration %s", name, v)
	}
	return d, nil
}

// Capabilities declares everything, so the mock can stand in for any model
// the router might pick.
func (p *Provider) Capabilities() providers.Capabilities {
	return providers.Capabilities{
		Tools:           true,
		Vision:          true,
		JSONSchema:      true,
		Reasoning:       true,
		AssistantPrefix: true,
		Embeddings:      true,
	}
}

// Do answers a non-streaming chat or embeddings call.
func (p *Provider) Do(ctx context.Context, req *providers.Request) (*providers.Response, error) {
	if err := failure(req.Model); err != nil {
		return nil, err
	}
	// A non-streaming answer arrives with its headers, so the wait for it
	// is bounded by the header timeout, as a real upstream's would be.
	if err := pause(ctx, p.firstDelay, req.Timeouts.Headers); err != nil {
		return nil, err
	}
	switch req.Endpoint {
	case providers.Chat:
		return doChat(req)
	case providers.Embeddings:
		return doEmbeddings(req)
	default:
		return nil, unsupportedEndpoint(req.Endpoint)
	}
}

// Stream answers a streaming chat call through sink.
func (p *Provider) Stream(ctx context.Context, req *providers.Request, sink providers.Sink) (providers.Usage, error) {
	if err := failure(req.Model); err != nil {
		return providers.Usage{}, err
	}
	if req.Endpoint != providers.Chat {
		return providers.Usage{}, unsupportedEndpoint(req.Endpoint)
	}
	pl, err := planChat(req)
	if err != nil {
		return providers.Usage{}, err
	}
	return p.deliver(ctx, req, pl, sink)
}
