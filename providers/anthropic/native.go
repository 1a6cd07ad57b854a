package anthropic

import (
	"context"
	"net/http"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/providers"
)

// Speaks: an Anthropic account takes the Messages API (and its token
// counter) as the client sent it; only the model is rewritten.
func (p *Provider) Speaks(ep providers.Endpoint) bool {
	return ep == providers.Messages || ep == providers.CountTokens
}

// nativeHeaders are the account's headers with the client's protocol
// headers merged in: the client's anthropic-version wins (it knows the
// shapes it sends), and its anthropic-beta features are added to the
// account's own, so Claude Code's betas reach the API.
func (p *Provider) nativeHeaders(client http.Header) http.Header {
	if len(client) == 0 {
		return p.headers
	}
	h := p.headers.Clone()
	if v := client.Get("Anthropic-Version"); v != "" {
		h.Set("Anthropic-Version", v)
	}
	if b := client.Values("Anthropic-Beta"); len(b) > 0 {
		all := append([]string(nil), b...)
		if own := h.Get("Anthropic-Beta"); own != "" {
			all = append(all, own)
		}
		h.Set("Anthropic-Beta", strings.Join(all, ","))
	}
	return h
}

// sendNative posts the client's own body to the endpoint.
func (p *Provider) sendNative(ctx context.Context, wd *providers.Watchdog, req *providers.Request) (*http.Response, error) {
	hr, err := providers.NewPost(ctx, p.baseURL+"/"+string(req.Endpoint), req.Body, p.nativeHeaders(req.Header), req.Stream)
	if err != nil {
		return nil, err
	}
	return providers.Send(ctx, p.client, wd, hr, p.timeout.Headers, statusError)
}

// doNative passes a Messages or count_tokens call through.
func (p *Provider) doNative(ctx context.Context, req *providers.Request) (*providers.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout.Total)
	defer cancel()
	ctx, wd := providers.NewWatchdog(ctx)
	defer wd.Stop()
	resp, err := p.sendNative(ctx, wd, req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := providers.ReadBody(ctx, wd, resp.Body, p.timeout.Idle)
	if err != nil {
		return nil, err
	}
	if !gjson.ValidBytes(body) {
		return nil, providers.ErrBadResponse
	}
	var u nativeUsage
	u.merge(gjson.GetBytes(body, "usage"))
	return &providers.Response{Body: body, Usage: u.normalise()}, nil
}

// streamNative relays a Messages event stream byte for byte.
func (p *Provider) streamNative(ctx context.Context, req *providers.Request, sink providers.Sink) (providers.Usage, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout.Total)
	defer cancel()
	ctx, wd := providers.NewWatchdog(ctx)
	defer wd.Stop()
	resp, err := p.sendNative(ctx, wd, req)
	if err != nil {
		return providers.Usage{}, err
	}
	defer resp.Body.Close()
	return providers.RelayNative(ctx, wd, resp, p.timeout, sink, NewInspector())
}

// NewInspector reads a Messages event stream: content blocks are output,
// message_start and message_delta carry usage (merged: input counts come
// first, the cumulative output count last), message_stop ends it, and an
// error event is the upstream's failure (and the last event).
func NewInspector() providers.Inspect {
	var u nativeUsage
	return func(name string, data []byte) providers.Native {
		if name == "" {
			name = gjson.GetBytes(data, "type").Str
		}
		var n providers.Native
		switch name {
		case "message_start":
			u.merge(gjson.GetBytes(data, "message.usage"))
			nu := u.normalise()
			n.Usage = &nu
		case "content_block_start", "content_block_delta":
			n.Output = true
		case "message_delta":
			u.merge(gjson.GetBytes(data, "usage"))
			nu := u.normalise()
			n.Usage = &nu
		case "message_stop":
			n.Terminal = true
		case "error":
			e := gjson.GetBytes(data, "error")
			n.Err = providers.StreamFailure(e.Get("type").Str, "", e.Get("message").Str, data)
			n.Terminal = true
		}
		return n
	}
}
