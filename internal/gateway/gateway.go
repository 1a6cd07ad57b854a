// Package gateway is llmgate's request path, free of Caddy: it
// authenticates the gateway key, peeks at the request, asks the router for
// a plan, runs the attempts through the providers, relays the answer
// (streams event by event) and records one usage row per request. The
// Caddy module only builds a Config and calls Handle.
package gateway

import (
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/llmgate/llmgate/internal/catalog"
	"github.com/llmgate/llmgate/internal/limits"
	"github.com/llmgate/llmgate/internal/spend"
	"github.com/llmgate/llmgate/router"
	"github.com/llmgate/llmgate/store"
)

// DefaultMaxBody is the request size limit when none is configured: large
// enough for a few base64 images in a chat request.
const DefaultMaxBody = 32 << 20

// Config is everything the request path needs; it is built once per
// configuration generation.
type Config struct {
	Router  *router.Router
	Catalog *catalog.Catalog
	// Keys are the static keys from the configuration.
	Keys []StaticKey
	// Store holds usage rows and stored keys; it is shared across config
	// generations and each request holds a lease on it. Nil disables
	// logging and stored keys.
	Store *store.Shared
	// MaxBody limits request bodies (bytes).
	MaxBody int64
	// Logger receives operational logs; never secrets.
	Logger *zap.Logger
	// OnDone, when set, is called with each finished request's row (the
	// Caddy module uses it to set log placeholders).
	OnDone func(r *http.Request, row *store.Row)
	// Limits holds the rate and concurrency buckets (shared across config
	// generations); nil disables limiting.
	Limits *limits.Set
	// DefaultLimits apply to every key that sets none of its own.
	DefaultLimits limits.Limits
	// Spend enforces daily quotas and budgets (shared across config
	// generations); nil disables them.
	Spend *spend.Meter
	// DefaultQuotas apply to every key that sets none of its own.
	DefaultQuotas Quotas
	// QuotaZone is the calendar of the daily quotas (default UTC).
	QuotaZone *time.Location
	// Sessions keeps each conversation's highest routing tier (shared
	// across config generations); nil disables session monotonicity.
	Sessions *router.Sessions
	// ResponsesRetention is how long stored Responses API responses are
	// kept (zero: DefaultResponsesRetention; negative: not stored, and
	// previous_response_id is refused).
	ResponsesRetention time.Duration
	// Retry is the retry policy; zero fields take router's defaults.
	Retry router.RetryPolicy
	// Now is the clock (tests inject one).
	Now func() time.Time
}

// Gateway serves the OpenAI-compatible endpoints.
type Gateway struct {
	cfg      Config
	keys     map[[32]byte]*Principal
	keyCache keyCache
	log      *zap.Logger
	now      func() time.Time
}

// New builds a Gateway from cfg.
func New(cfg Config) *Gateway {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Catalog == nil {
		cfg.Catalog = catalog.Default()
	}
	cfg.Retry = cfg.Retry.WithDefaults()
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	g := &Gateway{cfg: cfg, log: cfg.Logger, now: cfg.Now, keys: map[[32]byte]*Principal{}}
	for _, k := range cfg.Keys {
		h := hashSecret(k.Secret)
		g.keys[h] = &Principal{KeyID: "static:" + k.Name, Name: k.Name, Models: k.Models, Limits: k.Limits, Quotas: k.Quotas, hash: h}
	}
	return g
}

// Handle serves r if its path is one of the gateway's endpoints and
// reports whether it did; other paths are left to the next handler.
// Paths are accepted with and without the /v1 prefix, as clients
// configured with either base URL form exist.
func (g *Gateway) Handle(w http.ResponseWriter, r *http.Request) bool {
	path := r.URL.Path
	v1 := strings.HasPrefix(path, "/v1/")
	if v1 {
		path = path[3:]
	}
	switch {
	case path == "/chat/completions":
		g.serveProxy(w, r, epChat)
	case path == "/embeddings":
		g.serveProxy(w, r, epEmbeddings)
	case path == "/responses":
		g.serveProxy(w, r, epResponses)
	case strings.HasPrefix(path, "/responses/"):
		g.serveStoredResponse(w, r, path[len("/responses/"):])
	case path == "/messages":
		g.serveProxy(w, r, epMessages)
	case path == "/messages/count_tokens":
		g.serveCountTokens(w, r)
	case path == "/models" || strings.HasPrefix(path, "/models/"):
		g.serveModels(w, r, strings.TrimPrefix(strings.TrimPrefix(path, "/models"), "/"))
	case v1:
		g.newRequestID(w)
		writeError(w, http.StatusNotFound, errInvalidRequest, "unknown_endpoint",
			"llmgate does not serve "+r.Method+" "+r.URL.Path+"; see the README for the endpoints it serves", "")
	default:
		return false
	}
	return true
}
