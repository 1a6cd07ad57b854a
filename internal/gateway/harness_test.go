package gateway_test

// Test harness: a real gateway served by httptest, real SQLite rows, and
// real httptest upstreams that replay the recorded provider fixtures byte
// for byte and record what they were sent.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fixtures"

	"github.com/llmgate/llmgate/internal/catalog"
	"github.com/llmgate/llmgate/internal/gateway"
	"github.com/llmgate/llmgate/internal/limits"
	"github.com/llmgate/llmgate/internal/spend"
	"github.com/llmgate/llmgate/providers"
	_ "github.com/llmgate/llmgate/providers/openai"
	"github.com/llmgate/llmgate/router"
	"github.com/llmgate/llmgate/store"
)

const (
	testGatewayKey  = "lg_testAbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
	testProviderKey = "sk-secret-test-key-123"
)

// fixturesDir is ../shared/fixtures beside the repository (or $LLMGATE_FIXTURES).
var fixturesDir = fixtures.MustDir()

// fixture reads a recorded payload; a missing fixture fails the test.
func fixture(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixturesDir, rel))
	if err != nil {
		t.Fatalf("reading fixture: %v", err)
	}
	return b
}

// ---------------------------------------------------------------- upstreams

// upstream is a fake provider endpoint that records every request body.
type upstream struct {
	srv     *httptest.Server
	URL     string
	handler func(w http.ResponseWriter, r *http.Request, body []byte)
	stop    chan struct{} // closed at cleanup so blocking handlers return

	mu      sync.Mutex
	bodies  [][]byte
	headers []http.Header
	paths   []string
	hits    atomic.Int32
}

func newUpstream(t testing.TB, h func(w http.ResponseWriter, r *http.Request, body []byte)) *upstream {
	t.Helper()
	u := &upstream{handler: h, stop: make(chan struct{})}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.bodies = append(u.bodies, body)
		u.headers = append(u.headers, r.Header.Clone())
		u.paths = append(u.paths, r.URL.Path)
		u.mu.Unlock()
		u.hits.Add(1)
		u.handler(w, r, body)
	}))
	u.URL = u.srv.URL
	t.Cleanup(u.srv.Close)
	t.Cleanup(func() { close(u.stop) }) // runs before srv.Close (LIFO)
	return u
}

func (u *upstream) lastBody(t testing.TB) []byte {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.bodies) == 0 {
		t.Fatal("the upstream received no request")
	}
	return u.bodies[len(u.bodies)-1]
}

func (u *upstream) lastHeader(t testing.TB) http.Header {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.headers) == 0 {
		t.Fatal("the upstream received no request")
	}
	return u.headers[len(u.headers)-1]
}

// replayMode says how an SSE fixture is written.
type replayMode int

const (
	// byEvent writes each "\n\n"-terminated event and flushes after it.
	byEvent replayMode = iota
	// smallChunks writes 1..17 byte pieces, flushing after each, so event
	// and even line boundaries fall anywhere inside a read.
	smallChunks
)

func (m replayMode) String() string {
	if m == smallChunks {
		return "small-chunks"
	}
	return "by-event"
}

// sseReplay serves content as a 200 text/event-stream, exactly as recorded.
func sseReplay(content []byte, mode replayMode) func(http.ResponseWriter, *http.Request, []byte) {
	return func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		writeSSE(w, content, mode, 1)
	}
}

func writeSSE(w http.ResponseWriter, content []byte, mode replayMode, seed uint64) {
	f := w.(http.Flusher)
	f.Flush()
	switch mode {
	case smallChunks:
		rng := rand.New(rand.NewPCG(seed, uint64(len(content))))
		for rest := content; len(rest) > 0; {
			n := min(1+rng.IntN(17), len(rest))
			_, _ = w.Write(rest[:n])
			f.Flush()
			rest = rest[n:]
		}
	default:
		for _, ev := range bytes.SplitAfter(content, []byte("\n\n")) {
			if len(ev) == 0 {
				continue
			}
			_, _ = w.Write(ev)
			f.Flush()
		}
	}
}

// jsonReply answers with status and body as recorded.
func jsonReply(status int, body []byte) func(http.ResponseWriter, *http.Request, []byte) {
	return func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
}

// closedURL returns a base URL on 127.0.0.1 where nothing listens.
func closedURL(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/v1"
}

// ------------------------------------------------------------------ gateway

type acctSpec struct {
	name     string
	typ      string // default "openai"
	baseURL  string
	key      string // default testProviderKey
	models   []string
	weight   int
	timeouts providers.Timeouts
	options  map[string]string
}

type harnessOpts struct {
	accounts []acctSpec
	retry    router.RetryPolicy
	limits   limits.Limits
	catalog  *catalog.Catalog
	keys     []gateway.StaticKey
	maxBody  int64
	onDone   func(*http.Request, *store.Row)
	// retention is Config.ResponsesRetention.
	retention time.Duration
}

type harness struct {
	clock  *testClock
	t      testing.TB
	gw     *gateway.Gateway
	srv    *httptest.Server
	URL    string
	db     *store.SQLite
	shared *store.Shared
	client *http.Client
}

func newHarness(t testing.TB, o harnessOpts) *harness {
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
		p, err := typ.New(providers.Config{Name: a.name, Type: a.typ, BaseURL: a.baseURL, APIKey: a.key, Timeouts: a.timeouts, Options: a.options})
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
	clock := &testClock{}
	gw := gateway.New(gateway.Config{Now: clock.now, Router: router.New(accts), Keys: keys, Store: shared, MaxBody: o.maxBody, OnDone: o.onDone, Retry: o.retry,
		Limits: limits.NewSet(), DefaultLimits: o.limits, Catalog: o.catalog, Spend: meterFor(db, shared),
		ResponsesRetention: o.retention})
	h := &harness{t: t, gw: gw, db: db, shared: shared, clock: clock}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !gw.Handle(w, r) {
			http.NotFound(w, r)
		}
	}))
	h.URL = h.srv.URL
	tr := &http.Transport{DisableCompression: true}
	h.client = &http.Client{Transport: tr, Timeout: 15 * time.Second}
	t.Cleanup(h.srv.Close)
	t.Cleanup(tr.CloseIdleConnections)
	return h
}

