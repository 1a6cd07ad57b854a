package router

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is an injectable clock for Health.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var clockStart = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newTestHealth(cfg BreakerConfig) (*Health, *fakeClock) {
	h := NewHealth(cfg)
	c := &fakeClock{t: clockStart}
	h.Now = c.Now
	return h, c
}

func failure(msg string) Outcome { return Outcome{Failure: true, Error: msg} }

var success = Outcome{Latency: 50 * time.Millisecond}

// state returns the Snapshot line of account/model ("" = account-wide).
func stateOf(t *testing.T, h *Health, account, model string) Status {
	t.Helper()
	for _, s := range h.Snapshot() {
		if s.Account == account && s.Model == model {
			return s
		}
	}
	t.Fatalf("no snapshot line for %s/%q in %+v", account, model, h.Snapshot())
	return Status{}
}

func wantAvailable(t *testing.T, h *Health, account, model string, want bool) {
	t.Helper()
	if got := h.Available(account, model); got != want {
		t.Fatalf("Available(%s, %s) = %v, want %v (snapshot %+v)", account, model, got, want, h.Snapshot())
	}
}

// openBreaker reports failures until the configured count is reached.
func openBreaker(t *testing.T, h *Health, account, model string, n int) {
	t.Helper()
	for i := range n {
		h.Report(account, model, failure(fmt.Sprintf("boom %d", i+1)))
	}
	wantAvailable(t, h, account, model, false)
}

// One failure never opens a breaker: not with the defaults, not with a
// threshold of three.
func TestBreakerOneFailureNeverOpens(t *testing.T) {
	for _, cfg := range []BreakerConfig{{}, {Failures: 3, Window: 10 * time.Second, Cooldown: time.Second}} {
		h, _ := newTestHealth(cfg)
		h.Report("a", "m", failure("boom"))
		if !h.Available("a", "m") || !h.Acquire("a", "m") || !h.Acquire("a", "m") {
			t.Fatalf("%+v: one failure made the account unavailable: %+v", cfg, h.Snapshot())
		}
		if s := stateOf(t, h, "a", "m"); s.State != Closed || s.Consecutive != 1 || s.Errors != 1 {
			t.Errorf("%+v: after one failure %+v", cfg, s)
		}
	}
	// The default threshold is 5.
	h, _ := newTestHealth(BreakerConfig{})
	for range 4 {
		h.Report("a", "m", failure("boom"))
	}
	wantAvailable(t, h, "a", "m", true)
	h.Report("a", "m", failure("boom"))
	wantAvailable(t, h, "a", "m", false)
}

// N failures within the window open the breaker for that account+model
// only: Acquire and Available say no, other models and accounts are
// untouched.
func TestBreakerOpensAfterFailures(t *testing.T) {
	h, c := newTestHealth(BreakerConfig{Failures: 3, Window: 10 * time.Second, Cooldown: time.Second})
	h.Report("a", "m", failure("one"))
	c.Add(time.Second)
	h.Report("a", "m", failure("two"))
	wantAvailable(t, h, "a", "m", true)
	if !h.Acquire("a", "m") {
		t.Fatal("Acquire refused after 2 of 3 failures")
	}
	c.Add(time.Second)
	h.Report("a", "m", failure("three"))
	wantAvailable(t, h, "a", "m", false)
	if h.Acquire("a", "m") {
		t.Fatal("Acquire allowed on an open breaker")
	}
	s := stateOf(t, h, "a", "m")
	if s.State != Open || !s.OpenUntil.Equal(c.Now().Add(time.Second)) || s.Errors != 3 || s.Consecutive != 3 || s.LastError != "three" {
		t.Errorf("open breaker snapshot %+v", s)
	}
	// Model-level failures block neither the account's other models nor
	// other accounts.
	wantAvailable(t, h, "a", "other", true)
	wantAvailable(t, h, "b", "m", true)
	if !h.Acquire("a", "other") || !h.Acquire("b", "m") {
		t.Error("unrelated targets refused")
	}
}

