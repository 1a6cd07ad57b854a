package gateway_test

import (
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmgate/llmgate/router"
)

// Soak: 2,000 mixed requests (a third streaming, 16 at a time) over three
// accounts of one model. Accounts a and b fail about 30% of their
// requests before sending any body byte (500, 429 with a short
// retry-after-ms, connection reset, 503); c never fails, so one account
// is healthy at every moment. Breakers open, probe and close throughout.
// Every request must get a complete answer, every row must be ok with the
// final attempt a 200, and the upstreams must have seen exactly the
// attempts the rows list (no hidden retries, no hammering).
func TestSoakFailover(t *testing.T) {
	const total, workers, failP = 2000, 16, 0.3
	answer, sse := fixture(t, answerFixture), fixture(t, sseAnswerFixture)
	ok := func(n int) fault {
		return func(w http.ResponseWriter, r *http.Request) {
			if !strings.Contains(r.Header.Get("Accept"), "event-stream") {
				jsonReply(200, answer)(w, r, nil)
				return
			}
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			mode := byEvent
			if n%2 == 1 {
				mode = smallChunks
			}
			writeSSE(w, sse, mode, uint64(n))
		}
	}
	failures := []fault{
		statusReply(500, body500),
		statusReply(429, body429, "retry-after-ms", "20"),
		resetConn,
		statusReply(503, body503),
	}
	var injected atomic.Int32
	flaky := func(seed uint64) chooser {
		var mu sync.Mutex
		rng := rand.New(rand.NewPCG(seed, 42))
		return func(n int, _ string) fault {
			mu.Lock()
			fail, kind := rng.Float64() < failP, rng.IntN(len(failures))
			mu.Unlock()
			if fail {
				injected.Add(1)
				return failures[kind]
			}
			return ok(n)
		}
	}
	a := newFaultServer(t, flaky(1))
	b := newFaultServer(t, flaky(2))
	c := newFaultServer(t, func(n int, _ string) fault { return ok(n) })
	h := newFaultHarness(t, faultOpts{
		retry:   router.RetryPolicy{BackoffMin: 5 * time.Millisecond, BackoffMax: 50 * time.Millisecond},
		breaker: router.BreakerConfig{Failures: 5, Window: time.Second, Cooldown: 50 * time.Millisecond, MaxCooldown: 400 * time.Millisecond},
		accounts: []acctSpec{
			{name: "a", baseURL: a.URL, models: []string{"gpt-4o"}},
			{name: "b", baseURL: b.URL, models: []string{"gpt-4o"}},
			{name: "c", baseURL: c.URL, models: []string{"gpt-4o"}},
		}})

	type result struct {
		i      int
		stream bool
		resp   *http.Response
		body   []byte
		err    error
	}
	results := make([]result, total)
	next := make(chan int, total)
	for i := range total {
		next <- i
	}
	close(next)
	// Watch the breakers while the soak runs: they must open (and close
	// again) for the soak to have exercised them.
	var opened atomic.Int32
	watchDone := make(chan struct{})
	stopWatch := make(chan struct{})
	go func() {
		defer close(watchDone)
		for {
			select {
			case <-stopWatch:
				return
			case <-time.After(5 * time.Millisecond):
			}
			for _, s := range h.health.Snapshot() {
				if s.State != router.Closed {
					opened.Add(1)
				}
			}
		}
	}()
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				stream := i%3 == 0
				req, _ := http.NewRequest(http.MethodPost, h.URL+"/v1/chat/completions", strings.NewReader(chatBody("gpt-4o", stream, true)))
				req.Header.Set("Authorization", "Bearer "+testGatewayKey)
				r := result{i: i, stream: stream}
				r.resp, r.err = h.client.Do(req)
				if r.err == nil {
					r.body, r.err = io.ReadAll(r.resp.Body)
					r.resp.Body.Close()
				}
				results[i] = r
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	close(stopWatch)
	<-watchDone
	if took > 50*time.Second {
		t.Errorf("%d requests took %v", total, took)
	}

	attempts, bad := 0, 0
	for _, r := range results {
		if bad > 10 {
			t.Fatal("too many failures, stopping")
		}
		if r.err != nil {
			bad++
			t.Errorf("request %d: %v", r.i, r.err)
			continue
		}
		if r.resp.StatusCode != 200 {
			bad++
			t.Errorf("request %d: status %d: %.300s", r.i, r.resp.StatusCode, r.body)
			continue
		}
		n, _ := strconv.Atoi(r.resp.Header.Get("X-Llmgate-Attempts"))
		p := r.resp.Header.Get("X-Llmgate-Provider")
		failedBefore := t.Failed()
		row := wantAnswer(t, h, r.resp, r.body, r.stream, p, "gpt-4o", n)
		for _, at := range row.Attempts[:max(0, len(row.Attempts)-1)] {
			switch at.Status {
			case 0, 429, 500, 503:
			default:
				t.Errorf("request %d: failed attempt %+v", r.i, at)
			}
			if at.Provider == "c" {
				t.Errorf("request %d: attempt on the healthy account failed: %+v", r.i, at)
			}
		}
		attempts += len(row.Attempts)
		if t.Failed() && !failedBefore {
			bad++
			t.Logf("request %d (stream=%v) above", r.i, r.stream)
		}
	}
	hits := a.hits() + b.hits() + c.hits()
	if attempts != hits {
		t.Errorf("rows list %d attempts, upstreams saw %d requests", attempts, hits)
	}
	t.Logf("%d requests in %v: upstream a=%d b=%d c=%d, %d injected failures, %d attempts",
		total, took.Round(time.Millisecond), a.hits(), b.hits(), c.hits(), injected.Load(), attempts)
	for _, s := range h.health.Snapshot() {
		t.Logf("health %s/%s: %s err=%.2f req=%d errors=%d", s.Account, s.Model, s.State, s.ErrorRate, s.Requests, s.Errors)
	}
	if opened.Load() == 0 {
		t.Error("no breaker was ever seen open or half-open during the soak")
	}
	t.Logf("breakers seen open or half-open in %d samples", opened.Load())
	if injected.Load() < 50 {
		t.Errorf("only %d failures were injected; the soak did not exercise failover", injected.Load())
	}
}
