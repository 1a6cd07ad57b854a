// Package caddymodule is llmgate's thin Caddy adapter: it registers the
// `llmgate` HTTP handler and its Caddyfile directive, turns the
// configuration into plain Go values for the Caddy-free packages (router,
// providers, store, internal/gateway), and keeps what must outlive a
// config reload (the store and its writer) in a UsagePool.
package caddymodule

import (
	"net/http"
	_ "time/tzdata" // quota zones work on machines without a zoneinfo database

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/llmgate/llmgate/internal/gateway"
	"github.com/llmgate/llmgate/internal/limits"
	"github.com/llmgate/llmgate/internal/spend"
	"github.com/llmgate/llmgate/router"
	"github.com/llmgate/llmgate/store"

	// Provider types register themselves.
	_ "github.com/llmgate/llmgate/providers/anthropic"
	_ "github.com/llmgate/llmgate/providers/azure"
	_ "github.com/llmgate/llmgate/providers/bedrock"
	_ "github.com/llmgate/llmgate/providers/gemini"
	_ "github.com/llmgate/llmgate/providers/mock"
	_ "github.com/llmgate/llmgate/providers/openai"
)

func init() {
	caddy.RegisterModule(Handler{})
	httpcaddyfile.RegisterHandlerDirective("llmgate", parseCaddyfile)
	// Before reverse_proxy, so a site can put llmgate in front of other
	// handlers without a global `order` line.
	httpcaddyfile.RegisterDirectiveOrder("llmgate", httpcaddyfile.Before, "reverse_proxy")
}

// Handler is the llmgate HTTP handler: an OpenAI-compatible LLM gateway.
// It serves POST /v1/chat/completions, POST /v1/embeddings and
// GET /v1/models (also without the /v1 prefix) and passes every other
// path to the next handler. String values may use {env.NAME}
// placeholders, expanded when the config is loaded, so secrets never
// appear in the adapted JSON.
type Handler struct {
	// Store is where usage rows and stored keys live. Default: SQLite at
	// "llmgate.db" in Caddy's data directory.
	Store *StoreConfig `json:"store,omitempty"`

	// Limiter selects a shared limiter backend for several instances.
	// Not available in this version; a config that sets it is refused.
	Limiter *LimiterConfig `json:"limiter,omitempty"`

	// Providers are the upstream accounts, in order. An account whose
	// api_key resolves to empty is skipped with a warning (types that need
	// no key, such as mock, excepted).
	Providers []ProviderConfig `json:"providers,omitempty"`

	// Keys are static gateway keys, beside the keys kept in the store.
	Keys []KeyConfig `json:"keys,omitempty"`

	// Models add to or override the embedded model catalogue and price
	// table.
	Models []ModelConfig `json:"models,omitempty"`

	// Routes are virtual models resolved by the router ("auto").
	Routes []RouteConfig `json:"routes,omitempty"`

	// Fallbacks are failover chains per model: after the model's own
	// accounts fail, these models ("account/model" or bare names) are
	// tried in order, each with its own retries.
	Fallbacks []FallbackConfig `json:"fallbacks,omitempty"`

	// Retry is the retry and circuit-breaker policy. Defaults apply
	// without it.
	Retry *RetryConfig `json:"retry,omitempty"`

	// Limits are the default limits of every key that sets none of its
	// own (a key's project's defaults come in between): rpm and tpm are
	// token buckets refilled continuously with a burst of one minute's
	// worth; concurrency caps in-flight requests; daily_requests and
	// daily_tokens are quotas per calendar day (UTC unless zone says
	// otherwise); budget caps a key's spend per day, week, month or in
	// total.
	Limits *LimitsConfig `json:"limits,omitempty"`

	// MaxBody is the largest request body accepted, in bytes; larger ones
	// get 413 as soon as the excess is seen. Default: 32 MiB.
	MaxBody int64 `json:"max_body,omitempty"`

	// ResponsesRetention is how long Responses API responses are kept in
	// the store for previous_response_id and GET /v1/responses/{id}
	// (each key sees only its own). "off" (-1 in JSON) keeps none, and
	// previous_response_id is then refused. Default: 720h (30 days, as
	// OpenAI keeps them).
	ResponsesRetention caddy.Duration `json:"responses_retention,omitempty"`

	gw       *gateway.Gateway
	router   *router.Router
	health   *router.Health
	limits   *limits.Set
	sessions *router.Sessions
	meter    *spend.Meter
	shared   *store.Shared
	storeKey string
	logger   *zap.Logger
}

