package store

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Page sizes of the request log.
const (
	DefaultRequestLimit = 50
	MaxRequestLimit     = 1000
)

// RequestQuery selects a page of the request log: requests with From <=
// time < To (a zero bound is open) matching every non-empty filter. Model
// is the model that ran and Provider the account that answered, as in
// Usage.
type RequestQuery struct {
	From, To                                time.Time
	KeyID, Project, Model, Status, Provider string
	// Limit is the page size: 0 means DefaultRequestLimit and anything
	// above MaxRequestLimit is MaxRequestLimit.
	Limit int
	// Cursor continues from a previous page: pass that page's next, with
	// the same filters.
	Cursor string
}

// Requests returns one page of the request log, newest first, and the
// cursor of the next page ("" after the last). Pages are cut on (time, id)
// rather than by offset, so rows written while a client pages through do
// not shift later pages into duplicates or gaps.
func (s *SQLite) Requests(ctx context.Context, q RequestQuery) (rows []Row, next string, err error) {
	limit := q.Limit
	switch {
	case limit < 0:
		return nil, "", invalid("limit", "must not be negative")
	case limit == 0:
		limit = DefaultRequestLimit
	case limit > MaxRequestLimit:
		limit = MaxRequestLimit
	}
	switch q.Status {
	case "", StatusOK, StatusError, StatusCancelled, StatusTruncated:
	default:
		return nil, "", invalid("status", "%q: must be one of ok, error, cancelled, truncated", q.Status)
	}
	if !q.From.IsZero() && !q.To.IsZero() && q.To.Before(q.From) {
		return nil, "", invalid("to", "before from")
	}
	conds, args := requestFilter(q.From, q.To, q.KeyID, q.Project)
	for _, f := range []struct{ col, v string }{
		{"model", q.Model}, {"status", q.Status}, {"provider", q.Provider},
	} {
		if f.v != "" {
			conds = append(conds, f.col+" = ?")
			args = append(args, f.v)
		}
	}
	if q.Cursor != "" {
		t, id, err := decodeCursor(q.Cursor)
		if err != nil {
			return nil, "", err
		}
		// Written so the time index serves the range; the id only breaks
		// ties between requests in the same nanosecond.
		conds = append(conds, "time <= ? AND (time < ? OR id < ?)")
		args = append(args, t, t, id)
	}
	query := `SELECT ` + rowColumns + ` FROM requests` + where(conds) +
		` ORDER BY time DESC, id DESC LIMIT ?`
	args = append(args, limit+1) // one more tells whether a next page exists

	release, err := s.use()
	if err != nil {
		return nil, "", err
	}
	defer release()
	res, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, "", fmt.Errorf("listing requests: %w", err)
	}
	defer res.Close()
	rows = []Row{}
	for res.Next() {
		r, err := scanRow(res)
		if err != nil {
			return nil, "", fmt.Errorf("listing requests: %w", err)
		}
		rows = append(rows, *r)
	}
	if err := res.Err(); err != nil {
		return nil, "", fmt.Errorf("listing requests: %w", err)
	}
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		next = encodeCursor(toNanos(last.Time), last.ID)
	}
	return rows, next, nil
}

// A cursor is the (time, id) of the last row of a page. It is base64 so
// that clients treat it as opaque and it needs no escaping in a URL.
func encodeCursor(t int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(t, 10) + ":" + id))
}

func decodeCursor(c string) (t int64, id string, err error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, "", invalid("cursor", "malformed")
	}
	ts, id, ok := strings.Cut(string(b), ":")
	if !ok {
		return 0, "", invalid("cursor", "malformed")
	}
	if t, err = strconv.ParseInt(ts, 10, 64); err != nil {
		return 0, "", invalid("cursor", "malformed")
	}
	return t, id, nil
}

// Totals are what a key or project has used since some time: the
// counters a limiter rebuilds after a restart.
type Totals struct {
	CostUSD  float64
	Requests int64 // every recorded request, whatever its status
	Tokens   int64 // prompt plus completion tokens
}

// KeyTotals returns the spend, requests and tokens recorded for keyID at
// or after since (a zero since means all time).
func (s *SQLite) KeyTotals(ctx context.Context, keyID string, since time.Time) (Totals, error) {
	if keyID == "" {
		return Totals{}, invalid("key", "must not be empty")
	}
	return s.totals(ctx, "key_id", keyID, since)
}

// ProjectTotals returns the spend, requests and tokens recorded for
// project at or after since (a zero since means all time). project is
// matched as recorded on the rows, which is the key's project id.
func (s *SQLite) ProjectTotals(ctx context.Context, project string, since time.Time) (Totals, error) {
	if project == "" {
		return Totals{}, invalid("project", "must not be empty")
	}
	return s.totals(ctx, "project", project, since)
}

// totals sums the rows where col = v; col is one of two constants, and
// both have a (col, time) index.
func (s *SQLite) totals(ctx context.Context, col, v string, since time.Time) (Totals, error) {
	release, err := s.use()
	if err != nil {
		return Totals{}, err
	}
	defer release()
	var t Totals
	err = s.db.QueryRowContext(ctx,
		`SELECT coalesce(sum(cost_usd), 0.0), count(*),
		        coalesce(sum(prompt_tokens + completion_tokens), 0)
		   FROM requests WHERE `+col+` = ? AND time >= ?`,
		v, toNanos(since)).Scan(&t.CostUSD, &t.Requests, &t.Tokens)
	if err != nil {
		return Totals{}, fmt.Errorf("summing requests of %s %s: %w", col, v, err)
	}
	return t, nil
}
