package caddymodule

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/caddyserver/caddy/v2"

	"github.com/llmgate/llmgate/router"
)

func init() {
	caddy.RegisterModule(Admin{})
}

// Admin is the admin.api.llmgate module: llmgate's endpoints on Caddy's
// admin listener (default localhost:2019), behind Caddy's own admin
// access controls.
//
//	GET /llmgate/providers                 each account's health and circuit breakers
//	/llmgate/keys[/{id}[/rotate]]          gateway keys: create, list, show, update, rotate, revoke
//	/llmgate/projects[/{id}[/credits]]     projects and their credit balance
//	GET /llmgate/usage                     spend, tokens, errors and latency percentiles
//	GET /llmgate/requests[/{id}]           the request log
type Admin struct{}

// CaddyModule returns the Caddy module information.
func (Admin) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.llmgate",
		New: func() caddy.Module { return new(Admin) },
	}
}

// Routes returns the admin routes: everything under /llmgate/.
func (Admin) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{Pattern: "/llmgate/", Handler: caddy.AdminHandlerFunc(serveAdmin)}}
}

// serveAdmin dispatches /llmgate/<resource>[/<id>[/<action>]].
func serveAdmin(w http.ResponseWriter, r *http.Request) error {
	path := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/llmgate/"), "/")
	resource, rest, _ := strings.Cut(path, "/")
	switch resource {
	case "providers":
		return serveProviders(w, r)
	case "keys":
		return serveKeys(w, r, rest)
	case "projects":
		return serveProjects(w, r, rest)
	case "usage":
		return serveUsage(w, r)
	case "requests":
		return serveRequests(w, r, rest)
	}
	return answerError(w, &apiError{status: http.StatusNotFound, message: "no such llmgate admin endpoint: " + r.URL.Path})
}

// live tracks the provisioned handlers of the running config, so the
// admin view shows the accounts that are configured now.
var (
	liveMu sync.Mutex
	live   = map[*Handler]struct{}{}
)

func register(h *Handler) {
	liveMu.Lock()
	live[h] = struct{}{}
	liveMu.Unlock()
}

func unregister(h *Handler) {
	liveMu.Lock()
	delete(live, h)
	liveMu.Unlock()
}

// providerView is one account in GET /llmgate/providers.
type providerView struct {
	Name           string          `json:"name"`
	Type           string          `json:"type"`
	Models         []string        `json:"models"`
	Weight         int             `json:"weight"`
	MaxConcurrency int             `json:"max_concurrency,omitempty"`
	InFlight       int64           `json:"in_flight"`
	State          string          `json:"state"`
	Health         *router.Status  `json:"health,omitempty"`
	ModelHealth    []router.Status `json:"model_health,omitempty"`
}

func serveProviders(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet {
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: errMethod}
	}
	liveMu.Lock()
	seen := map[string]*providerView{}
	var snap []router.Status
	for h := range live {
		if h.router == nil {
			continue
		}
		if snap == nil && h.health != nil {
			snap = h.health.Snapshot()
		}
		for _, a := range h.router.Accounts() {
			if v, ok := seen[a.Name]; ok {
				v.InFlight += a.InFlight()
				continue
			}
			seen[a.Name] = &providerView{Name: a.Name, Type: a.Type, Models: a.Models, Weight: a.Weight,
				MaxConcurrency: a.MaxConcurrency, InFlight: a.InFlight(), State: router.Closed}
		}
	}
	liveMu.Unlock()
	for i := range snap {
		st := snap[i]
		v, ok := seen[st.Account]
		if !ok {
			continue
		}
		if st.Model == "" {
			v.Health = &snap[i]
			if st.State != router.Closed {
				v.State = st.State
			}
			continue
		}
		v.ModelHealth = append(v.ModelHealth, st)
		if st.State != router.Closed && v.State == router.Closed {
			v.State = "degraded"
		}
	}
	out := make([]*providerView, 0, len(seen))
	for _, v := range seen {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(map[string]any{"providers": out})
}

// Interface guard
var _ caddy.AdminRouter = Admin{}

var errMethod = errorString("method not allowed")

type errorString string

func (e errorString) Error() string { return string(e) }
