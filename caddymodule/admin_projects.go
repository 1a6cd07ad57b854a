package caddymodule

import (
	"context"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/llmgate/llmgate/store"
)

// projectJSON is the project object of the admin API.
type projectJSON struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Status    string  `json:"status"`
	CreditUSD float64 `json:"credit_usd"`
	governanceJSON
	PaidPolicy string            `json:"paid_policy"`
	CreatedAt  time.Time         `json:"created_at"`
	Metadata   map[string]string `json:"metadata"`
}

type projectInput struct {
	ID         *string            `json:"id"`
	Name       *string            `json:"name"`
	Status     *string            `json:"status"`
	Limits     *limitsInput       `json:"limits"`
	Quotas     *quotasInput       `json:"quotas"`
	Budget     *budgetInput       `json:"budget"`
	PaidPolicy *string            `json:"paid_policy"`
	Metadata   *map[string]string `json:"metadata"`
}

func (in *projectInput) apply(p *store.Project, creating bool) error {
	if in.ID != nil {
		if !creating {
			return badField("id", "cannot be changed")
		}
		p.ID = *in.ID
	}
	if in.Name != nil {
		if strings.TrimSpace(*in.Name) == "" {
			return badField("name", "must not be empty")
		}
		p.Name = *in.Name
	}
	if in.Status != nil {
		if !validStatuses[*in.Status] {
			return badField("status", "%q is not one of active, suspended, past_due", *in.Status)
		}
		p.Status = *in.Status
	}
	if err := applyGovernance(in.Limits, in.Quotas, in.Budget, &p.Limits, &p.BudgetUSD, &p.BudgetPeriod); err != nil {
		return err
	}
	if in.PaidPolicy != nil {
		switch *in.PaidPolicy {
		case store.PaidNone, store.PaidAll, store.PaidPremium, store.PaidAllExceptRoutes, store.PaidPremiumExceptRoutes:
			p.PaidPolicy = *in.PaidPolicy
		default:
			return badField("paid_policy", "%q is not one of none, all, premium, all_except_routes, premium_except_routes", *in.PaidPolicy)
		}
	}
	if in.Metadata != nil {
		p.Metadata = *in.Metadata
	}
	return nil
}

func projectView(ctx context.Context, st adminStore, p *store.Project, now time.Time) projectJSON {
	v := projectJSON{ID: p.ID, Name: p.Name, Status: p.Status, CreditUSD: p.CreditUSD,
		PaidPolicy: p.PaidPolicy, CreatedAt: p.CreatedAt, Metadata: p.Metadata,
		governanceJSON: governanceView(p.Limits, p.BudgetUSD, p.BudgetPeriod)}
	if v.PaidPolicy == "" {
		v.PaidPolicy = "none"
	}
	if v.Metadata == nil {
		v.Metadata = map[string]string{}
	}
	if tot, err := st.ProjectTotals(ctx, p.ID, periodStart(p.BudgetPeriod, now)); err == nil {
		v.Budget.SpentUSD = tot.CostUSD
	}
	return v
}

// serveProjects handles /llmgate/projects, /llmgate/projects/{id} and
// /llmgate/projects/{id}/credits.
func serveProjects(w http.ResponseWriter, r *http.Request, rest string) error {
	st, hs, err := liveStore()
	if err != nil {
		return answerError(w, err)
	}
	ctx, now := r.Context(), time.Now()
	view := func(p *store.Project) projectJSON { return projectView(ctx, st, p, now) }
	id, action, _ := strings.Cut(rest, "/")
	switch {
	case id == "" && r.Method == http.MethodGet:
		flushRows(hs)
		ps, err := st.ListProjects(ctx)
		return answerList(w, ps, err, view)
	case id == "" && r.Method == http.MethodPost:
		var in projectInput
		if err := decode(r, &in); err != nil {
			return answerError(w, err)
		}
		if in.Name == nil {
			return answerError(w, badField("name", "is required"))
		}
		p := &store.Project{Status: "active", PaidPolicy: "none"}
		if err := in.apply(p, true); err != nil {
			return answerError(w, err)
		}
		if err := st.CreateProject(ctx, p); err != nil {
			return answerError(w, err)
		}
		return writeJSON(w, http.StatusCreated, view(p))
	case id != "" && action == "" && r.Method == http.MethodGet:
		flushRows(hs)
		p, err := st.GetProject(ctx, id)
		return answerOne(w, p, err, view)
	case id != "" && action == "" && r.Method == http.MethodPatch:
		p, err := st.GetProject(ctx, id)
		if err != nil {
			return answerError(w, err)
		}
		var in projectInput
		if err := decode(r, &in); err != nil {
			return answerError(w, err)
		}
		if err := in.apply(p, false); err != nil {
			return answerError(w, err)
		}
		if err := st.UpdateProject(ctx, p); err != nil {
			return answerError(w, err)
		}
		invalidate(hs) // a suspended project's keys stop at once
		return writeJSON(w, http.StatusOK, view(p))
	case id != "" && action == "credits" && r.Method == http.MethodPost:
		var in struct {
			USD  *float64 `json:"usd"`
			Note string   `json:"note"`
		}
		if err := decode(r, &in); err != nil {
			return answerError(w, err)
		}
		if in.USD == nil || *in.USD == 0 || math.IsNaN(*in.USD) || math.IsInf(*in.USD, 0) {
			return answerError(w, badField("usd", "is required and must be a non-zero amount (negative to debit)"))
		}
		bal, err := st.AddCredit(ctx, id, *in.USD, in.Note)
		if err != nil {
			return answerError(w, err)
		}
		for _, h := range hs {
			if h.meter != nil {
				// The gateway re-reads the balance on its next paid request.
				if pr, err := st.GetProject(ctx, id); err == nil {
					h.meter.RefreshCredit(pr.ID)
				}
			}
		}
		return writeJSON(w, http.StatusOK, map[string]any{"project": id, "balance_usd": bal})
	}
	return notAllowed(w, r)
}