// StoreConfig selects the store backend.
type StoreConfig struct {
	// Type is "sqlite" (default). "postgres" is reserved for cluster mode
	// and refused in this version.
	Type string `json:"type,omitempty"`
	// Path is the SQLite file (relative paths are under Caddy's data
	// directory) or the Postgres DSN.
	Path string `json:"path,omitempty"`
}

// LimiterConfig selects a shared limiter backend.
type LimiterConfig struct {
	Type string `json:"type,omitempty"`
	URL  string `json:"url,omitempty"`
}

// ProviderConfig is one upstream account.
type ProviderConfig struct {
	// Name is how pins ("NAME/model"), fallbacks and routes refer to the
	// account, and what X-Llmgate-Provider reports.
	Name string `json:"name"`
	// Type is the provider type: openai, openrouter, groq, xai, mistral,
	// cerebras, deepseek, together, fireworks or mock.
	Type string `json:"type"`
	// BaseURL overrides the type's default base URL.
	BaseURL string `json:"base_url,omitempty"`
	// APIKey is the account's key; use {env.NAME}.
	APIKey string `json:"api_key,omitempty"`
	// Models are the bare model names the account serves. Default: the
	// type's models in the embedded catalogue.
	Models []string `json:"models,omitempty"`
	// Weight is the account's share of traffic among accounts serving the
	// same model. Default: 1.
	Weight int `json:"weight,omitempty"`
	// MaxConcurrency caps in-flight requests on the account; a full
	// account is skipped. Default: no cap.
	MaxConcurrency int `json:"max_concurrency,omitempty"`
	// Timeout bounds each attempt. Defaults: connect 10s, headers 2m,
	// first_token 2m, idle 2m, total 10m.
	Timeout *TimeoutConfig `json:"timeout,omitempty"`
	// Headers are extra headers sent upstream on every request (for
	// example OpenRouter's HTTP-Referer and X-Title).
	Headers map[string]string `json:"headers,omitempty"`
	// Options are type-specific settings; the mock type reads "delay" and
	// "first_token_delay" (durations).
	Options map[string]string `json:"options,omitempty"`
}

// TimeoutConfig bounds one attempt.
type TimeoutConfig struct {
	// Connect bounds TCP and TLS setup.
	Connect caddy.Duration `json:"connect,omitempty"`
	// Headers bounds request sent to response headers.
	Headers caddy.Duration `json:"headers,omitempty"`
	// FirstToken bounds headers to the first stream event.
	FirstToken caddy.Duration `json:"first_token,omitempty"`
	// Idle bounds the gap between stream events.
	Idle caddy.Duration `json:"idle,omitempty"`
	// Total bounds the whole attempt.
	Total caddy.Duration `json:"total,omitempty"`
}

// KeyConfig is a static gateway key.
type KeyConfig struct {
	// Secret is the key clients send; use {env.NAME}. At least 16
	// characters.
	Secret string `json:"secret"`
	// Name identifies the key in rows and logs (the secret never appears).
	Name string `json:"name,omitempty"`
	// Models are glob patterns of the models and providers the key may
	// use ("gpt-5*", "anthropic/*", "auto"). Default: all.
	Models []string `json:"models,omitempty"`
	// Limits are the key's own limits. Not available in this version.
	Limits *LimitsConfig `json:"limits,omitempty"`
}

// ModelConfig adds a model to the catalogue or overrides one.
type ModelConfig struct {
	Name            string   `json:"name"`
	InputPrice      *float64 `json:"input_price,omitempty"`
	OutputPrice     *float64 `json:"output_price,omitempty"`
	CachedPrice     *float64 `json:"cached_price,omitempty"`
	CacheWritePrice *float64 `json:"cache_write_price,omitempty"`
	Context         int64    `json:"context,omitempty"`
	MaxOutput       int64    `json:"max_output,omitempty"`
	Capabilities    []string `json:"capabilities,omitempty"`
}

