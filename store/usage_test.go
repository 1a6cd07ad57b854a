package store

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

var (
	day1 = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	day2 = time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC)
)

// usageRows is the crafted set: costs are multiples of 1/8, so every sum
// is exact in any order, and the latencies make each nearest rank land
// on a known value.
//
//   - gpt-a: 20 rows, latency 1..20 (written in scrambled order), key k1
//     on odd rows and k2 on even, provider openai on odd and azure on
//     even, project p1, $0.125 each, 10+5 tokens; rows 1-2 error, 3
//     truncated, 4 cancelled; rows 1-10 on day 1, 11-20 on day 2.
//   - claude-b: 3 rows, latency 300, 100, 200, key k3, anthropic, p2, $1
//     each, 100+50 tokens, day 1.
//   - cheap-c: 1 row, latency 50, k1, openai, p1, $0, 7+3 tokens, day 2.
//
// Two more rows fall just outside [day1, day2+1h) and must never count.
func usageRows() []Row {
	var rows []Row
	for _, i := range []int{7, 1, 20, 13, 2, 19, 4, 11, 16, 3, 9, 18, 5, 14, 10, 6, 17, 12, 8, 15} {
		r := Row{ID: fmt.Sprintf("a%02d", i), Model: "gpt-a", Project: "p1", Status: StatusOK,
			CostUSD: 0.125, PromptTokens: 10, CompletionTokens: 5, LatencyMS: float64(i)}
		r.KeyID, r.Provider = "k2", "azure"
		if i%2 == 1 {
			r.KeyID, r.Provider = "k1", "openai"
		}
		switch i {
		case 1, 2:
			r.Status = StatusError
		case 3:
			r.Status = StatusTruncated
		case 4:
			r.Status = StatusCancelled
		}
		r.Time = day1.Add(time.Duration(i) * time.Minute)
		if i > 10 {
			r.Time = day2.Add(time.Duration(i-20) * time.Minute)
		}
		rows = append(rows, r)
	}
	for i, lat := range []float64{300, 100, 200} {
		rows = append(rows, Row{ID: fmt.Sprintf("b%d", i), Time: day1.Add(time.Duration(i) * time.Second),
			Model: "claude-b", KeyID: "k3", Provider: "anthropic", Project: "p2", Status: StatusOK,
			CostUSD: 1, PromptTokens: 100, CompletionTokens: 50, LatencyMS: lat})
	}
	rows = append(rows,
		Row{ID: "c0", Time: day2, Model: "cheap-c", KeyID: "k1", Provider: "openai", Project: "p1",
			Status: StatusOK, PromptTokens: 7, CompletionTokens: 3, LatencyMS: 50},
		Row{ID: "early", Time: day1.Add(-time.Nanosecond), Model: "gpt-a", KeyID: "k1", Provider: "openai",
			Project: "p1", Status: StatusOK, CostUSD: 100, LatencyMS: 1e6},
		Row{ID: "late", Time: day2.Add(time.Hour), Model: "gpt-a", KeyID: "k1", Provider: "openai",
			Project: "p1", Status: StatusError, CostUSD: 100, LatencyMS: 1e6},
	)
	return rows
}

func writeRows(t *testing.T, s *SQLite, rows []Row) {
	t.Helper()
	if err := s.WriteRows(context.Background(), rows); err != nil {
		t.Fatalf("WriteRows: %v", err)
	}
}

// nearestRank is the textbook definition, kept separate from the SQL.
func nearestRank(sorted []float64, p float64) float64 {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[max(rank, 1)-1]
}

// referenceUsage computes a report the slow, obvious way.
func referenceUsage(rows []Row, from, to time.Time, dims []string) (Group, []Group) {
	value := func(r Row, d string) string {
		switch d {
		case "model":
			return r.Model
		case "provider":
			return r.Provider
		case "key":
			return r.KeyID
		case "project":
			return r.Project
		}
		return r.Time.UTC().Format(time.DateOnly)
	}
	type acc struct {
		g    Group
		lats []float64
		vals []string
	}
	add := func(a *acc, r Row) {
		a.g.Requests++
		if r.Status == StatusError || r.Status == StatusTruncated {
			a.g.Errors++
		}
		if r.Status == StatusCancelled {
			a.g.Cancelled++
		}
		a.g.PromptTokens += r.PromptTokens
		a.g.CompletionTokens += r.CompletionTokens
		a.g.CostUSD += r.CostUSD
		a.lats = append(a.lats, r.LatencyMS)
	}
	finish := func(a *acc) Group {
		if len(a.lats) > 0 {
			sort.Float64s(a.lats)
			a.g.LatencyMS = Percentiles{nearestRank(a.lats, 50), nearestRank(a.lats, 95), nearestRank(a.lats, 99)}
		}
		return a.g
	}
	var total acc
	groups := map[string]*acc{}
	for _, r := range rows {
		if r.Time.Before(from) || !r.Time.Before(to) {
			continue
		}
		add(&total, r)
		if len(dims) == 0 {
			continue
		}
		var vals []string
		for _, d := range dims {
			vals = append(vals, value(r, d))
		}
		k := fmt.Sprint(vals)
		if groups[k] == nil {
			groups[k] = &acc{vals: vals, g: Group{Group: map[string]string{}}}
			for i, d := range dims {
				groups[k].g.Group[d] = vals[i]
			}
		}
		add(groups[k], r)
	}
	accs := make([]*acc, 0, len(groups))
	for _, a := range groups {
		accs = append(accs, a)
	}
	sort.Slice(accs, func(i, j int) bool {
		if accs[i].g.CostUSD != accs[j].g.CostUSD {
			return accs[i].g.CostUSD > accs[j].g.CostUSD
		}
		return slices.Compare(accs[i].vals, accs[j].vals) < 0
	})
	out := []Group{}
	for _, a := range accs {
		out = append(out, finish(a))
	}
	return finish(&total), out
}

