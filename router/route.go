package router

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/llmgate/llmgate/internal/catalog"
)

// Tiers in ascending difficulty.
var Tiers = []string{"simple", "medium", "complex"}

func tierIndex(t string) int {
	for i, x := range Tiers {
		if x == t {
			return i
		}
	}
	return -1
}

// Route is a virtual model ("auto"): the classifier picks a tier, the
// tier's models that can serve the request are ordered by Optimize.
type Route struct {
	Name string
	// Tiers maps a tier to its models ("account/model" or bare names).
	Tiers map[string][]string
	// Optimize is cost (default), latency or quality.
	Optimize string
	// FallbackOn lists failure classes that may fail over even though they
	// normally do not ("content_policy").
	FallbackOn []string
	// Weights tune the classifier.
	Weights Weights
}

// ErrNoRouteModel: no model of the route can serve the request.
var ErrNoRouteModel = errors.New("no model of the route can serve the request")

// Needs is what a request requires of a model.
type Needs struct {
	PromptTokens, MaxOutput   int64
	Tools, Images, JSONSchema bool
}

// Decision is a routed plan and its explanation.
type Decision struct {
	Route   string
	Tier    string
	Score   float64
	Reason  string
	Targets []Target
	// Candidates are every model of the route that could have served the
	// request, for saved_usd (against the most expensive).
	Candidates []string
}

// fits reports whether model can serve the request; a model the
// catalogue does not know is given the benefit of the doubt.
func fits(cat *catalog.Catalog, model string, n Needs) (bool, string) {
	m, ok := cat.Lookup(model)
	if !ok {
		return true, ""
	}
	switch {
	case n.Tools && !m.Has("tools"):
		return false, "tools"
	case n.Images && !m.Has("vision"):
		return false, "vision"
	case n.JSONSchema && !m.Has("json_schema"):
		return false, "json_schema"
	case m.Context > 0 && n.PromptTokens+n.MaxOutput > m.Context:
		return false, "context"
	}
	return true, ""
}

// PlanRoute resolves a route for a classified request. minTier (from the
// session) is never stepped below; optimize, when set, overrides the
// route's. A tier without a fitting model steps up.
func (r *Router) PlanRoute(rt *Route, cat *catalog.Catalog, c Classification, n Needs, minTier, optimize string) (Decision, error) {
	d := Decision{Route: rt.Name, Score: c.Score, Reason: c.Reason}
	start := max(tierIndex(c.Tier), tierIndex(minTier), 0)
	if optimize == "" {
		optimize = rt.Optimize
	}
	var missing []string
	for _, t := range Tiers {
		for _, m := range rt.Tiers[t] {
			if ok, _ := fits(cat, r.modelOf(m), n); ok {
				d.Candidates = append(d.Candidates, r.modelOf(m))
			}
		}
	}
	for i := start; i < len(Tiers); i++ {
		tier := Tiers[i]
		var targets []Target
		for _, ref := range rt.Tiers[tier] {
			if ok, why := fits(cat, r.modelOf(ref), n); !ok {
				missing = append(missing, r.modelOf(ref)+" lacks "+why)
				continue
			}
			p, err := r.Plan(ref, "")
			if err != nil {
				continue
			}
			targets = append(targets, p.Targets...)
		}
		if len(targets) == 0 {
			continue
		}
		r.orderBy(targets, cat, n, optimize)
		d.Tier, d.Targets = tier, targets
		if i > tierIndex(c.Tier) {
			d.Reason += fmt.Sprintf(" (stepped up to %s: no %s model fits)", tier, c.Tier)
		}
		return d, nil
	}
	return d, fmt.Errorf("%w %q: %s", ErrNoRouteModel, rt.Name, strings.Join(missing, ", "))
}

// modelOf is the model part of a route entry: "account/model" names the
// model after the account's name, a bare name is the model.
func (r *Router) modelOf(ref string) string {
	if i := strings.IndexByte(ref, '/'); i > 0 {
		if _, ok := r.byName[ref[:i]]; ok {
			return ref[i+1:]
		}
	}
	return ref
}

// orderBy sorts the targets for the optimize mode: cost (cheapest for
// this request's tokens), latency (lowest observed time to first token
// among accounts whose breaker is closed; unobserved ones after the
// observed) or quality (best rank). Ties keep the weighted order.
func (r *Router) orderBy(ts []Target, cat *catalog.Catalog, n Needs, optimize string) {
	key := func(t Target) float64 {
		m, ok := cat.Lookup(t.Model)
		switch optimize {
		case "latency":
			if r.health != nil {
				if !r.health.Available(t.Account.Name, t.Model) {
					return math.Inf(1)
				}
				if l, ok := r.health.Latency(t.Account.Name, t.Model); ok {
					return l
				}
			}
			return math.MaxFloat64 / 2
		case "quality":
			if !ok {
				return 0
			}
			return -float64(m.Rank)
		}
		if !ok {
			return math.MaxFloat64 / 2
		}
		out := n.MaxOutput
		if out <= 0 || out > expectedOutput {
			out = expectedOutput
		}
		return m.Cost(catalog.Usage{PromptTokens: n.PromptTokens, CompletionTokens: out})
	}
	sort.SliceStable(ts, func(i, j int) bool { return key(ts[i]) < key(ts[j]) })
}

// expectedOutput is the answer length assumed when comparing prices: the
// request's cap if smaller. It only orders candidates; it is never billed.
const expectedOutput = 512

// Sessions remembers the highest tier a conversation has reached, so a
// session never steps down within a conversation (the cheap model must not
// pick up a thread the strong one started). Entries expire after a day.
type Sessions struct {
	mu sync.Mutex
	m  map[string]sessionTier
}

type sessionTier struct {
	tier int
	seen time.Time
}

// NewSessions returns an empty registry.
func NewSessions() *Sessions { return &Sessions{m: map[string]sessionTier{}} }

const sessionTTL = 24 * time.Hour

// Floor returns the lowest tier a session may use now.
func (s *Sessions) Floor(route, session string, now time.Time) string {
	if s == nil || session == "" {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[route+"\x00"+session]
	if !ok || now.Sub(e.seen) > sessionTTL {
		return ""
	}
	return Tiers[e.tier]
}

// Record notes the tier a session used.
func (s *Sessions) Record(route, session, tier string, now time.Time) {
	if s == nil || session == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) > 100000 {
		for k, e := range s.m {
			if now.Sub(e.seen) > sessionTTL {
				delete(s.m, k)
			}
		}
	}
	k := route + "\x00" + session
	t := tierIndex(tier)
	if e, ok := s.m[k]; ok && e.tier > t && now.Sub(e.seen) <= sessionTTL {
		t = e.tier
	}
	s.m[k] = sessionTier{tier: t, seen: now}
}
