package caddymodule

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/llmgate/llmgate/store"
)

// keyJSON is the key object of the admin API. The secret appears only in
// the answers to create and rotate.
type keyJSON struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Project string   `json:"project"`
	Owner   string   `json:"owner"`
	Prefix  string   `json:"prefix"`
	Models  []string `json:"models"`
	governanceJSON
	Status    string            `json:"status"`
	CreatedAt time.Time         `json:"created_at"`
	ExpiresAt *time.Time        `json:"expires_at"`
	Metadata  map[string]string `json:"metadata"`
	Secret    string            `json:"secret,omitempty"`
}

// keyInput is a create or update request; absent fields are unchanged.
type keyInput struct {
	Name      *string            `json:"name"`
	Project   *string            `json:"project"`
	Owner     *string            `json:"owner"`
	Models    *[]string          `json:"models"`
	Limits    *limitsInput       `json:"limits"`
	Quotas    *quotasInput       `json:"quotas"`
	Budget    *budgetInput       `json:"budget"`
	Status    *string            `json:"status"`
	ExpiresAt *string            `json:"expires_at"`
	Metadata  *map[string]string `json:"metadata"`
}

// apply validates in and writes it into k.
func (in *keyInput) apply(k *store.Key, now time.Time) error {
	if in.Name != nil {
		if strings.TrimSpace(*in.Name) == "" {
			return badField("name", "must not be empty")
		}
		k.Name = *in.Name
	}
	if in.Project != nil {
		k.Project = *in.Project
	}
	if in.Owner != nil {
		k.Owner = *in.Owner
	}
	if in.Models != nil {
		for _, m := range *in.Models {
			if strings.TrimSpace(m) == "" {
				return badField("models", "patterns must not be empty")
			}
		}
		k.Models = *in.Models
	}
	l := keyLimits(k)
	if err := applyGovernance(in.Limits, in.Quotas, in.Budget, &l, &k.BudgetUSD, &k.BudgetPeriod); err != nil {
		return err
	}
	k.RPM, k.TPM, k.Concurrency = l.RPM, l.TPM, l.Concurrency
	k.DailyRequests, k.DailyTokens = l.DailyRequests, l.DailyTokens
	if in.Status != nil {
		if !validStatuses[*in.Status] {
			return badField("status", "%q is not one of active, suspended, past_due (revoke with DELETE)", *in.Status)
		}
		k.Status = *in.Status
	}
	if in.ExpiresAt != nil {
		switch v := *in.ExpiresAt; {
		case v == "":
			k.ExpiresAt = time.Time{}
		default:
			if d, err := time.ParseDuration(v); err == nil && d > 0 {
				k.ExpiresAt = now.Add(d).UTC()
			} else if t, err := time.Parse(time.RFC3339, v); err == nil {
				k.ExpiresAt = t.UTC()
			} else {
				return badField("expires_at", "%q is neither an RFC 3339 time nor a duration such as 720h", v)
			}
		}
	}
	if in.Metadata != nil {
		k.Metadata = *in.Metadata
	}
	return nil
}

// keyLimits gathers the limits and quotas that store.Key keeps as fields
// of its own, so that keys go through the same governanceInput and
// governanceView as projects, which keep theirs in a store.Limits.
func keyLimits(k *store.Key) store.Limits {
	return store.Limits{RPM: k.RPM, TPM: k.TPM, Concurrency: k.Concurrency,
		DailyRequests: k.DailyRequests, DailyTokens: k.DailyTokens}
}

