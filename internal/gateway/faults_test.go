package gateway_test

// Fault injection: OpenAI-compatible upstreams whose behaviour is chosen
// per request (by the request's number on that server and its model),
// which count requests and record when each arrived, in front of a
// gateway with a retry policy, fallback chains and circuit breakers.

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/gateway"
	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/router"
	"github.com/llmgate/llmgate/store"
)

// ------------------------------------------------------------ fault server

// fault answers one upstream request.
type fault func(w http.ResponseWriter, r *http.Request)

// chooser picks the fault for the n-th request (1-based) on a server,
// asking for model.
type chooser func(n int, model string) fault

// arrival is one request as the upstream saw it.
type arrival struct {
	at     time.Time
	n      int
	model  string
	stream bool
}

type faultServer struct {
	URL    string
	stop   chan struct{} // closed at cleanup so blocking faults return
	choose atomic.Pointer[chooser]
	count  atomic.Int32

	mu       sync.Mutex
	arrivals []arrival
}

func newFaultServer(t testing.TB, c chooser) *faultServer {
	t.Helper()
	f := &faultServer{stop: make(chan struct{})}
	f.set(c)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req struct {
			Model  string `json:"model"`
			Stream bool   `json:"stream"`
		}
		_ = json.Unmarshal(body, &req)
		f.mu.Lock()
		n := int(f.count.Add(1))
		f.arrivals = append(f.arrivals, arrival{at: time.Now(), n: n, model: req.Model, stream: req.Stream})
		f.mu.Unlock()
		(*f.choose.Load())(n, req.Model)(w, r)
	}))
	f.URL = srv.URL
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(f.stop) }) // runs before srv.Close (LIFO)
	return f
}

// set changes the server's behaviour from the next request on.
func (f *faultServer) set(c chooser) { f.choose.Store(&c) }

func (f *faultServer) hits() int { return int(f.count.Load()) }

func (f *faultServer) arrived() []arrival {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]arrival(nil), f.arrivals...)
}

func (f *faultServer) hitsFor(model string) int {
	n := 0
	for _, a := range f.arrived() {
		if a.model == model {
			n++
		}
	}
	return n
}

// gaps returns the time between consecutive arrivals.
func (f *faultServer) gaps() []time.Duration {
	as := f.arrived()
	var out []time.Duration
	for i := 1; i < len(as); i++ {
		out = append(out, as[i].at.Sub(as[i-1].at))
	}
	return out
}

func always(f fault) chooser { return func(int, string) fault { return f } }

// seq answers the n-th request with fs[n-1], and every later one with the
// last.
func seq(fs ...fault) chooser {
	return func(n int, _ string) fault { return fs[min(n, len(fs))-1] }
}

func byModel(m map[string]fault) chooser {
	return func(_ int, model string) fault {
		if f, ok := m[model]; ok {
			return f
		}
		return statusReply(404, `{"error":{"message":"The model `+model+` does not exist","type":"invalid_request_error","param":null,"code":"model_not_found"}}`)
	}
}

const (
	answerFixture    = "openai/chat-completion-text.json"
	sseAnswerFixture = "openai/chat-stream-text-usage.sse"
)

// okReply answers like OpenAI: the recorded completion, or the recorded
// stream when the gateway asked for one.
func okReply(t testing.TB) fault {
	answer, sse := fixture(t, answerFixture), fixture(t, sseAnswerFixture)
	return func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("Accept"), "event-stream") {
			sseReplay(sse, byEvent)(w, r, nil)
			return
		}
		jsonReply(200, answer)(w, r, nil)
	}
}

// statusReply answers status with body and header pairs, before any SSE.
func statusReply(status int, body string, hdr ...string) fault {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(hdr); i += 2 {
			w.Header().Set(hdr[i], hdr[i+1])
		}
		jsonReply(status, []byte(body))(w, r, nil)
	}
}

// resetConn takes the connection over and resets it (RST) before any
// response byte.
func resetConn(w http.ResponseWriter, r *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	conn.Close()
}

// silent never answers: no status line, no headers.
func (f *faultServer) silent(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-f.stop:
	}
}

// stall sends the stream's headers and then nothing (or, with comments,
// only SSE comments), never a first token.
func (f *faultServer) stall(comments bool) fault {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		tick := time.NewTicker(40 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-r.Context().Done():
				return
			case <-f.stop:
				return
			case <-tick.C:
				if comments {
					_, _ = io.WriteString(w, ": OPENROUTER PROCESSING\n\n")
					w.(http.Flusher).Flush()
				}
			}
		}
	}
}

// Upstream error bodies as the providers send them.
const (
	body429 = `{"error":{"message":"Rate limit reached for gpt-4o in organization org-x on requests per min (RPM): Limit 500, Used 500, Requested 1.","type":"requests","param":null,"code":"rate_limit_exceeded"}}`
	body500 = `{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}`
	body503 = `{"error":{"message":"The engine is currently overloaded, please try again later","type":"server_error","param":null,"code":null}}`
	bodyCtx = `{"error":{"message":"This model's maximum context length is 128000 tokens. However, your messages resulted in 130517 tokens. Please reduce the length of the messages.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`
	// Anthropic-style wording, as relayed by compatible gateways.
	bodyTooLong = `{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}`
	bodyPolicy  = `{"error":{"message":"Your request was rejected as a result of our safety system. Your prompt may contain text that is not allowed by our safety system.","type":"invalid_request_error","param":null,"code":"content_policy_violation"}}`
	bodyQuota   = `{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`
)

// body401 echoes the account key, as OpenAI does (in part) for a bad key.
var body401 = `{"error":{"message":"Incorrect API key provided: ` + testProviderKey + `. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`

// ----------------------------------------------------------------- harness

type faultOpts struct {
	accounts []acctSpec
	keys     []gateway.StaticKey
	// retry: zero backoffs become 20ms..200ms.
	retry     router.RetryPolicy
	breaker   router.BreakerConfig
	fallbacks map[string][]string
	onDone    func(*http.Request, *store.Row)
}

type faultHarness struct {
	*harness
	health *router.Health
	retry  router.RetryPolicy // as the gateway applies it
}

