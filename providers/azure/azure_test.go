package azure

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/providers/providertest"
)

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
			up := providertest.NewUpstream(t, providertest.JSONAnswer(200, []byte(completion), nil))
			p, err := New(providers.Config{Name: "az", Type: "azure", BaseURL: up.URL + c.base, APIKey: "azkey", Options: c.opts})
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
			s := up.Last(t)
			if path, query, _ := strings.Cut(s.URI, "?"); path != c.wantPath || query != c.wantQuery {
				t.Errorf("upstream got %s, want %s?%s", s.URI, c.wantPath, c.wantQuery)
			}
			if got := s.Header.Get(c.wantHdr[0]); got != c.wantHdr[1] {
				t.Errorf("header %s = %q, want %q", c.wantHdr[0], got, c.wantHdr[1])
			}
			if c.wantHdr[0] == "Api-Key" && s.Header.Get("Authorization") != "" {
				t.Error("an api-key account must not also send Authorization")
			}
			if string(s.Body) != string(body) {
				t.Errorf("body changed: %s", s.Body)
			}
		})
	}
	if _, err := New(providers.Config{Name: "az", Type: "azure", APIKey: "k"}); err == nil || !strings.Contains(err.Error(), "base_url is required") {
		t.Errorf("missing base_url: %v", err)
	}
}

// Azure's recorded stream: a leading choices:[] chunk with
// prompt_filter_results, content_filter_results on choices, no [DONE].
func TestStreamContentFilterChunks(t *testing.T) {
	raw := providertest.Fixture(t, "openai-compatible", "azure-chat-stream-content-filter.sse")
	up := providertest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Write(raw)
	})
	p, err := New(providers.Config{Name: "az", Type: "azure", BaseURL: up.URL, APIKey: "azkey"})
	if err != nil {
		t.Fatal(err)
	}
	sk := &providertest.Sink{}
	_, err = p.Stream(context.Background(), &providers.Request{Endpoint: providers.Chat, Model: "gpt-4o", Stream: true,
		Body: []byte(`{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`)}, sk)
	if err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	for _, ev := range sk.Events {
		got.Write(ev.Raw)
	}
	if got.String() != string(raw) {
		t.Errorf("the stream did not pass through byte for byte")
	}
	if first := sk.Events[0]; first.UsageOnly || first.Finish || !strings.Contains(string(first.Data), "prompt_filter_results") {
		t.Errorf("leading choices:[] chunk flagged as %+v", first)
	}
	if s := up.Last(t); !strings.Contains(string(s.Body), `"include_usage":true`) {
		t.Errorf("usage not requested upstream: %s", s.Body)
	}
}

func TestErrorsPassThrough(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.JSONAnswer(400, []byte(`{"error":{"code":"content_filter","message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.","param":"prompt","status":400}}`), nil))
	p, _ := New(providers.Config{Name: "az", Type: "azure", BaseURL: up.URL, APIKey: "azkey"})
	_, err := p.Do(context.Background(), &providers.Request{Endpoint: providers.Chat, Model: "gpt-4o", Body: []byte(`{"model":"gpt-4o","messages":[]}`)})
	var se *providers.StatusError
	if !errors.As(err, &se) || se.Status != 400 || se.Code != "content_filter" {
		t.Fatalf("err %v", err)
	}
}
