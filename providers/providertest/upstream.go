package providertest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Received is one request as the fake upstream saw it on the wire, so a
// test can assert on exactly what a provider sent.
type Received struct {
	Method string
	// URI is the request target as sent: escaped path plus query.
	URI string
	// Path is the decoded URL path.
	Path   string
	Host   string
	Header http.Header
	Body   []byte
}

// Upstream is an httptest server that records every request before
// handing it to the test's handler.
type Upstream struct {
	URL  string
	done chan struct{}

	mu   sync.Mutex
	reqs []Received
}

// NewUpstream starts an Upstream answering with h; it is closed when the
// test ends.
func NewUpstream(t testing.TB, h http.HandlerFunc) *Upstream {
	t.Helper()
	u := &Upstream{done: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.reqs = append(u.reqs, Received{Method: r.Method, URI: r.RequestURI, Path: r.URL.Path,
			Host: r.Host, Header: r.Header.Clone(), Body: body})
		u.mu.Unlock()
		h(w, r)
	}))
	u.URL = srv.URL
	// Cleanups run last-in first-out: done closes first, releasing
	// handlers parked in Block, so srv.Close does not wait on them.
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(u.done) })
	return u
}

// Count is how many requests arrived.
func (u *Upstream) Count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.reqs)
}

// Last is the latest request; the test fails if there was none.
func (u *Upstream) Last(t testing.TB) Received {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.reqs) == 0 {
		t.Fatal("upstream received nothing")
	}
	return u.reqs[len(u.reqs)-1]
}

// All is every request so far, oldest first.
func (u *Upstream) All() []Received {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]Received(nil), u.reqs...)
}

// Done is closed when the test ends.
func (u *Upstream) Done() <-chan struct{} { return u.done }

// Block parks a handler until the request or the test ends: an upstream
// that never answers (or never finishes) on its own.
func (u *Upstream) Block(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-u.done:
	}
}

// JSONAnswer answers every request with status and body as
// application/json; hdr adds headers or overrides the Content-Type.
func JSONAnswer(status int, body []byte, hdr map[string]string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		for k, v := range hdr {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
}