// newFaultHarness builds the gateway as newHarness does, plus a health
// registry, fallback chains and a fast retry policy.
func newFaultHarness(t testing.TB, o faultOpts) *faultHarness {
	t.Helper()
	db, err := store.OpenSQLite(filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	shared := store.NewShared(db, store.NewWriter(db, store.WriterOptions{Interval: 10 * time.Millisecond}, t.Logf))
	t.Cleanup(func() {
		if err := shared.Destruct(); err != nil {
			t.Errorf("closing store: %v", err)
		}
	})
	var accts []*router.Account
	for _, a := range o.accounts {
		if a.typ == "" {
			a.typ = "openai"
		}
		if a.key == "" {
			a.key = testProviderKey
		}
		typ, ok := providers.Lookup(a.typ)
		if !ok {
			t.Fatalf("provider type %q not registered", a.typ)
		}
		p, err := typ.New(providers.Config{Name: a.name, Type: a.typ, BaseURL: a.baseURL, APIKey: a.key, Timeouts: a.timeouts})
		if err != nil {
			t.Fatal(err)
		}
		accts = append(accts, &router.Account{Name: a.name, Type: a.typ, Provider: p, Key: a.key,
			Models: a.models, Weight: a.weight, Timeouts: a.timeouts})
	}
	keys := o.keys
	if keys == nil {
		keys = []gateway.StaticKey{{Secret: testGatewayKey, Name: "t"}}
	}
	retry := o.retry
	if retry.BackoffMin == 0 {
		retry.BackoffMin = 20 * time.Millisecond
	}
	if retry.BackoffMax == 0 {
		retry.BackoffMax = 200 * time.Millisecond
	}
	health := router.NewHealth(o.breaker)
	rt := router.New(accts, router.Options{Health: health, Fallbacks: o.fallbacks})
	gw := gateway.New(gateway.Config{Router: rt, Keys: keys, Store: shared, OnDone: o.onDone, Retry: retry})
	h := &harness{t: t, gw: gw, db: db, shared: shared}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !gw.Handle(w, r) {
			http.NotFound(w, r)
		}
	}))
	h.URL = h.srv.URL
	tr := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 32}
	h.client = &http.Client{Transport: tr, Timeout: 15 * time.Second}
	t.Cleanup(h.srv.Close)
	t.Cleanup(tr.CloseIdleConnections)
	return &faultHarness{harness: h, health: health, retry: retry.WithDefaults()}
}

// ---------------------------------------------------------------- checks

// wantAnswer asserts a complete, clean answer from provider after the
// given number of attempts (headers, body, llmgate object, row) and
// returns the row.
func wantAnswer(t *testing.T, h *faultHarness, resp *http.Response, got []byte, stream bool, provider, model string, attempts int) *store.Row {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200 from %s: %s", resp.StatusCode, provider, got)
	}
	reqID := resp.Header.Get("X-Llmgate-Request-Id")
	for k, want := range map[string]string{"X-Llmgate-Provider": provider, "X-Llmgate-Model": model, "X-Llmgate-Attempts": fmt.Sprint(attempts)} {
		if v := resp.Header.Get(k); v != want {
			t.Errorf("header %s = %q, want %q", k, v, want)
		}
	}
	var m meta
	if stream {
		m = wantCleanStream(t, got)
	} else {
		orig, mm, ok := cutMeta(t, string(got))
		if !ok {
			t.Fatalf("answer has no llmgate object: %s", got)
		}
		if orig != string(fixture(t, answerFixture)) {
			t.Errorf("answer differs from the upstream's:\n got %s\nwant %s", orig, fixture(t, answerFixture))
		}
		m = mm
	}
	if m.RequestID != reqID || m.Provider != provider || m.Model != model || m.Attempts != attempts {
		t.Errorf("llmgate = %+v, want provider %s model %s attempts %d", m, provider, model, attempts)
	}
	row := h.row(reqID)
	if row.Status != store.StatusOK || row.HTTPStatus != 200 || row.Provider != provider || row.Model != model ||
		row.Stream != stream || len(row.Attempts) != attempts || row.ErrorCode != "" {
		t.Errorf("row status=%q http=%d provider=%q model=%q stream=%v attempts=%+v code=%q, want ok/200/%s/%s/%v/%d attempts",
			row.Status, row.HTTPStatus, row.Provider, row.Model, row.Stream, row.Attempts, row.ErrorCode, provider, model, stream, attempts)
	} else if last := row.Attempts[attempts-1]; last.Provider != provider || last.Model != model || last.Status != 200 || last.Error != "" {
		t.Errorf("final attempt %+v, want %s/%s 200", last, provider, model)
	}
	if row.PromptTokens == 0 || row.CompletionTokens == 0 || row.UsageEstimated {
		t.Errorf("row usage p=%d c=%d estimated=%v, want the upstream's", row.PromptTokens, row.CompletionTokens, row.UsageEstimated)
	}
	return row
}

// wantCleanStream asserts the client got the recorded stream exactly
// (asked with include_usage), the llmgate object on the usage chunk,
// [DONE] at the end and no error event; it returns the llmgate object.
func wantCleanStream(t *testing.T, got []byte) meta {
	t.Helper()
	want := splitEvents(fixture(t, sseAnswerFixture))
	evs := splitEvents(got)
	if len(evs) != len(want) {
		t.Fatalf("client got %d events, want the upstream's %d:\n%s", len(evs), len(want), got)
	}
	var m meta
	for i, ev := range evs {
		if strings.Contains(ev, `"error"`) || strings.Contains(ev, "stream_interrupted") {
			t.Errorf("event %d is an error: %s", i, ev)
		}
		if i != len(evs)-2 {
			if ev != want[i] {
				t.Errorf("event %d differs from the upstream's\n got %q\nwant %q", i, ev, want[i])
			}
			continue
		}
		orig, mm, ok := cutMeta(t, dataOf(ev))
		if !ok || "data: "+orig+"\n\n" != want[i] {
			t.Errorf("usage chunk %q (llmgate object found: %v), want the upstream's %q with it", ev, ok, want[i])
		}
		m = mm
	}
	if evs[len(evs)-1] != "data: [DONE]\n\n" {
		t.Errorf("stream does not end with [DONE]: %q", evs[len(evs)-1])
	}
	return m
}

// attemptWant is one expected entry of a row's attempts list.
type attemptWant struct {
	provider string
	status   int
	errHas   string // substring of the attempt's error ("" = no error)
}

func wantAttempts(t *testing.T, row *store.Row, want ...attemptWant) {
	t.Helper()
	if len(row.Attempts) != len(want) {
		t.Fatalf("row attempts %+v, want %d", row.Attempts, len(want))
	}
	for i, w := range want {
		a := row.Attempts[i]
		if a.Provider != w.provider || a.Status != w.status || (w.errHas == "") != (a.Error == "") || !strings.Contains(a.Error, w.errHas) {
			t.Errorf("attempt %d = %+v, want provider %s status %d error containing %q", i, a, w.provider, w.status, w.errHas)
		}
		if strings.Contains(a.Error, testProviderKey) {
			t.Errorf("attempt %d error leaks the account key: %s", i, a.Error)
		}
	}
}

