package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Percentiles of request latency in milliseconds, by nearest rank: the
// p-th percentile of n values is the ceil(p/100*n)-th smallest, always a
// latency that actually occurred.
type Percentiles struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
}

// Group is the usage of one combination of grouping values, or of the
// whole window in UsageReport.Totals (where Group is nil).
type Group struct {
	Group            map[string]string `json:"group,omitempty"`
	Requests         int64             `json:"requests"`
	Errors           int64             `json:"errors"` // status error or truncated
	Cancelled        int64             `json:"cancelled"`
	PromptTokens     int64             `json:"prompt_tokens"`
	CompletionTokens int64             `json:"completion_tokens"`
	CostUSD          float64           `json:"cost_usd"`
	LatencyMS        Percentiles       `json:"latency_ms"`
}

// UsageReport is the answer to a UsageQuery.
type UsageReport struct {
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Totals Group     `json:"totals"`
	Groups []Group   `json:"groups"`
}

// UsageQuery selects the requests to summarise: those with From <= time <
// To (a zero bound is open), optionally of one key or project.
type UsageQuery struct {
	From, To time.Time
	// GroupBy holds any of "model" (the model that ran), "provider" (the
	// account that answered), "key" (key id), "project" and "day" (UTC
	// date, YYYY-MM-DD). Repeats are ignored. Empty means totals only.
	GroupBy        []string
	KeyID, Project string
}

// usageDimensions maps each grouping name to its SQL expression. Only
// these constant expressions are ever spliced into the query.
var usageDimensions = map[string]string{
	"model":    "model",
	"provider": "provider",
	"key":      "key_id",
	"project":  "project",
	"day":      "strftime('%Y-%m-%d', time / 1000000000, 'unixepoch')",
}

