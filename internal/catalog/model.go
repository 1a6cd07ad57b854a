package catalog

import (
	"slices"
	"strings"
)

// Capability names a feature a model supports. They are plain strings in
// models.json and the Caddyfile, so they are plain strings here too.
const (
	CapTools      = "tools"
	CapVision     = "vision"
	CapJSONSchema = "json_schema"
	CapReasoning  = "reasoning"
	// CapPrefix means the model continues a trailing assistant message
	// (Anthropic prefill, Mistral prefix) instead of starting a new turn.
	CapPrefix     = "prefix"
	CapEmbeddings = "embeddings"
)

// Price is a set of rates in USD per 1M tokens. A zero CachedInput or
// CacheWrite means the provider has no separate rate, so those tokens are
// billed at Input; that keeps a missing field from silently making cached
// tokens free.
type Price struct {
	Input       float64 `json:"input"`
	CachedInput float64 `json:"cached_input"`
	CacheWrite  float64 `json:"cache_write"`
	Output      float64 `json:"output"`
}

// Tier is a long-context price tier: once a request's prompt tokens exceed
// Threshold, every rate of the request comes from the tier (this is how
// OpenAI, Anthropic and Google bill it; the tier is not marginal).
type Tier struct {
	Threshold int64 `json:"threshold"`
	Price
}

// Model is one catalogue entry.
type Model struct {
	// ID is the model name as clients send it and upstreams expect it.
	ID string `json:"id"`
	// Families are the provider types that serve the model under this ID
	// by default; an account of such a type lists it among its models.
	Families []string `json:"families"`
	// Aliases are other names for the same model (dated snapshots).
	Aliases []string `json:"aliases,omitempty"`
	// Context is the context window in tokens; MaxOutput the output cap.
	// MaxOutput 0 means the vendor publishes no separate cap.
	Context   int64 `json:"context"`
	MaxOutput int64 `json:"max_output"`
	// Capabilities are drawn from the Cap* constants.
	Capabilities []string `json:"capabilities"`
	// Rank orders models of the same kind within a family: higher is
	// stronger. It lets routing pick "the best" or "the cheapest capable"
	// model without hard-coding names.
	Rank        int   `json:"rank"`
	Price       Price `json:"price"`
	LongContext *Tier `json:"long_context,omitempty"`
	// Source says where the price came from and Checked (YYYY-MM-DD) when,
	// so a stale or disputed number can be traced and re-checked.
	Source  string `json:"source"`
	Checked string `json:"checked"`
}

// Has reports whether the model lists capability c (case-insensitive).
func (m *Model) Has(c string) bool {
	if m == nil {
		return false
	}
	return slices.ContainsFunc(m.Capabilities, func(x string) bool { return strings.EqualFold(x, c) })
}

// clone returns a deep copy, so a catalogue never shares slices with the
// caller that handed it a Model.
func (m Model) clone() *Model {
	m.Families = slices.Clone(m.Families)
	m.Aliases = slices.Clone(m.Aliases)
	m.Capabilities = slices.Clone(m.Capabilities)
	if m.LongContext != nil {
		t := *m.LongContext
		m.LongContext = &t
	}
	return &m
}
