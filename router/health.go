package router

import (
	"math"
	"sort"
	"sync"
	"time"
)

// BreakerConfig tunes the circuit breakers. Zero fields take the defaults.
type BreakerConfig struct {
	// Failures within Window open the breaker. Default 5: one error never
	// disables an account.
	Failures int
	// Window is how far back failures count. Default 30s.
	Window time.Duration
	// Cooldown is how long a breaker stays open before it lets one probe
	// through. Default 5s, doubled after each failed probe up to
	// MaxCooldown, so a recovered account gets traffic back within seconds
	// and a dead one is not hammered.
	Cooldown time.Duration
	// MaxCooldown caps the doubling. Default 1m.
	MaxCooldown time.Duration
}

func (c BreakerConfig) withDefaults() BreakerConfig {
	if c.Failures <= 0 {
		c.Failures = 5
	}
	if c.Window <= 0 {
		c.Window = 30 * time.Second
	}
	if c.Cooldown <= 0 {
		c.Cooldown = 5 * time.Second
	}
	if c.MaxCooldown < c.Cooldown {
		c.MaxCooldown = max(time.Minute, c.Cooldown)
	}
	return c
}

// Breaker states.
const (
	Closed   = "closed"
	Open     = "open"
	HalfOpen = "half_open"
)

// ewmaAlpha weighs the newest observation in the moving averages: about
// the last ten requests dominate.
const ewmaAlpha = 0.2

// Outcome is what one attempt tells the health registry.
type Outcome struct {
	// Failure marks an upstream failure (network, timeout, 408, 429, 5xx,
	// broken stream). Client errors and cancellations are not reported.
	Failure bool
	// AccountWide marks failures that concern every model of the account
	// (401/403 from the upstream, connection refused).
	AccountWide bool
	// Latency is the time to the first byte (streams) or the whole answer.
	Latency time.Duration
	// Cooldown, when longer than the configured one, is how long the
	// upstream asked to be left alone (Retry-After on a 429).
	Cooldown time.Duration
	// Error is a short description for the admin view.
	Error string
}

type healthKey struct{ account, model string }

// state is one account's (model "" = account-wide) or one account+model's
// health.
type state struct {
	latencyMS   float64
	errRate     float64
	observed    bool
	consecutive int
	failures    []time.Time
	breaker     string
	openedAt    time.Time
	cooldown    time.Duration
	probing     bool
	requests    int64
	errors      int64
	lastError   string
	lastErrorAt time.Time
}

// Health keeps per-account and per-account+model health. It is safe for
// concurrent use and is meant to outlive config reloads (the Caddy module
// keeps it in a UsagePool), so a reload neither forgets a dead account nor
// resets a recovering one.
type Health struct {
	mu  sync.Mutex
	cfg BreakerConfig
	m   map[healthKey]*state
	// Now is the clock; tests replace it.
	Now func() time.Time
}

// NewHealth returns an empty registry.
func NewHealth(cfg BreakerConfig) *Health {
	return &Health{cfg: cfg.withDefaults(), m: map[healthKey]*state{}, Now: time.Now}
}

// Configure replaces the breaker settings (a reload may change them) and
// keeps all state.
func (h *Health) Configure(cfg BreakerConfig) {
	h.mu.Lock()
	h.cfg = cfg.withDefaults()
	h.mu.Unlock()
}

func (h *Health) get(k healthKey) *state {
	s := h.m[k]
	if s == nil {
		s = &state{breaker: Closed}
		h.m[k] = s
	}
	return s
}

// Available reports whether account may be sent a request for model now,
// without taking a probe slot: false while either its account-wide or its
// model breaker is open (or half-open with a probe in flight).
func (h *Health) Available(account, model string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.Now()
	for _, k := range [2]healthKey{{account, ""}, {account, model}} {
		s := h.m[k]
		if s == nil {
			continue
		}
		switch s.breaker {
		case Open:
			if now.Sub(s.openedAt) < s.cooldown {
				return false
			}
		case HalfOpen:
			if s.probing {
				return false
			}
		}
	}
	return true
}

// Acquire is called right before an attempt. It returns false when a
// breaker forbids the attempt; when a breaker's cooldown is over it lets
// exactly one attempt through as the probe.
func (h *Health) Acquire(account, model string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.Now()
	keys := [2]healthKey{{account, ""}, {account, model}}
	for _, k := range keys {
		s := h.m[k]
		if s == nil {
			continue
		}
		switch s.breaker {
		case Open:
			if now.Sub(s.openedAt) < s.cooldown {
				return false
			}
		case HalfOpen:
			if s.probing {
				return false
			}
		}
	}
	for _, k := range keys {
		if s := h.m[k]; s != nil && s.breaker != Closed {
			s.breaker, s.probing = HalfOpen, true
		}
	}
	return true
}

