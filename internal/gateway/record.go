package gateway

import (
	"bytes"
	"math"
	"strconv"

	"go.uber.org/zap"

	"github.com/llmgate/llmgate/internal/catalog"
	"github.com/llmgate/llmgate/providers"
)

func (e endpoint) provider() providers.Endpoint {
	if e == epEmbeddings {
		return providers.Embeddings
	}
	return providers.Chat
}

func zapString(k, v string) zap.Field { return zap.String(k, v) }

// cost prices usage: the upstream's own figure when it reports one
// (OpenRouter), else the price table; an unknown model costs 0 and is
// flagged.
func (x *exchange) cost(u providers.Usage) (usd float64, known bool) {
	if u.HasCost {
		return u.CostUSD, true
	}
	cu := catalog.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens,
		CachedTokens: u.CachedTokens, CacheWriteTokens: u.CacheWriteTokens, ReasoningTokens: u.ReasoningTokens}
	if c, ok := x.g.cfg.Catalog.Cost(x.target.Model, cu); ok {
		return c, true
	}
	if x.req != nil {
		return x.g.cfg.Catalog.Cost(x.req.model, cu)
	}
	return 0, false
}

// estimatedUsage is used when a stream ended before the upstream reported
// usage: the prompt is estimated from the request, the completion from
// the chunks delivered.
func (x *exchange) estimatedUsage(completion int64) providers.Usage {
	u := providers.Usage{CompletionTokens: completion, Estimated: true}
	if x.req != nil {
		u.PromptTokens = x.req.promptTokens()
	}
	return u
}

// meta renders the llmgate object for the answer.
func (x *exchange) meta(u providers.Usage) []byte {
	usd, _ := x.cost(u)
	usd = roundUSD(usd)
	b := make([]byte, 0, 192)
	b = append(b, `{"request_id":`...)
	b = providers.AppendJSONString(b, x.id)
	b = append(b, `,"provider":`...)
	b = providers.AppendJSONString(b, x.target.Account.Name)
	b = append(b, `,"model":`...)
	b = providers.AppendJSONString(b, x.target.Model)
	if x.route != nil {
		b = append(b, `,"tier":`...)
		b = providers.AppendJSONString(b, x.route.Tier)
	}
	b = append(b, `,"attempts":`...)
	b = strconv.AppendInt(b, int64(x.attemptNo), 10)
	b = append(b, `,"cost_usd":`...)
	b = strconv.AppendFloat(b, usd, 'f', -1, 64)
	b = append(b, `,"saved_usd":`...)
	b = strconv.AppendFloat(b, x.saved(u, usd), 'f', -1, 64)
	b = append(b, `,"latency_ms":`...)
	b = strconv.AppendInt(b, x.g.now().Sub(x.start).Milliseconds(), 10)
	return append(b, '}')
}

// attachMeta inserts ,"llmgate":meta before the closing brace of a JSON
// object, leaving every other byte as it was.
func attachMeta(obj, meta []byte) []byte {
	i := bytes.LastIndexByte(obj, '}')
	if i < 0 {
		return obj
	}
	out := make([]byte, 0, len(obj)+len(meta)+12)
	out = append(out, obj[:i]...)
	if j := bytes.LastIndexFunc(obj[:i], func(r rune) bool { return r != ' ' && r != '\n' && r != '\r' && r != '\t' }); j >= 0 && obj[j] != '{' {
		out = append(out, ',')
	}
	out = append(out, `"llmgate":`...)
	out = append(out, meta...)
	return append(out, obj[i:]...)
}

// record finishes the row and hands it to the batch writer. It runs
// deferred, so every request that passed authentication leaves a row,
// whatever path it took.
func (x *exchange) record() {
	row := &x.row
	if row.Status == "" {
		// The handler returned without an answer: the client went away.
		x.cancelled()
	}
	if x.target.Account != nil && x.answered {
		row.Provider = x.target.Account.Name
		row.ProviderType = x.target.Account.Type
		row.Model = x.target.Model
	} else if n := len(row.Attempts); n > 0 {
		row.Provider = row.Attempts[n-1].Provider
		row.Model = row.Attempts[n-1].Model
		if a, ok := x.g.cfg.Router.Account(row.Provider); ok {
			row.ProviderType = a.Type
		}
	}
	u := x.usage
	if (row.Status == "cancelled" || row.Status == "truncated") && !u.Known() && len(row.Attempts) > 0 {
		u = x.estimatedUsage(u.CompletionTokens)
	}
	row.PromptTokens = u.PromptTokens
	row.CompletionTokens = u.CompletionTokens
	row.CachedTokens = u.CachedTokens
	row.CacheWriteTokens = u.CacheWriteTokens
	row.ReasoningTokens = u.ReasoningTokens
	row.UsageEstimated = u.Estimated
	if u.Known() {
		usd, known := x.cost(u)
		row.CostUSD = roundUSD(usd)
		row.PriceUnknown = !known
		row.SavedUSD = x.saved(u, usd)
	}
	// Settle the budget reservation to the real cost (failed attempts
	// cost nothing here: the row's usage is the answer's).
	x.hold.Settle(row.CostUSD, u.PromptTokens+u.CompletionTokens)
	// Reconcile the token bucket with what the request really used.
	x.ticket.Done(u.PromptTokens+u.CompletionTokens, x.g.now())
	row.LatencyMS = float64(x.g.now().Sub(x.start).Microseconds()) / 1000
	row.TTFTMS = float64(x.ttft.Microseconds()) / 1000
	if x.g.cfg.OnDone != nil {
		x.g.cfg.OnDone(x.r, row)
	}
	if st := x.g.cfg.Store; st != nil {
		if err := st.Writer.Enqueue(*row); err != nil {
			x.g.log.Error("recording usage row", zap.String("request_id", row.ID), zap.Error(err))
		}
	}
}

// roundUSD rounds to 1e-10 USD, far below any billable amount, so float
// noise (0.0000017000000000000002) does not reach clients or rows.
func roundUSD(v float64) float64 { return math.Round(v*1e10) / 1e10 }
