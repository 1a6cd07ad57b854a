package gateway

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/llmgate/llmgate/internal/limits"
	"github.com/llmgate/llmgate/internal/spend"
	"github.com/llmgate/llmgate/store"
)

// StaticKey is a gateway key written in the configuration.
type StaticKey struct {
	Secret string
	Name   string
	// Models are glob patterns the key may use; empty allows all.
	Models []string
	// Limits are the key's own limits (0 fields inherit the defaults).
	Limits limits.Limits
	// Quotas are the key's daily quotas and budget.
	Quotas Quotas
}

// Principal is the authenticated caller.
type Principal struct {
	KeyID   string
	Name    string
	Project string
	Models  []string
	// Limits are the key's own; ProjectLimits its project's defaults.
	Limits, ProjectLimits limits.Limits
	// Quotas are the key's (merged with its project's); ProjectBudget
	// the project's own budget, held beside the key's.
	Quotas        Quotas
	ProjectBudget spend.Budget
	// PaidPolicy is the project's credit policy: "none", "all", "premium".
	PaidPolicy string

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
	hexHash := hex.EncodeToString(h[:])
	now := g.now()
	cached, fresh, usable := g.keyCache.get(hexHash, now)
	if fresh {
		return cached.p, cached.authErr
	}
	e, err := g.lookupStored(ctx, hexHash, now)
	if err != nil {
		if usable {
			// The database hiccupped: keep answering as it last did.
			g.log.Warn("key lookup failed; serving the cached answer", zapErr(err))
			return cached.p, cached.authErr
		}
		g.log.Error("looking up gateway key", zapErr(err))
		return nil, &authError{http.StatusServiceUnavailable, errUpstream, "store_unavailable",
			"the gateway could not check the key right now; retry shortly"}
	}
	g.keyCache.put(hexHash, e)
	return e.p, e.authErr
}

// lookupStored resolves a stored key and its project to a principal or a
// refusal; an error means the store could not answer.
func (g *Gateway) lookupStored(ctx context.Context, hexHash string, now time.Time) (keyEntry, error) {
	e := keyEntry{at: now}
	k, err := g.cfg.Store.Store.LookupKey(ctx, hexHash)
	if errors.Is(err, store.ErrNotFound) {
		e.authErr = errBadKey
		return e, nil
	}
	if err != nil {
		return e, err
	}
	switch k.Status {
	case "", "active":
	case "revoked":
		e.authErr = &authError{http.StatusUnauthorized, errAuthentication, "invalid_api_key", "this gateway key was revoked"}
		return e, nil
	case "suspended":
		e.authErr = &authError{http.StatusPaymentRequired, errBilling, "account_suspended", "this key is suspended; contact your gateway admin"}
		return e, nil
	case "past_due":
		e.authErr = &authError{http.StatusPaymentRequired, errBilling, "payment_required", "this key's account is past due; settle the balance to resume"}
		return e, nil
	default:
		e.authErr = errBadKey
		return e, nil
	}
	if !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt) {
		e.authErr = &authError{http.StatusUnauthorized, errAuthentication, "invalid_api_key", "this gateway key has expired"}
		return e, nil
	}
	p := &Principal{KeyID: k.ID, Name: k.Name, Project: k.Project, Models: k.Models,
		Limits: limits.Limits{RPM: k.RPM, TPM: k.TPM, Concurrency: k.Concurrency},
		Quotas: Quotas{DailyRequests: k.DailyRequests, DailyTokens: k.DailyTokens, Budget: spend.Budget{USD: k.BudgetUSD, Period: k.BudgetPeriod}}}
	if k.Project != "" {
		if ps, ok := g.cfg.Store.Store.(projectGetter); ok {
			pr, err := ps.GetProject(ctx, k.Project)
			switch {
			case errors.Is(err, store.ErrNotFound):
			case err != nil:
				return e, err
			case pr.Status == "suspended":
				e.authErr = &authError{http.StatusPaymentRequired, errBilling, "account_suspended",
					"project " + pr.Name + " is suspended; contact your gateway admin"}
				return e, nil
			case pr.Status == "past_due":
				e.authErr = &authError{http.StatusPaymentRequired, errBilling, "payment_required",
					"project " + pr.Name + " is past due; settle the balance to resume"}
				return e, nil
			default:
				p.ProjectLimits = limits.Limits{RPM: pr.Limits.RPM, TPM: pr.Limits.TPM, Concurrency: pr.Limits.Concurrency}
				// A key without quotas of its own takes its project's.
				p.Quotas = p.Quotas.merge(Quotas{DailyRequests: pr.Limits.DailyRequests, DailyTokens: pr.Limits.DailyTokens})
				p.ProjectBudget = spend.Budget{USD: pr.BudgetUSD, Period: pr.BudgetPeriod}
				p.PaidPolicy = pr.PaidPolicy
			}
		}
	}
	e.p = p
	return e, nil
}

// projectGetter is implemented by stores that keep projects.
type projectGetter interface {
	GetProject(ctx context.Context, id string) (*store.Project, error)
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
