package caddymodule

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// A route through a real Caddy with two mock accounts at different
// prices: a short question goes to the cheap one, a critical one to the
// strong one; headers, saved_usd and the row explain the choice.
func TestE2ERoute(t *testing.T) {
	tester, up := startGateway(t)
	tester.InitServer(config(up, `provider strong {
			type mock
			models mock-large
		}
		route auto {
			simple mock/mock-mini
			complex strong/mock-large
			optimize cost
		}`), "caddyfile")
	ask := func(body string, hdr ...string) (*http.Response, []byte) {
		req, _ := http.NewRequest("POST", httpAddr+"/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+e2eKey)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	resp, b := ask(`{"model":"auto","messages":[{"role":"user","content":"What is the capital of France?"}]}`)
	if resp.StatusCode != 200 || resp.Header.Get("X-Llmgate-Tier") != "simple" || resp.Header.Get("X-Llmgate-Provider") != "mock" ||
		resp.Header.Get("X-Llmgate-Model") != "mock-mini" || len(resp.Header.Get("X-Llmgate-Route-Score")) != 5 || resp.Header.Get("X-Llmgate-Route-Reason") == "" {
		t.Fatalf("simple: %d %v %s", resp.StatusCode, resp.Header, b)
	}
	meta := gjson.GetBytes(b, "llmgate")
	if meta.Get("tier").Str != "simple" || meta.Get("saved_usd").Float() <= 0 {
		t.Fatalf("llmgate object %s: saved_usd must be positive against mock-large", meta.Raw)
	}
	status, cost, _ := rowStatus(t, meta.Get("request_id").Str)
	if status != "ok" || cost <= 0 {
		t.Fatalf("row %s %v", status, cost)
	}
	resp, b = ask(`{"model":"auto","messages":[{"role":"user","content":"What is the capital of France?"}]}`, "X-Llmgate-Criticality", "high")
	if resp.StatusCode != 200 || resp.Header.Get("X-Llmgate-Tier") != "complex" || resp.Header.Get("X-Llmgate-Provider") != "strong" ||
		gjson.GetBytes(b, "llmgate.saved_usd").Float() != 0 {
		t.Fatalf("critical: %d %v %s", resp.StatusCode, resp.Header, b)
	}
	// The route is listed in /v1/models.
	req, _ := http.NewRequest("GET", httpAddr+"/v1/models", nil)
	req.Header.Set("Authorization", "Bearer "+e2eKey)
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	lb, _ := io.ReadAll(r2.Body)
	r2.Body.Close()
	if !strings.Contains(string(lb), `"id":"auto","object":"model","created":1767225600,"owned_by":"llmgate"`) {
		t.Fatalf("models list lacks the route: %s", lb)
	}
}
