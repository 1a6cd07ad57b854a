package spend

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmgate/llmgate/store"
)

type fakeSource struct{ key, project store.Totals }

func (f *fakeSource) KeyTotals(context.Context, string, time.Time) (store.Totals, error) {
	return f.key, nil
}
func (f *fakeSource) ProjectTotals(context.Context, string, time.Time) (store.Totals, error) {
	return f.project, nil
}

var t0 = time.Date(2026, 11, 22, 15, 4, 5, 0, time.UTC)

// A $0.10 budget with 100 concurrent requests whose worst case is $0.003
// and real cost $0.002: the reservations never let spend pass $0.10.
func TestBudgetExactUnderConcurrency(t *testing.T) {
	m := NewMeter(&fakeSource{})
	p := Policy{KeyID: "k", KeyBudget: Budget{USD: 0.10, Period: "month"}}
	var admitted atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, d, err := m.Reserve(context.Background(), p, 0.003, 10, t0)
			if err != nil {
				t.Error(err)
				return
			}
			if d != nil {
				return
			}
			admitted.Add(1)
			h.Settle(0.002, 10)
		}()
	}
	wg.Wait()
	w := m.window(windowKey{"key", "k", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).Unix()})
	if w.cost > 0.10+1e-12 || w.resCost > 1e-12 || w.requests != int64(admitted.Load()) {
		t.Fatalf("spent %.4f reserved %.4f over %d requests (%d admitted)", w.cost, w.resCost, w.requests, admitted.Load())
	}
	if admitted.Load() < 33 { // at least every request whose worst case fits
		t.Fatalf("only %d admitted", admitted.Load())
	}
}

// Spend and quotas start from the usage rows: a restart resets nothing.
func TestRebuiltFromRows(t *testing.T) {
	src := &fakeSource{key: store.Totals{CostUSD: 4.99, Requests: 9, Tokens: 900}, project: store.Totals{CostUSD: 0.5}}
	m := NewMeter(src)
	p := Policy{KeyID: "k", Project: "p", KeyBudget: Budget{USD: 5, Period: "day"}}
	if _, d, _ := m.Reserve(context.Background(), p, 0.02, 0, t0); d == nil || d.Quota || d.RetryAfter <= 0 {
		t.Fatalf("a $5/day budget with $4.99 already spent admitted a $0.02 request: %+v", d)
	}
	if _, d, _ := m.Reserve(context.Background(), Policy{KeyID: "k", DailyRequests: 10}, 0, 0, t0); d != nil {
		t.Fatalf("the 10th request of the day was refused: %+v", d)
	}
	if _, d, _ := m.Reserve(context.Background(), Policy{KeyID: "k", DailyRequests: 10}, 0, 0, t0); d == nil || !d.Quota {
		t.Fatalf("the 11th request of the day was admitted: %+v", d)
	}
}

func TestQuotaTokensAndReset(t *testing.T) {
	m := NewMeter(&fakeSource{})
	paris, _ := time.LoadLocation("Europe/Paris")
	p := Policy{KeyID: "k", DailyTokens: 100, Zone: paris}
	h, d, _ := m.Reserve(context.Background(), p, 0, 60, t0)
	if d != nil {
		t.Fatal(d)
	}
	h.Settle(0, 90)
	_, d, _ = m.Reserve(context.Background(), p, 0, 20, t0)
	if d == nil || !d.Quota {
		t.Fatalf("90 of 100 tokens used, a 20-token request was admitted: %+v", d)
	}
	// Reset at midnight Paris time (23:00 UTC in November).
	if want := time.Date(2026, 11, 22, 23, 0, 0, 0, time.UTC).Sub(t0); d.RetryAfter != want {
		t.Errorf("retry after %v, want %v", d.RetryAfter, want)
	}
	if _, d, _ := m.Reserve(context.Background(), p, 0, 20, t0.Add(8*time.Hour)); d != nil {
		t.Fatalf("the quota did not reset on the next day: %+v", d)
	}
}

