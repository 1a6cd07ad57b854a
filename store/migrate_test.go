package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// v2Schema is the number of migrations released before projects existed.
const v2Schema = 2

// createV2 writes a database the way the release before projects left
// it: the first two migrations, one request and one key written with that
// release's column lists.
func createV2(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite3", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, m := range migrations[:v2Schema] {
		if _, err := db.Exec(m.sql); err != nil {
			t.Fatalf("applying %s: %v", m.name, err)
		}
	}
	stmts := []string{
		fmt.Sprintf(`PRAGMA user_version = %d`, v2Schema),
		`INSERT INTO requests (id, time, key_id, key_name, project, model, provider, status,
			prompt_tokens, completion_tokens, cost_usd, latency_ms, attempts)
		 VALUES ('req_old', 1741064767000000000, 'key_old', 'ci', 'search', 'gpt-4o-mini',
			'openai-main', 'ok', 1000, 200, 0.5, 912.5,
			'[{"provider":"openai-main","model":"gpt-4o-mini","status":200,"duration_ms":900}]')`,
		`INSERT INTO keys (id, name, project, owner, prefix, hash, models, rpm, tpm,
			concurrency, status, expires_at, created_at, metadata)
		 VALUES ('key_old', 'ci', 'search', 'ana@example.com', 'lg_abcde', 'hash_old',
			'["gpt-4o*"]', 60, 1000, 4, 'suspended', 0, 1735689600000000000, '{"team":"search"}')`,
	}
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func TestMigrateFromV2KeepsRowsAndKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "usage.db")
	createV2(t, path)
	ctx := context.Background()

	s, err := OpenSQLite(path)
	if err != nil {
		t.Fatalf("OpenSQLite on a v2 database: %v", err)
	}
	defer s.Close()
	if v, want := pragma(t, s, "user_version"), fmt.Sprint(len(migrations)); v != want {
		t.Errorf("user_version = %s, want %s", v, want)
	}
	for _, name := range []string{"projects", "projects_name", "credit_ledger", "credit_ledger_project",
		"key_secrets", "key_secrets_key", "keys_project", "requests_project", "requests_provider"} {
		var n int
		if err := s.db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = ?`, name).Scan(&n); err != nil || n != 1 {
			t.Errorf("schema object %s: count %d, err %v", name, n, err)
		}
	}

	r, err := s.Request(ctx, "req_old")
	if err != nil {
		t.Fatalf("Request(req_old) after upgrade: %v", err)
	}
	if r.KeyID != "key_old" || r.Project != "search" || r.PromptTokens != 1000 || r.CostUSD != 0.5 ||
		r.LatencyMS != 912.5 || len(r.Attempts) != 1 || r.Attempts[0].DurationMS != 900 ||
		!r.Time.Equal(time.Unix(0, 1741064767000000000)) {
		t.Errorf("row after upgrade: %+v", r)
	}

	want := &Key{
		ID: "key_old", Name: "ci", Project: "search", Owner: "ana@example.com",
		Prefix: "lg_abcde", Hash: "hash_old", Models: []string{"gpt-4o*"},
		RPM: 60, TPM: 1000, Concurrency: 4, Status: KeySuspended,
		CreatedAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		Metadata:  map[string]string{"team": "search"},
	}
	got, err := s.LookupKey(ctx, "hash_old")
	if err != nil {
		t.Fatalf("LookupKey(old key) after upgrade: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("old key after upgrade:\n got %+v\nwant %+v", got, want)
	}

	// The old key's secret was carried into key_secrets, so no new key
	// can take its hash, and rotation treats it like any other key.
	if err := s.InsertKey(ctx, &Key{ID: "key_new", Hash: "hash_old"}); !errors.Is(err, ErrExists) {
		t.Errorf("InsertKey reusing the old key's hash: err = %v, want ErrExists", err)
	}
	clock := useClock(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	secret, err := s.RotateKey(ctx, "key_old", time.Hour)
	if err != nil {
		t.Fatalf("RotateKey(old key): %v", err)
	}
	for _, h := range []string{"hash_old", HashSecret(secret)} {
		if k, err := s.LookupKey(ctx, h); err != nil || k.ID != "key_old" {
			t.Errorf("LookupKey(%s) during grace: %v, %v", h, k, err)
		}
	}
	clock.Advance(time.Hour)
	if _, err := s.LookupKey(ctx, "hash_old"); !errors.Is(err, ErrNotFound) {
		t.Errorf("old hash after grace: err = %v, want ErrNotFound", err)
	}

	// Reopening an upgraded database applies nothing twice.
	s.Close()
	s2, err := OpenSQLite(path)
	if err != nil {
		t.Fatalf("reopening the upgraded database: %v", err)
	}
	defer s2.Close()
	if _, err := s2.Request(ctx, "req_old"); err != nil {
		t.Errorf("Request after reopen: %v", err)
	}
}

func TestNewMethodsOnClosedStore(t *testing.T) {
	s, _ := openTest(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	checks := map[string]error{
		"CreateProject": s.CreateProject(ctx, &Project{Name: "p"}),
		"GetProject":    second(s.GetProject(ctx, "p")),
		"ListProjects":  second(s.ListProjects(ctx)),
		"UpdateProject": s.UpdateProject(ctx, &Project{ID: "p", Name: "p", Status: ProjectActive, PaidPolicy: PaidNone}),
		"AddCredit":     second(s.AddCredit(ctx, "p", 1, "")),
		"CreateKey":     second(s.CreateKey(ctx, &Key{})),
		"GetKey":        second(s.GetKey(ctx, "k")),
		"ListKeys":      second(s.ListKeys(ctx, "")),
		"UpdateKey":     s.UpdateKey(ctx, &Key{ID: "k", Status: KeyActive}),
		"RotateKey":     second(s.RotateKey(ctx, "k", 0)),
		"RevokeKey":     s.RevokeKey(ctx, "k"),
		"Usage":         second(s.Usage(ctx, UsageQuery{})),
		"KeyTotals":     second(s.KeyTotals(ctx, "k", time.Time{})),
		"ProjectTotals": second(s.ProjectTotals(ctx, "p", time.Time{})),
		"Requests": func() error {
			_, _, err := s.Requests(ctx, RequestQuery{})
			return err
		}(),
	}
	for name, err := range checks {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: err = %v, want ErrClosed", name, err)
		}
	}
}

func second[T any](_ T, err error) error { return err }