// wantError asserts an OpenAI-shaped gateway error and returns the row.
func wantError(t *testing.T, h *faultHarness, resp *http.Response, got []byte, status int, code string, attempts int) *store.Row {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, got)
	}
	if e := decodeErr(t, got); e.Error.Code != code || e.Error.Type != "upstream_error" {
		t.Errorf("error %+v, want upstream_error/%s", e.Error, code)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content-type %q", ct)
	}
	if v := resp.Header.Get("X-Llmgate-Attempts"); v != fmt.Sprint(attempts) {
		t.Errorf("X-Llmgate-Attempts %q, want %d", v, attempts)
	}
	noKeys(t, got)
	row := h.row(resp.Header.Get("X-Llmgate-Request-Id"))
	if row.Status != store.StatusError || row.HTTPStatus != status || row.ErrorCode != code || len(row.Attempts) != attempts {
		t.Errorf("row status=%q http=%d code=%q attempts=%+v, want error/%d/%s/%d", row.Status, row.HTTPStatus, row.ErrorCode, row.Attempts, status, code, attempts)
	}
	return row
}

// wantPassthrough asserts the upstream's own error answer, key redacted.
func wantPassthrough(t *testing.T, h *faultHarness, resp *http.Response, got []byte, status int, upstreamBody, provider, code string, attempts int) *store.Row {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want the upstream's %d: %s", resp.StatusCode, status, got)
	}
	if want := strings.ReplaceAll(upstreamBody, testProviderKey, "***"); string(got) != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
	noKeys(t, got)
	if p, a := resp.Header.Get("X-Llmgate-Provider"), resp.Header.Get("X-Llmgate-Attempts"); p != provider || a != fmt.Sprint(attempts) {
		t.Errorf("provider %q attempts %q, want %s/%d", p, a, provider, attempts)
	}
	row := h.row(resp.Header.Get("X-Llmgate-Request-Id"))
	if row.Status != store.StatusError || row.HTTPStatus != status || row.ErrorCode != code || len(row.Attempts) != attempts ||
		strings.Contains(row.ErrorMessage, testProviderKey) {
		t.Errorf("row status=%q http=%d code=%q attempts=%+v message=%q", row.Status, row.HTTPStatus, row.ErrorCode, row.Attempts, row.ErrorMessage)
	}
	return row
}

func streams() []bool { return []bool{false, true} }

func streamName(stream bool) string {
	if stream {
		return "stream"
	}
	return "json"
}

// pair is two accounts on model gpt-4o: a nearly always first (weighted
// order), b second.
func pair(a, b *faultServer, ta providers.Timeouts) []acctSpec {
	return []acctSpec{
		{name: "a", baseURL: a.URL, models: []string{"gpt-4o"}, weight: 1 << 20, timeouts: ta},
		{name: "b", baseURL: b.URL, models: []string{"gpt-4o"}, weight: 1},
	}
}

// ------------------------------------------------------------------ tests

// 1. A 429 with Retry-After: 1 on A moves to B at once: B's request
// arrives well before A's Retry-After ends, and A is not asked again.
func TestFault429RetryAfterMovesOn(t *testing.T) {
	for _, stream := range streams() {
		t.Run(streamName(stream), func(t *testing.T) {
			a := newFaultServer(t, always(statusReply(429, body429, "Retry-After", "1")))
			b := newFaultServer(t, always(okReply(t)))
			h := newFaultHarness(t, faultOpts{accounts: pair(a, b, providers.Timeouts{})})
			start := time.Now()
			resp, got := h.chat(chatBody("gpt-4o", stream, true))
			took := time.Since(start)
			row := wantAnswer(t, h, resp, got, stream, "b", "gpt-4o", 2)
			wantAttempts(t, row, attemptWant{"a", 429, "Rate limit reached"}, attemptWant{"b", 200, ""})
			if a.hits() != 1 || b.hits() != 1 {
				t.Fatalf("upstream hits a=%d b=%d, want 1/1", a.hits(), b.hits())
			}
			if gap := b.arrived()[0].at.Sub(a.arrived()[0].at); gap < 0 || gap > 500*time.Millisecond {
				t.Errorf("B was asked %v after A's 429, want at once (< 500ms)", gap)
			}
			if took > 900*time.Millisecond {
				t.Errorf("answered after %v: the gateway waited for A's Retry-After", took)
			}
		})
	}
}

// 2. A 429 on the only account is retried after the backoff, or after the
// upstream's retry-after-ms / Retry-After when it names one.
func TestFault429WaitsOnSingleAccount(t *testing.T) {
	cases := []struct {
		name    string
		hdr     []string
		minWait time.Duration
		maxWait time.Duration
	}{
		{"no retry-after", nil, 10 * time.Millisecond, 500 * time.Millisecond}, // Backoff(2) is within [10ms, 20ms]
		{"retry-after-ms 300", []string{"retry-after-ms", "300"}, 300 * time.Millisecond, 1500 * time.Millisecond},
		{"retry-after 1", []string{"Retry-After", "1"}, time.Second, 2500 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			up := newFaultServer(t, seq(statusReply(429, body429, c.hdr...), okReply(t)))
			h := newFaultHarness(t, faultOpts{accounts: []acctSpec{{name: "solo", baseURL: up.URL, models: []string{"gpt-4o"}}}})
			resp, got := h.chat(chatBody("gpt-4o", false, false))
			row := wantAnswer(t, h, resp, got, false, "solo", "gpt-4o", 2)
			wantAttempts(t, row, attemptWant{"solo", 429, "Rate limit"}, attemptWant{"solo", 200, ""})
			if up.hits() != 2 {
				t.Fatalf("%d upstream requests, want 2", up.hits())
			}
			if gap := up.gaps()[0]; gap < c.minWait || gap > c.maxWait {
				t.Errorf("retried after %v, want within [%v, %v]", gap, c.minWait, c.maxWait)
			}
		})
	}
}

