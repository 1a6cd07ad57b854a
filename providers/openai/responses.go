package openai

import (
	"context"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/providers"
)

// Speaks: OpenAI, OpenRouter and xAI serve the Responses API themselves
// (as does Azure's v1 API, see Options.Responses), so a Responses request
// passes through to them unchanged but for the model.
func (p *Provider) Speaks(ep providers.Endpoint) bool {
	return ep == providers.Responses && p.flavor.responses
}

// streamResponses relays a Responses API event stream byte for byte,
// reading usage from the terminal response object.
func (p *Provider) streamResponses(ctx context.Context, req *providers.Request, sink providers.Sink) (providers.Usage, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout.Total)
	defer cancel()
	ctx, wd := providers.NewWatchdog(ctx)
	defer wd.Stop()
	resp, err := p.send(ctx, wd, req, req.Body)
	if err != nil {
		return providers.Usage{}, err
	}
	defer resp.Body.Close()
	return providers.RelayNative(ctx, wd, resp, p.timeout, sink, InspectResponses)
}

// InspectResponses reads one Responses API stream event: deltas and new
// output items are output; response.completed, .incomplete and .failed
// are terminal and carry the usage; an error event (or a failed response)
// is the upstream's failure.
func InspectResponses(name string, data []byte) providers.Native {
	if name == "" {
		name = gjson.GetBytes(data, "type").Str
	}
	var n providers.Native
	switch {
	case strings.HasSuffix(name, ".delta"), name == "response.output_item.added":
		n.Output = true
	case name == "response.completed", name == "response.incomplete", name == "response.failed":
		n.Terminal = true
		r := gjson.GetBytes(data, "response")
		if u := r.Get("usage"); u.IsObject() {
			usage := providers.ParseOpenAIUsage(u)
			n.Usage = &usage
		}
		if name == "response.failed" {
			e := r.Get("error")
			n.Err = providers.StreamFailure(e.Get("type").Str, e.Get("code").Str, e.Get("message").Str, data)
		}
	case name == "error":
		e := gjson.GetBytes(data, "error")
		if !e.IsObject() {
			e = gjson.ParseBytes(data) // the older flat shape
		}
		n.Err = providers.StreamFailure(e.Get("type").Str, e.Get("code").Str, e.Get("message").Str, data)
	}
	return n
}