// Failures older than the window do not count; successes in between do
// not reset the count either (it is "N failures within the window").
func TestBreakerWindow(t *testing.T) {
	h, c := newTestHealth(BreakerConfig{Failures: 3, Window: 10 * time.Second, Cooldown: time.Second})
	h.Report("a", "m", failure("t0"))
	c.Add(6 * time.Second)
	h.Report("a", "m", failure("t6"))
	c.Add(5 * time.Second) // t=11s: the t=0 failure is out of the window
	h.Report("a", "m", failure("t11"))
	wantAvailable(t, h, "a", "m", true)
	if s := stateOf(t, h, "a", "m"); s.State != Closed {
		t.Fatalf("breaker %s with only two failures in the window", s.State)
	}
	c.Add(time.Second) // t=12s: t6, t11, t12 are within 10s
	h.Report("a", "m", success)
	h.Report("a", "m", failure("t12"))
	wantAvailable(t, h, "a", "m", false)

	// Failures spread wider than the window never open it.
	h2, c2 := newTestHealth(BreakerConfig{Failures: 3, Window: 10 * time.Second, Cooldown: time.Second})
	for range 20 {
		h2.Report("a", "m", failure("slow drip"))
		c2.Add(5*time.Second + time.Millisecond)
	}
	wantAvailable(t, h2, "a", "m", true)
}

// After the cooldown exactly one Acquire gets through (the probe); every
// concurrent one is refused.
func TestBreakerSingleProbe(t *testing.T) {
	h, c := newTestHealth(BreakerConfig{Failures: 3, Window: 10 * time.Second, Cooldown: time.Second})
	openBreaker(t, h, "a", "m", 3)
	c.Add(999 * time.Millisecond)
	if h.Available("a", "m") || h.Acquire("a", "m") {
		t.Fatal("breaker let a request through before its cooldown ended")
	}
	c.Add(time.Millisecond)
	wantAvailable(t, h, "a", "m", true) // Available does not take the slot
	wantAvailable(t, h, "a", "m", true)

	const n = 64
	var ok atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if h.Acquire("a", "m") {
				ok.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	if ok.Load() != 1 {
		t.Fatalf("%d concurrent Acquires succeeded after the cooldown, want exactly 1 probe", ok.Load())
	}
	if s := stateOf(t, h, "a", "m"); s.State != HalfOpen {
		t.Errorf("state during the probe = %s, want %s", s.State, HalfOpen)
	}
	wantAvailable(t, h, "a", "m", false)
	// Still one probe, however long it takes.
	c.Add(time.Hour)
	if h.Acquire("a", "m") {
		t.Fatal("a second probe got through while the first was in flight")
	}
}

// A successful probe closes the breaker: traffic flows and the old
// failures are forgotten.
func TestBreakerProbeSuccessCloses(t *testing.T) {
	h, c := newTestHealth(BreakerConfig{Failures: 3, Window: 10 * time.Second, Cooldown: time.Second})
	openBreaker(t, h, "a", "m", 3)
	c.Add(time.Second)
	if !h.Acquire("a", "m") {
		t.Fatal("no probe after the cooldown")
	}
	h.Report("a", "m", success)
	s := stateOf(t, h, "a", "m")
	if s.State != Closed || !s.OpenUntil.IsZero() || s.Consecutive != 0 {
		t.Fatalf("after a good probe: %+v", s)
	}
	for i := range 10 {
		if !h.Acquire("a", "m") {
			t.Fatalf("request %d refused after the breaker closed", i)
		}
		h.Report("a", "m", success)
	}
	// The failures before the probe no longer count.
	h.Report("a", "m", failure("fresh"))
	h.Report("a", "m", failure("fresh"))
	wantAvailable(t, h, "a", "m", true)
	h.Report("a", "m", failure("fresh"))
	wantAvailable(t, h, "a", "m", false)
	// The cooldown is the configured one again, not a doubled one.
	if s := stateOf(t, h, "a", "m"); !s.OpenUntil.Equal(c.Now().Add(time.Second)) {
		t.Errorf("reopened until %v, want now+1s (%v)", s.OpenUntil, c.Now().Add(time.Second))
	}
}

// A failed probe reopens the breaker for twice as long, up to MaxCooldown.
func TestBreakerProbeFailureBacksOff(t *testing.T) {
	h, c := newTestHealth(BreakerConfig{Failures: 3, Window: 10 * time.Second, Cooldown: time.Second, MaxCooldown: 5 * time.Second})
	openBreaker(t, h, "a", "m", 3)
	cooldown := time.Second
	for i, want := range []time.Duration{2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second} {
		c.Add(cooldown - time.Millisecond)
		if h.Acquire("a", "m") {
			t.Fatalf("round %d: probe allowed %v before the %v cooldown ended", i, time.Millisecond, cooldown)
		}
		c.Add(time.Millisecond)
		if !h.Acquire("a", "m") {
			t.Fatalf("round %d: no probe after %v", i, cooldown)
		}
		h.Report("a", "m", failure("still down"))
		s := stateOf(t, h, "a", "m")
		if s.State != Open || s.OpenUntil.Sub(c.Now()) != want {
			t.Fatalf("round %d: after a failed probe %s until now+%v, want open for %v", i, s.State, s.OpenUntil.Sub(c.Now()), want)
		}
		wantAvailable(t, h, "a", "m", false)
		cooldown = want
	}

	// With the defaults: 5s doubling up to one minute.
	h, c = newTestHealth(BreakerConfig{})
	openBreaker(t, h, "a", "m", 5)
	cooldown = 5 * time.Second
	for i, want := range []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, time.Minute, time.Minute} {
		c.Add(cooldown)
		if !h.Acquire("a", "m") {
			t.Fatalf("default round %d: no probe after %v", i, cooldown)
		}
		h.Report("a", "m", failure("still down"))
		if got := stateOf(t, h, "a", "m").OpenUntil.Sub(c.Now()); got != want {
			t.Fatalf("default round %d: reopened for %v, want %v", i, got, want)
		}
		cooldown = want
	}
}

