package caddymodule

import (
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/llmgate/llmgate/internal/catalog"
	"github.com/llmgate/llmgate/internal/gateway"
	"github.com/llmgate/llmgate/internal/limits"
	"github.com/llmgate/llmgate/internal/spend"
	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/router"
	"github.com/llmgate/llmgate/store"
)

var errBudgetSyntax = errors.New("want <amount>usd/<day|week|month|total>")

// minKeyLen is the shortest static key accepted: shorter secrets are
// guessable, and gateway keys proper are lg_ plus 32+ characters.
const minKeyLen = 16

// notYet lists configuration that parses but whose behaviour arrives in a
// later version; loading it is refused rather than half honoured.
func (m *Handler) notYet() error {
	var parts []string
	if m.Limiter != nil {
		parts = append(parts, "limiter (cluster mode)")
	}
	if m.Store != nil && m.Store.Type == "postgres" {
		parts = append(parts, "store postgres (cluster mode)")
	}
	if len(parts) == 0 {
		return nil
	}
	return fmt.Errorf("this version of llmgate parses but does not yet implement: %s; remove it to load this config", strings.Join(parts, ", "))
}

// Validate checks the configuration; it does no I/O.
func (m *Handler) Validate() error {
	if err := m.notYet(); err != nil {
		return err
	}
	names := map[string]bool{}
	for _, p := range m.Providers {
		if p.Name == "" {
			return errors.New("provider: missing name")
		}
		if names[p.Name] {
			return fmt.Errorf("provider %q: defined twice", p.Name)
		}
		names[p.Name] = true
		if _, ok := providers.Lookup(p.Type); !ok {
			return fmt.Errorf("provider %q: unknown type %q (known: %s)", p.Name, p.Type, strings.Join(providers.TypeNames(), ", "))
		}
	}
	return nil
}

// Provision builds the runtime: providers, router, catalogue, keys and the
// pooled store.
func (m *Handler) Provision(ctx caddy.Context) error {
	m.logger = ctx.Logger()
	if err := m.notYet(); err != nil {
		return err
	}
	repl := caddy.NewReplacer()
	str := func(s string) string { return repl.ReplaceAll(s, "") }

	cat, err := m.catalog()
	if err != nil {
		return err
	}
	accounts, err := m.accounts(str, cat)
	if err != nil {
		return err
	}
	var keys []gateway.StaticKey
	for i, k := range m.Keys {
		secret := strings.TrimSpace(str(k.Secret))
		name := k.Name
		if name == "" {
			name = fmt.Sprintf("key%d", i+1)
		}
		if secret == "" {
			m.logger.Warn("static key skipped: its secret resolved to empty (is the environment variable set?)", zap.String("key", name))
			continue
		}
		if len(secret) < minKeyLen {
			return fmt.Errorf("key %q: secret is %d characters; use at least %d (gateway keys look like lg_ plus 32 random characters)", name, len(secret), minKeyLen)
		}
		keys = append(keys, gateway.StaticKey{Secret: secret, Name: name, Models: k.Models, Limits: k.Limits.limits(), Quotas: k.Limits.quotas()})
	}
	if err := m.provisionStore(str); err != nil {
		return err
	}
	health, err := acquireHealth()
	if err != nil {
		return err
	}
	m.health = health
	pol, breaker := m.retryPolicy()
	health.Configure(breaker)
	fallbacks := map[string][]string{}
	for _, f := range m.Fallbacks {
		fallbacks[f.Model] = append(fallbacks[f.Model], f.Chain...)
	}
	routes, err := m.routes()
	if err != nil {
		return err
	}
	rt := router.New(accounts, router.Options{Fallbacks: fallbacks, Health: health, Routes: routes})
	for _, r := range routes {
		for tier, ms := range r.Tiers {
			for _, mdl := range ms {
				if _, err := rt.Plan(mdl, ""); err != nil {
					m.logger.Warn("route names a model no configured account serves (is its provider's key set?); it will be skipped",
						zap.String("route", r.Name), zap.String("tier", tier), zap.String("model", mdl))
				}
			}
		}
	}
	sessions, err := acquireSessions()
	if err != nil {
		return err
	}
	m.sessions = sessions
	for model, chain := range fallbacks {
		for _, fb := range chain {
			if _, err := rt.Plan(fb, ""); err != nil {
				m.logger.Warn("fallback names a model no configured account serves (is its provider's key set?); it will be skipped",
					zap.String("model", model), zap.String("fallback", fb))
			}
		}
	}
	m.router = rt
	set, err := acquireLimits()
	if err != nil {
		return err
	}
	m.limits = set
	meter, err := acquireMeter()
	if err != nil {
		return err
	}
	m.meter = meter
	if src, ok := m.shared.Store.(spend.Source); ok {
		meter.SetSource(src, m.shared.Writer.Flush)
	}
	if cr, ok := m.shared.Store.(spend.Credits); ok {
		meter.SetCredits(cr)
	}
	var zone *time.Location
	if m.Limits != nil && m.Limits.Zone != "" {
		if zone, err = time.LoadLocation(m.Limits.Zone); err != nil {
			return fmt.Errorf("limits zone %q: %w", m.Limits.Zone, err)
		}
	}
	m.gw = gateway.New(gateway.Config{
		Sessions:      sessions,
		Spend:         meter,
		DefaultQuotas: m.Limits.quotas(),
		QuotaZone:     zone,
		Limits:        set,
		DefaultLimits: m.Limits.limits(),
		Retry:         pol,
		Router:        rt,
		Catalog:       cat,
		Keys:          keys,
		Store:         m.shared,
		MaxBody:       m.MaxBody,
		Logger:        m.logger,
		// -1 from the Caddyfile's "off" stays negative: nothing stored.
		ResponsesRetention: time.Duration(m.ResponsesRetention),
		OnDone:             setPlaceholders,
	})
	register(m)
	return nil
}

