package limits

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// 200 concurrent requests against rpm 50 at one instant: exactly 50 pass,
// and the rejected ones do not count.
func TestRPMExactUnderConcurrency(t *testing.T) {
	s := NewSet()
	var ok, denied atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if tk, d := s.Admit("k", Limits{RPM: 50}, 0, t0); d == nil {
				ok.Add(1)
				tk.Done(0, t0)
			} else {
				denied.Add(1)
				if d.Which != Requests || d.RetryAfter <= 0 || d.State.RemainingRequests != 0 {
					t.Errorf("denial %+v", d)
				}
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 50 || denied.Load() != 150 {
		t.Fatalf("%d admitted, %d denied; want exactly 50 admitted", ok.Load(), denied.Load())
	}
	// Continuous refill: 50/min is one every 1.2 s.
	if _, d := s.Admit("k", Limits{RPM: 50}, 0, t0.Add(1100*time.Millisecond)); d == nil {
		t.Fatal("admitted before a token refilled")
	}
	if _, d := s.Admit("k", Limits{RPM: 50}, 0, t0.Add(1300*time.Millisecond)); d != nil {
		t.Fatalf("refused after a token refilled: %+v", d)
	}
}

func TestConcurrencyLimit(t *testing.T) {
	s := NewSet()
	var tickets []*Ticket
	for i := 0; i < 4; i++ {
		tk, d := s.Admit("k", Limits{Concurrency: 4}, 0, t0)
		if d != nil {
			t.Fatalf("request %d refused: %+v", i, d)
		}
		tickets = append(tickets, tk)
	}
	if _, d := s.Admit("k", Limits{Concurrency: 4}, 0, t0); d == nil || d.Which != Concurrency {
		t.Fatalf("a fifth concurrent request was admitted: %+v", d)
	}
	tickets[0].Done(0, t0)
	tickets[0].Done(0, t0) // idempotent
	if _, d := s.Admit("k", Limits{Concurrency: 4}, 0, t0); d != nil {
		t.Fatal("a freed slot was not reusable")
	}
	if _, d := s.Admit("k", Limits{Concurrency: 4}, 0, t0); d == nil {
		t.Fatal("Done twice freed two slots")
	}
}

// TPM: the estimate is taken up front and reconciled with the real usage.
func TestTPMReconcile(t *testing.T) {
	s := NewSet()
	l := Limits{TPM: 1000}
	tk, d := s.Admit("k", l, 300, t0)
	if d != nil || tk.State.RemainingTokens != 700 {
		t.Fatalf("admit: %+v %+v", tk, d)
	}
	tk.Done(500, t0) // used more than estimated
	tk2, d := s.Admit("k", l, 400, t0)
	if d != nil || tk2.State.RemainingTokens != 100 {
		t.Fatalf("after reconciling up: %+v %+v", tk2.State, d)
	}
	tk2.Done(100, t0) // used less: 300 back
	if _, d := s.Admit("k", l, 400, t0); d != nil {
		t.Fatalf("the over-estimate was not given back: %+v", d)
	}
	if _, d := s.Admit("k", l, 100, t0); d == nil || d.Which != Tokens || d.RetryAfter <= 0 {
		t.Fatalf("want a tokens denial, got %+v", d)
	}
	if _, d := s.Admit("other", l, 5000, t0); d == nil || !d.TooLarge {
		t.Fatalf("a request larger than the bucket must be refused as too large: %+v", d)
	}
}

// New limits are pushed into live buckets, keeping their fill.
func TestReconfigureKeepsFill(t *testing.T) {
	s := NewSet()
	for i := 0; i < 10; i++ {
		if _, d := s.Admit("k", Limits{RPM: 10}, 0, t0); d != nil {
			t.Fatal(d)
		}
	}
	if _, d := s.Admit("k", Limits{RPM: 10}, 0, t0); d == nil {
		t.Fatal("11th request admitted at rpm 10")
	}
	// What was used carries over: 10 of 10 used, raised to 20 leaves 10.
	for i := 0; i < 10; i++ {
		if _, d := s.Admit("k", Limits{RPM: 20}, 0, t0); d != nil {
			t.Fatalf("request %d after raising the limit: %+v", i, d)
		}
	}
	if _, d := s.Admit("k", Limits{RPM: 20}, 0, t0); d == nil {
		t.Fatal("raising the limit handed out a fresh full bucket")
	}
	// Lowered below what was used: wait for the refill.
	if _, d := s.Admit("k", Limits{RPM: 5}, 0, t0); d == nil {
		t.Fatal("lowering the limit forgot the use")
	}
	if tk, d := s.Admit("k", Limits{}, 0, t0); d != nil || tk == nil {
		t.Fatal("no limits must admit")
	}
}

func TestMerge(t *testing.T) {
	got := Limits{RPM: 5}.Merge(Limits{RPM: 100, TPM: 1000}).Merge(Limits{Concurrency: 3})
	if got != (Limits{RPM: 5, TPM: 1000, Concurrency: 3}) {
		t.Fatalf("%+v", got)
	}
}
