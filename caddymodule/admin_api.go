package caddymodule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/llmgate/llmgate/store"
)

// adminStore is what the admin API needs from the store; the embedded
// SQLite store implements it.
type adminStore interface {
	CreateProject(ctx context.Context, p *store.Project) error
	GetProject(ctx context.Context, id string) (*store.Project, error)
	ListProjects(ctx context.Context) ([]store.Project, error)
	UpdateProject(ctx context.Context, p *store.Project) error
	AddCredit(ctx context.Context, projectID string, usd float64, note string) (float64, error)
	CreateKey(ctx context.Context, k *store.Key) (string, error)
	GetKey(ctx context.Context, id string) (*store.Key, error)
	ListKeys(ctx context.Context, project string) ([]store.Key, error)
	UpdateKey(ctx context.Context, k *store.Key) error
	RotateKey(ctx context.Context, id string, grace time.Duration) (string, error)
	RevokeKey(ctx context.Context, id string) error
	Usage(ctx context.Context, q store.UsageQuery) (*store.UsageReport, error)
	Requests(ctx context.Context, q store.RequestQuery) ([]store.Row, string, error)
	Request(ctx context.Context, id string) (*store.Row, error)
	KeyTotals(ctx context.Context, keyID string, since time.Time) (store.Totals, error)
	ProjectTotals(ctx context.Context, project string, since time.Time) (store.Totals, error)
}

// apiError is a validation or lookup failure answered as
// {"error":{"message","field"}}.
type apiError struct {
	status  int
	message string
	field   string
}

func (e *apiError) Error() string { return e.message }

func badField(field, format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, field + ": " + fmt.Sprintf(format, args...), field}
}

// writeJSON answers with v.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// answerOne answers with view(x), or with err when reading x failed.
func answerOne[T, V any](w http.ResponseWriter, x *T, err error, view func(*T) V) error {
	if err != nil {
		return answerError(w, err)
	}
	return writeJSON(w, http.StatusOK, view(x))
}

// answerList answers {"data": [...]} with each item through view, or
// with err when listing failed. The list is [] rather than null when
// there is nothing to show.
func answerList[T, V any](w http.ResponseWriter, items []T, err error, view func(*T) V) error {
	if err != nil {
		return answerError(w, err)
	}
	out := make([]V, 0, len(items))
	for i := range items {
		out = append(out, view(&items[i]))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"data": out})
}

// notAllowed answers a method the resource has no handler for.
func notAllowed(w http.ResponseWriter, r *http.Request) error {
	return answerError(w, &apiError{status: http.StatusMethodNotAllowed, message: r.Method + " is not supported on " + r.URL.Path})
}

// answerError maps store and validation errors to statuses.
func answerError(w http.ResponseWriter, err error) error {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
	case errors.Is(err, store.ErrNotFound):
		ae = &apiError{status: http.StatusNotFound, message: err.Error()}
	case errors.Is(err, store.ErrExists):
		ae = &apiError{status: http.StatusConflict, message: err.Error()}
	case errors.Is(err, store.ErrInvalid):
		msg := err.Error()
		field := ""
		if i := strings.Index(msg, ": "); i >= 0 {
			rest := msg[i+2:]
			if j := strings.Index(rest, ":"); j > 0 && !strings.Contains(rest[:j], " ") {
				field = rest[:j]
			}
		}
		ae = &apiError{status: http.StatusBadRequest, message: msg, field: field}
	default:
		ae = &apiError{status: http.StatusInternalServerError, message: err.Error()}
	}
	body := map[string]any{"message": ae.message}
	if ae.field != "" {
		body["field"] = ae.field
	}
	return writeJSON(w, ae.status, map[string]any{"error": body})
}

// decode reads a JSON body strictly: an unknown field is an error naming
// it, so a typo never silently does nothing.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		msg := err.Error()
		if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
			f = strings.Trim(f, `"`)
			return badField(f, "unknown field")
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return badField(te.Field, "must be a %s", te.Type.String())
		}
		if errors.Is(err, io.EOF) {
			return &apiError{status: http.StatusBadRequest, message: "the request body is empty; send a JSON object"}
		}
		return &apiError{status: http.StatusBadRequest, message: "the request body is not valid JSON: " + msg}
	}
	return nil
}

// liveStore returns the store and handlers of the running config.
func liveStore() (adminStore, []*Handler, error) {
	liveMu.Lock()
	defer liveMu.Unlock()
	var hs []*Handler
	var st adminStore
	for h := range live {
		hs = append(hs, h)
		if st == nil && h.shared != nil {
			if s, ok := h.shared.Store.(adminStore); ok {
				st = s
			}
		}
	}
	if st == nil {
		return nil, nil, &apiError{status: http.StatusServiceUnavailable, message: "no llmgate handler with a store is configured"}
	}
	return st, hs, nil
}

// invalidate makes every live gateway forget its cached keys: changes
// through the admin API take effect at once.
func invalidate(hs []*Handler) {
	for _, h := range hs {
		if h.gw != nil {
			h.gw.InvalidateKeys()
		}
	}
}