// 3. A 500 then a 200 on the same single account: one retry, spaced by at
// least half the minimum backoff.
func TestFault500ThenSuccess(t *testing.T) {
	for _, stream := range streams() {
		t.Run(streamName(stream), func(t *testing.T) {
			up := newFaultServer(t, seq(statusReply(500, body500), okReply(t)))
			h := newFaultHarness(t, faultOpts{accounts: []acctSpec{{name: "solo", baseURL: up.URL, models: []string{"gpt-4o"}}}})
			resp, got := h.chat(chatBody("gpt-4o", stream, true))
			row := wantAnswer(t, h, resp, got, stream, "solo", "gpt-4o", 2)
			wantAttempts(t, row, attemptWant{"solo", 500, "Internal Server Error"}, attemptWant{"solo", 200, ""})
			if up.hits() != 2 {
				t.Fatalf("%d upstream requests, want 2", up.hits())
			}
			if gap := up.gaps()[0]; gap < h.retry.BackoffMin/2 {
				t.Errorf("retried after %v, want at least BackoffMin/2 = %v", gap, h.retry.BackoffMin/2)
			}
		})
	}
}

// 4. A 503 that never ends: the policy's attempts per account, summed
// over accounts and bounded by max_attempts, then 503
// all_upstreams_failed; never more requests than that, spaced by the
// backoff.
func TestFault503Exhausted(t *testing.T) {
	cases := []struct {
		name     string
		accounts int
		retry    router.RetryPolicy
		want     int
	}{
		{"one account", 1, router.RetryPolicy{Attempts: 2}, 2},
		{"two accounts", 2, router.RetryPolicy{Attempts: 2}, 4},
		{"max_attempts 3", 2, router.RetryPolicy{Attempts: 2, MaxAttempts: 3}, 3},
	}
	for _, c := range cases {
		for _, stream := range streams() {
			t.Run(c.name+"/"+streamName(stream), func(t *testing.T) {
				var ups []*faultServer
				var accts []acctSpec
				for i := range c.accounts {
					up := newFaultServer(t, always(statusReply(503, body503)))
					ups = append(ups, up)
					accts = append(accts, acctSpec{name: fmt.Sprint("acct", i), baseURL: up.URL, models: []string{"gpt-4o"}})
				}
				h := newFaultHarness(t, faultOpts{accounts: accts, retry: c.retry})
				resp, got := h.chat(chatBody("gpt-4o", stream, true))
				row := wantError(t, h, resp, got, http.StatusServiceUnavailable, "all_upstreams_failed", c.want)
				for _, a := range row.Attempts {
					if a.Status != 503 {
						t.Errorf("attempt %+v, want 503", a)
					}
				}
				time.Sleep(300 * time.Millisecond) // nothing more may arrive later
				total := 0
				for i, up := range ups {
					total += up.hits()
					if up.hits() > c.retry.Attempts {
						t.Errorf("account %d got %d requests, more than attempts=%d", i, up.hits(), c.retry.Attempts)
					}
					for _, g := range up.gaps() {
						if g < h.retry.BackoffMin/2 {
							t.Errorf("account %d hammered: retried after %v, want at least %v", i, g, h.retry.BackoffMin/2)
						}
					}
				}
				if total != c.want {
					t.Errorf("%d upstream requests, want exactly %d", total, c.want)
				}
			})
		}
	}
}

// 5. A connection reset before any response byte is retried on the same
// account after the backoff, or answered at once by the next account.
func TestFaultResetBeforeHeaders(t *testing.T) {
	for _, stream := range streams() {
		t.Run("same account/"+streamName(stream), func(t *testing.T) {
			up := newFaultServer(t, seq(resetConn, okReply(t)))
			h := newFaultHarness(t, faultOpts{accounts: []acctSpec{{name: "solo", baseURL: up.URL, models: []string{"gpt-4o"}}}})
			resp, got := h.chat(chatBody("gpt-4o", stream, true))
			row := wantAnswer(t, h, resp, got, stream, "solo", "gpt-4o", 2)
			wantAttempts(t, row, attemptWant{"solo", 0, "unreachable"}, attemptWant{"solo", 200, ""})
			if up.hits() != 2 || up.gaps()[0] < h.retry.BackoffMin/2 {
				t.Errorf("hits %d gaps %v, want 2 spaced by at least %v", up.hits(), up.gaps(), h.retry.BackoffMin/2)
			}
		})
		t.Run("next account/"+streamName(stream), func(t *testing.T) {
			a := newFaultServer(t, always(resetConn))
			b := newFaultServer(t, always(okReply(t)))
			h := newFaultHarness(t, faultOpts{accounts: pair(a, b, providers.Timeouts{})})
			resp, got := h.chat(chatBody("gpt-4o", stream, true))
			row := wantAnswer(t, h, resp, got, stream, "b", "gpt-4o", 2)
			wantAttempts(t, row, attemptWant{"a", 0, "unreachable"}, attemptWant{"b", 200, ""})
			if a.hits() != 1 || b.hits() != 1 {
				t.Errorf("hits a=%d b=%d, want 1/1", a.hits(), b.hits())
			}
		})
	}
}

// 6. An upstream that never sends headers hits the headers deadline; the
// next account is tried and the silent one is not asked again in the
// same request.
func TestFaultSilentUpstream(t *testing.T) {
	to := providers.Timeouts{Headers: 200 * time.Millisecond}
	for _, stream := range streams() {
		t.Run("next account/"+streamName(stream), func(t *testing.T) {
			a := newFaultServer(t, nil)
			a.set(always(a.silent))
			b := newFaultServer(t, always(okReply(t)))
			h := newFaultHarness(t, faultOpts{accounts: pair(a, b, to)})
			start := time.Now()
			resp, got := h.chat(chatBody("gpt-4o", stream, true))
			took := time.Since(start)
			row := wantAnswer(t, h, resp, got, stream, "b", "gpt-4o", 2)
			wantAttempts(t, row, attemptWant{"a", 0, "timed out"}, attemptWant{"b", 200, ""})
			if took < 190*time.Millisecond || took > 2*time.Second {
				t.Errorf("answered after %v, want just after the 200ms headers deadline", took)
			}
			time.Sleep(100 * time.Millisecond)
			if a.hits() != 1 || b.hits() != 1 {
				t.Errorf("hits a=%d b=%d, want 1/1 (the silent account asked once)", a.hits(), b.hits())
			}
		})
		t.Run("alone/"+streamName(stream), func(t *testing.T) {
			a := newFaultServer(t, nil)
			a.set(always(a.silent))
			h := newFaultHarness(t, faultOpts{accounts: []acctSpec{{name: "a", baseURL: a.URL, models: []string{"gpt-4o"}, timeouts: to}}})
			start := time.Now()
			resp, got := h.chat(chatBody("gpt-4o", stream, true))
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("answered after %v", took)
			}
			row := wantError(t, h, resp, got, http.StatusGatewayTimeout, "upstream_timeout", 1)
			wantAttempts(t, row, attemptWant{"a", 0, "timed out"})
			time.Sleep(100 * time.Millisecond)
			if a.hits() != 1 {
				t.Errorf("the silent account got %d requests, want 1", a.hits())
			}
		})
	}
}