// RouteConfig is a virtual model ("auto"): the classifier scores each
// request, and the tier's models that can serve it are tried in the
// optimize order.
type RouteConfig struct {
	Name string `json:"name"`
	// Tiers maps simple, medium and complex to models ("account/model"
	// or bare names).
	Tiers map[string][]string `json:"tiers,omitempty"`
	// Optimize is cost (default), latency or quality.
	Optimize string `json:"optimize,omitempty"`
	// FallbackOn lists failure classes that may fail over although they
	// normally do not.
	FallbackOn []string `json:"fallback_on,omitempty"`
	// Weights override the classifier's default weights by name (bias,
	// length, math, multi_step, clauses, terminology, recall, light, code,
	// conversation, domain, tools, images, json_schema, effort_high,
	// effort_low, long_context_tokens).
	Weights map[string]float64 `json:"weights,omitempty"`
	// Thresholds are [simple_max, complex_min] on the score in [0, 1].
	Thresholds []float64 `json:"thresholds,omitempty"`
}

// FallbackConfig is a failover chain for one model.
type FallbackConfig struct {
	Model string   `json:"model"`
	Chain []string `json:"chain"`
}

// RetryConfig is the retry policy.
type RetryConfig struct {
	// Attempts is the number of tries on one account, the first included;
	// each fallback gets its own. Default 2.
	Attempts int `json:"attempts,omitempty"`
	// MaxAttempts bounds the tries of one request across all accounts and
	// fallbacks. Default 8.
	MaxAttempts int `json:"max_attempts,omitempty"`
	// BackoffMin and BackoffMax bound the exponential backoff (with
	// jitter) between tries on the same account; an upstream's
	// Retry-After or retry-after-ms overrides it. Defaults 200ms and 5s.
	BackoffMin caddy.Duration `json:"backoff_min,omitempty"`
	BackoffMax caddy.Duration `json:"backoff_max,omitempty"`
	// Deadline bounds the whole request: no attempt starts and no wait
	// runs past it. Default 2m.
	Deadline caddy.Duration `json:"deadline,omitempty"`
	// On lists what is retried: statuses, "network" and "timeout".
	// Default: 408 409 429 500 502 503 504 529 network timeout. 400, 401,
	// 403, 404 and 422 are never retried.
	On []string `json:"on,omitempty"`
	// Hedge, when set, starts the next account or fallback of a stream in
	// parallel if the first attempt has produced no token after this long,
	// and keeps whichever answers first. Default off (it can double the
	// upstream cost of slow requests).
	Hedge caddy.Duration `json:"hedge,omitempty"`
	// BreakerFailures failures within BreakerWindow open an account's
	// circuit breaker for BreakerCooldown (doubled after each failed
	// probe, up to a minute). Defaults 5, 30s, 5s.
	BreakerFailures int            `json:"breaker_failures,omitempty"`
	BreakerWindow   caddy.Duration `json:"breaker_window,omitempty"`
	BreakerCooldown caddy.Duration `json:"breaker_cooldown,omitempty"`
}

// LimitsConfig are per-key limits.
type LimitsConfig struct {
	RPM           int64   `json:"rpm,omitempty"`
	DailyRequests int64   `json:"daily_requests,omitempty"`
	TPM           int64   `json:"tpm,omitempty"`
	Concurrency   int64   `json:"concurrency,omitempty"`
	DailyTokens   int64   `json:"daily_tokens,omitempty"`
	BudgetUSD     float64 `json:"budget_usd,omitempty"`
	// BudgetPeriod is day, week, month or total.
	BudgetPeriod string `json:"budget_period,omitempty"`
	// Zone is the IANA time zone of the quota day (default UTC); only
	// the top-level limits block takes it.
	Zone string `json:"zone,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.llmgate",
		New: func() caddy.Module { return new(Handler) },
	}
}

// ServeHTTP serves the gateway's endpoints and passes other paths on.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if h.gw.Handle(w, r) {
		return nil
	}
	return next.ServeHTTP(w, r)
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
