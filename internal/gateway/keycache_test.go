package gateway_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/llmgate/llmgate/store"
)

// flakyStore fails key lookups while down is set, like a database that
// is locked or unreachable for a moment.
type flakyStore struct {
	*store.SQLite
	down atomic.Bool
}

var errLocked = errors.New("database is locked")

func (f *flakyStore) LookupKey(ctx context.Context, hash string) (*store.Key, error) {
	if f.down.Load() {
		return nil, errLocked
	}
	return f.SQLite.LookupKey(ctx, hash)
}

// A database that is briefly unavailable does not turn valid keys into
// 401s: the last answer is served from the cache. A key never seen
// before gets a 503, not a 401.
func TestKeysSurviveStoreOutage(t *testing.T) {
	up := newUpstream(t, jsonReply(200, fixture(t, "openai/chat-completion-text.json")))
	h := newHarness(t, harnessOpts{accounts: []acctSpec{{name: "oa", baseURL: up.URL, models: []string{"gpt-4o-mini"}}}})
	const secret = "lg_storedSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS"
	sum := sha256.Sum256([]byte(secret))
	if err := h.db.InsertKey(context.Background(), &store.Key{ID: "k1", Name: "stored", Hash: hex.EncodeToString(sum[:]), Prefix: secret[:8], Status: "active"}); err != nil {
		t.Fatal(err)
	}
	fs := &flakyStore{SQLite: h.db}
	h.swapStore(fs)
	if resp, got := h.chat(chatBody("gpt-4o-mini", false, false), "Authorization", "Bearer "+secret); resp.StatusCode != 200 {
		t.Fatalf("before the outage: %d %s", resp.StatusCode, got)
	}
	fs.down.Store(true)
	h.advance(10 * 1e9) // past the cache's freshness: the store is asked and fails
	if resp, got := h.chat(chatBody("gpt-4o-mini", false, false), "Authorization", "Bearer "+secret); resp.StatusCode != 200 {
		t.Fatalf("during the outage a valid key got %d: %s", resp.StatusCode, got)
	}
	resp, got := h.chat(chatBody("gpt-4o-mini", false, false), "Authorization", "Bearer lg_neverSeenNNNNNNNNNNNNNNNNNNNNNNNNNNNNN")
	if resp.StatusCode != 503 {
		t.Fatalf("an unknown key during the outage got %d (want 503, not 401): %s", resp.StatusCode, got)
	}
}
