// Package spend enforces daily quotas and USD budgets. Before a call the
// worst-case cost (and the estimated prompt tokens) is reserved in every
// window that applies (the key's and the project's budget periods, the
// key's quota day), all windows locked together in a fixed order, so no
// number of concurrent requests can push spend past a budget. After the
// call the reservation is settled to the real cost. A window's counters
// start from the usage rows in the store the first time it is used, so a
// restart resets nothing; the Meter itself outlives reloads (UsagePool).
package spend

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/llmgate/llmgate/store"
)

// Source rebuilds a window from the usage rows.
type Source interface {
	KeyTotals(ctx context.Context, keyID string, since time.Time) (store.Totals, error)
	ProjectTotals(ctx context.Context, project string, since time.Time) (store.Totals, error)
}

// Credits is the store of project credit balances: read at a window's
// first use, and charged (durably, in the ledger) as paid requests
// settle.
type Credits interface {
	GetProject(ctx context.Context, id string) (*store.Project, error)
	AddCredit(ctx context.Context, projectID string, usd float64, note string) (float64, error)
}

// Budget is a USD cap over a period (day, week, month, total).
type Budget struct {
	USD    float64
	Period string
}

// Policy is what applies to one request.
type Policy struct {
	KeyID, Project string
	KeyBudget      Budget
	ProjectBudget  Budget
	DailyRequests  int64 // the key's quota per calendar day
	DailyTokens    int64
	// Zone is the calendar of the quota day (default UTC).
	Zone *time.Location
	// CreditProject, when set, makes the request draw on that project's
	// credit balance (its policy marks the request as paid).
	CreditProject string
}

// Active reports whether anything is to be enforced.
func (p Policy) Active() bool {
	return p.KeyBudget.USD > 0 || p.ProjectBudget.USD > 0 || p.DailyRequests > 0 || p.DailyTokens > 0 || p.CreditProject != ""
}

// Denied explains a refusal.
type Denied struct {
	// Quota: a daily quota (429); Credit: the credit balance (402
	// payment_required); otherwise a budget (402 budget_exceeded).
	Quota, Credit bool
	// Message says what was exceeded, by how much, and when it resets.
	Message string
	// RetryAfter is the time to the next reset (zero for total budgets).
	RetryAfter time.Duration
}

type windowKey struct {
	kind, id string
	start    int64
}

type window struct {
	mu       sync.Mutex
	key      windowKey
	loaded   bool
	cost     float64
	requests int64
	tokens   int64
	resCost  float64
	resReq   int64
	resTok   int64
	balance  float64 // credit windows: the project's balance
	// inflight is charged in memory but not yet in the ledger; a re-read
	// of the balance subtracts it, so a refresh never overstates credit.
	inflight float64
}

// Meter holds the windows.
type Meter struct {
	mu  sync.Mutex
	src Source
	// Flush, when set, is called before a window is loaded so that rows
	// still queued in the batch writer are counted.
	Flush   func()
	credits Credits
	m       map[windowKey]*window
}

// SetCredits sets the store of credit balances.
func (m *Meter) SetCredits(c Credits) {
	m.mu.Lock()
	m.credits = c
	m.mu.Unlock()
}

// RefreshCredit makes the next request re-read a project's balance (after
// a top-up through the admin API); reservations in flight are kept.
func (m *Meter) RefreshCredit(project string) {
	w := m.window(windowKey{"credit", project, 0})
	w.mu.Lock()
	w.loaded = false
	w.mu.Unlock()
}

// NewMeter returns an empty meter reading from src.
func NewMeter(src Source) *Meter { return &Meter{src: src, m: map[windowKey]*window{}} }

// SetSource replaces the store the windows are rebuilt from (a reload
// may point at another database).
func (m *Meter) SetSource(src Source, flush func()) {
	m.mu.Lock()
	m.src, m.Flush = src, flush
	m.mu.Unlock()
}

func (m *Meter) window(k windowKey) *window {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := m.m[k]
	if w == nil {
		w = &window{key: k}
		m.m[k] = w
		// Old windows are of no further use; drop them now and then.
		if len(m.m) > 50000 {
			for kk := range m.m {
				if kk.start < k.start {
					delete(m.m, kk)
				}
			}
		}
	}
	return w
}

