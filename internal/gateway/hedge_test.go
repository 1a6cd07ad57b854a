package gateway_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmgate/llmgate/router"
)

// slowStart delays the stream's first event, watching the client's
// context; it counts requests and records a cancellation.
func slowStart(delay time.Duration, events []string, hits, cancelled *atomic.Int32) func(http.ResponseWriter, *http.Request, []byte) {
	return func(w http.ResponseWriter, r *http.Request, b []byte) {
		hits.Add(1)
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		http.NewResponseController(w).Flush()
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			cancelled.Add(1)
			return
		}
		streamer(events, 0, 0)(w, r, b)
	}
}

func TestHedging(t *testing.T) {
	full := strings.Join(answer, "")
	cases := []struct {
		name                   string
		delayA, delayB         time.Duration
		wantProvider           string
		wantBHits, wantAttempt int
	}{
		{"slow primary loses to the hedge", 2 * time.Second, 0, "b", 1, 2},
		{"fast primary: no hedge", 0, 0, "a", 0, 1},
		{"primary still wins after the hedge starts", 250 * time.Millisecond, 2 * time.Second, "a", 1, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var hitsA, hitsB, cancA, cancB atomic.Int32
			a := newUpstream(t, slowStart(c.delayA, streamOf("chatcmpl-A", answer), &hitsA, &cancA))
			b := newUpstream(t, slowStart(c.delayB, streamOf("chatcmpl-B", answer), &hitsB, &cancB))
			h := newHarness(t, harnessOpts{accounts: []acctSpec{
				{name: "a", baseURL: a.URL, models: []string{"m"}},
				{name: "b", baseURL: b.URL, models: []string{"x"}},
			}, retry: router.RetryPolicy{Hedge: 150 * time.Millisecond}})
			start := time.Now()
			resp, got := h.chat(`{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}],"llmgate":{"fallbacks":["x"]}}`)
			took := time.Since(start)
			text, errEv := clientText(t, got)
			if errEv != "" || text != full {
				t.Fatalf("client got %q (error %s)", text, errEv)
			}
			if p := resp.Header.Get("X-Llmgate-Provider"); p != c.wantProvider {
				t.Errorf("answered by %q, want %q", p, c.wantProvider)
			}
			if int(hitsB.Load()) != c.wantBHits {
				t.Errorf("hedge target got %d requests, want %d", hitsB.Load(), c.wantBHits)
			}
			if c.wantProvider == "b" && took > time.Second {
				t.Errorf("took %v: the slow primary was waited for", took)
			}
			// The loser's request is cancelled, not left running.
			deadline := time.Now().Add(2 * time.Second)
			for c.wantAttempt == 2 && cancA.Load()+cancB.Load() == 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if c.wantAttempt == 2 && cancA.Load()+cancB.Load() != 1 {
				t.Errorf("cancelled: a=%d b=%d, want the loser cancelled", cancA.Load(), cancB.Load())
			}
			row := h.row(resp.Header.Get("X-Llmgate-Request-Id"))
			if row.Status != "ok" || len(row.Attempts) != c.wantAttempt || row.Provider != c.wantProvider {
				t.Errorf("row status %q provider %q attempts %+v", row.Status, row.Provider, row.Attempts)
			}
		})
	}
}
