package gateway

import (
	"net/http"
	"strconv"
	"time"

	"github.com/llmgate/llmgate/internal/spend"
	"github.com/llmgate/llmgate/router"
	"github.com/llmgate/llmgate/store"
)

// Quotas and budgets a principal carries (0: inherit).
type Quotas struct {
	DailyRequests, DailyTokens int64
	Budget                     spend.Budget
}

// merge fills q's zero fields from fallback.
func (q Quotas) merge(fallback Quotas) Quotas {
	if q.DailyRequests == 0 {
		q.DailyRequests = fallback.DailyRequests
	}
	if q.DailyTokens == 0 {
		q.DailyTokens = fallback.DailyTokens
	}
	if q.Budget.USD == 0 {
		q.Budget = fallback.Budget
	}
	return q
}

// defaultMaxOutput is the output assumed for the worst-case cost when
// neither the request nor the catalogue says how long an answer can be.
const defaultMaxOutput = 4096

// reserve holds the request's worst-case cost against the key's and the
// project's budgets and one request (and its estimated prompt) against
// the key's daily quotas, before any provider sees it.
func (x *exchange) reserve(targets []router.Target) bool {
	m := x.g.cfg.Spend
	if m == nil {
		return true
	}
	p := x.principal
	q := p.Quotas.merge(x.g.cfg.DefaultQuotas)
	pol := spend.Policy{KeyID: p.KeyID, Project: p.Project, KeyBudget: q.Budget, ProjectBudget: p.ProjectBudget,
		DailyRequests: q.DailyRequests, DailyTokens: q.DailyTokens, Zone: x.g.cfg.QuotaZone}
	if x.paid(targets) {
		pol.CreditProject = p.Project
	}
	if !pol.Active() {
		return true
	}
	est := x.req.promptTokens()
	hold, denied, err := m.Reserve(x.r.Context(), pol, x.worstCost(targets, est), est, x.g.now())
	if err != nil {
		x.g.log.Error("checking budgets and quotas", zapErr(err))
		x.fail(http.StatusServiceUnavailable, errUpstream, "store_unavailable", "the gateway could not check this key's budget right now; retry shortly", "")
		return false
	}
	if denied == nil {
		x.hold = hold
		return true
	}
	if denied.RetryAfter > 0 {
		x.w.Header().Set("Retry-After", strconv.FormatInt(max(1, int64((denied.RetryAfter+time.Second-1)/time.Second)), 10))
	}
	switch {
	case denied.Quota:
		x.fail(http.StatusTooManyRequests, errRateLimit, "quota_exceeded", denied.Message, "")
	case denied.Credit:
		x.fail(http.StatusPaymentRequired, errBilling, "payment_required", denied.Message, "")
	default:
		x.fail(http.StatusPaymentRequired, errBilling, "budget_exceeded", denied.Message, "")
	}
	return false
}

// worstCost is the most the request can cost on any target of its plan:
// the estimated prompt at the input price plus the longest allowed answer
// at the output price. A model without a price costs 0 (and is flagged
// on its row).
func (x *exchange) worstCost(targets []router.Target, est int64) float64 {
	worst := 0.0
	for _, t := range targets {
		m, ok := x.g.cfg.Catalog.Lookup(t.Model)
		if !ok {
			continue
		}
		out := x.req.maxOutput()
		if out <= 0 {
			out = m.MaxOutput
		}
		if out <= 0 {
			out = defaultMaxOutput
		}
		pr := m.Price
		if m.LongContext != nil && est > m.LongContext.Threshold {
			pr = m.LongContext.Price
		}
		c := (float64(est)*pr.Input + float64(out)*pr.Output) / 1e6
		worst = max(worst, c)
	}
	return worst
}

// PremiumOutputPrice is the output price (USD per 1M tokens) from which
// a model counts as premium for the "premium" credit policy.
const PremiumOutputPrice = 10.0

// paid reports whether the project's policy makes this request draw on
// its credit balance: "all" requests, or "premium" ones (the model asked
// for lists an output price of $10 per 1M tokens or more: gpt-5, Claude
// Sonnet and Opus, Gemini Pro…); with "_except_routes", a request to a
// route draws on the daily quota only.
func (x *exchange) paid(targets []router.Target) bool {
	p := x.principal
	if p.Project == "" {
		return false
	}
	switch p.PaidPolicy {
	case store.PaidAll:
		return true
	case store.PaidAllExceptRoutes:
		return x.route == nil
	case store.PaidPremium, store.PaidPremiumExceptRoutes:
		if p.PaidPolicy == store.PaidPremiumExceptRoutes && x.route != nil {
			return false
		}
		if len(targets) == 0 {
			return false
		}
		m, ok := x.g.cfg.Catalog.Lookup(targets[0].Model)
		return ok && m.Price.Output >= PremiumOutputPrice
	}
	return false
}
