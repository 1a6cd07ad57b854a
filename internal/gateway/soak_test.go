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
	"github.com/llmgate/llmgate/store"
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

// Soak with rotating outages and mid-stream cuts: 2,000 mixed requests (a
// third streaming) over three accounts. Time is cut into 200 ms windows and
// in each window one account, in turn, is bad: it fails 60% of its requests,
// before the first byte (500, 429, reset, 503) or, for streams, by cutting
// the stream after a few events. So any account can fail, and two are
// healthy at every moment. Every client must get the complete answer,
// byte-identical to the upstream's (a cut stream is continued on another
// account by replay, with nothing repeated), and every row must be ok.
func TestSoakRotatingOutagesWithMidStreamCuts(t *testing.T) {
	const total, workers = 2000, 16
	answer, sse := fixture(t, answerFixture), fixture(t, sseAnswerFixture)
	events := splitEvents(sse)
	okReply := func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept"), "event-stream") {
			jsonReply(200, answer)(w, r, nil)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		writeSSE(w, sse, byEvent, 0)
	}
	cut := func(after int) fault {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			rc := http.NewResponseController(w)
			for _, e := range events[:after] {
				_, _ = io.WriteString(w, e)
				_ = rc.Flush()
			}
			panic(http.ErrAbortHandler)
		}
	}
	pre := []fault{statusReply(500, body500), statusReply(429, body429, "retry-after-ms", "20"), resetConn, statusReply(503, body503)}
	start := time.Now()
	var injected, cuts atomic.Int32
	account := func(idx int, seed uint64) chooser {
		var mu sync.Mutex
		rng := rand.New(rand.NewPCG(seed, 7))
		return func(n int, _ string) fault {
			if int(time.Since(start)/(100*time.Millisecond))%3 != idx {
				return okReply
			}
			mu.Lock()
			// Half the failures are mid-stream cuts (for streams).
			fail, kind, after := rng.Float64() < 0.6, rng.IntN(2*len(pre)), 1+rng.IntN(len(events)-3)
			if kind >= len(pre) {
				kind = len(pre)
			}
			mu.Unlock()
			if !fail {
				return okReply
			}
			injected.Add(1)
			if kind == len(pre) {
				return func(w http.ResponseWriter, r *http.Request) {
					if strings.Contains(r.Header.Get("Accept"), "event-stream") {
						cuts.Add(1)
						cut(after)(w, r)
						return
					}
					statusReply(502, body500)(w, r)
				}
			}
			return pre[kind]
		}
	}
	srvs := []*faultServer{newFaultServer(t, account(0, 11)), newFaultServer(t, account(1, 12)), newFaultServer(t, account(2, 13))}
	h := newFaultHarness(t, faultOpts{
		retry: router.RetryPolicy{BackoffMin: 5 * time.Millisecond, BackoffMax: 50 * time.Millisecond},
		// A lenient breaker, so the bad account keeps getting traffic and
		// streams are really cut mid-answer.
		breaker: router.BreakerConfig{Failures: 30, Window: time.Second, Cooldown: 50 * time.Millisecond, MaxCooldown: 200 * time.Millisecond},
		accounts: []acctSpec{
			{name: "a", baseURL: srvs[0].URL, models: []string{"gpt-4o"}},
			{name: "b", baseURL: srvs[1].URL, models: []string{"gpt-4o"}},
			{name: "c", baseURL: srvs[2].URL, models: []string{"gpt-4o"}},
		}})
	next := make(chan int, total)
	for i := range total {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	var bad atomic.Int32
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if bad.Load() > 10 {
					return
				}
				stream := i%3 == 0
				req, _ := http.NewRequest(http.MethodPost, h.URL+"/v1/chat/completions", strings.NewReader(chatBody("gpt-4o", stream, true)))
				req.Header.Set("Authorization", "Bearer "+testGatewayKey)
				resp, err := h.client.Do(req)
				if err != nil {
					bad.Add(1)
					t.Errorf("request %d: %v", i, err)
					continue
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch {
				case err != nil || resp.StatusCode != 200:
					bad.Add(1)
					t.Errorf("request %d (stream=%v): status %d err %v: %.300s", i, stream, resp.StatusCode, err, body)
					continue
				case stream:
					// The llmgate object is the only addition to the
					// upstream's bytes.
					orig, _, ok := cutMeta(t, dataOf(splitEvents(body)[len(events)-2]))
					evs := splitEvents(body)
					if !ok || len(evs) != len(events) {
						bad.Add(1)
						t.Errorf("request %d: stream of %d events, want %d:\n%s", i, len(evs), len(events), body)
						continue
					}
					for k := range evs {
						got := evs[k]
						if k == len(events)-2 {
							got = "data: " + orig + "\n\n"
						}
						if got != events[k] {
							bad.Add(1)
							t.Errorf("request %d: event %d\n got %q\nwant %q", i, k, got, events[k])
							break
						}
					}
				}
				row := h.row(resp.Header.Get("X-Llmgate-Request-Id"))
				if row.Status != store.StatusOK || row.Attempts[len(row.Attempts)-1].Status != 200 {
					bad.Add(1)
					t.Errorf("request %d: row status %q attempts %+v", i, row.Status, row.Attempts)
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d requests in %v: %d injected failures (%d mid-stream cuts); upstream a=%d b=%d c=%d",
		total, time.Since(start).Round(time.Millisecond), injected.Load(), cuts.Load(), srvs[0].hits(), srvs[1].hits(), srvs[2].hits())
	if cuts.Load() < 20 {
		t.Errorf("only %d mid-stream cuts were injected", cuts.Load())
	}
}