// 7. A stream whose first token never comes moves to the next account
// before anything reached the client, which gets B's stream, clean and
// complete. SSE comments before the first token do not count as one.
func TestFaultFirstTokenStall(t *testing.T) {
	for _, comments := range []bool{false, true} {
		t.Run(fmt.Sprint("comments=", comments), func(t *testing.T) {
			a := newFaultServer(t, nil)
			a.set(always(a.stall(comments)))
			b := newFaultServer(t, always(okReply(t)))
			h := newFaultHarness(t, faultOpts{accounts: pair(a, b, providers.Timeouts{FirstToken: 200 * time.Millisecond})})
			start := time.Now()
			resp, got := h.chat(chatBody("gpt-4o", true, true))
			took := time.Since(start)
			if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
				t.Errorf("content-type %q", ct)
			}
			row := wantAnswer(t, h, resp, got, true, "b", "gpt-4o", 2)
			wantAttempts(t, row, attemptWant{"a", 0, "timed out"}, attemptWant{"b", 200, ""})
			if strings.Contains(string(got), "OPENROUTER") {
				t.Error("A's comments reached the client")
			}
			if took < 190*time.Millisecond || took > 2*time.Second {
				t.Errorf("answered after %v, want just after the 200ms first-token deadline", took)
			}
			if a.hits() != 1 || b.hits() != 1 {
				t.Errorf("hits a=%d b=%d, want 1/1", a.hits(), b.hits())
			}
		})
	}
}

// 8. context_length_exceeded (or another provider's wording) skips every
// target of that model and every fallback whose catalogued window is too
// small; the first that fits answers. With nothing left the client gets
// the upstream's 400.
func TestFaultContextLengthFallback(t *testing.T) {
	// One server, one behaviour per model: gpt-4o-mini is "too small".
	setup := func(t *testing.T, tooLong string, fallbacks map[string][]string) (*faultServer, *faultHarness) {
		up := newFaultServer(t, byModel(map[string]fault{
			"gpt-4o-mini": statusReply(400, tooLong),
			"gpt-4o":      okReply(t),
			"gpt-4.1":     okReply(t),
		}))
		h := newFaultHarness(t, faultOpts{fallbacks: fallbacks, accounts: []acctSpec{
			{name: "small1", baseURL: up.URL, models: []string{"gpt-4o-mini"}},
			{name: "small2", baseURL: up.URL, models: []string{"gpt-4o-mini"}},
			{name: "big", baseURL: up.URL, models: []string{"gpt-4.1", "gpt-4o"}},
		}})
		return up, h
	}
	for _, tooLong := range []string{bodyCtx, bodyTooLong} {
		for _, stream := range streams() {
			t.Run("fallback/"+streamName(stream)+"/"+tooLong[:30], func(t *testing.T) {
				up, h := setup(t, tooLong, map[string][]string{"gpt-4o-mini": {"gpt-4.1"}})
				resp, got := h.chat(chatBody("gpt-4o-mini", stream, true))
				row := wantAnswer(t, h, resp, got, stream, "big", "gpt-4.1", 2)
				if row.RequestedModel != "gpt-4o-mini" || row.Attempts[0].Status != 400 || row.Attempts[0].Model != "gpt-4o-mini" {
					t.Errorf("row requested %q attempts %+v", row.RequestedModel, row.Attempts)
				}
				// The other account of the too-small model is not tried.
				if up.hitsFor("gpt-4o-mini") != 1 || up.hitsFor("gpt-4.1") != 1 {
					t.Errorf("hits mini=%d 4.1=%d, want 1/1", up.hitsFor("gpt-4o-mini"), up.hitsFor("gpt-4.1"))
				}
			})
		}
	}
	t.Run("catalogue skips a fallback too small", func(t *testing.T) {
		up, h := setup(t, bodyCtx, map[string][]string{"gpt-4o-mini": {"gpt-4o", "gpt-4.1"}})
		// 200k output tokens do not fit gpt-4o's 128k window.
		body := `{"model":"gpt-4o-mini","max_tokens":200000,"messages":[{"role":"user","content":"a long story"}]}`
		resp, got := h.chat(body)
		wantAnswer(t, h, resp, got, false, "big", "gpt-4.1", 2)
		if up.hitsFor("gpt-4o") != 0 {
			t.Errorf("gpt-4o (128k window) was tried for a 200k-token request")
		}
		// Without the large output budget gpt-4o fits and is next.
		resp, got = h.chat(chatBody("gpt-4o-mini", false, false))
		wantAnswer(t, h, resp, got, false, "big", "gpt-4o", 2)
	})
	for _, stream := range streams() {
		t.Run("no fallback/"+streamName(stream), func(t *testing.T) {
			up, h := setup(t, bodyCtx, nil)
			resp, got := h.chat(chatBody("gpt-4o-mini", stream, true))
			row := wantPassthrough(t, h, resp, got, 400, bodyCtx, resp.Header.Get("X-Llmgate-Provider"), "context_length_exceeded", 1)
			if p := row.Attempts[0].Provider; p != "small1" && p != "small2" {
				t.Errorf("attempt on %s", p)
			}
			if up.hits() != 1 {
				t.Errorf("%d upstream requests, want 1", up.hits())
			}
		})
	}
}

// 9. A content-policy 400 is the client's answer even with fallbacks
// configured: no other account, no other model is tried.
func TestFaultContentPolicyNotFailedOver(t *testing.T) {
	for _, stream := range streams() {
		t.Run(streamName(stream), func(t *testing.T) {
			up := newFaultServer(t, byModel(map[string]fault{
				"gpt-4o-mini": statusReply(400, bodyPolicy),
				"gpt-4.1":     okReply(t),
			}))
			h := newFaultHarness(t, faultOpts{fallbacks: map[string][]string{"gpt-4o-mini": {"gpt-4.1"}}, accounts: []acctSpec{
				{name: "small1", baseURL: up.URL, models: []string{"gpt-4o-mini"}},
				{name: "small2", baseURL: up.URL, models: []string{"gpt-4o-mini"}},
				{name: "big", baseURL: up.URL, models: []string{"gpt-4.1"}},
			}})
			resp, got := h.chat(chatBody("gpt-4o-mini", stream, true))
			wantPassthrough(t, h, resp, got, 400, bodyPolicy, resp.Header.Get("X-Llmgate-Provider"), "content_policy_violation", 1)
			if up.hits() != 1 || up.hitsFor("gpt-4.1") != 0 {
				t.Errorf("hits %d (gpt-4.1: %d), want 1 (0)", up.hits(), up.hitsFor("gpt-4.1"))
			}
		})
	}
}