func keyView(ctx context.Context, st adminStore, k *store.Key, now time.Time) keyJSON {
	v := keyJSON{ID: k.ID, Name: k.Name, Project: k.Project, Owner: k.Owner, Prefix: k.Prefix, Models: k.Models,
		Status: k.Status, CreatedAt: k.CreatedAt, Metadata: k.Metadata,
		governanceJSON: governanceView(keyLimits(k), k.BudgetUSD, k.BudgetPeriod)}
	if v.Models == nil {
		v.Models = []string{}
	}
	if v.Metadata == nil {
		v.Metadata = map[string]string{}
	}
	if !k.ExpiresAt.IsZero() {
		t := k.ExpiresAt
		v.ExpiresAt = &t
	}
	if tot, err := st.KeyTotals(ctx, k.ID, periodStart(k.BudgetPeriod, now)); err == nil {
		v.Budget.SpentUSD = tot.CostUSD
	}
	return v
}

// serveKeys handles /llmgate/keys and /llmgate/keys/{id}[/rotate].
func serveKeys(w http.ResponseWriter, r *http.Request, rest string) error {
	st, hs, err := liveStore()
	if err != nil {
		return answerError(w, err)
	}
	ctx, now := r.Context(), time.Now()
	view := func(k *store.Key) keyJSON { return keyView(ctx, st, k, now) }
	id, action, _ := strings.Cut(rest, "/")
	switch {
	case id == "" && r.Method == http.MethodGet:
		flushRows(hs)
		keys, err := st.ListKeys(ctx, r.URL.Query().Get("project"))
		return answerList(w, keys, err, view)
	case id == "" && r.Method == http.MethodPost:
		var in keyInput
		if err := decode(r, &in); err != nil {
			return answerError(w, err)
		}
		if in.Name == nil {
			return answerError(w, badField("name", "is required"))
		}
		k := &store.Key{Status: "active"}
		if err := in.apply(k, now); err != nil {
			return answerError(w, err)
		}
		secret, err := st.CreateKey(ctx, k)
		if err != nil {
			return answerError(w, err)
		}
		v := view(k)
		v.Secret = secret
		return writeJSON(w, http.StatusCreated, v)
	case id != "" && action == "" && r.Method == http.MethodGet:
		flushRows(hs)
		k, err := st.GetKey(ctx, id)
		return answerOne(w, k, err, view)
	case id != "" && action == "" && r.Method == http.MethodPatch:
		k, err := st.GetKey(ctx, id)
		if err != nil {
			return answerError(w, err)
		}
		var in keyInput
		if err := decode(r, &in); err != nil {
			return answerError(w, err)
		}
		if k.Status == "revoked" {
			return answerError(w, &apiError{status: http.StatusConflict, message: "key " + id + " is revoked; create a new one"})
		}
		if err := in.apply(k, now); err != nil {
			return answerError(w, err)
		}
		if err := st.UpdateKey(ctx, k); err != nil {
			return answerError(w, err)
		}
		invalidate(hs)
		return writeJSON(w, http.StatusOK, view(k))
	case id != "" && action == "" && r.Method == http.MethodDelete:
		if err := st.RevokeKey(ctx, id); err != nil {
			return answerError(w, err)
		}
		invalidate(hs)
		k, err := st.GetKey(ctx, id)
		return answerOne(w, k, err, view)
	case id != "" && action == "rotate" && r.Method == http.MethodPost:
		var in struct {
			Grace *string `json:"grace"`
		}
		if r.ContentLength != 0 {
			if err := decode(r, &in); err != nil {
				return answerError(w, err)
			}
		}
		grace := 24 * time.Hour
		if in.Grace != nil {
			d, err := time.ParseDuration(*in.Grace)
			if err != nil || d < 0 {
				return answerError(w, badField("grace", "%q is not a duration such as 24h or 0s", *in.Grace))
			}
			grace = d
		}
		secret, err := st.RotateKey(ctx, id, grace)
		if err != nil {
			return answerError(w, err)
		}
		invalidate(hs)
		k, err := st.GetKey(ctx, id)
		if err != nil {
			return answerError(w, err)
		}
		v := view(k)
		v.Secret = secret
		return writeJSON(w, http.StatusOK, v)
	}
	return notAllowed(w, r)
}
