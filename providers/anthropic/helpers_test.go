package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/internal/fixtures"
	"github.com/llmgate/llmgate/providers"
)

const testKey = "sk-ant-test-key-123"

// fixturesDir is ../shared/fixtures beside the repository (or $LLMGATE_FIXTURES).
var fixturesDir = fixtures.MustDir()

func fixture(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixturesDir, "anthropic", rel))
	if err != nil {
		t.Fatalf("reading fixture: %v", err)
	}
	return b
}

// upstream is an httptest server speaking the Messages API, recording
// what it was sent.
type upstream struct {
	URL  string
	stop chan struct{}

	mu      sync.Mutex
	bodies  [][]byte
	headers []http.Header
	paths   []string
}

func newUpstream(t testing.TB, h http.HandlerFunc) *upstream {
	t.Helper()
	u := &upstream{stop: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.bodies = append(u.bodies, body)
		u.headers = append(u.headers, r.Header.Clone())
		u.paths = append(u.paths, r.URL.Path)
		u.mu.Unlock()
		h(w, r)
	}))
	u.URL = srv.URL
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(u.stop) })
	return u
}

func (u *upstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.bodies)
}

func (u *upstream) last(t testing.TB) ([]byte, http.Header, string) {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.bodies) == 0 {
		t.Fatal("upstream received nothing")
	}
	n := len(u.bodies) - 1
	return u.bodies[n], u.headers[n], u.paths[n]
}

// jsonAnswer answers with a status and a JSON body.
func jsonAnswer(status int, body []byte, hdr map[string]string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		for k, v := range hdr {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
}

// replay writes content as an event stream, by event or in random pieces
// of 1–17 bytes, flushing after each write.
func replay(content []byte, small bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		f := w.(http.Flusher)
		f.Flush()
		if small {
			rng := rand.New(rand.NewPCG(11, uint64(len(content))))
			for rest := content; len(rest) > 0; {
				n := min(1+rng.IntN(17), len(rest))
				_, _ = w.Write(rest[:n])
				f.Flush()
				rest = rest[n:]
			}
			return
		}
		for _, ev := range bytes.SplitAfter(content, []byte("\n\n")) {
			_, _ = w.Write(ev)
			f.Flush()
		}
	}
}

func newTestProvider(t testing.TB, baseURL string, to providers.Timeouts, opts, hdr map[string]string) providers.Provider {
	t.Helper()
	tp, ok := providers.Lookup(Name)
	if !ok {
		t.Fatalf("type %q not registered", Name)
	}
	p, err := tp.New(providers.Config{Name: "acct", Type: Name, BaseURL: baseURL, APIKey: testKey, Timeouts: to, Options: opts, Headers: hdr})
	if err != nil {
		t.Fatal(err)
	}
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
	c.Raw = bytes.Clone(ev.Raw)
	c.Data = bytes.Clone(ev.Data)
	if ev.Usage != nil {
		u := *ev.Usage
		c.Usage = &u
	}
	s.events = append(s.events, c)
	if !ev.Comment {
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

// data returns the data payloads of the recorded events.
func (s *recSink) data() []string {
	var out []string
	for _, e := range s.events {
		out = append(out, string(e.Data))
	}
	return out
}

func chatReq(model string, stream bool, body string) *providers.Request {
	return &providers.Request{Endpoint: providers.Chat, Model: model, Body: []byte(body), Stream: stream}
}

// jsonEqual compares two JSON texts by value.
func jsonEqual(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// field asserts that path in doc holds the JSON value want, or is absent
// when want is "".
func field(t testing.TB, doc []byte, path, want string) {
	t.Helper()
	got := gjson.GetBytes(doc, path)
	if want == "" {
		if got.Exists() {
			t.Errorf("%s = %s, want it absent", path, got.Raw)
		}
		return
	}
	if !got.Exists() {
		t.Errorf("%s absent, want %s", path, want)
		return
	}
	if !jsonEqual(got.Raw, want) {
		t.Errorf("%s = %s, want %s", path, got.Raw, want)
	}
}