// 10. An account whose key is refused (401), or whose quota is spent (429
// insufficient_quota), is left for the next account at once and not
// retried; alone, its answer reaches the client with the key redacted.
func TestFaultAccountRefused(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		code   string
	}{
		{"401 bad key", 401, body401, "invalid_api_key"},
		{"403", 403, `{"error":{"message":"Project does not have access to model gpt-4o","type":"invalid_request_error","param":null,"code":"model_not_found"}}`, "model_not_found"},
		{"429 insufficient_quota", 429, bodyQuota, "insufficient_quota"},
	}
	for _, c := range cases {
		for _, stream := range streams() {
			t.Run(c.name+"/next account/"+streamName(stream), func(t *testing.T) {
				a := newFaultServer(t, always(statusReply(c.status, c.body)))
				b := newFaultServer(t, always(okReply(t)))
				h := newFaultHarness(t, faultOpts{accounts: pair(a, b, providers.Timeouts{})})
				resp, got := h.chat(chatBody("gpt-4o", stream, true))
				row := wantAnswer(t, h, resp, got, stream, "b", "gpt-4o", 2)
				wantAttempts(t, row, attemptWant{"a", c.status, "upstream status"}, attemptWant{"b", 200, ""})
				if a.hits() != 1 || b.hits() != 1 {
					t.Errorf("hits a=%d b=%d, want 1/1", a.hits(), b.hits())
				}
			})
			t.Run(c.name+"/alone/"+streamName(stream), func(t *testing.T) {
				a := newFaultServer(t, always(statusReply(c.status, c.body)))
				h := newFaultHarness(t, faultOpts{accounts: []acctSpec{{name: "a", baseURL: a.URL, models: []string{"gpt-4o"}}}})
				resp, got := h.chat(chatBody("gpt-4o", stream, true))
				wantPassthrough(t, h, resp, got, c.status, c.body, "a", c.code, 1)
				if a.hits() != 1 {
					t.Errorf("the refusing account got %d requests, want 1", a.hits())
				}
			})
		}
	}
}