// An upstream's Retry-After longer than the cooldown keeps the breaker
// open that long.
func TestBreakerUpstreamCooldown(t *testing.T) {
	h, c := newTestHealth(BreakerConfig{Failures: 2, Window: 10 * time.Second, Cooldown: time.Second})
	h.Report("a", "m", failure("429"))
	h.Report("a", "m", Outcome{Failure: true, Cooldown: 30 * time.Second, Error: "429"})
	if got := stateOf(t, h, "a", "m").OpenUntil.Sub(c.Now()); got != 30*time.Second {
		t.Fatalf("open for %v, want the upstream's 30s", got)
	}
	c.Add(29 * time.Second)
	wantAvailable(t, h, "a", "m", false)
	c.Add(time.Second)
	wantAvailable(t, h, "a", "m", true)
}

// An account-wide failure (key refused, connection refused) counts
// against every model of the account, and a successful probe on any of
// them reopens them all.
func TestBreakerAccountWide(t *testing.T) {
	h, c := newTestHealth(BreakerConfig{Failures: 3, Window: 10 * time.Second, Cooldown: time.Second})
	for range 3 {
		h.Report("a", "m1", Outcome{Failure: true, AccountWide: true, Error: "401"})
	}
	for _, m := range []string{"m1", "m2", "never-seen"} {
		if h.Available("a", m) || h.Acquire("a", m) {
			t.Errorf("model %s of an account with an open account-wide breaker is available", m)
		}
	}
	wantAvailable(t, h, "b", "m1", true)
	if s := stateOf(t, h, "a", ""); s.State != Open || s.Errors != 3 {
		t.Errorf("account-wide line %+v", s)
	}

	c.Add(time.Second)
	if !h.Acquire("a", "m2") {
		t.Fatal("no probe after the account-wide cooldown")
	}
	if h.Acquire("a", "m1") || h.Available("a", "m1") {
		t.Fatal("a second model probed the account while its probe was in flight")
	}
	h.Report("a", "m2", success)
	for _, m := range []string{"m1", "m2"} {
		if !h.Acquire("a", m) {
			t.Errorf("model %s refused after the account's probe succeeded", m)
		}
	}
	if s := stateOf(t, h, "a", ""); s.State != Closed {
		t.Errorf("account-wide breaker %s after a good probe", s.State)
	}
}

// A model's probe that fails account-wide (the upstream now refuses the
// key) is a failed probe: the model's breaker must not close.
func TestBreakerAccountWideFailureOfModelProbe(t *testing.T) {
	h, c := newTestHealth(BreakerConfig{Failures: 3, Window: 10 * time.Second, Cooldown: time.Second})
	openBreaker(t, h, "a", "m", 3)
	c.Add(time.Second)
	if !h.Acquire("a", "m") {
		t.Fatal("no probe after the cooldown")
	}
	h.Report("a", "m", Outcome{Failure: true, AccountWide: true, Error: "401 key refused"})
	if s := stateOf(t, h, "a", "m"); s.State == Closed || h.Available("a", "m") {
		t.Errorf("a probe that failed with an account-wide error closed the model's breaker: %+v", s)
	}
}

