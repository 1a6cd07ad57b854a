package catalog

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinel errors, matched with errors.Is; the wrapped message names the
// offending entry and field.
var (
	// ErrInvalidModel: an entry is malformed (missing id, unknown family or
	// capability, negative price, bad date...).
	ErrInvalidModel = errors.New("invalid model entry")
	// ErrDuplicateName: two entries of one catalogue file claim the same id
	// or alias, so lookups would depend on file order.
	ErrDuplicateName = errors.New("duplicate model name")
)

// knownFamilies are the gateway's provider types. A typo in a family would
// otherwise silently drop the model from an account's model list.
var knownFamilies = map[string]bool{
	"openai": true, "openrouter": true, "groq": true, "xai": true,
	"mistral": true, "cerebras": true, "deepseek": true, "together": true,
	"fireworks": true, "azure": true, "anthropic": true, "gemini": true,
	"bedrock": true, "mock": true,
}

// knownCapabilities mirror the Cap* constants.
var knownCapabilities = map[string]bool{
	CapTools: true, CapVision: true, CapJSONSchema: true,
	CapReasoning: true, CapPrefix: true, CapEmbeddings: true,
}

// dateLayout is the format of Model.Checked.
const dateLayout = "2006-01-02"

// Validate checks one entry's structure: it has an id, at least one known
// family, known capabilities, non-negative limits and prices, a positive
// tier threshold and, when set, a YYYY-MM-DD checked date. It does not
// demand a source or non-zero prices, because an operator may well declare
// a free self-hosted model; the embedded file is held to more (see Parse).
// The Caddyfile layer calls it so a bad `model` block fails at provision
// time instead of being ignored by With.
func Validate(m Model) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w %q: %s", ErrInvalidModel, m.ID, fmt.Sprintf(format, args...))
	}
	if strings.TrimSpace(m.ID) == "" || strings.ContainsAny(m.ID, " \t\r\n") {
		return bad("id must be non-empty and contain no whitespace")
	}
	for _, f := range m.Families {
		if !knownFamilies[strings.ToLower(f)] {
			return bad("unknown family %q", f)
		}
	}
	for _, a := range m.Aliases {
		if strings.TrimSpace(a) == "" || strings.ContainsAny(a, " \t\r\n") {
			return bad("alias %q must be non-empty and contain no whitespace", a)
		}
	}
	for _, c := range m.Capabilities {
		if !knownCapabilities[strings.ToLower(c)] {
			return bad("unknown capability %q", c)
		}
	}
	if m.Context < 0 || m.MaxOutput < 0 || m.Rank < 0 {
		return bad("context, max_output and rank must not be negative")
	}
	if m.Context > 0 && m.MaxOutput > m.Context {
		return bad("max_output %d exceeds context %d", m.MaxOutput, m.Context)
	}
	if err := checkPrice(m.Price); err != nil {
		return bad("price: %v", err)
	}
	if t := m.LongContext; t != nil {
		if t.Threshold <= 0 {
			return bad("long_context threshold must be positive")
		}
		if err := checkPrice(t.Price); err != nil {
			return bad("long_context: %v", err)
		}
	}
	if m.Checked != "" {
		if _, err := time.Parse(dateLayout, m.Checked); err != nil {
			return bad("checked %q is not YYYY-MM-DD", m.Checked)
		}
	}
	return nil
}

// checkPrice rejects negative rates, which would make Cost pay the caller.
func checkPrice(p Price) error {
	if p.Input < 0 || p.CachedInput < 0 || p.CacheWrite < 0 || p.Output < 0 {
		return errors.New("rates must not be negative")
	}
	return nil
}