// 11. A primary that is down opens its breaker after `failures` failures
// and stops receiving requests; after the cooldown one probe goes
// through (a failed one reopens the breaker for twice as long); once it
// recovers, the probe succeeds and traffic returns to it.
func TestFaultBreakerOpensAndRecovers(t *testing.T) {
	var down atomic.Bool
	down.Store(true)
	ok := okReply(t)
	primary := newFaultServer(t, always(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			statusReply(500, body500)(w, r)
			return
		}
		ok(w, r)
	}))
	backup := newFaultServer(t, always(ok))
	const cooldown = 300 * time.Millisecond
	h := newFaultHarness(t, faultOpts{
		breaker: router.BreakerConfig{Failures: 3, Window: 10 * time.Second, Cooldown: cooldown},
		accounts: []acctSpec{
			{name: "primary", baseURL: primary.URL, models: []string{"gpt-4o"}, weight: 1 << 20},
			{name: "backup", baseURL: backup.URL, models: []string{"gpt-4o"}, weight: 1},
		}})
	send := func() string {
		t.Helper()
		resp, got := h.chat(chatBody("gpt-4o", false, false))
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, got)
		}
		return resp.Header.Get("X-Llmgate-Provider") + "/" + resp.Header.Get("X-Llmgate-Attempts")
	}
	// flat sends requests for d and asserts the primary gets none.
	flat := func(phase string, d time.Duration) {
		t.Helper()
		before := primary.hits()
		for end := time.Now().Add(d); time.Now().Before(end); {
			if got := send(); got != "backup/1" {
				t.Fatalf("%s: answered by %s, want backup/1 (breaker open)", phase, got)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if n := primary.hits(); n != before {
			t.Fatalf("%s: the primary got %d requests while its breaker was open", phase, n-before)
		}
	}

	// Down: each request fails once on the primary and is answered by the
	// backup; the third failure opens the breaker.
	for i := range 3 {
		if got := send(); got != "backup/2" {
			t.Fatalf("request %d: answered by %s, want backup/2", i, got)
		}
	}
	if primary.hits() != 3 {
		t.Fatalf("primary got %d requests, want 3", primary.hits())
	}
	openedAt := primary.arrived()[2].at
	flat("open", cooldown-100*time.Millisecond-time.Since(openedAt))

	// Cooldown over, still down: exactly one probe, which fails and
	// reopens the breaker for 2×cooldown.
	time.Sleep(time.Until(openedAt.Add(cooldown + 20*time.Millisecond)))
	if got := send(); got != "backup/2" {
		t.Fatalf("probe request answered by %s, want backup/2", got)
	}
	if primary.hits() != 4 {
		t.Fatalf("primary got %d requests after the cooldown, want 4 (one probe)", primary.hits())
	}
	reopenedAt := primary.arrived()[3].at
	flat("reopened", 2*cooldown-150*time.Millisecond-time.Since(reopenedAt))

	// Recovered: the next probe (after 2×cooldown) succeeds and traffic
	// returns to the primary.
	down.Store(false)
	deadline := reopenedAt.Add(2*cooldown + 1500*time.Millisecond)
	var back time.Time
	for time.Now().Before(deadline) {
		if got := send(); got == "primary/1" {
			back = time.Now()
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if back.IsZero() {
		t.Fatalf("traffic did not return to the primary within %v of its reopening (hits %d)", 2*cooldown+1500*time.Millisecond, primary.hits())
	}
	if d := back.Sub(reopenedAt); d < 2*cooldown-20*time.Millisecond {
		t.Errorf("primary answered %v after reopening, before its 2×cooldown", d)
	}
	for i := range 5 {
		if got := send(); got != "primary/1" {
			t.Fatalf("request %d after recovery answered by %s, want primary/1", i, got)
		}
	}
	if s := h.health.Snapshot(); len(s) == 0 {
		t.Error("empty health snapshot")
	} else {
		for _, st := range s {
			if st.State != router.Closed {
				t.Errorf("%s/%s still %s after recovery", st.Account, st.Model, st.State)
			}
		}
	}
}

// 12. Pooled accounts with one always failing: every request succeeds and
// the bad account gets at most `failures` requests (plus those already in
// flight when its breaker opened).
func TestFaultPooledBadAccount(t *testing.T) {
	bad := newFaultServer(t, always(statusReply(500, body500)))
	good1 := newFaultServer(t, always(okReply(t)))
	good2 := newFaultServer(t, always(okReply(t)))
	const failures, workers, total = 3, 4, 60
	h := newFaultHarness(t, faultOpts{
		breaker: router.BreakerConfig{Failures: failures, Window: 10 * time.Second, Cooldown: 10 * time.Second},
		accounts: []acctSpec{
			{name: "bad", baseURL: bad.URL, models: []string{"gpt-4o"}},
			{name: "good1", baseURL: good1.URL, models: []string{"gpt-4o"}},
			{name: "good2", baseURL: good2.URL, models: []string{"gpt-4o"}},
		}})
	type result struct {
		stream bool
		resp   *http.Response
		body   []byte
		err    error
	}
	results := make(chan result, total)
	next := make(chan int, total)
	for i := range total {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				stream := i%3 == 0
				req, _ := http.NewRequest(http.MethodPost, h.URL+"/v1/chat/completions", strings.NewReader(chatBody("gpt-4o", stream, true)))
				req.Header.Set("Authorization", "Bearer "+testGatewayKey)
				resp, err := h.client.Do(req)
				if err != nil {
					results <- result{err: err}
					continue
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				results <- result{stream: stream, resp: resp, body: b, err: err}
			}
		}()
	}
	wg.Wait()
	close(results)
	for r := range results {
		if r.err != nil {
			t.Error(r.err)
			continue
		}
		p, n := r.resp.Header.Get("X-Llmgate-Provider"), 0
		fmt.Sscan(r.resp.Header.Get("X-Llmgate-Attempts"), &n)
		if p != "good1" && p != "good2" || n < 1 || n > 2 {
			t.Errorf("answered by %q after %d attempts", p, n)
			continue
		}
		row := wantAnswer(t, h, r.resp, r.body, r.stream, p, "gpt-4o", n)
		if n == 2 && (row.Attempts[0].Provider != "bad" || row.Attempts[0].Status != 500) {
			t.Errorf("first attempt %+v, want bad/500", row.Attempts[0])
		}
	}
	if bad.hits() > failures+workers-1 {
		t.Errorf("the bad account got %d requests, want at most %d (breaker failures + in flight)", bad.hits(), failures+workers-1)
	}
	if good1.hits()+good2.hits() != total {
		t.Errorf("good accounts answered %d+%d, want %d in all", good1.hits(), good2.hits(), total)
	}
	t.Logf("bad %d, good1 %d, good2 %d", bad.hits(), good1.hits(), good2.hits())
}

// 13. llmgate.fallbacks and configured chains never escape the key's
// scope: a fallback the key may not use is never tried.
func TestFaultFallbacksOutsideKeyScope(t *testing.T) {
	msgs := `"messages":[{"role":"user","content":"hi"}]`
	cases := []struct {
		name       string
		body       string
		configured map[string][]string
		scope      []string
		allowed    bool
	}{
		{"request fallback by name", `{"model":"gpt-4o",` + msgs + `,"llmgate":{"fallbacks":["gpt-4.1"]}}`, nil, []string{"gpt-4o"}, false},
		{"request fallback object", `{"model":"gpt-4o",` + msgs + `,"llmgate":{"fallbacks":[{"provider":"other","model":"gpt-4.1"}]}}`, nil, []string{"gpt-4o"}, false},
		{"request fallback pinned name", `{"model":"gpt-4o",` + msgs + `,"llmgate":{"fallbacks":["other/gpt-4.1"]}}`, nil, []string{"gpt-4o"}, false},
		{"configured chain", `{"model":"gpt-4o",` + msgs + `}`, map[string][]string{"gpt-4o": {"gpt-4.1"}}, []string{"gpt-4o"}, false},
		{"in scope (control)", `{"model":"gpt-4o",` + msgs + `,"llmgate":{"fallbacks":["gpt-4.1"]}}`, nil, []string{"gpt-4o", "gpt-4.1"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			primary := newFaultServer(t, always(statusReply(500, body500)))
			other := newFaultServer(t, always(okReply(t)))
			h := newFaultHarness(t, faultOpts{
				keys:      []gateway.StaticKey{{Secret: testGatewayKey, Name: "t", Models: c.scope}},
				fallbacks: c.configured,
				accounts: []acctSpec{
					{name: "primary", baseURL: primary.URL, models: []string{"gpt-4o"}},
					{name: "other", baseURL: other.URL, models: []string{"gpt-4.1"}},
				}})
			resp, got := h.chat(c.body)
			if c.allowed {
				wantAnswer(t, h, resp, got, false, "other", "gpt-4.1", 2)
				return
			}
			if other.hits() != 0 {
				t.Errorf("the out-of-scope fallback gpt-4.1 was tried %d times (client got %d, provider %q)",
					other.hits(), resp.StatusCode, resp.Header.Get("X-Llmgate-Provider"))
			}
			if resp.StatusCode != http.StatusBadGateway {
				t.Errorf("status %d, want 502 from the primary's failures: %.120s", resp.StatusCode, got)
			}
		})
	}
}

// 14. The request-wide deadline: an upstream asking for 5 s is not waited
// for past a 300 ms deadline; the client gets a clean error at once.
func TestFaultDeadline(t *testing.T) {
	retry := router.RetryPolicy{Deadline: 300 * time.Millisecond}
	for _, stream := range streams() {
		for _, n := range []int{1, 2} {
			t.Run(fmt.Sprintf("%d accounts/%s", n, streamName(stream)), func(t *testing.T) {
				var accts []acctSpec
				var ups []*faultServer
				for i := range n {
					up := newFaultServer(t, always(statusReply(429, body429, "Retry-After", "5")))
					ups = append(ups, up)
					accts = append(accts, acctSpec{name: fmt.Sprint("acct", i), baseURL: up.URL, models: []string{"gpt-4o"}})
				}
				h := newFaultHarness(t, faultOpts{accounts: accts, retry: retry})
				start := time.Now()
				resp, got := h.chat(chatBody("gpt-4o", stream, true))
				if took := time.Since(start); took > time.Second {
					t.Errorf("answered after %v, want < 1s", took)
				}
				wantError(t, h, resp, got, http.StatusServiceUnavailable, "all_upstreams_failed", n)
				if ra := resp.Header.Get("Retry-After"); ra != "5" {
					t.Errorf("Retry-After %q, want the upstream's 5", ra)
				}
				for i, up := range ups {
					if up.hits() != 1 {
						t.Errorf("account %d got %d requests, want 1", i, up.hits())
					}
				}
			})
		}
	}
	t.Run("backoff longer than the deadline", func(t *testing.T) {
		up := newFaultServer(t, always(statusReply(500, body500)))
		h := newFaultHarness(t, faultOpts{retry: router.RetryPolicy{Deadline: 300 * time.Millisecond, BackoffMin: 2 * time.Second, BackoffMax: 4 * time.Second},
			accounts: []acctSpec{{name: "solo", baseURL: up.URL, models: []string{"gpt-4o"}}}})
		start := time.Now()
		resp, got := h.chat(chatBody("gpt-4o", false, false))
		if took := time.Since(start); took > time.Second {
			t.Errorf("answered after %v, want < 1s", took)
		}
		wantError(t, h, resp, got, http.StatusBadGateway, "all_upstreams_failed", 1)
		if up.hits() != 1 {
			t.Errorf("%d requests, want 1", up.hits())
		}
	})
}

// 15. A session sticks to one pooled account; when that account's breaker
// opens, the session moves to another.
func TestFaultSessionStickiness(t *testing.T) {
	ok := okReply(t)
	var broken sync.Map // account name -> true
	srv := func(name string) *faultServer {
		return newFaultServer(t, always(func(w http.ResponseWriter, r *http.Request) {
			if _, b := broken.Load(name); b {
				statusReply(500, body500)(w, r)
				return
			}
			ok(w, r)
		}))
	}
	ups := map[string]*faultServer{"s1": srv("s1"), "s2": srv("s2"), "s3": srv("s3")}
	h := newFaultHarness(t, faultOpts{
		breaker: router.BreakerConfig{Failures: 2, Window: 10 * time.Second, Cooldown: 10 * time.Second},
		accounts: []acctSpec{
			{name: "s1", baseURL: ups["s1"].URL, models: []string{"gpt-4o"}},
			{name: "s2", baseURL: ups["s2"].URL, models: []string{"gpt-4o"}},
			{name: "s3", baseURL: ups["s3"].URL, models: []string{"gpt-4o"}},
		}})
	send := func(session string) (string, string) {
		t.Helper()
		resp, got := h.chat(chatBody("gpt-4o", false, false), "X-Llmgate-Session", session)
		if resp.StatusCode != 200 {
			t.Fatalf("session %s: status %d: %s", session, resp.StatusCode, got)
		}
		return resp.Header.Get("X-Llmgate-Provider"), resp.Header.Get("X-Llmgate-Attempts")
	}
	home := map[string]string{}
	used := map[string]bool{}
	for i := range 12 {
		s := fmt.Sprint("conv-", i)
		first, _ := send(s)
		for range 3 {
			if p, _ := send(s); p != first {
				t.Fatalf("session %s went to %s, then %s", s, first, p)
			}
		}
		home[s] = first
		used[first] = true
	}
	if len(used) < 2 {
		t.Errorf("12 sessions all landed on %v", used)
	}
	// The llmgate.session field means the same as the header.
	resp, got := h.chat(`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"llmgate":{"session":"conv-0"}}`)
	if resp.StatusCode != 200 || resp.Header.Get("X-Llmgate-Provider") != home["conv-0"] {
		t.Errorf("llmgate.session: status %d provider %q, want %s: %s", resp.StatusCode, resp.Header.Get("X-Llmgate-Provider"), home["conv-0"], got)
	}

	// Break conv-0's account: two failures (each answered elsewhere) open
	// its breaker, and the session then goes straight to another account.
	dead := home["conv-0"]
	broken.Store(dead, true)
	var moved string
	for i := range 2 {
		p, n := send("conv-0")
		if p == dead || n != "2" {
			t.Fatalf("failing request %d: provider %s attempts %s, want another account after 2 attempts", i, p, n)
		}
		if moved != "" && p != moved {
			t.Errorf("session moved to %s, then %s", moved, p)
		}
		moved = p
	}
	before := ups[dead].hits()
	for i := range 5 {
		if p, n := send("conv-0"); p != moved || n != "1" {
			t.Errorf("request %d with the breaker open: provider %s attempts %s, want %s/1", i, p, n, moved)
		}
	}
	if ups[dead].hits() != before {
		t.Errorf("the account with an open breaker got %d more requests", ups[dead].hits()-before)
	}
	// Sessions homed elsewhere do not move.
	for s, p := range home {
		if p == dead {
			continue
		}
		if got, _ := send(s); got != p {
			t.Errorf("session %s moved from %s to %s although its account is healthy", s, p, got)
		}
	}
}

// An account-wide failure (key refused, connection refused) counts
// against every model of the account: once its breaker opens, requests
// for another model skip the account too.
func TestFaultAccountWideBreaker(t *testing.T) {
	for _, c := range []string{"key refused", "connection refused"} {
		t.Run(c, func(t *testing.T) {
			good := newFaultServer(t, always(okReply(t)))
			var bad *faultServer
			badURL := closedURL(t)
			if c == "key refused" {
				bad = newFaultServer(t, always(statusReply(401, body401)))
				badURL = bad.URL
			}
			both := []string{"gpt-4o", "gpt-4.1"}
			h := newFaultHarness(t, faultOpts{
				breaker: router.BreakerConfig{Failures: 2, Window: 10 * time.Second, Cooldown: 10 * time.Second},
				accounts: []acctSpec{
					{name: "bad", baseURL: badURL, models: both, weight: 1 << 20},
					{name: "good", baseURL: good.URL, models: both, weight: 1},
				}})
			for i := range 2 {
				resp, got := h.chat(chatBody("gpt-4o", false, false))
				row := wantAnswer(t, h, resp, got, false, "good", "gpt-4o", 2)
				if row.Attempts[0].Provider != "bad" {
					t.Fatalf("request %d: first attempt %+v, want on bad", i, row.Attempts[0])
				}
			}
			if bad != nil && bad.hits() != 2 {
				t.Fatalf("bad got %d requests, want 2", bad.hits())
			}
			// Another model of the same account: skipped without a try.
			resp, got := h.chat(chatBody("gpt-4.1", false, false))
			wantAnswer(t, h, resp, got, false, "good", "gpt-4.1", 1)
			if bad != nil && bad.hits() != 2 {
				t.Errorf("bad got a request for gpt-4.1 although its account-wide breaker is open")
			}
			open := false
			for _, st := range h.health.Snapshot() {
				open = open || (st.Account == "bad" && st.Model == "" && st.State == router.Open)
			}
			if !open {
				t.Errorf("bad's account-wide breaker is not open: %+v", h.health.Snapshot())
			}
		})
	}
}
