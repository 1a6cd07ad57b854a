package catalog

// Usage is the token accounting of one call in OpenAI's meaning:
// CachedTokens and CacheWriteTokens are subsets of PromptTokens, and
// ReasoningTokens is a subset of CompletionTokens (so it is already billed
// as output and never added again).
type Usage struct {
	PromptTokens     int64
	CompletionTokens int64
	CachedTokens     int64
	CacheWriteTokens int64
	ReasoningTokens  int64
}

// perMillion converts a token count times a per-1M rate into USD.
const perMillion = 1e6

// Cost prices u in USD. Prompt tokens that were neither read from nor
// written to the cache are billed at Input, cache reads at CachedInput and
// cache writes at CacheWrite (each falling back to Input when zero), and
// completion tokens at Output. When the model has a long-context tier and
// PromptTokens exceeds its threshold, all rates come from the tier. Counts
// that do not add up (more cached than prompt tokens, negative numbers from
// a confused upstream) are clamped so the result is never negative.
func (m *Model) Cost(u Usage) float64 {
	if m == nil {
		return 0
	}
	p := m.Price
	if t := m.LongContext; t != nil && u.PromptTokens > t.Threshold {
		p = t.Price
	}
	readRate, writeRate := p.CachedInput, p.CacheWrite
	if readRate == 0 {
		readRate = p.Input
	}
	if writeRate == 0 {
		writeRate = p.Input
	}
	cached := max(u.CachedTokens, 0)
	written := max(u.CacheWriteTokens, 0)
	uncached := max(u.PromptTokens-cached-written, 0)
	completion := max(u.CompletionTokens, 0)
	usd := (float64(uncached)*p.Input +
		float64(cached)*readRate +
		float64(written)*writeRate +
		float64(completion)*p.Output) / perMillion
	return max(usd, 0)
}
