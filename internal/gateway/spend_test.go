package gateway_test

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/catalog"
	"github.com/llmgate/llmgate/internal/gateway"
	"github.com/llmgate/llmgate/internal/spend"
	"github.com/llmgate/llmgate/store"
)

const budgetKey = "lg_budgetBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"

// pricey is a mock model at $1000 per 1M tokens, so a handful of tokens
// costs cents and a budget is reached within a few requests.
func priceyCatalog() *catalog.Catalog {
	return catalog.Default().With(catalog.Model{ID: "pricey", Families: []string{"mock"}, Context: 100000, MaxOutput: 50,
		Price: catalog.Price{Input: 1000, Output: 1000}, Source: "test", Checked: "2026-11-22"})
}

// A $0.10 budget under 100 concurrent requests whose costs are known:
// the recorded spend never passes $0.10, and the refusals are 402
// budget_exceeded.
func TestBudgetHoldsUnderConcurrency(t *testing.T) {
	h := newHarness(t, harnessOpts{accounts: []acctSpec{{name: "mock", typ: "mock", models: []string{"pricey"}}},
		catalog: priceyCatalog(),
		keys:    []gateway.StaticKey{{Secret: budgetKey, Name: "budget", Quotas: gateway.Quotas{Budget: spend.Budget{USD: 0.10, Period: "total"}}}}})
	body := `{"model":"pricey","max_tokens":10,"messages":[{"role":"user","content":"echo one two three"}]}`
	var ok, refused atomic.Int32
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ids []string
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, got := h.chat(body, "Authorization", "Bearer "+budgetKey)
			switch resp.StatusCode {
			case 200:
				ok.Add(1)
				mu.Lock()
				ids = append(ids, resp.Header.Get("X-Llmgate-Request-Id"))
				mu.Unlock()
			case 402:
				refused.Add(1)
				if e := decodeErr(t, got); e.Error.Type != "billing_error" || e.Error.Code != "budget_exceeded" {
					t.Errorf("refusal %+v", e.Error)
				}
			default:
				t.Errorf("status %d: %s", resp.StatusCode, got)
			}
		}()
	}
	wg.Wait()
	total := 0.0
	for _, id := range ids {
		total += h.row(id).CostUSD
	}
	if total > 0.10+1e-9 || ok.Load() == 0 || refused.Load() == 0 {
		t.Fatalf("%d ok, %d refused, spent $%.6f of a $0.10 budget", ok.Load(), refused.Load(), total)
	}
	t.Logf("%d ok, %d refused, spent $%.6f of $0.10", ok.Load(), refused.Load(), total)

	// A restart (a fresh meter on the same rows) remembers the spend.
	m := spend.NewMeter(h.db)
	p := spend.Policy{KeyID: "static:budget", KeyBudget: spend.Budget{USD: total + 0.001, Period: "total"}}
	if _, d, err := m.Reserve(t.Context(), p, 0.01, 0, time.Now()); err != nil || d == nil {
		t.Fatalf("after a restart the spend was forgotten: %v %+v", err, d)
	}
}

// Daily quotas: the next request past the quota is a 429 quota_exceeded
// with Retry-After until the next reset.
func TestDailyRequestQuota(t *testing.T) {
	h := newHarness(t, harnessOpts{accounts: []acctSpec{{name: "mock", typ: "mock", models: []string{"mock-mini"}}},
		keys: []gateway.StaticKey{{Secret: budgetKey, Name: "quota", Quotas: gateway.Quotas{DailyRequests: 3}}}})
	for i := 0; i < 3; i++ {
		if resp, got := h.chat(chatBody("mock-mini", false, false), "Authorization", "Bearer "+budgetKey); resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, got)
		}
	}
	resp, got := h.chat(chatBody("mock-mini", false, false), "Authorization", "Bearer "+budgetKey)
	ra, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	if e := decodeErr(t, got); resp.StatusCode != http.StatusTooManyRequests || e.Error.Code != "quota_exceeded" || ra < 1 || ra > 86400 {
		t.Fatalf("status %d %+v Retry-After %q", resp.StatusCode, e.Error, resp.Header.Get("Retry-After"))
	}
	if row := h.row(resp.Header.Get("X-Llmgate-Request-Id")); row.Status != store.StatusError || row.ErrorCode != "quota_exceeded" {
		t.Errorf("row %q %q", row.Status, row.ErrorCode)
	}
}