// Report records an attempt's outcome.
func (h *Health) Report(account, model string, o Outcome) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.Now()
	cfg := h.cfg
	update := func(s *state, failure bool) {
		s.requests++
		x := 0.0
		if failure {
			x = 1
		}
		if !s.observed {
			s.errRate, s.observed = x, true
		} else {
			s.errRate = ewmaAlpha*x + (1-ewmaAlpha)*s.errRate
		}
		if !failure {
			if o.Latency > 0 {
				ms := float64(o.Latency) / float64(time.Millisecond)
				if s.latencyMS == 0 {
					s.latencyMS = ms
				} else {
					s.latencyMS = ewmaAlpha*ms + (1-ewmaAlpha)*s.latencyMS
				}
			}
			s.consecutive = 0
			if s.breaker != Closed {
				// The probe succeeded: close and forget the failures.
				s.breaker, s.probing, s.failures, s.cooldown = Closed, false, s.failures[:0], 0
			}
			return
		}
		s.errors++
		s.consecutive++
		s.lastError, s.lastErrorAt = o.Error, now
		cut := now.Add(-cfg.Window)
		kept := s.failures[:0]
		for _, t := range s.failures {
			if t.After(cut) {
				kept = append(kept, t)
			}
		}
		s.failures = append(kept, now)
		cooldown := max(cfg.Cooldown, o.Cooldown)
		switch {
		case s.breaker == HalfOpen:
			// The probe failed: open again, waiting longer each time.
			s.cooldown = min(max(2*s.cooldown, cooldown), max(cfg.MaxCooldown, o.Cooldown))
			s.breaker, s.probing, s.openedAt = Open, false, now
		case s.breaker == Closed && len(s.failures) >= cfg.Failures:
			s.breaker, s.openedAt, s.cooldown = Open, now, cooldown
		}
	}
	if o.Failure && o.AccountWide {
		// The account failed, not the model: a closed model breaker does
		// not count it, but a model probe that hit it has failed and the
		// model's breaker reopens (it must never close on a failure).
		if s := h.m[healthKey{account, model}]; s != nil && s.breaker == HalfOpen {
			update(s, true)
		}
	} else {
		update(h.get(healthKey{account, model}), o.Failure)
	}
	if o.AccountWide || !o.Failure {
		update(h.get(healthKey{account, ""}), o.Failure)
	} else if s := h.m[healthKey{account, ""}]; s != nil && s.breaker == HalfOpen {
		// A model-level failure still ends an account-level probe.
		s.probing = false
	}
}

// Release ends a probe slot taken by Acquire without an outcome (the
// client went away, or the failure was the client's), so the breaker
// lets the next request probe.
func (h *Health) Release(account, model string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, k := range [2]healthKey{{account, ""}, {account, model}} {
		if s := h.m[k]; s != nil && s.breaker == HalfOpen {
			s.probing = false
		}
	}
}

// Score is a multiplier in (0, 1] for an account's share of traffic:
// accounts that have been failing get proportionally less.
func (h *Health) Score(account, model string) float64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	score := 1.0
	for _, k := range [2]healthKey{{account, ""}, {account, model}} {
		if s := h.m[k]; s != nil {
			score *= math.Max(0.05, 1-s.errRate)
		}
	}
	return score
}

// Status is one line of the admin view.
type Status struct {
	Account     string    `json:"provider"`
	Model       string    `json:"model,omitempty"`
	State       string    `json:"state"`
	ErrorRate   float64   `json:"error_rate"`
	LatencyMS   float64   `json:"latency_ms"`
	Consecutive int       `json:"consecutive_failures"`
	Requests    int64     `json:"requests"`
	Errors      int64     `json:"errors"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	OpenUntil   time.Time `json:"open_until,omitzero"`
}

// Snapshot lists every tracked account and account+model, sorted.
func (h *Health) Snapshot() []Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Status, 0, len(h.m))
	for k, s := range h.m {
		st := Status{Account: k.account, Model: k.model, State: s.breaker, ErrorRate: math.Round(s.errRate*1000) / 1000,
			LatencyMS: math.Round(s.latencyMS*10) / 10, Consecutive: s.consecutive, Requests: s.requests, Errors: s.errors,
			LastError: s.lastError, LastErrorAt: s.lastErrorAt}
		if s.breaker == Open {
			st.OpenUntil = s.openedAt.Add(s.cooldown)
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Account != out[j].Account {
			return out[i].Account < out[j].Account
		}
		return out[i].Model < out[j].Model
	})
	return out
}

// Latency is the moving average of an account+model's time to first token
// (or whole answer), and whether any was observed.
func (h *Health) Latency(account, model string) (float64, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s := h.m[healthKey{account, model}]; s != nil && s.latencyMS > 0 {
		return s.latencyMS, true
	}
	return 0, false
}