// flushRows makes rows written so far visible to reports.
func flushRows(hs []*Handler) {
	for _, h := range hs {
		if h.shared != nil && h.shared.Writer != nil {
			h.shared.Writer.Flush()
		}
	}
}

// periodStart is the start of the budget period containing now (UTC).
func periodStart(period string, now time.Time) time.Time {
	now = now.UTC()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	switch period {
	case "day":
		return day
	case "week":
		wd := (int(day.Weekday()) + 6) % 7 // Monday first
		return day.AddDate(0, 0, -wd)
	case "month":
		return time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Time{}
}

// parseWhen reads a time as RFC 3339 or as a duration back from now.
func parseWhen(v string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil {
		return now.Add(-d), nil
	}
	return time.Parse(time.RFC3339, v)
}

var validPeriods = map[string]bool{"": true, "day": true, "week": true, "month": true, "total": true}
var validStatuses = map[string]bool{"active": true, "suspended": true, "past_due": true}

// Keys and projects carry the same limits, quotas and budget, and the
// admin API shows and accepts them the same way for both; what follows
// serves both, so that the two cannot drift apart.

type limitsJSON struct {
	RPM         int64 `json:"rpm"`
	TPM         int64 `json:"tpm"`
	Concurrency int64 `json:"concurrency"`
}

type quotasJSON struct {
	DailyRequests int64 `json:"daily_requests"`
	DailyTokens   int64 `json:"daily_tokens"`
}

type budgetJSON struct {
	USD      float64 `json:"usd"`
	Period   string  `json:"period"`
	SpentUSD float64 `json:"spent_usd"`
}

// governanceJSON is the limits, quotas and budget of a key or project.
// It is embedded in keyJSON and projectJSON, where its fields keep their
// place in the JSON.
type governanceJSON struct {
	Limits limitsJSON `json:"limits"`
	Quotas quotasJSON `json:"quotas"`
	Budget budgetJSON `json:"budget"`
}

// governanceView shows l and the budget; the caller fills in SpentUSD,
// which it reads from the totals of its key or project.
func governanceView(l store.Limits, usd float64, period string) governanceJSON {
	return governanceJSON{
		Limits: limitsJSON{l.RPM, l.TPM, l.Concurrency},
		Quotas: quotasJSON{l.DailyRequests, l.DailyTokens},
		Budget: budgetJSON{USD: usd, Period: period},
	}
}

// limitsInput, quotasInput and budgetInput are the optional limits,
// quotas and budget of key and project requests; absent fields are
// unchanged. They stay fields of keyInput and projectInput rather than an
// embedded struct, which encoding/json would name in the path of a type
// error ("governanceInput.limits.rpm"). limitsInput is an alias of an
// unnamed struct because that struct's spelling is part of the message
// for a "limits" of the wrong type.
type limitsInput = struct {
	RPM         *int64 `json:"rpm"`
	TPM         *int64 `json:"tpm"`
	Concurrency *int64 `json:"concurrency"`
}

type quotasInput struct {
	DailyRequests *int64 `json:"daily_requests"`
	DailyTokens   *int64 `json:"daily_tokens"`
}

type budgetInput struct {
	USD    *float64 `json:"usd"`
	Period *string  `json:"period"`
}

// applyGovernance validates the limits, quotas and budget of a request
// and writes those given into l, usd and period.
func applyGovernance(lim *limitsInput, quo *quotasInput, b *budgetInput, l *store.Limits, usd *float64, period *string) error {
	var in limitsInput
	if lim != nil {
		in = *lim
	}
	var q quotasInput
	if quo != nil {
		q = *quo
	}
	for _, f := range []struct {
		name    string
		in, out *int64
	}{
		{"limits.rpm", in.RPM, &l.RPM},
		{"limits.tpm", in.TPM, &l.TPM},
		{"limits.concurrency", in.Concurrency, &l.Concurrency},
		{"quotas.daily_requests", q.DailyRequests, &l.DailyRequests},
		{"quotas.daily_tokens", q.DailyTokens, &l.DailyTokens},
	} {
		if f.in == nil {
			continue
		}
		if *f.in < 0 {
			return badField(f.name, "must not be negative")
		}
		*f.out = *f.in
	}
	return applyBudget(b, usd, period)
}

// applyBudget sets a budget; one without a period is monthly.
func applyBudget(b *budgetInput, usd *float64, period *string) error {
	if b == nil {
		return nil
	}
	if b.USD != nil {
		if *b.USD < 0 {
			return badField("budget.usd", "must not be negative")
		}
		*usd = *b.USD
	}
	if b.Period != nil {
		if !validPeriods[*b.Period] {
			return badField("budget.period", "%q is not one of day, week, month, total", *b.Period)
		}
		*period = *b.Period
	}
	if *usd > 0 && *period == "" {
		*period = "month"
	}
	return nil
}
