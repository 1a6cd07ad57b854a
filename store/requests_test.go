package store

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"
)

// logRows is 120 requests. Three share each timestamp, so pages must cut
// on the id as well as the time; they are written in scrambled order so
// insertion order cannot stand in for either.
func logRows() []Row {
	base := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	keys := []string{"k1", "k2", "k3"}
	models := []string{"gpt-a", "claude-b", "gemini-c", "llama-d"}
	statuses := []string{StatusOK, StatusOK, StatusError, StatusCancelled, StatusTruncated}
	providers := []string{"openai", "azure"}
	rows := make([]Row, 0, 120)
	for j := range 120 {
		i := (j * 37) % 120 // a permutation of 0..119
		rows = append(rows, Row{
			ID:       fmt.Sprintf("req_%03d", i),
			Time:     base.Add(time.Duration(i/3) * time.Second),
			KeyID:    keys[i%3],
			Project:  fmt.Sprintf("p%d", i%2),
			Model:    models[i%4],
			Status:   statuses[i%5],
			Provider: providers[i%2],
		})
	}
	return rows
}

// newestFirst is the order the log promises.
func newestFirst(rows []Row) []Row {
	out := slices.Clone(rows)
	sort.Slice(out, func(a, b int) bool {
		if !out[a].Time.Equal(out[b].Time) {
			return out[a].Time.After(out[b].Time)
		}
		return out[a].ID > out[b].ID
	})
	return out
}

func ids(rows []Row) []string {
	out := []string{}
	for _, r := range rows {
		out = append(out, r.ID)
	}
	return out
}

// pageThrough follows next to the end and returns every row seen.
func pageThrough(t *testing.T, s *SQLite, q RequestQuery) (all []Row, pages int) {
	t.Helper()
	for {
		rows, next, err := s.Requests(context.Background(), q)
		if err != nil {
			t.Fatalf("Requests(%+v): %v", q, err)
		}
		pages++
		if len(rows) > q.Limit && q.Limit > 0 {
			t.Fatalf("page of %d rows, limit %d", len(rows), q.Limit)
		}
		all = append(all, rows...)
		if next == "" {
			return all, pages
		}
		if pages > 200 {
			t.Fatal("pagination does not end")
		}
		q.Cursor = next
	}
}

func TestRequestsPagination(t *testing.T) {
	s, _ := openTest(t)
	rows := logRows()
	writeRows(t, s, rows)
	want := newestFirst(rows)

	got, pages := pageThrough(t, s, RequestQuery{Limit: 7})
	if !reflect.DeepEqual(ids(got), ids(want)) {
		t.Errorf("paging by 7:\n got %v\nwant %v", ids(got), ids(want))
	}
	if pages != 18 { // 17 full pages and one of 1
		t.Errorf("paging by 7 took %d pages, want 18", pages)
	}
	// Exactly divisible: the last full page already says there is no more.
	if _, pages := pageThrough(t, s, RequestQuery{Limit: 40}); pages != 3 {
		t.Errorf("paging by 40 took %d pages, want 3", pages)
	}
	if !reflect.DeepEqual(got[0], want[0]) {
		t.Errorf("rows come back whole:\n got %+v\nwant %+v", got[0], want[0])
	}

	// Each filter, and a combination, pages to exactly the matching rows.
	from, to := want[len(want)-1].Time.Add(5*time.Second), want[0].Time.Add(-5*time.Second)
	for _, c := range []struct {
		q     RequestQuery
		match func(Row) bool
	}{
		{RequestQuery{KeyID: "k1"}, func(r Row) bool { return r.KeyID == "k1" }},
		{RequestQuery{Project: "p0"}, func(r Row) bool { return r.Project == "p0" }},
		{RequestQuery{Model: "claude-b"}, func(r Row) bool { return r.Model == "claude-b" }},
		{RequestQuery{Status: StatusError}, func(r Row) bool { return r.Status == StatusError }},
		{RequestQuery{Provider: "azure"}, func(r Row) bool { return r.Provider == "azure" }},
		{RequestQuery{From: from, To: to}, func(r Row) bool { return !r.Time.Before(from) && r.Time.Before(to) }},
		{RequestQuery{KeyID: "k2", Model: "gpt-a", Provider: "openai", From: from},
			func(r Row) bool {
				return r.KeyID == "k2" && r.Model == "gpt-a" && r.Provider == "openai" && !r.Time.Before(from)
			}},
		{RequestQuery{KeyID: "k1", Status: StatusTruncated, Project: "p1"},
			func(r Row) bool { return r.KeyID == "k1" && r.Status == StatusTruncated && r.Project == "p1" }},
		{RequestQuery{KeyID: "nobody"}, func(Row) bool { return false }},
	} {
		var expect []Row
		for _, r := range want {
			if c.match(r) {
				expect = append(expect, r)
			}
		}
		c.q.Limit = 4
		got, _ := pageThrough(t, s, c.q)
		if !reflect.DeepEqual(ids(got), ids(expect)) {
			t.Errorf("Requests(%+v):\n got %v\nwant %v", c.q, ids(got), ids(expect))
		}
	}
}

