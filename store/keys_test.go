package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

var (
	secretPattern = regexp.MustCompile(`^lg_[0-9A-Za-z]{40}$`)
	keyIDPattern  = regexp.MustCompile(`^key_[0-9A-Za-z]{16}$`)
)

func TestCreateKeyStoresOnlyHashAndPrefix(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "usage.db")
	s, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	clock := useClock(t, time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC))
	if err := s.CreateProject(ctx, &Project{ID: "prj_search", Name: "search"}); err != nil {
		t.Fatal(err)
	}

	k := &Key{Name: "ci", Project: "search", Owner: "ana@example.com", Models: []string{"gpt-5*", "anthropic/*"},
		RPM: 60, TPM: 1000, Concurrency: 4, DailyRequests: 500, DailyTokens: 1e6,
		BudgetUSD: 10, BudgetPeriod: PeriodWeek, ExpiresAt: clock.Now().Add(24 * time.Hour),
		Metadata: map[string]string{"env": "ci"},
		Hash:     "ignored", Prefix: "ignored"}
	secret, err := s.CreateKey(ctx, k)
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	sum := sha256.Sum256([]byte(secret))
	hash := hex.EncodeToString(sum[:])
	if len(secret) != 43 || !secretPattern.MatchString(secret) {
		t.Errorf("secret %q: want lg_ and 40 base62 characters", secret)
	}
	if !keyIDPattern.MatchString(k.ID) || k.Hash != hash || k.Prefix != secret[:8] ||
		k.Project != "prj_search" || k.Status != KeyActive ||
		!k.CreatedAt.Equal(clock.Now()) || !k.UpdatedAt.Equal(clock.Now()) {
		t.Errorf("CreateKey wrote back %+v", k)
	}
	got, err := s.LookupKey(ctx, hash)
	if err != nil {
		t.Fatalf("LookupKey(sha256(secret)): %v", err)
	}
	if !reflect.DeepEqual(got, k) {
		t.Errorf("LookupKey:\n got %+v\nwant %+v", got, k)
	}
	if byID, err := s.GetKey(ctx, k.ID); err != nil || !reflect.DeepEqual(byID, k) {
		t.Errorf("GetKey = %+v, %v", byID, err)
	}
	other, err := s.CreateKey(ctx, &Key{})
	if err != nil || other == secret || !secretPattern.MatchString(other) {
		t.Errorf("second CreateKey = %q, %v", other, err)
	}

	// Neither the tables nor the files hold the secret; they do hold the
	// hash, which shows the scan would have found it.
	var dump string
	if err := s.db.QueryRow(`SELECT group_concat(id || name || project || owner || prefix || hash || models || metadata)
		FROM keys`).Scan(&dump); err != nil {
		t.Fatal(err)
	}
	var secrets string
	if err := s.db.QueryRow(`SELECT group_concat(hash || key_id || prefix) FROM key_secrets`).Scan(&secrets); err != nil {
		t.Fatal(err)
	}
	for _, sec := range []string{secret, other} {
		if strings.Contains(dump+secrets, sec) || strings.Contains(dump+secrets, sec[8:]) {
			t.Errorf("secret %s found in the key tables", sec)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(path + "*")
	var all []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	if !bytes.Contains(all, []byte(hash)) {
		t.Fatalf("hash not found in %v: the scan is not looking at the data", files)
	}
	for _, sec := range []string{secret, other} {
		if bytes.Contains(all, []byte(sec)) || bytes.Contains(all, []byte(sec[8:])) {
			t.Errorf("secret %s found in the database files", sec)
		}
	}
}

func TestCreateKeyValidates(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	clock := useClock(t, time.Date(2026, 5, 6, 0, 0, 0, 0, time.UTC))
	for _, c := range []struct {
		k     Key
		field string
	}{
		{Key{Project: "nope"}, "project"},
		{Key{Status: KeyRevoked}, "status"},
		{Key{Status: "paused"}, "status"},
		{Key{RPM: -1}, "limits.rpm"},
		{Key{TPM: -1}, "limits.tpm"},
		{Key{Concurrency: -1}, "limits.concurrency"},
		{Key{DailyRequests: -1}, "limits.daily_requests"},
		{Key{DailyTokens: -1}, "limits.daily_tokens"},
		{Key{BudgetUSD: 1}, "budget.period"},
		{Key{BudgetPeriod: "fortnight"}, "budget.period"},
		{Key{BudgetUSD: -1, BudgetPeriod: PeriodDay}, "budget.usd"},
		{Key{Models: []string{"gpt-*", ""}}, "models"},
		{Key{Name: "a\x00b"}, "name"},
		{Key{ID: "bad id"}, "id"},
		{Key{ExpiresAt: clock.Now()}, "expires_at"},
	} {
		_, err := s.CreateKey(ctx, &c.k)
		wantInvalid(t, fmt.Sprintf("CreateKey(%+v)", c.k), err, c.field)
	}
	_, err := s.CreateKey(ctx, &Key{Project: "nope"})
	if err == nil || !strings.Contains(err.Error(), "project: no such project") {
		t.Errorf("CreateKey with unknown project: err = %v", err)
	}
	if _, err := s.CreateKey(ctx, &Key{ID: "key_fixed"}); err != nil {
		t.Fatalf("CreateKey with a chosen id: %v", err)
	}
	if _, err := s.CreateKey(ctx, &Key{ID: "key_fixed"}); !errors.Is(err, ErrExists) {
		t.Errorf("CreateKey with a taken id: err = %v, want ErrExists", err)
	}
	var n int
	if err := s.db.QueryRow(`SELECT count(*) FROM keys`).Scan(&n); err != nil || n != 1 {
		t.Errorf("keys stored after refusals: %d, %v; want 1", n, err)
	}
}

func TestListAndUpdateKeys(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	clock := useClock(t, time.Date(2026, 5, 6, 0, 0, 0, 0, time.UTC))
	for _, id := range []string{"alpha", "beta"} {
		if err := s.CreateProject(ctx, &Project{ID: id, Name: strings.ToUpper(id)}); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	for _, project := range []string{"alpha", "beta", "alpha", ""} {
		clock.Advance(time.Second)
		k := &Key{Project: project}
		if _, err := s.CreateKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, k.ID)
	}
	// A key from before projects, with a free-form project.
	if err := s.InsertKey(ctx, &Key{ID: "legacy", Hash: "h", Project: "search",
		CreatedAt: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	keyIDs := func(keys []Key) []string {
		var out []string
		for _, k := range keys {
			out = append(out, k.ID)
		}
		return out
	}
	for _, c := range []struct {
		project string
		want    []string
	}{
		{"", []string{ids[3], ids[2], ids[1], ids[0], "legacy"}},
		{"alpha", []string{ids[2], ids[0]}},
		{"ALPHA", []string{ids[2], ids[0]}},
		{"beta", []string{ids[1]}},
		{"search", []string{"legacy"}},
		{"nope", nil},
	} {
		keys, err := s.ListKeys(ctx, c.project)
		if err != nil {
			t.Fatalf("ListKeys(%q): %v", c.project, err)
		}
		if keys == nil || !reflect.DeepEqual(keyIDs(keys), c.want) {
			t.Errorf("ListKeys(%q) = %v, want %v", c.project, keyIDs(keys), c.want)
		}
	}

	cur, err := s.GetKey(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	upd := *cur
	upd.Name, upd.Owner, upd.Models = "renamed", "bo@example.com", []string{"auto"}
	upd.RPM, upd.TPM, upd.Concurrency, upd.DailyRequests, upd.DailyTokens = 1, 2, 3, 4, 5
	upd.BudgetUSD, upd.BudgetPeriod = 2.5, PeriodTotal
	upd.Status, upd.ExpiresAt = KeySuspended, clock.Now().Add(time.Hour)
	upd.Metadata = map[string]string{"a": "b"}
	upd.Project, upd.Hash, upd.Prefix, upd.CreatedAt = "beta", "x", "y", time.Time{} // not mutable
	if err := s.UpdateKey(ctx, &upd); err != nil {
		t.Fatalf("UpdateKey: %v", err)
	}
	if upd.Project != "alpha" || upd.Hash != cur.Hash || upd.Prefix != cur.Prefix ||
		!upd.CreatedAt.Equal(cur.CreatedAt) || !upd.UpdatedAt.Equal(clock.Now()) {
		t.Errorf("UpdateKey wrote back %+v", upd)
	}
	got, err := s.GetKey(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, &upd) {
		t.Errorf("after UpdateKey:\n got %+v\nwant %+v", got, &upd)
	}

	bad := *got
	bad.Status = ""
	wantInvalid(t, "UpdateKey without status", s.UpdateKey(ctx, &bad), "status")
	bad = *got
	bad.TPM = -5
	wantInvalid(t, "UpdateKey with negative tpm", s.UpdateKey(ctx, &bad), "limits.tpm")
	bad = *got
	bad.ID = "nope"
	if err := s.UpdateKey(ctx, &bad); !errors.Is(err, ErrNotFound) {
		t.Errorf("UpdateKey(unknown): err = %v, want ErrNotFound", err)
	}
	if _, err := s.GetKey(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetKey(unknown): err = %v, want ErrNotFound", err)
	}
}

func lookup(t *testing.T, s *SQLite, secret string) (*Key, error) {
	t.Helper()
	return s.LookupKey(context.Background(), HashSecret(secret))
}

func TestRotateKeyGrace(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	clock := useClock(t, time.Date(2026, 5, 6, 0, 0, 0, 0, time.UTC))
	k := &Key{Name: "svc"}
	s1, err := s.CreateKey(ctx, k)
	if err != nil {
		t.Fatal(err)
	}

	clock.Advance(time.Minute)
	s2, err := s.RotateKey(ctx, k.ID, time.Hour)
	if err != nil {
		t.Fatalf("RotateKey: %v", err)
	}
	if !secretPattern.MatchString(s2) || s2 == s1 {
		t.Fatalf("rotated secret %q", s2)
	}
	works := func(when string, secret string) {
		t.Helper()
		got, err := lookup(t, s, secret)
		if err != nil || got.ID != k.ID {
			t.Errorf("%s: LookupKey(%s) = %+v, %v; want key %s", when, secret[:8], got, err, k.ID)
		}
	}
	fails := func(when string, secret string) {
		t.Helper()
		if got, err := lookup(t, s, secret); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: LookupKey(%s) = %+v, %v; want ErrNotFound", when, secret[:8], got, err)
		}
	}
	works("right after rotation", s1)
	works("right after rotation", s2)
	if cur, _ := lookup(t, s, s1); cur.Hash != HashSecret(s2) || cur.Prefix != s2[:8] || !cur.UpdatedAt.Equal(clock.Now()) {
		t.Errorf("key after rotation: %+v", cur)
	}

	// A second rotation inside the grace: each old secret keeps its own
	// expiry.
	clock.Advance(30 * time.Minute)
	s3, err := s.RotateKey(ctx, k.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(30*time.Minute - time.Nanosecond)
	works("just before the first grace ends", s1)
	works("just before the first grace ends", s2)
	clock.Advance(time.Nanosecond)
	fails("when the first grace ends", s1)
	works("during the second grace", s2)
	works("during the second grace", s3)
	clock.Advance(30 * time.Minute)
	fails("after both graces", s1)
	fails("after both graces", s2)
	works("after both graces", s3)

	// Grace 0: the old secret stops at once, and expired grace rows are
	// cleaned up on the way.
	s4, err := s.RotateKey(ctx, k.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	fails("after rotation without grace", s3)
	works("after rotation without grace", s4)
	var rows int
	if err := s.db.QueryRow(`SELECT count(*) FROM key_secrets WHERE key_id = ?`, k.ID).Scan(&rows); err != nil || rows != 1 {
		t.Errorf("key_secrets rows after expiry and grace 0: %d, %v; want 1", rows, err)
	}

	_, err = s.RotateKey(ctx, k.ID, -time.Second)
	wantInvalid(t, "RotateKey with negative grace", err, "grace")
	_, err = s.RotateKey(ctx, k.ID, 400*24*time.Hour)
	wantInvalid(t, "RotateKey with a grace over a year", err, "grace")
	if _, err := s.RotateKey(ctx, "nope", time.Hour); !errors.Is(err, ErrNotFound) {
		t.Errorf("RotateKey(unknown): err = %v, want ErrNotFound", err)
	}
}

func TestRevokeKey(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	clock := useClock(t, time.Date(2026, 5, 6, 0, 0, 0, 0, time.UTC))
	k := &Key{Name: "leaked"}
	old, err := s.CreateKey(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := s.RotateKey(ctx, k.ID, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	if err := s.RevokeKey(ctx, k.ID); err != nil {
		t.Fatalf("RevokeKey: %v", err)
	}
	got, err := lookup(t, s, cur)
	if err != nil || got.Status != KeyRevoked || !got.UpdatedAt.Equal(clock.Now()) {
		t.Errorf("current secret after revoke: %+v, %v; want status revoked", got, err)
	}
	if got, err := lookup(t, s, old); !errors.Is(err, ErrNotFound) {
		t.Errorf("grace secret after revoke: %+v, %v; want ErrNotFound", got, err)
	}

	if err := s.RevokeKey(ctx, k.ID); err != nil {
		t.Errorf("revoking twice: %v", err)
	}
	if _, err := s.RotateKey(ctx, k.ID, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("RotateKey on a revoked key: err = %v, want ErrInvalid", err)
	}
	back := *got
	back.Status = KeyActive
	wantInvalid(t, "reactivating a revoked key", s.UpdateKey(ctx, &back), "status")
	rename := *got
	rename.Name = "leaked-2024"
	if err := s.UpdateKey(ctx, &rename); err != nil {
		t.Errorf("renaming a revoked key: %v", err)
	}
	if err := s.RevokeKey(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("RevokeKey(unknown): err = %v, want ErrNotFound", err)
	}

	// Revoking through UpdateKey drops grace secrets too.
	k2 := &Key{}
	old2, err := s.CreateKey(ctx, k2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RotateKey(ctx, k2.ID, time.Hour); err != nil {
		t.Fatal(err)
	}
	cur2, err := s.GetKey(ctx, k2.ID)
	if err != nil {
		t.Fatal(err)
	}
	cur2.Status = KeyRevoked
	if err := s.UpdateKey(ctx, cur2); err != nil {
		t.Fatal(err)
	}
	if _, err := lookup(t, s, old2); !errors.Is(err, ErrNotFound) {
		t.Errorf("grace secret after UpdateKey(revoked): err = %v, want ErrNotFound", err)
	}
}
