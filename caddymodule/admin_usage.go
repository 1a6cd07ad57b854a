package caddymodule

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/llmgate/llmgate/store"
)

// serveUsage handles GET /llmgate/usage?from=&to=&group_by=&key=&project=.
func serveUsage(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet {
		return answerError(w, &apiError{status: http.StatusMethodNotAllowed, message: "use GET"})
	}
	st, hs, err := liveStore()
	if err != nil {
		return answerError(w, err)
	}
	q := r.URL.Query()
	from, to, err := window(q.Get("from"), q.Get("to"))
	if err != nil {
		return answerError(w, err)
	}
	uq := store.UsageQuery{From: from, To: to, KeyID: q.Get("key"), Project: q.Get("project")}
	if g := q.Get("group_by"); g != "" {
		uq.GroupBy = strings.Split(g, ",")
	}
	flushRows(hs)
	rep, err := st.Usage(r.Context(), uq)
	if err != nil {
		return answerError(w, err)
	}
	return writeJSON(w, http.StatusOK, rep)
}

// serveRequests handles GET /llmgate/requests and /llmgate/requests/{id}.
func serveRequests(w http.ResponseWriter, r *http.Request, id string) error {
	if r.Method != http.MethodGet {
		return answerError(w, &apiError{status: http.StatusMethodNotAllowed, message: "use GET"})
	}
	st, hs, err := liveStore()
	if err != nil {
		return answerError(w, err)
	}
	flushRows(hs)
	if id != "" {
		row, err := st.Request(r.Context(), id)
		if err != nil {
			return answerError(w, err)
		}
		return writeJSON(w, http.StatusOK, rowJSON(row))
	}
	q := r.URL.Query()
	from, to, err := window(q.Get("from"), q.Get("to"))
	if err != nil {
		return answerError(w, err)
	}
	rq := store.RequestQuery{From: from, To: to, KeyID: q.Get("key"), Project: q.Get("project"), Model: q.Get("model"),
		Status: q.Get("status"), Provider: q.Get("provider"), Cursor: q.Get("cursor")}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			return answerError(w, badField("limit", "%q is not a positive number", l))
		}
		rq.Limit = n
	}
	rows, next, err := st.Requests(r.Context(), rq)
	if err != nil {
		return answerError(w, err)
	}
	out := make([]map[string]any, 0, len(rows))
	for i := range rows {
		out = append(out, rowJSON(&rows[i]))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"data": out, "next": next})
}

// window reads from/to (RFC 3339 or a duration back from now); the
// default is the last 24 hours.
func window(fromS, toS string) (time.Time, time.Time, error) {
	now := time.Now().UTC()
	from, to := now.Add(-24*time.Hour), now
	var err error
	if fromS != "" {
		if from, err = parseWhen(fromS, now); err != nil {
			return from, to, badField("from", "%q is neither an RFC 3339 time nor a duration such as 24h", fromS)
		}
	}
	if toS != "" {
		if to, err = parseWhen(toS, now); err != nil {
			return from, to, badField("to", "%q is neither an RFC 3339 time nor a duration such as 1h", toS)
		}
	}
	if to.Before(from) {
		return from, to, badField("to", "is before from")
	}
	return from, to, nil
}

// rowJSON is one request of the log, attempts nested.
func rowJSON(r *store.Row) map[string]any {
	attempts := r.Attempts
	if attempts == nil {
		attempts = []store.Attempt{}
	}
	return map[string]any{
		"id": r.ID, "time": r.Time.UTC(), "key_id": r.KeyID, "key_name": r.KeyName, "project": r.Project,
		"endpoint": r.Endpoint, "requested_model": r.RequestedModel, "route": r.Route, "provider": r.Provider,
		"provider_type": r.ProviderType, "model": r.Model, "tier": r.Tier, "status": r.Status, "http_status": r.HTTPStatus,
		"error_code": r.ErrorCode, "error_message": r.ErrorMessage, "attempts": attempts, "stream": r.Stream,
		"prompt_tokens": r.PromptTokens, "completion_tokens": r.CompletionTokens, "cached_tokens": r.CachedTokens,
		"cache_write_tokens": r.CacheWriteTokens, "reasoning_tokens": r.ReasoningTokens, "usage_estimated": r.UsageEstimated,
		"cost_usd": r.CostUSD, "saved_usd": r.SavedUSD, "price_unknown": r.PriceUnknown, "latency_ms": r.LatencyMS,
		"ttft_ms": r.TTFTMS, "client_cancelled": r.ClientCancelled,
	}
}