// retryPolicy turns the retry block into the router's policy.
func (m *Handler) retryPolicy() (router.RetryPolicy, router.BreakerConfig) {
	var p router.RetryPolicy
	var b router.BreakerConfig
	if r := m.Retry; r != nil {
		p = router.RetryPolicy{Attempts: r.Attempts, MaxAttempts: r.MaxAttempts, BackoffMin: time.Duration(r.BackoffMin),
			BackoffMax: time.Duration(r.BackoffMax), Deadline: time.Duration(r.Deadline), Hedge: time.Duration(r.Hedge)}
		if len(r.On) > 0 {
			p.Statuses = map[int]bool{}
			for _, v := range r.On {
				switch v {
				case "network":
					p.Network = true
				case "timeout":
					p.Timeout = true
				default:
					if n, err := strconv.Atoi(v); err == nil {
						p.Statuses[n] = true
					}
				}
			}
		}
		b = router.BreakerConfig{Failures: r.BreakerFailures, Window: time.Duration(r.BreakerWindow), Cooldown: time.Duration(r.BreakerCooldown)}
	}
	return p.WithDefaults(), b
}

// accounts builds one router.Account per provider block whose key is set.
func (m *Handler) accounts(str func(string) string, cat *catalog.Catalog) ([]*router.Account, error) {
	var out []*router.Account
	for _, pc := range m.Providers {
		typ, ok := providers.Lookup(pc.Type)
		if !ok {
			return nil, fmt.Errorf("provider %q: unknown type %q (known: %s)", pc.Name, pc.Type, strings.Join(providers.TypeNames(), ", "))
		}
		key := strings.TrimSpace(str(pc.APIKey))
		if key == "" && !typ.KeyOptional {
			m.logger.Warn("provider skipped: its api_key resolved to empty (set the environment variable it names to enable it)",
				zap.String("provider", pc.Name), zap.String("type", pc.Type))
			continue
		}
		cfg := providers.Config{Name: pc.Name, Type: pc.Type, BaseURL: str(pc.BaseURL), APIKey: key, Options: map[string]string{}}
		for k, v := range pc.Headers {
			if cfg.Headers == nil {
				cfg.Headers = map[string]string{}
			}
			cfg.Headers[k] = str(v)
		}
		for k, v := range pc.Options {
			cfg.Options[k] = str(v)
		}
		if t := pc.Timeout; t != nil {
			cfg.Timeouts = providers.Timeouts{Connect: time.Duration(t.Connect), Headers: time.Duration(t.Headers),
				FirstToken: time.Duration(t.FirstToken), Idle: time.Duration(t.Idle), Total: time.Duration(t.Total)}
		}
		p, err := typ.New(cfg)
		if errors.Is(err, providers.ErrNoCredentials) {
			m.logger.Warn("provider skipped: "+err.Error(), zap.String("provider", pc.Name), zap.String("type", pc.Type))
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("provider %q: %w", pc.Name, err)
		}
		models := make([]string, 0, len(pc.Models))
		for _, mdl := range pc.Models {
			models = append(models, str(mdl))
		}
		if len(models) == 0 {
			for _, e := range cat.ForFamily(typ.Family) {
				models = append(models, e.ID)
			}
		}
		out = append(out, &router.Account{
			Name: pc.Name, Type: pc.Type, Provider: p, Key: key, Models: models,
			Weight: pc.Weight, MaxConcurrency: pc.MaxConcurrency, Timeouts: cfg.Timeouts,
		})
	}
	return out, nil
}

