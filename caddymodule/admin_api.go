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
