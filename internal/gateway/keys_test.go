package gateway_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/llmgate/llmgate/store"
)

// Keys kept in the store are found by the hash of the secret, and their
// status and expiry decide the answer before any provider is called.
func TestStoredKeys(t *testing.T) {
	up := newUpstream(t, jsonReply(200, fixture(t, "openai/chat-completion-text.json")))
	h := newHarness(t, harnessOpts{accounts: []acctSpec{{name: "oa", baseURL: up.URL, models: []string{"gpt-4o-mini"}}}})
	add := func(id, secret, status string, expires time.Time, models ...string) {
		sum := sha256.Sum256([]byte(secret))
		if err := h.db.InsertKey(context.Background(), &store.Key{ID: id, Name: id, Project: "p1", Hash: hex.EncodeToString(sum[:]),
			Prefix: secret[:8], Status: status, ExpiresAt: expires, Models: models}); err != nil {
			t.Fatal(err)
		}
	}
	add("active", "lg_activeAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "active", time.Time{})
	add("revoked", "lg_revokedRRRRRRRRRRRRRRRRRRRRRRRRRRRRR", "revoked", time.Time{})
	add("expired", "lg_expiredEEEEEEEEEEEEEEEEEEEEEEEEEEEEE", "active", time.Now().Add(-time.Hour))
	add("suspended", "lg_suspendedSSSSSSSSSSSSSSSSSSSSSSSSSSS", "suspended", time.Time{})
	add("pastdue", "lg_pastdueDDDDDDDDDDDDDDDDDDDDDDDDDDDDD", "past_due", time.Time{})
	add("scoped", "lg_scopedCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC", "active", time.Time{}, "gpt-5*")

	cases := []struct {
		secret string
		status int
		code   string
	}{
		{"lg_activeAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 200, ""},
		{"lg_revokedRRRRRRRRRRRRRRRRRRRRRRRRRRRRR", 401, "invalid_api_key"},
		{"lg_expiredEEEEEEEEEEEEEEEEEEEEEEEEEEEEE", 401, "invalid_api_key"},
		{"lg_suspendedSSSSSSSSSSSSSSSSSSSSSSSSSSS", 402, "account_suspended"},
		{"lg_pastdueDDDDDDDDDDDDDDDDDDDDDDDDDDDDD", 402, "payment_required"},
		{"lg_scopedCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC", 403, "model_not_allowed"},
		{"lg_unknownUUUUUUUUUUUUUUUUUUUUUUUUUUUUU", 401, "invalid_api_key"},
	}
	for _, c := range cases {
		resp, body := h.chat(chatBody("gpt-4o-mini", false, false), "Authorization", "Bearer "+c.secret)
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d: %s", c.secret[:12], resp.StatusCode, c.status, body)
			continue
		}
		if c.status != http.StatusOK {
			if e := decodeErr(t, body); e.Error.Code != c.code {
				t.Errorf("%s: code %q, want %q", c.secret[:12], e.Error.Code, c.code)
			}
			continue
		}
		row := h.row(resp.Header.Get("X-Llmgate-Request-Id"))
		if row.KeyID != "active" || row.Project != "p1" || row.Status != "ok" {
			t.Errorf("row key %q project %q status %q", row.KeyID, row.Project, row.Status)
		}
	}
}
