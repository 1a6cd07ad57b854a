// Package router decides, for each request, which accounts and models to
// try and in what order. It knows nothing about HTTP servers or Caddy: the
// gateway hands it the requested model and gets back a plan.
package router

import (
	"errors"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/llmgate/llmgate/providers"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrModelNotFound: no account serves the model and no route has its name.
	ErrModelNotFound = errors.New("model not found")
	// ErrUnknownProvider: a pin names an account that does not exist.
	ErrUnknownProvider = errors.New("unknown provider")
)

// Account is one configured upstream account and its live state.
type Account struct {
	// Name is the provider block's NAME.
	Name string
	// Type is the provider type ("openai", "mock", …).
	Type string
	// Provider performs the calls.
	Provider providers.Provider
	// Key is the account's credential, kept only to redact it from
	// upstream error bodies before they reach a client.
	Key string
	// Models are the bare model names the account serves.
	Models []string
	// Weight is the account's share among accounts serving the same model.
	Weight int
	// MaxConcurrency caps in-flight requests on the account (0 = no cap).
	MaxConcurrency int
	// Timeouts bound each attempt on the account.
	Timeouts providers.Timeouts

	inflight atomic.Int64
}

// TryAcquire takes an in-flight slot, or reports that the account is full.
func (a *Account) TryAcquire() bool {
	n := a.inflight.Add(1)
	if a.MaxConcurrency > 0 && n > int64(a.MaxConcurrency) {
		a.inflight.Add(-1)
		return false
	}
	return true
}

// Release returns an in-flight slot.
func (a *Account) Release() { a.inflight.Add(-1) }

// InFlight reports the number of requests running on the account.
func (a *Account) InFlight() int64 { return a.inflight.Load() }

// Target is one account and the model name to send it.
type Target struct {
	Account *Account
	Model   string
}

// Plan is the ordered list of targets for one request.
type Plan struct {
	// Targets are tried in order.
	Targets []Target
	// Pinned reports that the client named the account.
	Pinned bool
}

// Router resolves requested models to plans. It is immutable after New
// and safe for concurrent use.
type Router struct {
	accounts  []*Account
	byName    map[string]*Account
	byModel   map[string][]*Account
	fallbacks map[string][]string
	health    *Health
	routes    map[string]*Route
}

// Options are the router's optional parts.
type Options struct {
	// Fallbacks are the configured failover chains: model -> models
	// ("account/model" or bare names) tried after the model's own accounts.
	Fallbacks map[string][]string
	// Health orders accounts by their recent error rate and puts accounts
	// whose breaker is open last. Nil means all accounts look healthy.
	Health *Health
	// Routes are the virtual models ("auto").
	Routes []*Route
}

// New builds a router over the accounts, in configuration order.
func New(accounts []*Account, opts ...Options) *Router {
	r := &Router{accounts: accounts, byName: map[string]*Account{}, byModel: map[string][]*Account{}}
	r.routes = map[string]*Route{}
	for _, o := range opts {
		r.fallbacks, r.health = o.Fallbacks, o.Health
		for _, rt := range o.Routes {
			r.routes[rt.Name] = rt
		}
	}
	for _, a := range accounts {
		if a.Weight <= 0 {
			a.Weight = 1
		}
		r.byName[a.Name] = a
		for _, m := range a.Models {
			r.byModel[m] = append(r.byModel[m], a)
		}
	}
	return r
}

// Accounts lists the accounts in configuration order.
func (r *Router) Accounts() []*Account { return r.accounts }

// Account returns an account by name.
func (r *Router) Account(name string) (*Account, bool) {
	a, ok := r.byName[name]
	return a, ok
}

