package azure

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/llmgate/llmgate/internal/fixtures"
	"github.com/llmgate/llmgate/providers"
)

type seen struct {
	mu     sync.Mutex
	path   string
	query  string
	header http.Header
	body   []byte
}

func upstream(t *testing.T, reply func(w http.ResponseWriter)) (*httptest.Server, *seen) {
	s := &seen{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.path, s.query, s.header, s.body = r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Clone(), b
		s.mu.Unlock()
		reply(w)
	}))
	t.Cleanup(srv.Close)
	return srv, s
}

const completion = `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop","content_filter_results":{"hate":{"filtered":false,"severity":"safe"}}}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6},"prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}`

func TestURLsAndAuth(t *testing.T) {
	cases := []struct {
		name      string
		base      string
		opts      map[string]string
		wantPath  string
		wantQuery string
		wantHdr   [2]string
	}{
		{"deployment url", "", nil, "/openai/deployments/my-gpt4o/chat/completions", "api-version=" + DefaultAPIVersion, [2]string{"Api-Key", "azkey"}},
		{"api version and fixed deployment", "", map[string]string{"api_version": "2025-04-01-preview", "deployment": "prod dep"}, "/openai/deployments/prod%20dep/chat/completions", "api-version=2025-04-01-preview", [2]string{"Api-Key", "azkey"}},
		{"v1 form", "/openai/v1", nil, "/openai/v1/chat/completions", "", [2]string{"Api-Key", "azkey"}},
		{"entra bearer", "", map[string]string{"auth": "bearer"}, "/openai/deployments/my-gpt4o/chat/completions", "api-version=" + DefaultAPIVersion, [2]string{"Authorization", "Bearer azkey"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, s := upstream(t, func(w http.ResponseWriter) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, completion)
			})
			p, err := New(providers.Config{Name: "az", Type: "azure", BaseURL: srv.URL + c.base, APIKey: "azkey", Options: c.opts})
			if err != nil {
				t.Fatal(err)
			}
			body := []byte(`{"model":"my-gpt4o","messages":[{"role":"user","content":"hi"}]}`)
			resp, err := p.Do(context.Background(), &providers.Request{Endpoint: providers.Chat, Model: "my-gpt4o", Body: body})
			if err != nil {
				t.Fatal(err)
			}
			if string(resp.Body) != completion || resp.Usage.PromptTokens != 5 || resp.Usage.CompletionTokens != 1 {
				t.Errorf("answer %s usage %+v: content-filter results must pass through untouched", resp.Body, resp.Usage)
			}
			if s.path != c.wantPath || s.query != c.wantQuery {
				t.Errorf("upstream got %s?%s, want %s?%s", s.path, s.query, c.wantPath, c.wantQuery)
			}
			if got := s.header.Get(c.wantHdr[0]); got != c.wantHdr[1] {
				t.Errorf("header %s = %q, want %q", c.wantHdr[0], got, c.wantHdr[1])
			}
			if c.wantHdr[0] == "Api-Key" && s.header.Get("Authorization") != "" {
				t.Error("an api-key account must not also send Authorization")
			}
			if string(s.body) != string(body) {
				t.Errorf("body changed: %s", s.body)
			}
		})
	}
	if _, err := New(providers.Config{Name: "az", Type: "azure", APIKey: "k"}); err == nil || !strings.Contains(err.Error(), "base_url is required") {
		t.Errorf("missing base_url: %v", err)
	}
}

type sink struct{ events []providers.Event }

func (s *sink) Event(ev *providers.Event) error {
	c := *ev
	c.Raw, c.Data = append([]byte(nil), ev.Raw...), append([]byte(nil), ev.Data...)
	s.events = append(s.events, c)
	return nil
}
func (s *sink) Committed() bool { return len(s.events) > 0 }

// Azure's recorded stream: a leading choices:[] chunk with
// prompt_filter_results, content_filter_results on choices, no [DONE].
func TestStreamContentFilterChunks(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(fixtures.MustDir(), "openai-compatible/azure-chat-stream-content-filter.sse"))
	if err != nil {
		t.Fatal(err)
	}
	srv, s := upstream(t, func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Write(raw)
	})
	p, err := New(providers.Config{Name: "az", Type: "azure", BaseURL: srv.URL, APIKey: "azkey"})
	if err != nil {
		t.Fatal(err)
	}
	sk := &sink{}
	_, err = p.Stream(context.Background(), &providers.Request{Endpoint: providers.Chat, Model: "gpt-4o", Stream: true,
		Body: []byte(`{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`)}, sk)
	if err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	for _, ev := range sk.events {
		got.Write(ev.Raw)
	}
	if got.String() != string(raw) {
		t.Errorf("the stream did not pass through byte for byte")
	}
	if first := sk.events[0]; first.UsageOnly || first.Finish || !strings.Contains(string(first.Data), "prompt_filter_results") {
		t.Errorf("leading choices:[] chunk flagged as %+v", first)
	}
	if !strings.Contains(string(s.body), `"include_usage":true`) {
		t.Errorf("usage not requested upstream: %s", s.body)
	}
}

func TestErrorsPassThrough(t *testing.T) {
	srv, _ := upstream(t, func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		io.WriteString(w, `{"error":{"code":"content_filter","message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.","param":"prompt","status":400}}`)
	})
	p, _ := New(providers.Config{Name: "az", Type: "azure", BaseURL: srv.URL, APIKey: "azkey"})
	_, err := p.Do(context.Background(), &providers.Request{Endpoint: providers.Chat, Model: "gpt-4o", Body: []byte(`{"model":"gpt-4o","messages":[]}`)})
	var se *providers.StatusError
	if !errors.As(err, &se) || se.Status != 400 || se.Code != "content_filter" {
		t.Fatalf("err %v", err)
	}
}
