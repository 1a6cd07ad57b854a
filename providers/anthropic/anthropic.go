// Package anthropic translates OpenAI Chat Completions to Anthropic's
// Messages API (POST {base}/messages) and back, so that clients keep
// speaking OpenAI while the account talks to Claude natively.
//
// Account options (Caddyfile `option <name> <value>`):
//
//   - version: the anthropic-version header (default 2023-06-01).
//   - beta: the anthropic-beta header, sent only when set (comma-separated
//     feature names, passed as is).
//
// Translation choices that a client can observe:
//
//   - max_tokens is required by Anthropic. It comes from
//     max_completion_tokens, else max_tokens, else defaults to 8192 (enough
//     for a long answer on every current model, and above every thinking
//     budget this package sets); with thinking on it is raised to the budget
//     plus 1024 when it would not leave room for an answer.
//   - reasoning_effort switches thinking on: adaptive thinking with an
//     effort level on the models that accept nothing else (Opus 4.7 and
//     later, any Claude 5 and later), a fixed budget elsewhere. Thinking is
//     left off when the request forces a tool, ends with an assistant
//     prefill, or continues a tool loop, because the API rejects thinking
//     in those cases without the signed thinking blocks this gateway does
//     not carry.
//   - Anthropic has no embeddings; that endpoint answers 400.
//   - A final assistant message is the prefill Claude continues; its
//     trailing whitespace is trimmed (the API rejects it), and the same
//     whitespace is not repeated at the start of the continuation, because
//     the client already has it.
package anthropic

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/llmgate/llmgate/providers"
)

// Name is the provider type name.
const Name = "anthropic"

// defaultVersion is the anthropic-version every current feature is
// documented against.
const defaultVersion = "2023-06-01"

func init() {
	providers.Register(providers.Type{
		Name:           Name,
		Family:         "anthropic",
		DefaultBaseURL: "https://api.anthropic.com/v1",
		New: func(cfg providers.Config) (providers.Provider, error) {
			return New(cfg)
		},
	})
}

// Provider is one Anthropic account.
type Provider struct {
	baseURL string
	headers http.Header
	client  *http.Client
	timeout providers.Timeouts
}

// New builds a provider for one account.
func New(cfg providers.Config) (*Provider, error) {
	base := cfg.BaseURL
	if base == "" {
		base = "https://api.anthropic.com/v1"
	}
	base = strings.TrimRight(base, "/")
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return nil, fmt.Errorf("base_url %q: must start with http:// or https://", base)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	if cfg.APIKey != "" {
		h.Set("X-Api-Key", cfg.APIKey)
	}
	version := cfg.Options["version"]
	if version == "" {
		version = defaultVersion
	}
	h.Set("Anthropic-Version", version)
	if beta := cfg.Options["beta"]; beta != "" {
		h.Set("Anthropic-Beta", beta)
	}
	for k, v := range cfg.Headers {
		h.Set(k, v)
	}
	t := cfg.Timeouts.WithDefaults()
	return &Provider{
		baseURL: base,
		headers: h,
		timeout: t,
		client:  &http.Client{Transport: providers.NewTransport(t)},
	}, nil
}

// Capabilities: every Claude model this type serves takes tools, images,
// structured output and thinking, and continues a trailing assistant turn.
func (p *Provider) Capabilities() providers.Capabilities {
	return providers.Capabilities{Tools: true, Vision: true, JSONSchema: true, Reasoning: true, AssistantPrefix: true}
}

// send posts a native body to /messages and returns the response once
// headers arrived, or a classified error. A non-2xx answer becomes
// *StatusError.
func (p *Provider) send(ctx context.Context, wd *providers.Watchdog, stream bool, body []byte) (*http.Response, error) {
	hr, err := providers.NewPost(ctx, p.baseURL+"/messages", body, p.headers, stream)
	if err != nil {
		return nil, err
	}
	return providers.Send(ctx, p.client, wd, hr, p.timeout.Headers, statusError)
}

// prepare checks the endpoint and translates the client's body.
func prepare(req *providers.Request, stream bool) ([]byte, *translated, error) {
	if req.Endpoint != providers.Chat {
		if req.Endpoint == providers.Embeddings {
			return nil, nil, localError("anthropic does not offer embeddings")
		}
		return nil, nil, localError(fmt.Sprintf("anthropic does not serve %s", req.Endpoint))
	}
	tr, err := translate(req.Model, req.Body, stream)
	if err != nil {
		return nil, nil, err
	}
	body, err := tr.marshal()
	if err != nil {
		return nil, nil, localError(err.Error())
	}
	return body, tr, nil
}

// Do performs a non-streaming call.
func (p *Provider) Do(ctx context.Context, req *providers.Request) (*providers.Response, error) {
	if p.Speaks(req.Endpoint) {
		return p.doNative(ctx, req)
	}
	body, tr, err := prepare(req, false)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout.Total)
	defer cancel()
	ctx, wd := providers.NewWatchdog(ctx)
	defer wd.Stop()
	resp, err := p.send(ctx, wd, false, body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := providers.ReadBody(ctx, wd, resp.Body, p.timeout.Idle)
	if err != nil {
		return nil, err
	}
	return convertResponse(raw, tr.trimmed, time.Now().Unix())
}