// load rebuilds a window from the rows, once. Called with w.mu held.
func (m *Meter) load(ctx context.Context, w *window) error {
	if w.loaded {
		return nil
	}
	m.mu.Lock()
	src, flush, credits := m.src, m.Flush, m.credits
	m.mu.Unlock()
	if w.key.kind == "credit" {
		if credits == nil {
			return fmt.Errorf("no credit store for project %s", w.key.id)
		}
		p, err := credits.GetProject(ctx, w.key.id)
		if err != nil {
			return fmt.Errorf("reading project %s's credit balance: %w", w.key.id, err)
		}
		w.balance, w.loaded = p.CreditUSD-w.inflight, true
		return nil
	}
	if flush != nil {
		flush()
	}
	var t store.Totals
	var err error
	if src != nil {
		since := time.Time{}
		if w.key.start != 0 {
			since = time.Unix(w.key.start, 0)
		}
		if w.key.kind == "project" {
			t, err = src.ProjectTotals(ctx, w.key.id, since)
		} else {
			t, err = src.KeyTotals(ctx, w.key.id, since)
		}
		if err != nil {
			return fmt.Errorf("rebuilding spend from the usage rows: %w", err)
		}
	}
	w.cost, w.requests, w.tokens, w.loaded = t.CostUSD, t.Requests, t.Tokens, true
	return nil
}

// Hold is a reservation, settled by Settle.
type Hold struct {
	m      *Meter
	roles  []role
	cost   float64
	tokens int64
	once   sync.Once
}

// role is one reservation in one window: a budget's cost, a quota's
// request and tokens, or a credit balance's cost.
type role struct {
	w      *window
	quota  bool
	credit bool
}

type check struct {
	w      *window
	budget Budget
	who    string
	quota  bool
	credit bool
	reset  time.Time
}

// Reserve checks and reserves a request: worstUSD against the budgets,
// one request and estTokens against the quotas.
func (m *Meter) Reserve(ctx context.Context, p Policy, worstUSD float64, estTokens int64, now time.Time) (*Hold, *Denied, error) {
	if !p.Active() {
		return &Hold{}, nil, nil
	}
	var checks []check
	add := func(kind, id string, b Budget, quota bool, who string) {
		start, reset := periodBounds(b.Period, now, p.Zone)
		if quota {
			start, reset = periodBounds("day", now, p.Zone)
		}
		checks = append(checks, check{w: m.window(windowKey{kind, id, unix(start)}), budget: b, who: who, quota: quota, reset: reset})
	}
	if p.KeyBudget.USD > 0 {
		add("key", p.KeyID, p.KeyBudget, false, "this key's")
	}
	if p.ProjectBudget.USD > 0 && p.Project != "" {
		add("project", p.Project, p.ProjectBudget, false, "project "+p.Project+"'s")
	}
	if p.DailyRequests > 0 || p.DailyTokens > 0 {
		add("key", p.KeyID, Budget{}, true, "this key's")
	}
	if p.CreditProject != "" {
		checks = append(checks, check{w: m.window(windowKey{"credit", p.CreditProject, 0}), credit: true, who: "project " + p.CreditProject + "'s"})
	}
	// Lock every window in one fixed order: concurrent requests sharing
	// windows can neither deadlock nor interleave between check and take.
	sort.Slice(checks, func(i, j int) bool { return less(checks[i].w.key, checks[j].w.key) })
	var locked []*window
	defer func() {
		for _, w := range locked {
			w.mu.Unlock()
		}
	}()
	for _, c := range checks {
		if len(locked) > 0 && locked[len(locked)-1] == c.w {
			continue
		}
		c.w.mu.Lock()
		locked = append(locked, c.w)
		if err := m.load(ctx, c.w); err != nil {
			return nil, nil, err
		}
	}
	for _, c := range checks {
		w := c.w
		if c.credit {
			if left := w.balance - w.resCost; left <= 0 || left < worstUSD {
				return nil, &Denied{Credit: true, Message: fmt.Sprintf(
					"%s credit balance is $%.4f ($%.4f reserved by requests in flight) and this request may cost up to $%.4f; top up the project's credit",
					c.who, w.balance, w.resCost, worstUSD)}, nil
			}
			continue
		}
		if c.quota {
			if p.DailyRequests > 0 && w.requests+w.resReq+1 > p.DailyRequests {
				return nil, &Denied{Quota: true, RetryAfter: c.reset.Sub(now), Message: fmt.Sprintf(
					"%s daily quota of %d requests is used up; it resets at %s", c.who, p.DailyRequests, c.reset.Format(time.RFC3339))}, nil
			}
			if p.DailyTokens > 0 && w.tokens+w.resTok+estTokens > p.DailyTokens {
				return nil, &Denied{Quota: true, RetryAfter: c.reset.Sub(now), Message: fmt.Sprintf(
					"%s daily quota of %d tokens is used up (%d used); it resets at %s", c.who, p.DailyTokens, w.tokens+w.resTok, c.reset.Format(time.RFC3339))}, nil
			}
			continue
		}
		if w.cost+w.resCost+worstUSD > c.budget.USD {
			d := &Denied{Message: fmt.Sprintf("%s %s budget of $%.2f is spent ($%.4f used, $%.4f reserved by requests in flight, this request may cost up to $%.4f)",
				c.who, periodName(c.budget.Period), c.budget.USD, w.cost, w.resCost, worstUSD)}
			if !c.reset.IsZero() {
				d.RetryAfter = c.reset.Sub(now)
				d.Message += "; it resets at " + c.reset.Format(time.RFC3339)
			}
			return nil, d, nil
		}
	}
	h := &Hold{m: m, cost: worstUSD, tokens: estTokens}
	for _, c := range checks {
		if c.quota {
			c.w.resReq++
			c.w.resTok += estTokens
		} else {
			c.w.resCost += worstUSD
		}
		h.roles = append(h.roles, role{c.w, c.quota, c.credit})
	}
	return h, nil, nil
}

