package gateway

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/llmgate/llmgate/internal/protocol/messages"
	"github.com/llmgate/llmgate/internal/tokens"
	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/router"
)

// serveCountTokens answers POST /v1/messages/count_tokens. An Anthropic
// account serving the model counts exactly (passed through, first
// account that answers); for every other model the count is estimated
// locally from the same rules the gateway's limits use. Counting is free:
// it takes no rate limit or budget, and its row records no tokens.
func (g *Gateway) serveCountTokens(w http.ResponseWriter, r *http.Request) {
	x, done := g.open(w, r, epCountTokens)
	if x == nil {
		return
	}
	defer done()
	body, err := readBody(r, g.cfg.MaxBody)
	if err != nil {
		x.fail(http.StatusBadRequest, errInvalidRequest, "invalid_body", "could not read the request body: "+err.Error(), "")
		return
	}
	pk, rerr := peek(body, epCountTokens)
	if rerr != nil {
		x.fail(rerr.status, errInvalidRequest, rerr.code, rerr.msg, rerr.param)
		return
	}
	x.req = pk
	x.row.RequestedModel = pk.model
	x.proto = &protocol{native: pk.body, header: forwarded(r.Header)}

	var targets []router.Target
	rt := g.cfg.Router
	if _, isRoute := rt.Route(pk.model); !isRoute {
		if plan, err := rt.Plan(pk.model, pk.ext.Provider); err == nil {
			targets = x.allowed(pk.model, plan.Targets)
			if len(targets) == 0 {
				x.fail(http.StatusForbidden, errPermission, "model_not_allowed", fmt.Sprintf("this key may not use model %q", pk.model), "model")
				return
			}
		}
	}
	for _, t := range targets {
		if !x.native(t) || !t.Account.TryAcquire() {
			continue
		}
		x.target, x.attemptNo = t, len(x.row.Attempts)+1
		began := g.now()
		resp, err := t.Account.Provider.Do(r.Context(), &providers.Request{
			Endpoint: providers.CountTokens, Model: t.Model, Body: x.nativeBody(t), Header: x.proto.header,
		})
		t.Account.Release()
		var se *providers.StatusError
		switch {
		case err == nil:
			x.addAttempt(t, http.StatusOK, "", g.now().Sub(began))
			x.countAnswer(resp.Body)
			return
		case errors.As(err, &se):
			x.addAttempt(t, se.Status, redactString(err.Error(), t.Account.Key), g.now().Sub(began))
			if se.Status == http.StatusBadRequest || se.Status == http.StatusNotFound || se.Status == 422 {
				x.passthrough(t, se)
				return
			}
		default:
			x.addAttempt(t, 0, redactString(err.Error(), t.Account.Key), g.now().Sub(began))
		}
		if r.Context().Err() != nil {
			x.cancelled()
			return
		}
	}
	out, err := messages.CountTokens(pk.body, func(s string) int64 { return tokens.FromChars(len(s)) })
	if err != nil {
		rerr := translateError(err)
		x.fail(rerr.status, errInvalidRequest, rerr.code, rerr.msg, rerr.param)
		return
	}
	if len(targets) > 0 {
		x.target = targets[0]
	}
	x.countAnswer(out)
}

func (x *exchange) countAnswer(body []byte) {
	x.answered = x.target.Account != nil
	if x.answered {
		x.setAnswerHeaders()
	}
	writeBody(x.w, http.StatusOK, body)
	x.row.Status = "ok"
	x.row.HTTPStatus = http.StatusOK
}

// forwarded picks the protocol headers a native target gets.
func forwarded(h http.Header) http.Header {
	var out http.Header
	for _, k := range forwardedHeaders {
		if v := h.Values(k); len(v) > 0 {
			if out == nil {
				out = http.Header{}
			}
			out[k] = v
		}
	}
	return out
}