// post sends body to path with the test key and returns the response with
// its body read.
func (h *harness) post(path, body string, hdr ...string) (*http.Response, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.URL+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testGatewayKey)
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return h.do(req)
}

func (h *harness) do(req *http.Request) (*http.Response, []byte) {
	h.t.Helper()
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("reading response: %v", err)
	}
	return resp, b
}

func (h *harness) chat(body string, hdr ...string) (*http.Response, []byte) {
	h.t.Helper()
	return h.post("/v1/chat/completions", body, hdr...)
}

// row returns the usage row of a request. The row is enqueued when the
// handler returns, which can be just after the client read the last byte,
// so it polls (bounded) rather than assuming it is there.
func (h *harness) row(id string) *store.Row {
	h.t.Helper()
	if id == "" {
		h.t.Fatal("response has no X-Llmgate-Request-Id")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		h.shared.Writer.Flush()
		r, err := h.db.Request(context.Background(), id)
		if err == nil {
			return r
		}
		if !errors.Is(err, store.ErrNotFound) {
			h.t.Fatalf("reading row %s: %v", id, err)
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("no row for request %s after 5s", id)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// --------------------------------------------------------------- SSE helpers

// splitEvents splits an LF-framed event stream into events, each keeping
// its terminating blank line.
func splitEvents(b []byte) []string {
	var out []string
	for _, ev := range bytes.SplitAfter(b, []byte("\n\n")) {
		if len(ev) > 0 {
			out = append(out, string(ev))
		}
	}
	return out
}

// dataOf returns the data payload of an LF-framed single-line data event.
func dataOf(ev string) string {
	return strings.TrimSuffix(strings.TrimPrefix(ev, "data: "), "\n\n")
}

// meta is the llmgate object.
type meta struct {
	RequestID string   `json:"request_id"`
	Provider  string   `json:"provider"`
	Model     string   `json:"model"`
	Tier      string   `json:"tier"`
	Attempts  int      `json:"attempts"`
	CostUSD   *float64 `json:"cost_usd"`
	SavedUSD  *float64 `json:"saved_usd"`
	LatencyMS *int64   `json:"latency_ms"`
}

// cutMeta removes the top-level "llmgate" member that the gateway inserts
// before an object's closing brace, returning the object as it was before
// and the decoded member. ok is false when there is none.
func cutMeta(t testing.TB, obj string) (orig string, m meta, ok bool) {
	t.Helper()
	i := strings.LastIndex(obj, `"llmgate":{`)
	if i < 0 {
		return obj, m, false
	}
	end := strings.LastIndexByte(obj, '}') // the enclosing object's brace
	inner := obj[i+len(`"llmgate":`) : end]
	dec := json.NewDecoder(strings.NewReader(inner))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("llmgate object %q: %v", inner, err)
	}
	if dec.More() {
		t.Fatalf("trailing bytes after the llmgate object: %q", inner)
	}
	// The gateway adds one comma before the member unless it is the only one.
	start := i
	if start > 0 && obj[start-1] == ',' {
		start--
	}
	// And the object must be top level: decode the whole with it in place.
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(obj), &top); err != nil {
		t.Fatalf("chunk with llmgate object is not JSON: %v\n%s", err, obj)
	}
	if _, ok := top["llmgate"]; !ok {
		t.Fatalf("llmgate object is not at the top level: %s", obj)
	}
	return obj[:start] + obj[end:], m, true
}

// readEvents reads n LF-framed events from r (used when the test must
// stop reading part way).
func readEvents(t testing.TB, br *bufio.Reader, n int) []string {
	t.Helper()
	var out []string
	var cur strings.Builder
	for len(out) < n {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading event %d: %v (have %q)", len(out), err, cur.String())
		}
		cur.WriteString(line)
		if line == "\n" {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	return out
}

// chatBody builds a chat request body.
func chatBody(model string, stream, includeUsage bool) string {
	b := `{"model":` + strQuote(model) + `,"messages":[{"role":"user","content":"What's the weather like in San Francisco?"}]`
	if stream {
		b += `,"stream":true`
		if includeUsage {
			b += `,"stream_options":{"include_usage":true}`
		}
	}
	return b + "}"
}

func strQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

type apiErr struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    string  `json:"code"`
	} `json:"error"`
}

func decodeErr(t testing.TB, b []byte) apiErr {
	t.Helper()
	var e apiErr
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("error body is not JSON: %v: %s", err, b)
	}
	return e
}

// meterFor is a budget and quota meter rebuilt from the harness's rows.
func meterFor(db *store.SQLite, shared *store.Shared) *spend.Meter {
	m := spend.NewMeter(db)
	m.Flush = shared.Writer.Flush
	return m
}

// testClock is the real clock plus an offset tests can advance.
type testClock struct{ off atomic.Int64 }

func (c *testClock) now() time.Time { return time.Now().Add(time.Duration(c.off.Load())) }

// advance moves the gateway's clock forward.
func (h *harness) advance(d time.Duration) { h.clock.off.Add(int64(d)) }

// swapStore puts s in front of the harness's database for key lookups.
func (h *harness) swapStore(s store.Store) { h.shared.Store = s }