func TestUsageByHand(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	writeRows(t, s, usageRows())
	from, to := day1, day2.Add(time.Hour)

	rep, err := s.Usage(ctx, UsageQuery{From: from, To: to, GroupBy: []string{"model"}})
	if err != nil {
		t.Fatalf("Usage: %v", err)
	}
	// Over all 24 latencies (1..20, 50, 100, 200, 300): ranks 12, 23, 24.
	wantTotals := Group{Requests: 24, Errors: 3, Cancelled: 1, PromptTokens: 507, CompletionTokens: 253,
		CostUSD: 5.5, LatencyMS: Percentiles{12, 200, 300}}
	if !reflect.DeepEqual(rep.Totals, wantTotals) {
		t.Errorf("totals:\n got %+v\nwant %+v", rep.Totals, wantTotals)
	}
	wantGroups := []Group{
		{Group: map[string]string{"model": "claude-b"}, Requests: 3, PromptTokens: 300, CompletionTokens: 150,
			CostUSD: 3, LatencyMS: Percentiles{200, 300, 300}},
		{Group: map[string]string{"model": "gpt-a"}, Requests: 20, Errors: 3, Cancelled: 1, PromptTokens: 200,
			CompletionTokens: 100, CostUSD: 2.5, LatencyMS: Percentiles{10, 19, 20}},
		{Group: map[string]string{"model": "cheap-c"}, Requests: 1, PromptTokens: 7, CompletionTokens: 3,
			LatencyMS: Percentiles{50, 50, 50}},
	}
	if !reflect.DeepEqual(rep.Groups, wantGroups) {
		t.Errorf("groups by model:\n got %+v\nwant %+v", rep.Groups, wantGroups)
	}
	if !rep.From.Equal(from) || !rep.To.Equal(to) {
		t.Errorf("window %v..%v, want %v..%v", rep.From, rep.To, from, to)
	}

	// Equal cost sorts by name: azure and openai both spent $1.25.
	rep, err = s.Usage(ctx, UsageQuery{From: from, To: to, GroupBy: []string{"provider"}})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, g := range rep.Groups {
		order = append(order, fmt.Sprintf("%s=%v", g.Group["provider"], g.CostUSD))
	}
	if want := []string{"anthropic=3", "azure=1.25", "openai=1.25"}; !reflect.DeepEqual(order, want) {
		t.Errorf("groups by provider: %v, want %v", order, want)
	}

	// Days are UTC dates.
	rep, err = s.Usage(ctx, UsageQuery{From: from, To: to, GroupBy: []string{"day"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Groups) != 2 || rep.Groups[0].Group["day"] != "2026-03-04" || rep.Groups[0].Requests != 13 ||
		rep.Groups[1].Group["day"] != "2026-03-05" || rep.Groups[1].Requests != 11 {
		t.Errorf("groups by day: %+v", rep.Groups)
	}

	// Totals only; empty windows; bad input.
	rep, err = s.Usage(ctx, UsageQuery{From: from, To: to})
	if err != nil || rep.Groups == nil || len(rep.Groups) != 0 || !reflect.DeepEqual(rep.Totals, wantTotals) {
		t.Errorf("Usage without grouping = %+v, %v", rep, err)
	}
	rep, err = s.Usage(ctx, UsageQuery{From: to.Add(time.Hour), To: to.Add(2 * time.Hour), GroupBy: []string{"key"}})
	if err != nil || len(rep.Groups) != 0 || !reflect.DeepEqual(rep.Totals, Group{}) {
		t.Errorf("Usage over an empty window = %+v, %v", rep, err)
	}
	rep, err = s.Usage(ctx, UsageQuery{To: to.Add(time.Hour)})
	if err != nil || rep.Totals.Requests != 26 || !rep.From.IsZero() {
		t.Errorf("Usage with an open start = %+v, %v; want all 26 rows", rep, err)
	}
	_, err = s.Usage(ctx, UsageQuery{GroupBy: []string{"model", "region"}})
	wantInvalid(t, "Usage grouped by region", err, "group_by")
	if err != nil && !strings.Contains(err.Error(), `"region"`) {
		t.Errorf("error %q does not name the dimension", err)
	}
	_, err = s.Usage(ctx, UsageQuery{From: to, To: from})
	wantInvalid(t, "Usage with to before from", err, "to")
}

// TestUsageMatchesReference checks every combination of dimensions, with
// and without filters, against the obvious implementation.
func TestUsageMatchesReference(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	rows := usageRows()
	writeRows(t, s, rows)
	from, to := day1, day2.Add(time.Hour)
	all := []string{"model", "provider", "key", "project", "day"}

	filtered := func(keyID, project string) []Row {
		var out []Row
		for _, r := range rows {
			if (keyID == "" || r.KeyID == keyID) && (project == "" || r.Project == project) {
				out = append(out, r)
			}
		}
		return out
	}
	for mask := range 1 << len(all) {
		var dims []string
		for i, d := range all {
			if mask&(1<<i) != 0 {
				dims = append(dims, d)
			}
		}
		for _, f := range []struct{ key, project string }{{"", ""}, {"k1", ""}, {"", "p1"}, {"k3", "p2"}, {"k3", "p1"}} {
			name := fmt.Sprintf("%v key=%s project=%s", dims, f.key, f.project)
			rep, err := s.Usage(ctx, UsageQuery{From: from, To: to, GroupBy: dims, KeyID: f.key, Project: f.project})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			wantTotals, wantGroups := referenceUsage(filtered(f.key, f.project), from, to, dims)
			if !reflect.DeepEqual(rep.Totals, wantTotals) {
				t.Errorf("%s totals:\n got %+v\nwant %+v", name, rep.Totals, wantTotals)
			}
			if !reflect.DeepEqual(rep.Groups, wantGroups) {
				t.Errorf("%s groups:\n got %+v\nwant %+v", name, rep.Groups, wantGroups)
			}
		}
	}
	// Repeated dimensions count once.
	rep, err := s.Usage(ctx, UsageQuery{From: from, To: to, GroupBy: []string{"model", "model"}})
	if err != nil || len(rep.Groups) != 3 || len(rep.Groups[0].Group) != 1 {
		t.Errorf("Usage grouped by model twice = %+v, %v", rep, err)
	}
}

func TestKeyAndProjectTotals(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	writeRows(t, s, usageRows())

	for _, c := range []struct {
		name  string
		got   func() (Totals, error)
		want  Totals
		since time.Time
	}{
		// k1: gpt-a odd rows (10 × $0.125, 15 tokens), cheap-c (10
		// tokens), early and late ($100 each, no tokens).
		{"key k1 all time", func() (Totals, error) { return s.KeyTotals(ctx, "k1", time.Time{}) },
			Totals{CostUSD: 201.25, Requests: 13, Tokens: 160}, time.Time{}},
		{"key k1 since day 2", func() (Totals, error) { return s.KeyTotals(ctx, "k1", day2) },
			Totals{CostUSD: 100, Requests: 2, Tokens: 10}, day2},
		{"key k3", func() (Totals, error) { return s.KeyTotals(ctx, "k3", day1) },
			Totals{CostUSD: 3, Requests: 3, Tokens: 450}, day1},
		{"key nobody", func() (Totals, error) { return s.KeyTotals(ctx, "nobody", time.Time{}) },
			Totals{}, time.Time{}},
		// p1: all of gpt-a (20 × $0.125, 300 tokens), cheap-c, early, late.
		{"project p1 all time", func() (Totals, error) { return s.ProjectTotals(ctx, "p1", time.Time{}) },
			Totals{CostUSD: 202.5, Requests: 23, Tokens: 310}, time.Time{}},
		{"project p1 since day 1", func() (Totals, error) { return s.ProjectTotals(ctx, "p1", day1) },
			Totals{CostUSD: 102.5, Requests: 22, Tokens: 310}, day1},
		{"project p2 since day 2", func() (Totals, error) { return s.ProjectTotals(ctx, "p2", day2) },
			Totals{}, day2},
	} {
		got, err := c.got()
		if err != nil || got != c.want {
			t.Errorf("%s = %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}
	_, err := s.KeyTotals(ctx, "", time.Time{})
	wantInvalid(t, "KeyTotals without key", err, "key")
	_, err = s.ProjectTotals(ctx, "", time.Time{})
	wantInvalid(t, "ProjectTotals without project", err, "project")
}
