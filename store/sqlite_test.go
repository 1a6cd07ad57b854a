package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// openTest opens a fresh store in the test's temp dir and closes it at
// cleanup unless the test already did.
func openTest(t testing.TB) (*SQLite, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "usage.db")
	s, err := OpenSQLite(path)
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

// countRows reopens the file at path and counts the requests, so it sees
// exactly what a restarted gateway would.
func countRows(t testing.TB, path string) int {
	t.Helper()
	s, err := OpenSQLite(path)
	if err != nil {
		t.Fatalf("reopening: %v", err)
	}
	defer s.Close()
	var n int
	if err := s.db.QueryRow(`SELECT count(*) FROM requests`).Scan(&n); err != nil {
		t.Fatalf("counting rows: %v", err)
	}
	return n
}

func pragma(t *testing.T, s *SQLite, name string) string {
	t.Helper()
	var v string
	if err := s.db.QueryRow(`PRAGMA ` + name).Scan(&v); err != nil {
		t.Fatalf("PRAGMA %s: %v", name, err)
	}
	return v
}

// fullRow sets every field to a non-zero value so a dropped column shows.
func fullRow(id string) Row {
	return Row{
		ID:             id,
		Time:           time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.FixedZone("X", 3600)),
		KeyID:          "key_1",
		KeyName:        "ci",
		Project:        "search",
		Endpoint:       "chat.completions",
		RequestedModel: "fast",
		Route:          "fast",
		Provider:       "openai-main",
		ProviderType:   "openai",
		Model:          "gpt-4o-mini",
		Tier:           "cheap",
		RouteScore:     0.75,
		RouteReason:    "lowest cost",
		Status:         StatusTruncated,
		HTTPStatus:     200,
		ErrorCode:      "idle_timeout",
		ErrorMessage:   "stream idle for 30s",
		Attempts: []Attempt{
			{Provider: "azure", Model: "gpt-4o-mini", Status: 0, Error: "dial tcp: refused", DurationMS: 12},
			{Provider: "openai-main", Model: "gpt-4o-mini", Status: 200, DurationMS: 900},
		},
		Stream:           true,
		PromptTokens:     1000,
		CompletionTokens: 200,
		CachedTokens:     300,
		CacheWriteTokens: 40,
		ReasoningTokens:  50,
		UsageEstimated:   true,
		CostUSD:          0.0123,
		SavedUSD:         0.0042,
		PriceUnknown:     true,
		LatencyMS:        912.5,
		TTFTMS:           88.25,
		ClientCancelled:  true,
	}
}

