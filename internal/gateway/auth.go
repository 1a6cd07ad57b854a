package gateway

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"

	"github.com/llmgate/llmgate/store"
)

// StaticKey is a gateway key written in the configuration.
type StaticKey struct {
	Secret string
	Name   string
	// Models are glob patterns the key may use; empty allows all.
	Models []string
}

// Principal is the authenticated caller.
type Principal struct {
	KeyID   string
	Name    string
	Project string
	Models  []string

	hash [32]byte
}

func hashSecret(s string) [32]byte { return sha256.Sum256([]byte(s)) }

// bearer extracts the gateway key from Authorization: Bearer or x-api-key.
func bearer(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
			return strings.TrimSpace(h[7:])
		}
		return ""
	}
	return strings.TrimSpace(r.Header.Get("X-Api-Key"))
}

// authError is an authentication or account-state failure with its status.
type authError struct {
	status  int
	typ     string
	code    string
	message string
}

var errNoKey = &authError{http.StatusUnauthorized, errAuthentication, "invalid_api_key",
	"missing gateway key: send it as 'Authorization: Bearer <key>' or 'x-api-key: <key>'"}
var errBadKey = &authError{http.StatusUnauthorized, errAuthentication, "invalid_api_key",
	"invalid gateway key: check the key, or ask your gateway admin for a new one"}

// authenticate resolves the caller's key: static keys first (a map keyed
// by the secret's hash, confirmed in constant time), then keys in the
// store by hash. Secrets are never compared or logged in the clear.
func (g *Gateway) authenticate(ctx context.Context, r *http.Request) (*Principal, *authError) {
	secret := bearer(r)
	if secret == "" {
		return nil, errNoKey
	}
	h := hashSecret(secret)
	// The map is keyed by the hash, so lookup time says nothing about the
	// secret; the final comparison is constant-time all the same.
	if p, ok := g.keys[h]; ok && subtle.ConstantTimeCompare(p.hash[:], h[:]) == 1 {
		return p, nil
	}
	if g.cfg.Store == nil {
		return nil, errBadKey
	}
	k, err := g.cfg.Store.Store.LookupKey(ctx, hex.EncodeToString(h[:]))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, errBadKey
		}
		g.log.Error("looking up gateway key", zapErr(err))
		return nil, &authError{http.StatusServiceUnavailable, errUpstream, "store_unavailable",
			"the gateway could not check the key right now; retry shortly"}
	}
	switch k.Status {
	case "", "active":
	case "revoked":
		return nil, &authError{http.StatusUnauthorized, errAuthentication, "invalid_api_key", "this gateway key was revoked"}
	case "suspended":
		return nil, &authError{http.StatusPaymentRequired, errBilling, "account_suspended", "this key's account is suspended; contact your gateway admin"}
	case "past_due":
		return nil, &authError{http.StatusPaymentRequired, errBilling, "payment_required", "this key's account is past due; settle the balance to resume"}
	default:
		return nil, errBadKey
	}
	if !k.ExpiresAt.IsZero() && !g.now().Before(k.ExpiresAt) {
		return nil, &authError{http.StatusUnauthorized, errAuthentication, "invalid_api_key", "this gateway key has expired"}
	}
	return &Principal{KeyID: k.ID, Name: k.Name, Project: k.Project, Models: k.Models}, nil
}

// allows reports whether the key's scope admits a target. Patterns are
// matched against the model as the client named it, the model as it goes
// upstream, and "account/model", so `gpt-5*`, `anthropic/*` and `auto`
// all mean what they say.
func (p *Principal) allows(requested, account, model string) bool {
	if len(p.Models) == 0 {
		return true
	}
	for _, pat := range p.Models {
		if glob(pat, requested) || glob(pat, model) || glob(pat, account+"/"+model) {
			return true
		}
	}
	return false
}

// glob matches s against a pattern where '*' matches any run of
// characters, '/' included.
func glob(pat, s string) bool {
	if !strings.Contains(pat, "*") {
		return pat == s
	}
	parts := strings.Split(pat, "*")
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return strings.HasSuffix(s, last)
}
