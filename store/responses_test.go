package store

import (
	"context"
	"errors"
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