func TestRequestsPagesAreStableUnderWrites(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	rows := logRows()
	writeRows(t, s, rows)

	first, next, err := s.Requests(ctx, RequestQuery{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	// Requests arrive while the client pages: one newer than everything,
	// and two in the same nanosecond as the page's last row, one sorting
	// before it (already past) and one after it (still to come).
	last := first[len(first)-1]
	past := Row{ID: last.ID + "z", Time: last.Time}
	ahead := Row{ID: last.ID[:len(last.ID)-1], Time: last.Time}
	writeRows(t, s, []Row{{ID: "req_999", Time: last.Time.Add(time.Hour)}, past, ahead})
	rest, _ := pageThrough(t, s, RequestQuery{Limit: 50, Cursor: next})

	// The later pages are exactly what follows the cursor now.
	all := newestFirst(append(rows, ahead, past, Row{ID: "req_999", Time: last.Time.Add(time.Hour)}))
	var after []Row
	for i, r := range all {
		if r.ID == last.ID {
			after = all[i+1:]
			break
		}
	}
	if !reflect.DeepEqual(ids(rest), ids(after)) {
		t.Errorf("pages after concurrent writes:\n got %v\nwant %v", ids(rest), ids(after))
	}
	seen := map[string]int{}
	for _, r := range append(first, rest...) {
		seen[r.ID]++
	}
	for _, r := range rows {
		if seen[r.ID] != 1 {
			t.Errorf("row %s seen %d times", r.ID, seen[r.ID])
		}
	}
	if seen[ahead.ID] != 1 || seen[past.ID] != 0 || seen["req_999"] != 0 {
		t.Errorf("new rows seen: ahead %d, past %d, newer %d; want 1, 0, 0",
			seen[ahead.ID], seen[past.ID], seen["req_999"])
	}
}

func TestRequestsLimitsAndErrors(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	writeRows(t, s, logRows())

	rows, next, err := s.Requests(ctx, RequestQuery{})
	if err != nil || len(rows) != DefaultRequestLimit || next == "" {
		t.Errorf("default page: %d rows, next %q, %v; want %d and a cursor", len(rows), next, err, DefaultRequestLimit)
	}
	rows, next, err = s.Requests(ctx, RequestQuery{Limit: 5000})
	if err != nil || len(rows) != 120 || next != "" {
		t.Errorf("limit above the maximum: %d rows, next %q, %v; want all 120", len(rows), next, err)
	}
	// The maximum is enforced: 1001 rows do not fit one page.
	var more []Row
	for i := range 1001 - 120 {
		more = append(more, Row{ID: fmt.Sprintf("x%04d", i), Time: time.Unix(int64(i), 0)})
	}
	writeRows(t, s, more)
	if rows, next, err = s.Requests(ctx, RequestQuery{Limit: 5000}); err != nil || len(rows) != MaxRequestLimit || next == "" {
		t.Errorf("1001 rows, limit 5000: %d rows, next %q, %v; want %d and a cursor", len(rows), next, err, MaxRequestLimit)
	}

	empty, next, err := s.Requests(ctx, RequestQuery{Model: "none"})
	if err != nil || empty == nil || len(empty) != 0 || next != "" {
		t.Errorf("no matches: %v, %q, %v; want an empty page", empty, next, err)
	}
	for _, c := range []struct {
		q     RequestQuery
		field string
	}{
		{RequestQuery{Cursor: "!!!"}, "cursor"},
		{RequestQuery{Cursor: "bm9jb2xvbg"}, "cursor"}, // "nocolon"
		{RequestQuery{Cursor: "eDp5"}, "cursor"},       // "x:y"
		{RequestQuery{Status: "failed"}, "status"},     // not a status
		{RequestQuery{Limit: -1}, "limit"},             // negative
		{RequestQuery{From: time.Unix(10, 0), To: time.Unix(5, 0)}, "to"},
	} {
		_, _, err := s.Requests(ctx, c.q)
		wantInvalid(t, fmt.Sprintf("Requests(%+v)", c.q), err, c.field)
	}
}
