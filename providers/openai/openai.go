// Package openai is the passthrough provider for OpenAI and every
// OpenAI-compatible upstream. The request body goes upstream as the client
// sent it (model rewritten by the gateway), and responses and stream events
// come back byte for byte; the provider only peeks at them (gjson) to read
// usage and finish reasons. Shorthand types (groq, mistral, …) change
// defaults and switch on the quirks each upstream is known for.
package openai

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/llmgate/llmgate/providers"
)

// flavor is what distinguishes a shorthand type from plain openai.
type flavor struct {
	name    string
	baseURL string
	// noStreamOptions: the upstream rejects stream_options (Mistral answers
	// 422 extra_forbidden) and always reports usage on its last chunk.
	noStreamOptions bool
	// eosFinish: the upstream reports finish_reason "eos" (Together), which
	// OpenAI SDKs do not know; it is rewritten to "stop".
	eosFinish bool
	// prefix: the upstream continues a final assistant message marked
	// "prefix": true instead of starting a new turn (Mistral).
	prefix bool
	// responses: the upstream serves the Responses API.
	responses bool
}

var flavors = []flavor{
	{name: "openai", baseURL: "https://api.openai.com/v1", responses: true},
	{name: "openrouter", baseURL: "https://openrouter.ai/api/v1", responses: true},
	{name: "groq", baseURL: "https://api.groq.com/openai/v1"},
	{name: "xai", baseURL: "https://api.x.ai/v1", responses: true},
	{name: "mistral", baseURL: "https://api.mistral.ai/v1", noStreamOptions: true, prefix: true},
	{name: "cerebras", baseURL: "https://api.cerebras.ai/v1"},
	{name: "deepseek", baseURL: "https://api.deepseek.com"},
	{name: "together", baseURL: "https://api.together.xyz/v1", eosFinish: true},
	{name: "fireworks", baseURL: "https://api.fireworks.ai/inference/v1"},
}

func init() {
	for _, f := range flavors {
		f := f
		providers.Register(providers.Type{
			Name:           f.name,
			DefaultBaseURL: f.baseURL,
			New: func(cfg providers.Config) (providers.Provider, error) {
				return newProvider(f, cfg)
			},
		})
	}
}

// Options adapt the passthrough to an upstream that speaks OpenAI's wire
// format behind a different URL scheme or auth header (Azure OpenAI).
type Options struct {
	// URL builds the request URL for an endpoint and the upstream model;
	// nil means base_url + "/" + endpoint.
	URL func(ep providers.Endpoint, model string) string
	// Auth sets the credential header; nil means Authorization: Bearer.
	Auth func(h http.Header, key string)
	// NoStreamOptions: the upstream rejects stream_options.
	NoStreamOptions bool
	// Responses: the upstream serves the Responses API at
	// URL(providers.Responses, model).
	Responses bool
}

// NewWith builds a passthrough provider with custom URL and auth.
func NewWith(cfg providers.Config, o Options) (*Provider, error) {
	p, err := newProvider(flavor{name: cfg.Type, baseURL: cfg.BaseURL, noStreamOptions: o.NoStreamOptions, responses: o.Responses}, cfg)
	if err != nil {
		return nil, err
	}
	if o.Auth != nil {
		p.headers.Del("Authorization")
		if cfg.APIKey != "" {
			o.Auth(p.headers, cfg.APIKey)
		}
	}
	p.url = o.URL
	return p, nil
}

// Provider is one OpenAI-compatible account.
type Provider struct {
	flavor  flavor
	url     func(ep providers.Endpoint, model string) string
	baseURL string
	key     string
	headers http.Header
	client  *http.Client
	timeout providers.Timeouts
}

func newProvider(f flavor, cfg providers.Config) (*Provider, error) {
	base := cfg.BaseURL
	if base == "" {
		base = f.baseURL
	}
	base = strings.TrimRight(base, "/")
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return nil, fmt.Errorf("base_url %q: must start with http:// or https://", base)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	if cfg.APIKey != "" {
		h.Set("Authorization", "Bearer "+cfg.APIKey)
	}
	for k, v := range cfg.Headers {
		h.Set(k, v)
	}
	// An account on the type's own API serves the Responses API; one with
	// its own base_url (vLLM, Ollama, a private proxy) may not, so it gets
	// Responses requests translated to chat unless `option responses on`
	// says it speaks them. `option responses off` forces translation.
	if base != strings.TrimRight(f.baseURL, "/") {
		f.responses = false
	}
	switch strings.ToLower(cfg.Options["responses"]) {
	case "on", "true", "native":
		f.responses = true
	case "off", "false", "translate":
		f.responses = false
	}
	t := cfg.Timeouts.WithDefaults()
	return &Provider{
		flavor:  f,
		baseURL: base,
		key:     cfg.APIKey,
		headers: h,
		timeout: t,
		client:  &http.Client{Transport: providers.NewTransport(t)},
	}, nil
}

// Capabilities: the passthrough forwards whatever the upstream model
// supports; the catalogue decides per model.
func (p *Provider) Capabilities() providers.Capabilities {
	return providers.Capabilities{Tools: true, Vision: true, JSONSchema: true, Reasoning: true, Embeddings: true, AssistantPrefix: p.flavor.prefix}
}

// send posts body to the endpoint and returns the response once headers
// arrived, or a classified error. A non-2xx answer becomes *StatusError.
func (p *Provider) send(ctx context.Context, wd *providers.Watchdog, req *providers.Request, body []byte) (*http.Response, error) {
	u := p.baseURL + "/" + string(req.Endpoint)
	if p.url != nil {
		u = p.url(req.Endpoint, req.Model)
	}
	hr, err := providers.NewPost(ctx, u, body, p.headers, req.Stream)
	if err != nil {
		return nil, err
	}
	return providers.Send(ctx, p.client, wd, hr, p.timeout.Headers, nil)
}

// Do performs a non-streaming call.
func (p *Provider) Do(ctx context.Context, req *providers.Request) (*providers.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout.Total)
	defer cancel()
	ctx, wd := providers.NewWatchdog(ctx)
	defer wd.Stop()
	resp, err := p.send(ctx, wd, req, req.Body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := providers.ReadBody(ctx, wd, resp.Body, p.timeout.Idle)
	if err != nil {
		return nil, err
	}
	if p.flavor.eosFinish {
		body = bytes.ReplaceAll(body, []byte(`"finish_reason":"eos"`), []byte(`"finish_reason":"stop"`))
	}
	return parseResponse(body)
}