// Settle replaces the reservation with what the request really cost.
// Every window counts the request once (its cost, one request, its
// tokens); each role releases its own reservation.
func (h *Hold) Settle(usd float64, tokens int64) {
	if h == nil || h.m == nil {
		return
	}
	h.once.Do(func() {
		counted := map[*window]bool{}
		for _, r := range h.roles {
			w := r.w
			w.mu.Lock()
			if r.credit {
				w.resCost -= h.cost
				if usd > 0 {
					// Debit now, write the ledger without the lock: other
					// requests of the project must not wait on the disk.
					w.balance -= usd
					w.inflight += usd
					w.mu.Unlock()
					h.m.mu.Lock()
					credits := h.m.credits
					h.m.mu.Unlock()
					_, err := credits.AddCredit(context.Background(), w.key.id, -usd, "usage")
					w.mu.Lock()
					w.inflight -= usd
					if err != nil {
						w.loaded = false // re-read the truth next time
					}
				}
				w.mu.Unlock()
				continue
			}
			if r.quota {
				w.resReq--
				w.resTok -= h.tokens
			} else {
				w.resCost -= h.cost
			}
			if !counted[w] {
				counted[w] = true
				w.cost += usd
				w.requests++
				w.tokens += tokens
			}
			w.mu.Unlock()
		}
	})
}

func less(a, b windowKey) bool {
	if a.kind != b.kind {
		return a.kind < b.kind
	}
	if a.id != b.id {
		return a.id < b.id
	}
	return a.start < b.start
}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func periodName(p string) string {
	switch p {
	case "day":
		return "daily"
	case "week":
		return "weekly"
	case "month":
		return "monthly"
	}
	return "total"
}

// periodBounds returns the start of the period containing now and the
// next reset (zero for "total"). Budget periods are UTC calendar periods
// (weeks start on Monday); the quota day follows zone.
func periodBounds(period string, now time.Time, zone *time.Location) (time.Time, time.Time) {
	loc := time.UTC
	if period == "day" && zone != nil {
		loc = zone
	}
	n := now.In(loc)
	day := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, loc)
	switch period {
	case "day":
		return day, day.AddDate(0, 0, 1)
	case "week":
		start := day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
		return start, start.AddDate(0, 0, 7)
	case "month":
		start := time.Date(n.Year(), n.Month(), 1, 0, 0, 0, 0, loc)
		return start, start.AddDate(0, 1, 0)
	}
	return time.Time{}, time.Time{}
}
