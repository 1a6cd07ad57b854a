package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/internal/fixtures"
	"github.com/llmgate/llmgate/providers"
)

const testKey = "AIza-secret-test-key-123"

// fixedNow pins "created" so whole chunks can be compared.
var fixedNow = time.Unix(1750000000, 0)

var fixturesDir = fixtures.MustDir()

func fixture(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixturesDir, "gemini", rel))
	if err != nil {
		t.Fatalf("reading fixture: %v", err)
	}
	return b
}

// recorded is one request the fake upstream received.
type recorded struct {
	body   []byte
	header http.Header
	uri    string // escaped path plus query, as sent
}

// upstream is an httptest server speaking whatever h writes, recording
// every request.
type upstream struct {
	URL  string
	stop chan struct{}

	mu   sync.Mutex
	reqs []recorded
}

func newUpstream(t testing.TB, h http.HandlerFunc) *upstream {
	t.Helper()
	u := &upstream{stop: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.reqs = append(u.reqs, recorded{body: body, header: r.Header.Clone(), uri: r.URL.RequestURI()})
		u.mu.Unlock()
		h(w, r)
	}))
	u.URL = srv.URL
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(u.stop) })
	return u
}

func (u *upstream) last(t testing.TB) recorded {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.reqs) == 0 {
		t.Fatal("upstream received nothing")
	}
	return u.reqs[len(u.reqs)-1]
}

func (u *upstream) all() []recorded {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]recorded(nil), u.reqs...)
}

// block waits until the request or the test ends.
func (u *upstream) block(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-u.stop:
	}
}

// jsonAnswer answers every request with body.
func jsonAnswer(status int, body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
}

// replay writes content as an event stream: whole events (split after
// each CRLF blank line, as Gemini sends them), or random 1–17 byte pieces
// with a flush after each write.
func replay(content []byte, seed uint64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		f := w.(http.Flusher)
		f.Flush()
		if seed != 0 {
			rng := rand.New(rand.NewPCG(seed, uint64(len(content))))
			for rest := content; len(rest) > 0; {
				n := min(1+rng.IntN(17), len(rest))
				_, _ = w.Write(rest[:n])
				f.Flush()
				rest = rest[n:]
			}
			return
		}
		for _, ev := range bytes.SplitAfter(content, []byte("\r\n\r\n")) {
			_, _ = w.Write(ev)
			f.Flush()
		}
	}
}

func newTestProvider(t testing.TB, baseURL string, to providers.Timeouts) *Provider {
	t.Helper()
	tp, ok := providers.Lookup("gemini")
	if !ok {
		t.Fatal("type gemini not registered")
	}
	pv, err := tp.New(providers.Config{Name: "acct", Type: "gemini", BaseURL: baseURL, APIKey: testKey, Timeouts: to, Headers: map[string]string{"X-Goog-User-Project": "proj-1"}})
	if err != nil {
		t.Fatal(err)
	}
	p := pv.(*Provider)
	p.now = func() time.Time { return fixedNow }
	return p
}

// recSink records copies of every event.
type recSink struct {
	events    []providers.Event
	committed bool
	// stopOn, when it returns true for an event, makes Event return ErrStop.
	stopOn func(*providers.Event) bool
	// failAfter makes the n-th event (1-based) fail like a gone client.
	failAfter int
}

var errGone = errors.New("client went away")

func (s *recSink) Event(ev *providers.Event) error {
	c := *ev
	c.Data = bytes.Clone(ev.Data)
	if ev.Usage != nil {
		u := *ev.Usage
		c.Usage = &u
	}
	s.events = append(s.events, c)
	if !ev.Comment && !ev.Malformed {
		s.committed = true
	}
	if s.failAfter > 0 && len(s.events) >= s.failAfter {
		return errGone
	}
	if s.stopOn != nil && s.stopOn(ev) {
		return providers.ErrStop
	}
	return nil
}

func (s *recSink) Committed() bool { return s.committed }

// data lists the chunk payloads the sink received, in order.
func (s *recSink) data() []string {
	var out []string
	for _, ev := range s.events {
		out = append(out, string(ev.Data))
	}
	return out
}

func chatReq(model string, stream bool, body string) *providers.Request {
	return &providers.Request{Endpoint: providers.Chat, Model: model, Body: []byte(body), Stream: stream}
}

// check asserts gjson paths of a JSON document against expected compact
// JSON values; "<absent>" asserts the path does not exist.
func check(t testing.TB, doc []byte, want map[string]string) {
	t.Helper()
	for path, exp := range want {
		got := gjson.GetBytes(doc, path)
		if exp == "<absent>" {
			if got.Exists() {
				t.Errorf("%s: want absent, got %s", path, got.Raw)
			}
			continue
		}
		if !got.Exists() {
			t.Errorf("%s: missing, want %s", path, exp)
			continue
		}
		if g := compact(got.Raw); g != compact(exp) {
			t.Errorf("%s:\n got  %s\n want %s", path, g, compact(exp))
		}
	}
}

func compact(s string) string {
	var b bytes.Buffer
	if err := jsonCompact(&b, []byte(s)); err != nil {
		return s
	}
	return b.String()
}

func runStream(t testing.TB, p *Provider, model, body string) (*recSink, providers.Usage, error) {
	t.Helper()
	sink := &recSink{}
	u, err := p.Stream(context.Background(), chatReq(model, true, body), sink)
	return sink, u, err
}

func jsonCompact(dst *bytes.Buffer, src []byte) error { return json.Compact(dst, src) }