// Usage summarises the requests q selects, in total and per group, from
// one query so that totals and groups come from the same snapshot. The
// percentiles are exact: SQLite ranks every matching latency with window
// functions rather than the store sampling or bucketing them. Groups are
// sorted by cost, highest first, then by their values in GroupBy order.
// Report.To is now when q.To is zero.
func (s *SQLite) Usage(ctx context.Context, q UsageQuery) (*UsageReport, error) {
	var dims []string
	for _, d := range q.GroupBy {
		if _, ok := usageDimensions[d]; !ok {
			return nil, invalid("group_by", "%q: must be one of model, provider, key, project, day", d)
		}
		if !slices.Contains(dims, d) {
			dims = append(dims, d)
		}
	}
	if !q.From.IsZero() && !q.To.IsZero() && q.To.Before(q.From) {
		return nil, invalid("to", "before from")
	}
	report := &UsageReport{From: q.From, To: q.To, Groups: []Group{}}
	if report.To.IsZero() {
		report.To = stamp()
	}
	conds, args := requestFilter(q.From, q.To, q.KeyID, q.Project)

	// Three levels: the grouping values are computed once per row, then
	// ranked within their group and within the whole window, then
	// aggregated. (50*n+99)/100 is ceil(50n/100) in integer arithmetic.
	var inner, part, outer []string
	for i, d := range dims {
		g := fmt.Sprintf("g%d", i)
		inner = append(inner, usageDimensions[d]+" AS "+g)
		part = append(part, g)
		outer = append(outer, g)
	}
	partition, groupBy := "", ""
	if len(part) > 0 {
		partition = "PARTITION BY " + strings.Join(part, ", ")
		groupBy = "GROUP BY " + strings.Join(part, ", ")
	}
	pct := func(rank, n string, p int) string {
		return fmt.Sprintf("max(CASE WHEN %s = (%d * %s + 99) / 100 THEN latency_ms END)", rank, p, n)
	}
	outer = append(outer,
		"count(*)",
		"coalesce(sum(status IN ('error', 'truncated')), 0)",
		"coalesce(sum(status = 'cancelled'), 0)",
		"coalesce(sum(prompt_tokens), 0)",
		"coalesce(sum(completion_tokens), 0)",
		"coalesce(sum(cost_usd), 0.0)",
		pct("rn", "n", 50), pct("rn", "n", 95), pct("rn", "n", 99),
		pct("trn", "tn", 50), pct("trn", "tn", 95), pct("trn", "tn", 99))
	query := `SELECT ` + strings.Join(outer, ", ") + ` FROM (
		SELECT *,
		       row_number() OVER (` + partition + ` ORDER BY latency_ms) AS rn,
		       count(*) OVER (` + partition + `) AS n,
		       row_number() OVER (ORDER BY latency_ms) AS trn,
		       count(*) OVER () AS tn
		  FROM (SELECT ` + strings.Join(append(inner,
		"status", "prompt_tokens", "completion_tokens", "cost_usd", "latency_ms"), ", ") + `
		          FROM requests` + where(conds) + `)
	) ` + groupBy

	release, err := s.use()
	if err != nil {
		return nil, err
	}
	defer release()
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("summarising usage: %w", err)
	}
	defer rows.Close()
	var values [][]string // grouping values of each group, for sorting
	for rows.Next() {
		var (
			g              Group
			vals           = make([]string, len(dims))
			p50, p95, p99  sql.NullFloat64
			t50, t95, t99  sql.NullFloat64
			dest           = make([]any, 0, len(dims)+12)
			totals         = &report.Totals
			totalLatencies = []*sql.NullFloat64{&t50, &t95, &t99}
		)
		for i := range vals {
			dest = append(dest, &vals[i])
		}
		dest = append(dest, &g.Requests, &g.Errors, &g.Cancelled, &g.PromptTokens,
			&g.CompletionTokens, &g.CostUSD, &p50, &p95, &p99, &t50, &t95, &t99)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("summarising usage: %w", err)
		}
		if g.Requests == 0 {
			continue // no grouping and no matching rows: one row of nulls
		}
		g.LatencyMS = Percentiles{p50.Float64, p95.Float64, p99.Float64}
		totals.Requests += g.Requests
		totals.Errors += g.Errors
		totals.Cancelled += g.Cancelled
		totals.PromptTokens += g.PromptTokens
		totals.CompletionTokens += g.CompletionTokens
		totals.CostUSD += g.CostUSD
		// Each total percentile is one row's latency, so exactly one
		// group reports it.
		for i, dst := range []*float64{&totals.LatencyMS.P50, &totals.LatencyMS.P95, &totals.LatencyMS.P99} {
			if totalLatencies[i].Valid {
				*dst = totalLatencies[i].Float64
			}
		}
		if len(dims) == 0 {
			continue
		}
		g.Group = make(map[string]string, len(dims))
		for i, d := range dims {
			g.Group[d] = vals[i]
		}
		report.Groups = append(report.Groups, g)
		values = append(values, vals)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("summarising usage: %w", err)
	}
	sortGroups(report.Groups, values)
	return report, nil
}

// sortGroups orders groups by cost, highest first, then by their grouping
// values; values[i] belongs to groups[i].
func sortGroups(groups []Group, values [][]string) {
	idx := make([]int, len(groups))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		if ca, cb := groups[a].CostUSD, groups[b].CostUSD; ca != cb {
			if ca > cb {
				return -1
			}
			return 1
		}
		return slices.Compare(values[a], values[b])
	})
	sorted := make([]Group, len(groups))
	for i, j := range idx {
		sorted[i] = groups[j]
	}
	copy(groups, sorted)
}

// requestFilter builds the conditions shared by the reporting queries:
// From <= time < To with zero bounds open, and the optional key and
// project. Every value is a bound parameter.
func requestFilter(from, to time.Time, keyID, project string) (conds []string, args []any) {
	if !from.IsZero() {
		conds = append(conds, "time >= ?")
		args = append(args, from.UnixNano())
	}
	if !to.IsZero() {
		conds = append(conds, "time < ?")
		args = append(args, to.UnixNano())
	}
	if keyID != "" {
		conds = append(conds, "key_id = ?")
		args = append(args, keyID)
	}
	if project != "" {
		conds = append(conds, "project = ?")
		args = append(args, project)
	}
	return conds, args
}

// where joins conditions into a WHERE clause, or nothing.
func where(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}