// The key's and the project's budgets are both held.
func TestProjectBudgetAcrossKeys(t *testing.T) {
	m := NewMeter(&fakeSource{})
	for i, key := range []string{"a", "b", "c"} {
		p := Policy{KeyID: key, Project: "p", ProjectBudget: Budget{USD: 1, Period: "total"}}
		h, d, _ := m.Reserve(context.Background(), p, 0.4, 0, t0)
		if (d == nil) != (i < 2) {
			t.Fatalf("key %s: denied=%v", key, d != nil)
		}
		if d == nil {
			h.Settle(0.4, 0)
		} else if d.RetryAfter != 0 {
			t.Errorf("a total budget has no reset: %+v", d)
		}
	}
}

type fakeCredits struct {
	mu      sync.Mutex
	balance float64
	charges []float64
}

func (f *fakeCredits) GetProject(context.Context, string) (*store.Project, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &store.Project{CreditUSD: f.balance}, nil
}

func (f *fakeCredits) AddCredit(_ context.Context, _ string, usd float64, _ string) (float64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.balance += usd
	f.charges = append(f.charges, usd)
	return f.balance, nil
}

// Paid requests draw on the project's credit: concurrent requests can
// never charge more than the balance, each charge lands in the ledger,
// and a top-up is seen after RefreshCredit.
func TestCredits(t *testing.T) {
	cr := &fakeCredits{balance: 0.05}
	m := NewMeter(&fakeSource{})
	m.SetCredits(cr)
	p := Policy{KeyID: "k", Project: "p", CreditProject: "p"}
	var ok atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, d, err := m.Reserve(context.Background(), p, 0.01, 0, t0)
			if err != nil || d != nil {
				if d != nil && !d.Credit {
					t.Errorf("denial %+v", d)
				}
				return
			}
			ok.Add(1)
			h.Settle(0.008, 0)
		}()
	}
	wg.Wait()
	if cr.balance < -1e-12 || len(cr.charges) != int(ok.Load()) || ok.Load() < 5 {
		t.Fatalf("balance %.4f after %d charges (%d admitted)", cr.balance, len(cr.charges), ok.Load())
	}
	if _, d, _ := m.Reserve(context.Background(), p, 0.01, 0, t0); d == nil || !d.Credit {
		t.Fatalf("an exhausted balance admitted a request: %+v", d)
	}
	cr.AddCredit(context.Background(), "p", 1, "top-up")
	m.RefreshCredit("p")
	if _, d, _ := m.Reserve(context.Background(), p, 0.01, 0, t0); d != nil {
		t.Fatalf("a top-up was not seen: %+v", d)
	}
}

// slowCredits holds AddCredit until released, like a slow disk.
type slowCredits struct {
	fakeCredits
	entered, release chan struct{}
}

func (s *slowCredits) AddCredit(ctx context.Context, p string, usd float64, n string) (float64, error) {
	s.entered <- struct{}{}
	<-s.release
	return s.fakeCredits.AddCredit(ctx, p, usd, n)
}

// The ledger write happens outside the window's lock: other requests go
// on meanwhile, and a refresh during the write does not count the charge
// as still available.
func TestCreditChargeOutsideLock(t *testing.T) {
	cr := &slowCredits{fakeCredits: fakeCredits{balance: 0.10}, entered: make(chan struct{}), release: make(chan struct{})}
	m := NewMeter(&fakeSource{})
	m.SetCredits(cr)
	p := Policy{KeyID: "k", Project: "p", CreditProject: "p"}
	h, d, _ := m.Reserve(context.Background(), p, 0.06, 0, t0)
	if d != nil {
		t.Fatal(d)
	}
	done := make(chan struct{})
	go func() { h.Settle(0.06, 0); close(done) }()
	<-cr.entered // the charge is being written
	m.RefreshCredit("p")
	if _, d, _ := m.Reserve(context.Background(), p, 0.05, 0, t0); d == nil {
		t.Fatal("a refresh during the ledger write handed out the charged credit again")
	}
	if _, d, _ := m.Reserve(context.Background(), p, 0.03, 0, t0); d != nil {
		t.Fatalf("the remaining $0.04 was refused while the write was pending: %+v", d)
	}
	close(cr.release)
	<-done
}
