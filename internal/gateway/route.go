package gateway

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/llmgate/llmgate/internal/catalog"
	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/router"
)

// planRoute resolves a route name ("auto"): the classifier scores the
// request, the tier's models that can serve it are ordered by the
// route's (or the request's) optimize mode, and the decision is explained
// in X-Llmgate-Tier, X-Llmgate-Route-Score and X-Llmgate-Route-Reason and
// on the row. A conversation carrying a session never steps down a tier.
func (x *exchange) planRoute(rt *router.Route) ([]router.Target, bool) {
	pk, g := x.req, x.g
	crit := x.r.Header.Get("X-Llmgate-Criticality")
	f, c := router.ClassifyRequest(pk.body, crit, rt.Weights)
	// The classifier has measured the prompt: reuse it, no second scan.
	pk.est, pk.estSet = f.PromptTokens, true
	needs := router.Needs{PromptTokens: f.PromptTokens, MaxOutput: pk.maxOutput(), Tools: f.Tools, Images: f.Images, JSONSchema: f.JSONSchema}
	session := x.session()
	floor := g.cfg.Sessions.Floor(rt.Name, session, g.now())
	if pk.ext.Tier != "" && tierRank(pk.ext.Tier) > tierRank(floor) {
		floor = pk.ext.Tier
	}
	d, err := g.cfg.Router.PlanRoute(rt, g.cfg.Catalog, c, needs, floor, pk.ext.Optimize)
	if err != nil {
		if errors.Is(err, router.ErrNoRouteModel) {
			x.fail(http.StatusNotFound, errInvalidRequest, "model_not_found", err.Error(), "model")
		} else {
			x.fail(http.StatusInternalServerError, errUpstream, "routing_failed", err.Error(), "")
		}
		return nil, false
	}
	g.cfg.Sessions.Record(rt.Name, session, d.Tier, g.now())
	x.route = &d
	x.row.Route, x.row.Tier, x.row.RouteScore, x.row.RouteReason = d.Route, d.Tier, d.Score, d.Reason
	h := x.w.Header()
	h.Set("X-Llmgate-Tier", d.Tier)
	h.Set("X-Llmgate-Route-Score", strconv.FormatFloat(d.Score, 'f', 3, 64))
	h.Set("X-Llmgate-Route-Reason", d.Reason)
	return d.Targets, true
}

func tierRank(t string) int {
	for i, x := range router.Tiers {
		if x == t {
			return i
		}
	}
	return -1
}

// session is the conversation id: the request extension, else the header.
func (x *exchange) session() string {
	if s := x.req.ext.Session; s != "" {
		return s
	}
	return x.r.Header.Get("X-Llmgate-Session")
}

// saved is what routing saved against the route's most expensive
// candidate at the same token counts (0 for pinned models).
func (x *exchange) saved(u providers.Usage, cost float64) float64 {
	if x.route == nil || !u.Known() {
		return 0
	}
	cu := catalog.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens,
		CachedTokens: u.CachedTokens, CacheWriteTokens: u.CacheWriteTokens, ReasoningTokens: u.ReasoningTokens}
	most := 0.0
	for _, m := range x.route.Candidates {
		if c, ok := x.g.cfg.Catalog.Cost(m, cu); ok && c > most {
			most = c
		}
	}
	return roundUSD(max(0, most-cost))
}