// Release ends a probe without an outcome, so the next request probes.
func TestBreakerRelease(t *testing.T) {
	h, c := newTestHealth(BreakerConfig{Failures: 3, Window: 10 * time.Second, Cooldown: time.Second})
	h.Release("a", "m") // unknown: no-op
	openBreaker(t, h, "a", "m", 3)
	h.Release("a", "m") // open, no probe: stays open
	wantAvailable(t, h, "a", "m", false)
	c.Add(time.Second)
	if !h.Acquire("a", "m") || h.Acquire("a", "m") {
		t.Fatal("want exactly one probe")
	}
	h.Release("a", "m")
	if !h.Acquire("a", "m") {
		t.Fatal("Release did not free the probe slot")
	}
	if h.Acquire("a", "m") {
		t.Fatal("Release freed more than one slot")
	}
	h.Report("a", "m", success)
	wantAvailable(t, h, "a", "m", true)
}

// Score falls with errors (never below 0.05) and recovers with successes.
func TestHealthScore(t *testing.T) {
	h, _ := newTestHealth(BreakerConfig{Failures: 1000})
	if s := h.Score("a", "m"); s != 1 {
		t.Fatalf("fresh score %v, want 1", s)
	}
	h.Report("a", "m", success)
	if s := h.Score("a", "m"); s != 1 {
		t.Fatalf("score after a success %v, want 1", s)
	}
	prev := 1.0
	for i := range 30 {
		h.Report("a", "m", failure("x"))
		s := h.Score("a", "m")
		if s > prev || s < 0.05 || s > 1 {
			t.Fatalf("failure %d: score %v (previous %v), want non-increasing within [0.05, 1]", i, s, prev)
		}
		prev = s
	}
	if prev > 0.06 {
		t.Fatalf("score after 30 failures %v, want about the 0.05 floor", prev)
	}
	for i := range 30 {
		h.Report("a", "m", success)
		s := h.Score("a", "m")
		if s < prev {
			t.Fatalf("success %d: score fell from %v to %v", i, prev, s)
		}
		prev = s
	}
	if prev < 0.99 {
		t.Fatalf("score after 30 successes %v, want about 1", prev)
	}
	// The account's other models and other accounts are not penalised by
	// model-level errors.
	if s := h.Score("b", "m"); s != 1 {
		t.Errorf("unrelated account's score %v", s)
	}
	// Account-wide errors lower every model's score.
	for range 5 {
		h.Report("a", "m", Outcome{Failure: true, AccountWide: true, Error: "refused"})
	}
	if s := h.Score("a", "other"); s > 0.5 {
		t.Errorf("score of another model after account-wide errors %v", s)
	}
}

// Snapshot lists every tracked account and account+model, sorted, with
// its counters, moving averages and breaker state.
func TestHealthSnapshot(t *testing.T) {
	h, c := newTestHealth(BreakerConfig{Failures: 3, Window: time.Minute, Cooldown: 2 * time.Second})
	h.Report("b", "z", success)
	h.Report("a", "m", Outcome{Latency: 100 * time.Millisecond})
	c.Add(time.Second)
	h.Report("a", "m", failure("boom 1"))
	c.Add(time.Second)
	h.Report("a", "m", failure("boom 2"))
	c.Add(time.Second)
	h.Report("a", "m", Outcome{Latency: 200 * time.Millisecond})
	c.Add(time.Second)
	h.Report("a", "m", failure("boom 3")) // third failure in the window
	openedAt := c.Now()

	snap := h.Snapshot()
	var keys []string
	for _, s := range snap {
		keys = append(keys, s.Account+"/"+s.Model)
	}
	if strings.Join(keys, " ") != "a/ a/m b/ b/z" {
		t.Fatalf("snapshot order %v", keys)
	}
	acct, model := snap[0], snap[1]
	// Account line: two successes, latency 100 then 0.2*200+0.8*100.
	if acct.State != Closed || acct.Requests != 2 || acct.Errors != 0 || acct.ErrorRate != 0 ||
		acct.LatencyMS != 120 || acct.LastError != "" || !acct.LastErrorAt.IsZero() || !acct.OpenUntil.IsZero() {
		t.Errorf("account line %+v", acct)
	}
	// Model line: error rate 0, .2, .36, .288, .4304.
	if model.State != Open || model.Requests != 5 || model.Errors != 3 || model.Consecutive != 1 ||
		math.Abs(model.ErrorRate-0.43) > 1e-9 || model.LatencyMS != 120 || model.LastError != "boom 3" ||
		!model.LastErrorAt.Equal(openedAt) || !model.OpenUntil.Equal(openedAt.Add(2*time.Second)) {
		t.Errorf("model line %+v", model)
	}
	// The admin view's JSON: zero times are omitted.
	b, err := json.Marshal(acct)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "open_until") || strings.Contains(string(b), "last_error_at") || !strings.Contains(string(b), `"provider":"a"`) {
		t.Errorf("account line JSON %s", b)
	}
	b, _ = json.Marshal(model)
	for _, f := range []string{`"state":"open"`, `"open_until"`, `"last_error":"boom 3"`, `"consecutive_failures":1`, `"model":"m"`} {
		if !strings.Contains(string(b), f) {
			t.Errorf("model line JSON %s lacks %s", b, f)
		}
	}
}

