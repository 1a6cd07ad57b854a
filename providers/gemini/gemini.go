// Package gemini translates OpenAI Chat Completions (and embeddings) to the
// native Google Gemini Developer API (generativelanguage.googleapis.com)
// and back. The native API is used instead of Google's OpenAI-compatible
// endpoint because only the native one carries thought signatures, cached
// content accounting and the full usage breakdown.
//
// Gemini has no tool-call ids, while OpenAI clients need one per call and
// send it back with the tool result. The gateway is stateless, so every
// synthesised id carries what the next turn needs (see ids.go): the
// function name, to label the functionResponse, and the Gemini 3
// thoughtSignature, which must be echoed on the functionCall part or the
// upstream rejects the conversation.
package gemini

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/llmgate/llmgate/providers"
)

// DefaultBaseURL is the Developer API root, version included.
const DefaultBaseURL = "https://generativelanguage.googleapis.com/v1beta"

func init() {
	providers.Register(providers.Type{
		Name:           "gemini",
		Family:         "gemini",
		DefaultBaseURL: DefaultBaseURL,
		New: func(cfg providers.Config) (providers.Provider, error) {
			return newProvider(cfg)
		},
	})
}

// Provider is one Gemini API account.
type Provider struct {
	baseURL string
	headers http.Header
	client  *http.Client
	timeout providers.Timeouts
	// now stamps the "created" field; tests pin it.
	now func() time.Time
}

func newProvider(cfg providers.Config) (*Provider, error) {
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	base = strings.TrimRight(base, "/")
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return nil, fmt.Errorf("base_url %q: must start with http:// or https://", base)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	if cfg.APIKey != "" {
		// The header, not ?key=, so the key never lands in access logs
		// or in error messages that quote the URL.
		h.Set("x-goog-api-key", cfg.APIKey)
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
		now:     time.Now,
	}, nil
}

// Capabilities: Gemini models take tools, images, JSON schemas and think;
// the API has no way to continue a final assistant message as a prefix.
func (p *Provider) Capabilities() providers.Capabilities {
	return providers.Capabilities{Tools: true, Vision: true, JSONSchema: true, Reasoning: true, Embeddings: true}
}

// modelID is the bare model name: clients copying ids from Google's model
// list send "models/gemini-2.5-flash".
func modelID(model string) string {
	return strings.TrimPrefix(model, "models/")
}

// methodURL is {base}/models/{model}:{method}, the model escaped as one
// path segment so an odd id cannot reach another endpoint.
func (p *Provider) methodURL(model, method string) string {
	return p.baseURL + "/models/" + url.PathEscape(modelID(model)) + ":" + method
}

// send posts body and returns the response once headers arrived, or a
// classified error. A non-2xx answer becomes *StatusError.
func (p *Provider) send(ctx context.Context, wd *providers.Watchdog, u string, body []byte, stream bool) (*http.Response, error) {
	hr, err := providers.NewPost(ctx, u, body, p.headers, stream)
	if err != nil {
		return nil, err
	}
	return providers.Send(ctx, p.client, wd, hr, p.timeout.Headers, statusError)
}

// post sends a non-streaming call and reads the whole answer.
func (p *Provider) post(ctx context.Context, wd *providers.Watchdog, u string, body []byte) ([]byte, error) {
	resp, err := p.send(ctx, wd, u, body, false)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := providers.ReadBody(ctx, wd, resp.Body, p.timeout.Idle)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Do performs a non-streaming chat or embeddings call.
func (p *Provider) Do(ctx context.Context, req *providers.Request) (*providers.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout.Total)
	defer cancel()
	ctx, wd := providers.NewWatchdog(ctx)
	defer wd.Stop()
	switch req.Endpoint {
	case providers.Embeddings:
		return p.embeddings(ctx, wd, req)
	case providers.Chat, "":
	default:
		return nil, badRequest(fmt.Sprintf("The gemini provider does not serve %q.", string(req.Endpoint)), "")
	}
	native, err := translateChat(req.Model, req.Body)
	if err != nil {
		return nil, err
	}
	body, err := p.post(ctx, wd, p.methodURL(req.Model, "generateContent"), native)
	if err != nil {
		return nil, err
	}
	return translateResponse(body, req.Model, p.now())
}
