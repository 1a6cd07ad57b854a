package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// A stored response is found only by the key that made it, only until it
// expires, and is gone after a delete.
func TestStoredResponses(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	now := time.Now()
	r := &StoredResponse{ID: "resp_1", KeyID: "k1", CreatedAt: now, ExpiresAt: now.Add(time.Hour),
		PreviousID: "resp_0", Provider: "openai", Native: true,
		Input: []byte(`[{"role":"user","content":"hi"}]`), Response: []byte(`{"id":"resp_1","output":[]}`)}
	if err := s.PutResponse(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetResponse(ctx, "k1", "resp_1")
	if err != nil {
		t.Fatal(err)
	}
	if got.PreviousID != "resp_0" || !got.Native || got.Provider != "openai" || string(got.Input) != string(r.Input) || string(got.Response) != string(r.Response) {
		t.Fatalf("got %+v", got)
	}
	if _, err := s.GetResponse(ctx, "k2", "resp_1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another key read it: %v", err)
	}
	if err := s.DeleteResponse(ctx, "k2", "resp_1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another key deleted it: %v", err)
	}
	old := &StoredResponse{ID: "resp_old", KeyID: "k1", CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour), Response: []byte(`{}`)}
	if err := s.PutResponse(ctx, old); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetResponse(ctx, "k1", "resp_old"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expired response found: %v", err)
	}
	if err := s.DeleteResponse(ctx, "k1", "resp_1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetResponse(ctx, "k1", "resp_1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted response found: %v", err)
	}
	if err := s.PutResponse(ctx, &StoredResponse{ID: "x"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("response without a key stored: %v", err)
	}
}

// A conversation comes back newest first in one query, up to max turns,
// and ends at a turn that is another key's or expired.
func TestResponseChain(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	now := time.Now()
	put := func(id, key, prev string, expires time.Time) {
		t.Helper()
		if err := s.PutResponse(ctx, &StoredResponse{ID: id, KeyID: key, PreviousID: prev, CreatedAt: now, ExpiresAt: expires,
			Input: []byte(`["` + id + `"]`), Response: []byte(`{"id":"` + id + `"}`)}); err != nil {
			t.Fatal(err)
		}
	}
	later := now.Add(time.Hour)
	put("r0", "other", "", later)
	put("r1", "k", "r0", later)
	put("r2", "k", "r1", later)
	put("r3", "k", "r2", later)
	put("old", "k", "", now.Add(-time.Minute))
	put("r4", "k", "old", later)
	ids := func(chain []*StoredResponse) string {
		var out []string
		for _, r := range chain {
			out = append(out, r.ID+"<"+r.PreviousID+":"+string(r.Input))
		}
		return strings.Join(out, " ")
	}
	for _, c := range []struct {
		id   string
		max  int
		want string
	}{
		{"r3", 100, `r3<r2:["r3"] r2<r1:["r2"] r1<r0:["r1"]`}, // r0 is another key's
		{"r3", 2, `r3<r2:["r3"] r2<r1:["r2"]`},
		{"r4", 100, `r4<old:["r4"]`}, // old expired
	} {
		chain, err := s.ResponseChain(ctx, "k", c.id, c.max)
		if err != nil || ids(chain) != c.want {
			t.Errorf("%s max %d: %v %q, want %q", c.id, c.max, err, ids(chain), c.want)
		}
	}
	for _, id := range []string{"r0", "old", "nope"} {
		if _, err := s.ResponseChain(ctx, "k", id, 10); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", id, err)
		}
	}
}