// Configure swaps the settings (a reload) and keeps every breaker and
// counter; the new settings apply to what happens next.
func TestHealthConfigureKeepsState(t *testing.T) {
	h, c := newTestHealth(BreakerConfig{Failures: 3, Window: 10 * time.Second, Cooldown: time.Second})
	openBreaker(t, h, "a", "m", 3)
	h.Report("a", "other", failure("one"))
	before := h.Snapshot()
	h.Configure(BreakerConfig{Failures: 5, Window: 10 * time.Second, Cooldown: 4 * time.Second})
	after := h.Snapshot()
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Fatalf("Configure changed the state:\n%+v\n%+v", before, after)
	}
	wantAvailable(t, h, "a", "m", false)
	// The open breaker keeps its own cooldown...
	c.Add(time.Second)
	if !h.Acquire("a", "m") {
		t.Fatal("the breaker opened under the old settings did not probe after its cooldown")
	}
	// ...and a failed probe now waits at least the new cooldown.
	h.Report("a", "m", failure("still down"))
	if got := stateOf(t, h, "a", "m").OpenUntil.Sub(c.Now()); got != 4*time.Second {
		t.Errorf("reopened for %v, want the new 4s cooldown", got)
	}
	// The new threshold: "other" has 1 failure, 3 more stay closed, the 5th opens.
	for range 3 {
		h.Report("a", "other", failure("more"))
	}
	wantAvailable(t, h, "a", "other", true)
	h.Report("a", "other", failure("fifth"))
	wantAvailable(t, h, "a", "other", false)
}

// Concurrent use, run under -race: every Acquire is matched by a Report
// or a Release, and afterwards no probe slot is left stuck.
func TestHealthConcurrent(t *testing.T) {
	h := NewHealth(BreakerConfig{Failures: 3, Window: time.Second, Cooldown: time.Millisecond, MaxCooldown: 4 * time.Millisecond})
	accts, models := []string{"a", "b", "c"}, []string{"m1", "m2"}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for range 2000 {
				a, m := accts[rng.IntN(len(accts))], models[rng.IntN(len(models))]
				switch rng.IntN(10) {
				case 0:
					_ = h.Snapshot()
				case 1:
					if s := h.Score(a, m); s < 0.05*0.05-1e-12 || s > 1 {
						t.Errorf("score %v out of range", s)
						return
					}
				case 2:
					_ = h.Available(a, m)
				default:
					if !h.Acquire(a, m) {
						continue
					}
					switch r := rng.IntN(10); {
					case r < 4:
						h.Report(a, m, Outcome{Failure: true, AccountWide: r == 0, Error: "x"})
					case r < 5:
						h.Release(a, m)
					default:
						h.Report(a, m, Outcome{Latency: time.Duration(rng.IntN(100)) * time.Millisecond})
					}
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 50 {
			h.Configure(BreakerConfig{Failures: 3 + i%3, Window: time.Second, Cooldown: time.Millisecond, MaxCooldown: 4 * time.Millisecond})
			time.Sleep(100 * time.Microsecond)
		}
	}()
	wg.Wait()
	time.Sleep(10 * time.Millisecond) // longer than any cooldown
	for _, a := range accts {
		for _, m := range models {
			if !h.Acquire(a, m) {
				t.Errorf("%s/%s: no request allowed after every cooldown passed (stuck probe?): %+v", a, m, h.Snapshot())
				continue
			}
			h.Report(a, m, success)
			if !h.Available(a, m) {
				t.Errorf("%s/%s unavailable after a successful request", a, m)
			}
		}
	}
	for _, s := range h.Snapshot() {
		if s.State != Closed {
			t.Errorf("%s/%s %s after successes", s.Account, s.Model, s.State)
		}
	}
}