// catalog applies the `model` blocks to the embedded catalogue. A block
// naming a known model changes only the fields it sets.
func (m *Handler) catalog() (*catalog.Catalog, error) {
	base := catalog.Default()
	if len(m.Models) == 0 {
		return base, nil
	}
	extra := make([]catalog.Model, 0, len(m.Models))
	for _, mc := range m.Models {
		var e catalog.Model
		if old, ok := base.Lookup(mc.Name); ok && strings.EqualFold(old.ID, mc.Name) {
			e = *old
			e.Capabilities = append([]string(nil), old.Capabilities...)
		} else {
			e = catalog.Model{ID: mc.Name, Families: []string{}, Source: "Caddyfile model block", Checked: time.Now().UTC().Format("2006-01-02")}
		}
		setF := func(dst *float64, v *float64) {
			if v != nil {
				*dst = *v
			}
		}
		setF(&e.Price.Input, mc.InputPrice)
		setF(&e.Price.Output, mc.OutputPrice)
		setF(&e.Price.CachedInput, mc.CachedPrice)
		setF(&e.Price.CacheWrite, mc.CacheWritePrice)
		if mc.Context > 0 {
			e.Context = mc.Context
		}
		if mc.MaxOutput > 0 {
			e.MaxOutput = mc.MaxOutput
		}
		if len(mc.Capabilities) > 0 {
			e.Capabilities = mc.Capabilities
		}
		if err := catalog.Validate(e); err != nil {
			return nil, fmt.Errorf("model %q: %w", mc.Name, err)
		}
		extra = append(extra, e)
	}
	return base.With(extra...), nil
}

// provisionStore acquires the pooled store for the configured path.
func (m *Handler) provisionStore(str func(string) string) error {
	path := "llmgate.db"
	if m.Store != nil && m.Store.Path != "" {
		path = str(m.Store.Path)
	}
	if path == "" {
		return errors.New("store sqlite: the path resolved to empty")
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(caddy.AppDataDir(), path)
	}
	shared, err := acquireStore(path, m.logger)
	if err != nil {
		return fmt.Errorf("store sqlite %s: %w", path, err)
	}
	m.shared, m.storeKey = shared, path
	return nil
}

// Cleanup releases the pooled store and health registry. Requests of this
// config that are still running hold leases, so their rows are still
// written.
func (m *Handler) Cleanup() error {
	unregister(m)
	if m.limits != nil {
		_, _ = limitsPool.Delete(limitsKey)
		m.limits = nil
	}
	if m.meter != nil {
		_, _ = meterPool.Delete(meterKey)
		m.meter = nil
	}
	if m.sessions != nil {
		_, _ = sessionsPool.Delete(sessionsKey)
		m.sessions = nil
	}
	if m.health != nil {
		_, _ = healthPool.Delete(healthKey)
		m.health = nil
	}
	if m.storeKey != "" {
		_, err := stores.Delete(m.storeKey)
		m.storeKey = ""
		return err
	}
	return nil
}

// setPlaceholders exposes the request's outcome to Caddy's access logs as
// {http.llmgate.*}.
func setPlaceholders(r *http.Request, row *store.Row) {
	repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if !ok {
		return
	}
	repl.Set("http.llmgate.request_id", row.ID)
	repl.Set("http.llmgate.key", row.KeyName)
	repl.Set("http.llmgate.provider", row.Provider)
	repl.Set("http.llmgate.model", row.Model)
	repl.Set("http.llmgate.status", row.Status)
	repl.Set("http.llmgate.prompt_tokens", row.PromptTokens)
	repl.Set("http.llmgate.completion_tokens", row.CompletionTokens)
	repl.Set("http.llmgate.cost_usd", row.CostUSD)
}

// limits converts a limits block (nil: none) to the limiter's form.
func (l *LimitsConfig) limits() limits.Limits {
	if l == nil {
		return limits.Limits{}
	}
	return limits.Limits{RPM: l.RPM, TPM: l.TPM, Concurrency: l.Concurrency}
}

// quotas converts a limits block's quotas and budget.
func (l *LimitsConfig) quotas() gateway.Quotas {
	if l == nil {
		return gateway.Quotas{}
	}
	return gateway.Quotas{DailyRequests: l.DailyRequests, DailyTokens: l.DailyTokens,
		Budget: spend.Budget{USD: l.BudgetUSD, Period: l.BudgetPeriod}}
}

// routes builds the router's routes from the route blocks.
func (m *Handler) routes() ([]*router.Route, error) {
	var out []*router.Route
	for _, rc := range m.Routes {
		r := &router.Route{Name: rc.Name, Tiers: rc.Tiers, Optimize: rc.Optimize, FallbackOn: rc.FallbackOn}
		if len(rc.Tiers) == 0 {
			return nil, fmt.Errorf("route %q: no tiers: list models under simple, medium and/or complex", rc.Name)
		}
		if len(rc.Weights) > 0 || len(rc.Thresholds) == 2 {
			w := router.DefaultWeights()
			for name, v := range rc.Weights {
				if err := w.Set(name, v); err != nil {
					return nil, fmt.Errorf("route %q: %w", rc.Name, err)
				}
			}
			if len(rc.Thresholds) == 2 {
				w.SimpleMax, w.ComplexMin = rc.Thresholds[0], rc.Thresholds[1]
			}
			r.Weights = w
		}
		out = append(out, r)
	}
	return out, nil
}

func knownWeight(name string) bool {
	var w router.Weights
	return w.Set(name, 0) == nil
}