// Plan resolves model. "account/model" pins one account (the rest goes
// upstream as is, so "openrouter/openai/gpt-4o-mini" sends
// "openai/gpt-4o-mini" to the openrouter account); a bare name goes to the
// accounts that serve it, ordered by weighted random choice. pin, when set
// (the request's llmgate.provider), restricts the plan to that account.
func (r *Router) Plan(model, pin string) (Plan, error) {
	if i := strings.IndexByte(model, '/'); i > 0 {
		if a, ok := r.byName[model[:i]]; ok {
			if pin != "" && pin != a.Name {
				return Plan{}, ErrModelNotFound
			}
			return Plan{Targets: []Target{{Account: a, Model: model[i+1:]}}, Pinned: true}, nil
		}
	}
	if pin != "" {
		a, ok := r.byName[pin]
		if !ok {
			return Plan{}, ErrUnknownProvider
		}
		return Plan{Targets: []Target{{Account: a, Model: model}}, Pinned: true}, nil
	}
	accts := r.byModel[model]
	if len(accts) == 0 {
		return Plan{}, ErrModelNotFound
	}
	return Plan{Targets: r.order(accts, model)}, nil
}

// Route returns the route with that name.
func (r *Router) Route(name string) (*Route, bool) {
	rt, ok := r.routes[name]
	return rt, ok
}

// Fallbacks returns the configured failover chain of a model.
func (r *Router) Fallbacks(model string) []string { return r.fallbacks[model] }

// Health returns the health registry (nil when none is configured).
func (r *Router) Health() *Health { return r.health }

// order sorts the accounts serving model: available accounts first, each
// account's chance of leading proportional to its weight times its health
// score, then accounts whose breaker is open (the scheduler skips them
// until their cooldown ends).
func (r *Router) order(accts []*Account, model string) []Target {
	if r.health == nil {
		return weightedOrder(accts, model, nil)
	}
	var up, down []*Account
	for _, a := range accts {
		if r.health.Available(a.Name, model) {
			up = append(up, a)
		} else {
			down = append(down, a)
		}
	}
	ts := weightedOrder(up, model, r.health)
	return append(ts, weightedOrder(down, model, r.health)...)
}

// weightedOrder orders accounts by weighted random sampling without
// replacement (Efraimidis–Spirakis: key = u^(1/w), largest first), so an
// account with weight 2 comes first twice as often as one with weight 1.
func weightedOrder(accts []*Account, model string, h *Health) []Target {
	ts := make([]Target, len(accts))
	if len(accts) == 1 {
		ts[0] = Target{Account: accts[0], Model: model}
		return ts
	}
	keys := make([]float64, len(accts))
	for i, a := range accts {
		ts[i] = Target{Account: a, Model: model}
		w := float64(a.Weight)
		if h != nil {
			w *= h.Score(a.Name, model)
		}
		keys[i] = math.Pow(rand.Float64(), 1/w)
	}
	sort.Sort(byKey{ts, keys})
	return ts
}

type byKey struct {
	ts   []Target
	keys []float64
}

func (b byKey) Len() int           { return len(b.ts) }
func (b byKey) Less(i, j int) bool { return b.keys[i] > b.keys[j] }
func (b byKey) Swap(i, j int) {
	b.ts[i], b.ts[j] = b.ts[j], b.ts[i]
	b.keys[i], b.keys[j] = b.keys[j], b.keys[i]
}

// ModelEntry is one line of GET /v1/models.
type ModelEntry struct {
	ID      string
	OwnedBy string
	// Accounts are the names of the accounts serving the model.
	Accounts []string
	// Route marks a route name.
	Route bool
}

// Models lists the bare model names served, each once, owned by the type
// of the first account serving it, sorted by name.
func (r *Router) Models() []ModelEntry {
	out := make([]ModelEntry, 0, len(r.byModel))
	for m, accts := range r.byModel {
		names := make([]string, len(accts))
		for i, a := range accts {
			names[i] = a.Name
		}
		out = append(out, ModelEntry{ID: m, OwnedBy: accts[0].Type, Accounts: names})
	}
	for name := range r.routes {
		out = append(out, ModelEntry{ID: name, OwnedBy: "llmgate", Route: true})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