func TestOpenMigratesAndIsIdempotent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "data")
	path := filepath.Join(dir, "usage.db")
	s, err := OpenSQLite(path)
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatalf("parent dir not created: %v", err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("parent dir mode = %o, want 700", perm)
	}
	want := fmt.Sprint(len(migrations))
	if v := pragma(t, s, "user_version"); v != want {
		t.Errorf("user_version = %s, want %s", v, want)
	}
	if m := pragma(t, s, "journal_mode"); m != "wal" {
		t.Errorf("journal_mode = %q, want wal", m)
	}
	if fk := pragma(t, s, "foreign_keys"); fk != "1" {
		t.Errorf("foreign_keys = %s, want 1", fk)
	}
	for _, name := range []string{"requests", "keys", "requests_time", "requests_key_id", "requests_model", "keys_hash"} {
		var n int
		if err := s.db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = ?`, name).Scan(&n); err != nil || n != 1 {
			t.Errorf("schema object %s: count %d, err %v", name, n, err)
		}
	}
	if err := s.WriteRows(context.Background(), []Row{fullRow("r1")}); err != nil {
		t.Fatalf("WriteRows: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	// Reopening must not reapply anything: a second CREATE TABLE would fail.
	s, err = OpenSQLite(path)
	if err != nil {
		t.Fatalf("reopening: %v", err)
	}
	defer s.Close()
	if v := pragma(t, s, "user_version"); v != want {
		t.Errorf("user_version after reopen = %s, want %s", v, want)
	}
	if _, err := s.Request(context.Background(), "r1"); err != nil {
		t.Errorf("row written before reopen: %v", err)
	}
}

func TestOpenRejectsNewerSchema(t *testing.T) {
	s, path := openTest(t)
	if _, err := s.db.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, len(migrations)+1)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := OpenSQLite(path)
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("OpenSQLite on newer schema: err = %v, want ErrSchemaTooNew", err)
	}
}

func TestOpenPathWithURICharacters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "odd?name#1%20.db")
	s, err := OpenSQLite(path)
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	defer s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not created at the literal path: %v", err)
	}
}

func TestRowRoundTrip(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	full := fullRow("req_full")
	minimal := Row{ID: "req_min", Status: StatusOK}
	if err := s.WriteRows(ctx, []Row{full, minimal}); err != nil {
		t.Fatalf("WriteRows: %v", err)
	}

	for _, want := range []Row{full, minimal} {
		got, err := s.Request(ctx, want.ID)
		if err != nil {
			t.Fatalf("Request(%s): %v", want.ID, err)
		}
		if !got.Time.Equal(want.Time) {
			t.Errorf("%s: Time = %v, want %v", want.ID, got.Time, want.Time)
		}
		if !want.Time.IsZero() && got.Time.Location() != time.UTC {
			t.Errorf("%s: Time location = %v, want UTC", want.ID, got.Time.Location())
		}
		got.Time, want.Time = time.Time{}, time.Time{}
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("%s round trip:\n got %+v\nwant %+v", want.ID, *got, want)
		}
	}

	var attempts string
	if err := s.db.QueryRow(`SELECT attempts FROM requests WHERE id = 'req_full'`).Scan(&attempts); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.db.QueryRow(`SELECT json_array_length(attempts) FROM requests WHERE id = 'req_full'`).Scan(&n); err != nil || n != 2 {
		t.Errorf("attempts column %q: json_array_length = %d, err %v; want 2", attempts, n, err)
	}

	if _, err := s.Request(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Request(unknown): err = %v, want ErrNotFound", err)
	}

	// A retried batch must not fail on rows that made it the first time,
	// and must not overwrite them.
	again := fullRow("req_full")
	again.Model = "changed"
	if err := s.WriteRows(ctx, []Row{again, {ID: "req_new"}}); err != nil {
		t.Fatalf("WriteRows with existing id: %v", err)
	}
	if got, _ := s.Request(ctx, "req_full"); got.Model != full.Model {
		t.Errorf("existing row overwritten: model %q", got.Model)
	}
	if _, err := s.Request(ctx, "req_new"); err != nil {
		t.Errorf("new row in the same batch: %v", err)
	}
}

func TestKeyInsertAndLookup(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	k := &Key{
		ID: "key_1", Name: "ci", Project: "search", Owner: "ana@example.com",
		Prefix: "lg-abcde", Hash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		Models: []string{"gpt-4o*", "claude-*"}, RPM: 60, TPM: 100000, Concurrency: 4,
		Status:    KeySuspended,
		ExpiresAt: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
		CreatedAt: time.Date(2025, 1, 1, 0, 0, 0, 5, time.UTC),
		Metadata:  map[string]string{"team": "search", "cost_center": "42"},
	}
	if err := s.InsertKey(ctx, k); err != nil {
		t.Fatalf("InsertKey: %v", err)
	}
	got, err := s.LookupKey(ctx, k.Hash)
	if err != nil {
		t.Fatalf("LookupKey: %v", err)
	}
	if !reflect.DeepEqual(got, k) {
		t.Errorf("LookupKey:\n got %+v\nwant %+v", got, k)
	}

	if _, err := s.LookupKey(ctx, "0000"); !errors.Is(err, ErrNotFound) {
		t.Errorf("LookupKey(unknown): err = %v, want ErrNotFound", err)
	}

	dup := *k
	dup.ID = "key_2"
	if err := s.InsertKey(ctx, &dup); !errors.Is(err, ErrExists) {
		t.Errorf("InsertKey with taken hash: err = %v, want ErrExists", err)
	}
	dup = *k
	dup.Hash = "other"
	if err := s.InsertKey(ctx, &dup); !errors.Is(err, ErrExists) {
		t.Errorf("InsertKey with taken id: err = %v, want ErrExists", err)
	}

	// Defaults: a bare key is active, never expires, and gets a creation time.
	before := time.Now()
	if err := s.InsertKey(ctx, &Key{ID: "key_3", Hash: "h3"}); err != nil {
		t.Fatalf("InsertKey bare: %v", err)
	}
	bare, err := s.LookupKey(ctx, "h3")
	if err != nil {
		t.Fatalf("LookupKey bare: %v", err)
	}
	if bare.Status != KeyActive || !bare.ExpiresAt.IsZero() || bare.CreatedAt.Before(before.Add(-time.Second)) ||
		bare.Models != nil || bare.Metadata != nil {
		t.Errorf("bare key defaults: %+v", bare)
	}

	if err := s.InsertKey(ctx, &Key{ID: "key_4"}); err == nil {
		t.Error("InsertKey without hash succeeded")
	}
}

func TestClosedStoreReturnsErrClosed(t *testing.T) {
	s, _ := openTest(t)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx := context.Background()
	checks := map[string]error{
		"LookupKey": func() error { _, err := s.LookupKey(ctx, "h"); return err }(),
		"InsertKey": s.InsertKey(ctx, &Key{ID: "k", Hash: "h"}),
		"WriteRows": s.WriteRows(ctx, []Row{{ID: "r"}}),
		"Request":   func() error { _, err := s.Request(ctx, "r"); return err }(),
		"Close":     s.Close(),
	}
	for name, err := range checks {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: err = %v, want ErrClosed", name, err)
		}
	}
}

func BenchmarkLookupKey(b *testing.B) {
	s, _ := openTest(b)
	ctx := context.Background()
	const keys = 10000
	for i := range keys {
		if err := s.InsertKey(ctx, &Key{ID: fmt.Sprintf("key_%d", i), Hash: fmt.Sprintf("%064x", i)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := s.LookupKey(ctx, fmt.Sprintf("%064x", i%keys)); err != nil {
				b.Error(err)
				return
			}
			i += 7
		}
	})
}
