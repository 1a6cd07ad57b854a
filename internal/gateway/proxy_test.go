package gateway_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/catalog"
	"github.com/llmgate/llmgate/internal/gateway"
	"github.com/llmgate/llmgate/providers"
)

// onlyMemberRemoved asserts that got is sent with exactly one contiguous
// span deleted, and that the span is the top-level "llmgate" member (with
// its separating comma and surrounding whitespace at most).
func onlyMemberRemoved(t *testing.T, sent, got string) {
	t.Helper()
	p := 0
	for p < len(sent) && p < len(got) && sent[p] == got[p] {
		p++
	}
	s := 0
	for s < len(sent)-p && s < len(got)-p && sent[len(sent)-1-s] == got[len(got)-1-s] {
		s++
	}
	if p+s != len(got) {
		t.Fatalf("upstream body differs by more than a deletion:\n sent %q\n  got %q", sent, got)
	}
	span := strings.TrimSpace(sent[p : len(sent)-s])
	span = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(span, ","), ","))
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte("{"+span+"}"), &m); err != nil || len(m) != 1 || m["llmgate"] == nil {
		t.Fatalf("the upstream body lost %q, not just the llmgate member (%v)", sent[p:len(sent)-s], err)
	}
	if !json.Valid([]byte(got)) {
		t.Fatalf("upstream body is not valid JSON: %s", got)
	}
}

// Test 5: the body reaches the upstream byte for byte (unknown fields, odd
// whitespace and escapes included) except for the model of a pin and the
// removed llmgate extension; the client gets the upstream JSON with only
// the llmgate object added.
func TestBodyPassthrough(t *testing.T) {
	const tmpl = "{ \"model\" : %s,\n\t\"messages\":[ {\"role\":\"user\", \"content\":\"caf\\u00e9 \\\"q\\\" \\/ \\ud83d\\ude00\"} ],\n" +
		"  \"x_vendor_thing\": {\"nested\": [1, 2.50, 1e3, true, null], \"k\":\"v\"} ,\n" +
		"  \"llmgate\" : {\"session\": \"conv-42\", \"tier\": \"simple\", \"fallbacks\": [] } ,\n" +
		"  \"temperature\" :0.70,\n  \"seed\": 42   \n}\n"
	for _, fx := range []string{"openai/chat-completion-text.json", "openai/chat-completion-parallel-tool-calls.json"} {
		upJSON := fixture(t, fx)
		for _, pinned := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/pinned=%v", fx, pinned), func(t *testing.T) {
				up := newUpstream(t, jsonReply(200, upJSON))
				h := newHarness(t, harnessOpts{accounts: []acctSpec{{name: "acct", baseURL: up.URL + "/v1", models: []string{"gpt-4o-mini"}}}})
				requested := "gpt-4o-mini"
				if pinned {
					requested = "acct/gpt-4o-mini"
				}
				sent := fmt.Sprintf(tmpl, strQuote(requested))
				resp, got := h.chat(sent)
				if resp.StatusCode != 200 {
					t.Fatalf("status %d: %s", resp.StatusCode, got)
				}
				// Upstream side.
				upBody := string(up.lastBody(t))
				wantSent := sent
				if pinned {
					wantSent = strings.Replace(sent, `"acct/gpt-4o-mini"`, `"gpt-4o-mini"`, 1)
				}
				onlyMemberRemoved(t, wantSent, upBody)
				if strings.Contains(upBody, "llmgate") || strings.Contains(upBody, "acct/") {
					t.Errorf("upstream body still has gateway-only parts: %s", upBody)
				}
				uh := up.lastHeader(t)
				if uh.Get("Authorization") != "Bearer "+testProviderKey || up.paths[0] != "/v1/chat/completions" {
					t.Errorf("upstream got Authorization %q path %q", uh.Get("Authorization"), up.paths[0])
				}
				for k, vs := range uh {
					for _, v := range vs {
						if strings.Contains(v, testGatewayKey) {
							t.Errorf("the gateway key was forwarded upstream in %s", k)
						}
					}
				}
				// Client side.
				orig, m, ok := cutMeta(t, string(got))
				if !ok || orig != string(upJSON) {
					t.Errorf("client body is not the upstream's plus llmgate:\n got %s\nwant %s", got, upJSON)
				}
				reqID := resp.Header.Get("X-Llmgate-Request-Id")
				if !strings.HasPrefix(reqID, "req_") || resp.Header.Get("X-Llmgate-Provider") != "acct" ||
					resp.Header.Get("X-Llmgate-Model") != "gpt-4o-mini" || resp.Header.Get("X-Llmgate-Attempts") != "1" ||
					resp.Header.Get("Content-Type") != "application/json" {
					t.Errorf("headers %v", resp.Header)
				}
				var fu struct {
					Usage struct {
						PromptTokens     int64 `json:"prompt_tokens"`
						CompletionTokens int64 `json:"completion_tokens"`
					} `json:"usage"`
				}
				if err := json.Unmarshal(upJSON, &fu); err != nil {
					t.Fatal(err)
				}
				cost, known := expectedCost("gpt-4o-mini", catalog.Usage{PromptTokens: fu.Usage.PromptTokens, CompletionTokens: fu.Usage.CompletionTokens})
				if !known || cost <= 0 {
					t.Fatalf("no catalogue price for gpt-4o-mini")
				}
				checkMeta(t, m, reqID, "acct", "gpt-4o-mini", 1, cost)
				row := h.row(reqID)
				if row.Status != "ok" || row.Stream || row.PromptTokens != fu.Usage.PromptTokens || row.CompletionTokens != fu.Usage.CompletionTokens ||
					!sameUSD(row.CostUSD, cost) || row.RequestedModel != requested || row.Model != "gpt-4o-mini" || row.Provider != "acct" {
					t.Errorf("row = %+v", row)
				}
			})
		}
	}
}

// noKeys asserts that an error body names neither key.
func noKeys(t *testing.T, b []byte) {
	t.Helper()
	if strings.Contains(string(b), testGatewayKey) || strings.Contains(string(b), testProviderKey) {
		t.Errorf("error body leaks a key: %s", b)
	}
}

// Test 6: client errors answer per the spec's table.
func TestClientErrors(t *testing.T) {
	const scopedKey = "lg_scopedAbCdEfGhIjKlMnOpQrStUvWxYz01234"
	const maxBody = 2048
	up := newUpstream(t, jsonReply(200, fixture(t, "openai/chat-completion-text.json")))
	h := newHarness(t, harnessOpts{
		accounts: []acctSpec{{name: "acct", baseURL: up.URL, models: []string{"gpt-4o-mini", "gpt-5-mini"}}},
		keys:     []gateway.StaticKey{{Secret: testGatewayKey, Name: "t"}, {Secret: scopedKey, Name: "scoped", Models: []string{"gpt-5*"}}},
		maxBody:  maxBody,
	})
	wrongKey := "lg_wrongWRONGwrongWRONGwrongWRONGwrong99"
	big := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"` + strings.Repeat("x", 2*maxBody) + `"}]}`
	cases := []struct {
		name, body string
		hdr        []string
		status     int
		typ, code  string
		msgHas     string
	}{
		{"invalid json", `{"model":`, nil, 400, "invalid_request_error", "invalid_json", "JSON"},
		{"empty body", ``, nil, 400, "invalid_request_error", "invalid_json", ""},
		{"not an object", `[1,2]`, nil, 400, "invalid_request_error", "invalid_json", ""},
		{"missing model", `{"messages":[{"role":"user","content":"hi"}]}`, nil, 400, "invalid_request_error", "missing_model", "model"},
		{"empty model", `{"model":"","messages":[]}`, nil, 400, "invalid_request_error", "missing_model", "model"},
		{"llmgate unknown key", `{"model":"gpt-4o-mini","llmgate":{"colour":"red"}}`, nil, 400, "invalid_request_error", "invalid_llmgate_field", "colour"},
		{"llmgate not an object", `{"model":"gpt-4o-mini","llmgate":"fast"}`, nil, 400, "invalid_request_error", "invalid_llmgate_field", "llmgate"},
		{"llmgate wrong type", `{"model":"gpt-4o-mini","llmgate":{"provider":5}}`, nil, 400, "invalid_request_error", "invalid_llmgate_field", "provider"},
		{"llmgate fallbacks wrong type", `{"model":"gpt-4o-mini","llmgate":{"fallbacks":"x"}}`, nil, 400, "invalid_request_error", "invalid_llmgate_field", "fallbacks"},
		{"llmgate bad tier", `{"model":"gpt-4o-mini","llmgate":{"tier":"extreme"}}`, nil, 400, "invalid_request_error", "invalid_llmgate_field", "tier"},
		{"llmgate bad optimize", `{"model":"gpt-4o-mini","llmgate":{"optimize":"vibes"}}`, nil, 400, "invalid_request_error", "invalid_llmgate_field", "optimize"},
		{"llmgate unknown provider", `{"model":"gpt-4o-mini","llmgate":{"provider":"nope"}}`, nil, 400, "invalid_request_error", "invalid_llmgate_field", "nope"},
		{"no key", chatBody("gpt-4o-mini", false, false), []string{"Authorization", ""}, 401, "authentication_error", "invalid_api_key", ""},
		{"wrong bearer key", chatBody("gpt-4o-mini", false, false), []string{"Authorization", "Bearer " + wrongKey}, 401, "authentication_error", "invalid_api_key", ""},
		{"wrong x-api-key", chatBody("gpt-4o-mini", false, false), []string{"Authorization", "", "X-Api-Key", wrongKey}, 401, "authentication_error", "invalid_api_key", ""},
		{"basic auth", chatBody("gpt-4o-mini", false, false), []string{"Authorization", "Basic " + testGatewayKey}, 401, "authentication_error", "invalid_api_key", ""},
		{"unknown model", chatBody("gpt-9-ultra", false, false), nil, 404, "invalid_request_error", "model_not_found", "gpt-9-ultra"},
		{"unknown pin account", chatBody("nobody/gpt-4o-mini", false, false), nil, 404, "invalid_request_error", "model_not_found", ""},
		{"out of key scope", chatBody("gpt-4o-mini", false, false), []string{"Authorization", "Bearer " + scopedKey}, 403, "permission_error", "model_not_allowed", "gpt-4o-mini"},
		{"pin out of key scope", chatBody("acct/gpt-4o-mini", false, false), []string{"Authorization", "Bearer " + scopedKey}, 403, "permission_error", "model_not_allowed", ""},
		{"too large (content-length)", big, nil, 413, "invalid_request_error", "request_too_large", "max_body"},
		{"ok x-api-key", chatBody("gpt-4o-mini", false, false), []string{"Authorization", "", "X-Api-Key", testGatewayKey}, 200, "", "", ""},
		{"ok lower-case bearer", chatBody("gpt-4o-mini", false, false), []string{"Authorization", "bearer " + testGatewayKey}, 200, "", "", ""},
		{"ok in key scope", chatBody("gpt-5-mini", false, false), []string{"Authorization", "Bearer " + scopedKey}, 200, "", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, b := h.chat(c.body, c.hdr...)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, b)
			}
			if resp.Header.Get("X-Llmgate-Request-Id") == "" {
				t.Error("no X-Llmgate-Request-Id")
			}
			if c.status == 200 {
				return
			}
			e := decodeErr(t, b)
			if e.Error.Type != c.typ || e.Error.Code != c.code || e.Error.Message == "" {
				t.Errorf("error = %+v, want type %s code %s", e.Error, c.typ, c.code)
			}
			if !strings.Contains(e.Error.Message, c.msgHas) {
				t.Errorf("message %q does not mention %q", e.Error.Message, c.msgHas)
			}
			if strings.Contains(string(b), wrongKey) || strings.Contains(string(b), scopedKey) {
				t.Errorf("error echoes a key: %s", b)
			}
			noKeys(t, b)
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("content-type %q", ct)
			}
			if c.status != 401 {
				row := h.row(resp.Header.Get("X-Llmgate-Request-Id"))
				if row.Status != "error" || row.HTTPStatus != c.status || row.ErrorCode != c.code {
					t.Errorf("row status=%q http=%d code=%q", row.Status, row.HTTPStatus, row.ErrorCode)
				}
			}
		})
	}
	if n := up.hits.Load(); n != 3 {
		t.Errorf("upstream hit %d times, want 3 (only the ok cases)", n)
	}
}

// A chunked body (no Content-Length) over max_body is refused as soon as
// the excess arrives: the 413 comes back while the client is still
// sending.
func TestRequestTooLargeChunked(t *testing.T) {
	const maxBody = 4096
	up := newUpstream(t, jsonReply(200, fixture(t, "openai/chat-completion-text.json")))
	h := newHarness(t, harnessOpts{accounts: []acctSpec{{name: "acct", baseURL: up.URL, models: []string{"gpt-4o-mini"}}}, maxBody: maxBody})
	pr, pw := io.Pipe()
	release := make(chan struct{})
	go func() {
		_, _ = io.WriteString(pw, `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"`+strings.Repeat("y", maxBody+100))
		<-release // keep the body open: the answer must not wait for its end
		_, _ = io.WriteString(pw, `"}]}`)
		pw.Close()
	}()
	defer close(release)
	req, _ := http.NewRequest(http.MethodPost, h.URL+"/v1/chat/completions", pr)
	req.Header.Set("Authorization", "Bearer "+testGatewayKey)
	if req.ContentLength != 0 {
		t.Fatal("request would carry a Content-Length")
	}
	type result struct {
		resp *http.Response
		body []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := h.client.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- result{resp, b, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatal(r.err)
		}
		if r.resp.StatusCode != 413 {
			t.Fatalf("status %d: %s", r.resp.StatusCode, r.body)
		}
		e := decodeErr(t, r.body)
		if e.Error.Code != "request_too_large" || e.Error.Type != "invalid_request_error" {
			t.Errorf("error = %+v", e.Error)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no 413 while the oversized body was still being sent")
	}
	if up.hits.Load() != 0 {
		t.Error("an oversized request reached the upstream")
	}
}

// Upstream 4xx answers are passed through with their status and body, the
// account key redacted, and X-Llmgate-Provider set.
func TestUpstreamClientErrorPassthrough(t *testing.T) {
	orig := string(fixture(t, "openai/error-400-unsupported-value.json"))
	echoed := strings.Replace(orig, "Unsupported value: ", "Unsupported value (key "+testProviderKey+"): ", 1)
	if echoed == orig {
		t.Fatal("fixture changed")
	}
	unauth := `{"error":{"message":"Incorrect API key provided: ` + testProviderKey + `. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`
	for _, c := range []struct {
		name   string
		status int
		body   string
		code   string
	}{
		{"400 unsupported value", 400, echoed, "unsupported_value"},
		{"401 from the upstream", 401, unauth, "invalid_api_key"},
		{"404", 404, `{"error":{"message":"The model does not exist","type":"invalid_request_error","param":null,"code":"model_not_found"}}`, "model_not_found"},
		{"422", 422, `{"detail":"bad"}`, "upstream_422"},
	} {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", c.name, stream), func(t *testing.T) {
				up := newUpstream(t, jsonReply(c.status, []byte(c.body)))
				h := newHarness(t, harnessOpts{accounts: []acctSpec{{name: "acct", baseURL: up.URL, models: []string{"o1-mini"}}}})
				resp, got := h.chat(chatBody("o1-mini", stream, false))
				if resp.StatusCode != c.status {
					t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, got)
				}
				want := strings.ReplaceAll(c.body, testProviderKey, "***")
				if string(got) != want {
					t.Errorf("body\n got %s\nwant %s", got, want)
				}
				noKeys(t, got)
				if resp.Header.Get("X-Llmgate-Provider") != "acct" || resp.Header.Get("X-Llmgate-Request-Id") == "" {
					t.Errorf("headers %v", resp.Header)
				}
				if up.hits.Load() != 1 {
					t.Errorf("a %d was retried: %d upstream hits", c.status, up.hits.Load())
				}
				row := h.row(resp.Header.Get("X-Llmgate-Request-Id"))
				if row.Status != "error" || row.HTTPStatus != c.status || row.ErrorCode != c.code ||
					strings.Contains(row.ErrorMessage, testProviderKey) || len(row.Attempts) != 1 || strings.Contains(row.Attempts[0].Error, testProviderKey) {
					t.Errorf("row = %+v", row)
				}
			})
		}
	}
}

// An unreachable upstream fails with 502 all_upstreams_failed naming the
// account.
func TestUpstreamUnreachable(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprint("stream=", stream), func(t *testing.T) {
			h := newHarness(t, harnessOpts{accounts: []acctSpec{{name: "deadacct", baseURL: closedURL(t), models: []string{"gpt-4o-mini"}}}})
			resp, got := h.chat(chatBody("gpt-4o-mini", stream, false))
			if resp.StatusCode != http.StatusBadGateway {
				t.Fatalf("status %d: %s", resp.StatusCode, got)
			}
			e := decodeErr(t, got)
			if e.Error.Type != "upstream_error" || e.Error.Code != "all_upstreams_failed" || !strings.Contains(e.Error.Message, "deadacct") {
				t.Errorf("error = %+v", e.Error)
			}
			noKeys(t, got)
			// The default policy tries each account twice (one retry
			// after a backoff).
			if resp.Header.Get("X-Llmgate-Attempts") != "2" {
				t.Errorf("attempts %q", resp.Header.Get("X-Llmgate-Attempts"))
			}
			row := h.row(resp.Header.Get("X-Llmgate-Request-Id"))
			if row.Status != "error" || row.HTTPStatus != 502 || len(row.Attempts) != 2 || row.Attempts[0].Status != 0 || row.Provider != "deadacct" {
				t.Errorf("row = %+v", row)
			}
		})
	}
}

// A 500 on one pooled account is retried on the other: the client sees
// only the 200, with X-Llmgate-Attempts 2.
func TestPooledFailover(t *testing.T) {
	fail := `{"error":{"message":"The server had an error processing your request (key ` + testProviderKey + `)","type":"server_error","param":null,"code":null}}`
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprint("stream=", stream), func(t *testing.T) {
			bad := newUpstream(t, jsonReply(500, []byte(fail)))
			var good *upstream
			if stream {
				good = newUpstream(t, sseReplay(fixture(t, "openai/chat-stream-text-usage.sse"), byEvent))
			} else {
				good = newUpstream(t, jsonReply(200, fixture(t, "openai/chat-completion-text.json")))
			}
			// The failing account nearly always comes first (weighted order).
			h := newHarness(t, harnessOpts{accounts: []acctSpec{
				{name: "bad", baseURL: bad.URL, models: []string{"gpt-4o"}, weight: 1 << 20},
				{name: "good", baseURL: good.URL, models: []string{"gpt-4o"}, weight: 1},
			}})
			for i := range 4 {
				before := bad.hits.Load()
				resp, got := h.chat(chatBody("gpt-4o", stream, false))
				if resp.StatusCode != 200 {
					t.Fatalf("request %d: status %d: %s", i, resp.StatusCode, got)
				}
				wantAttempts := 1 + int(bad.hits.Load()-before)
				if resp.Header.Get("X-Llmgate-Attempts") != fmt.Sprint(wantAttempts) || resp.Header.Get("X-Llmgate-Provider") != "good" {
					t.Errorf("attempts %q provider %q, want %d/good", resp.Header.Get("X-Llmgate-Attempts"), resp.Header.Get("X-Llmgate-Provider"), wantAttempts)
				}
				noKeys(t, got)
				obj := string(got)
				if stream {
					evs := splitEvents(got)
					obj = dataOf(evs[len(evs)-2])
				}
				if _, m, ok := cutMeta(t, obj); !ok || m.Attempts != wantAttempts || m.Provider != "good" {
					t.Errorf("llmgate = %+v", m)
				}
				row := h.row(resp.Header.Get("X-Llmgate-Request-Id"))
				if row.Status != "ok" || len(row.Attempts) != wantAttempts || row.Attempts[wantAttempts-1].Status != 200 || row.Provider != "good" {
					t.Errorf("row = %+v", row)
				}
				if wantAttempts == 2 && (row.Attempts[0].Status != 500 || strings.Contains(row.Attempts[0].Error, testProviderKey)) {
					t.Errorf("first attempt = %+v", row.Attempts[0])
				}
			}
			if bad.hits.Load() == 0 {
				t.Error("the failing account was never tried first")
			}
		})
	}
}

// When every attempt fails the message lists each account and status, and
// never the key an upstream echoed.
func TestAllUpstreamsFailed(t *testing.T) {
	fail := `{"error":{"message":"boom with ` + testProviderKey + `","type":"server_error"}}`
	a := newUpstream(t, jsonReply(500, []byte(fail)))
	b := newUpstream(t, jsonReply(502, []byte(fail)))
	h := newHarness(t, harnessOpts{accounts: []acctSpec{
		{name: "alpha", baseURL: a.URL, models: []string{"gpt-4o"}},
		{name: "beta", baseURL: b.URL, models: []string{"gpt-4o"}},
	}})
	resp, got := h.chat(chatBody("gpt-4o", false, false))
	if resp.StatusCode != 502 {
		t.Fatalf("status %d: %s", resp.StatusCode, got)
	}
	e := decodeErr(t, got)
	for _, s := range []string{"alpha", "beta", "500", "502"} {
		if !strings.Contains(e.Error.Message, s) {
			t.Errorf("message %q does not mention %s", e.Error.Message, s)
		}
	}
	// Two accounts, two tries each under the default policy.
	if e.Error.Code != "all_upstreams_failed" || resp.Header.Get("X-Llmgate-Attempts") != "4" {
		t.Errorf("error %+v attempts %q", e.Error, resp.Header.Get("X-Llmgate-Attempts"))
	}
	noKeys(t, got)
	row := h.row(resp.Header.Get("X-Llmgate-Request-Id"))
	if strings.Contains(row.ErrorMessage, testProviderKey) || len(row.Attempts) != 4 {
		t.Errorf("row = %+v", row)
	}
}

// Every upstream rate limited: 503 with the longest Retry-After.
func TestAllUpstreamsBusy(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Retry-After", "3")
		jsonReply(429, []byte(`{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}`))(w, r, nil)
	})
	h := newHarness(t, harnessOpts{accounts: []acctSpec{{name: "a", baseURL: up.URL, models: []string{"gpt-4o"}}}})
	resp, got := h.chat(chatBody("gpt-4o", false, false))
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "3" {
		t.Fatalf("status %d retry-after %q: %s", resp.StatusCode, resp.Header.Get("Retry-After"), got)
	}
}

// A non-streaming upstream that never answers hits the headers deadline.
func TestHeadersTimeoutNonStream(t *testing.T) {
	var up *upstream
	up = newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		select {
		case <-r.Context().Done():
		case <-up.stop:
		}
	})
	h := newHarness(t, harnessOpts{accounts: []acctSpec{{name: "slow", baseURL: up.URL, models: []string{"gpt-4o"},
		timeouts: providers.Timeouts{Headers: 200 * time.Millisecond}}}})
	start := time.Now()
	resp, got := h.chat(chatBody("gpt-4o", false, false))
	if resp.StatusCode != 504 || time.Since(start) > 2*time.Second {
		t.Fatalf("status %d after %v: %s", resp.StatusCode, time.Since(start), got)
	}
	if e := decodeErr(t, got); e.Error.Code != "upstream_timeout" || !strings.Contains(e.Error.Message, "slow") {
		t.Errorf("error = %+v", e.Error)
	}
}

// Test 9: embeddings pass through and are recorded with their usage.
func TestEmbeddingsPassthrough(t *testing.T) {
	const answer = `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.0023064255,-0.009327292,-0.0028842222]}],"model":"text-embedding-3-small","usage":{"prompt_tokens":8,"total_tokens":8}}`
	up := newUpstream(t, jsonReply(200, []byte(answer)))
	h := newHarness(t, harnessOpts{accounts: []acctSpec{{name: "emb", baseURL: up.URL + "/v1", models: []string{"text-embedding-3-small"}}}})
	sent := `{"input": "The food was delicious and the waiter...", "model": "text-embedding-3-small", "encoding_format": "float", "dimensions": 3}`
	resp, got := h.post("/v1/embeddings", sent)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, got)
	}
	if string(up.lastBody(t)) != sent || up.paths[0] != "/v1/embeddings" {
		t.Errorf("upstream got %s at %s", up.lastBody(t), up.paths[0])
	}
	orig, m, ok := cutMeta(t, string(got))
	if !ok || orig != answer {
		t.Errorf("client got %s", got)
	}
	want := roundUSD(8 * 0.02 / 1e6)
	if c, _ := expectedCost("text-embedding-3-small", catalog.Usage{PromptTokens: 8}); !sameUSD(c, want) {
		t.Fatalf("catalogue price changed: %v", c)
	}
	checkMeta(t, m, resp.Header.Get("X-Llmgate-Request-Id"), "emb", "text-embedding-3-small", 1, want)
	row := h.row(resp.Header.Get("X-Llmgate-Request-Id"))
	if row.Endpoint != "embeddings" || row.Status != "ok" || row.PromptTokens != 8 || row.CompletionTokens != 0 ||
		!sameUSD(row.CostUSD, want) || row.Stream || row.PriceUnknown {
		t.Errorf("row = %+v", row)
	}
}

// GET /v1/models lists the served models, filtered by the key's scope.
func TestModelsList(t *testing.T) {
	const scopedKey = "lg_scopedAbCdEfGhIjKlMnOpQrStUvWxYz01234"
	h := newHarness(t, harnessOpts{
		accounts: []acctSpec{
			{name: "oa", baseURL: closedURL(t), models: []string{"gpt-5", "gpt-5-mini", "gpt-4o-mini"}},
			{name: "gq", typ: "groq", baseURL: closedURL(t), models: []string{"gpt-4o-mini", "llama-3.3-70b-versatile"}},
		},
		keys: []gateway.StaticKey{{Secret: testGatewayKey, Name: "t"}, {Secret: scopedKey, Name: "s", Models: []string{"gpt-5*"}}},
	})
	get := func(path, key string) (*http.Response, []byte) {
		req, _ := http.NewRequest(http.MethodGet, h.URL+path, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		return h.do(req)
	}
	type list struct {
		Object string `json:"object"`
		Data   []struct {
			ID      string `json:"id"`
			Object  string `json:"object"`
			Created int64  `json:"created"`
			OwnedBy string `json:"owned_by"`
		} `json:"data"`
	}
	ids := func(b []byte) string {
		var l list
		if err := json.Unmarshal(b, &l); err != nil || l.Object != "list" {
			t.Fatalf("not a model list: %s (%v)", b, err)
		}
		var out []string
		for _, d := range l.Data {
			if d.Object != "model" || d.Created == 0 {
				t.Errorf("entry %+v", d)
			}
			out = append(out, d.ID+":"+d.OwnedBy)
		}
		return strings.Join(out, ",")
	}
	resp, b := get("/v1/models", testGatewayKey)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	if got := ids(b); got != "gpt-4o-mini:openai,gpt-5:openai,gpt-5-mini:openai,llama-3.3-70b-versatile:groq" {
		t.Errorf("full key sees %s", got)
	}
	if _, b := get("/v1/models", scopedKey); ids(b) != "gpt-5:openai,gpt-5-mini:openai" {
		t.Errorf("scoped key sees %s", ids(b))
	}
	if resp, b := get("/models", scopedKey); resp.StatusCode != 200 || ids(b) != "gpt-5:openai,gpt-5-mini:openai" {
		t.Errorf("without /v1: %d %s", resp.StatusCode, b)
	}
	if resp, b := get("/v1/models/gpt-5", scopedKey); resp.StatusCode != 200 || !strings.Contains(string(b), `"id":"gpt-5"`) {
		t.Errorf("one model: %d %s", resp.StatusCode, b)
	}
	resp, b = get("/v1/models/gpt-4o-mini", scopedKey)
	if e := decodeErr(t, b); resp.StatusCode != 404 || e.Error.Code != "model_not_found" {
		t.Errorf("out-of-scope model: %d %s", resp.StatusCode, b)
	}
	resp, b = get("/v1/models", "")
	if e := decodeErr(t, b); resp.StatusCode != 401 || e.Error.Code != "invalid_api_key" {
		t.Errorf("no key: %d %s", resp.StatusCode, b)
	}
	resp, b = h.post("/v1/models", "{}")
	if resp.StatusCode != 405 {
		t.Errorf("POST /v1/models: %d %s", resp.StatusCode, b)
	}
}

// Paths under /v1 the gateway does not serve get an OpenAI-shaped 404;
// other paths are left to the next handler.
func TestUnknownEndpoints(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	resp, b := h.post("/v1/assistants", "{}")
	if e := decodeErr(t, b); resp.StatusCode != 404 || e.Error.Code != "unknown_endpoint" {
		t.Errorf("/v1/assistants: %d %s", resp.StatusCode, b)
	}
	resp, b = h.post("/healthz", "{}")
	if resp.StatusCode != 404 || strings.Contains(string(b), "unknown_endpoint") {
		t.Errorf("/healthz was handled by the gateway: %d %s", resp.StatusCode, b)
	}
	req, _ := http.NewRequest(http.MethodGet, h.URL+"/v1/chat/completions", nil)
	req.Header.Set("Authorization", "Bearer "+testGatewayKey)
	resp, b = h.do(req)
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET chat: %d %s", resp.StatusCode, b)
	}
}

// Concurrent streaming and non-streaming requests over pooled accounts
// (run under -race): each answer is complete and each gets its own row.
func TestConcurrentMixed(t *testing.T) {
	sse := fixture(t, "openai/chat-stream-tool-call-usage.sse")
	answer := fixture(t, "openai/chat-completion-text.json")
	handler := func(w http.ResponseWriter, r *http.Request, body []byte) {
		if strings.Contains(r.Header.Get("Accept"), "event-stream") {
			sseReplay(sse, smallChunks)(w, r, body)
			return
		}
		jsonReply(200, answer)(w, r, body)
	}
	a, b := newUpstream(t, handler), newUpstream(t, handler)
	h := newHarness(t, harnessOpts{accounts: []acctSpec{
		{name: "a", baseURL: a.URL, models: []string{"gpt-4o"}},
		{name: "b", baseURL: b.URL, models: []string{"gpt-4o"}},
	}})
	h.client.Transport.(*http.Transport).MaxIdleConnsPerHost = 16
	const workers, each = 8, 4
	ids := make(chan string, workers*each)
	errs := make(chan error, workers*each)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				stream := (w+i)%2 == 0
				req, _ := http.NewRequest(http.MethodPost, h.URL+"/v1/chat/completions", strings.NewReader(chatBody("gpt-4o", stream, i%3 == 0)))
				req.Header.Set("Authorization", "Bearer "+testGatewayKey)
				resp, err := h.client.Do(req)
				if err != nil {
					errs <- err
					continue
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch {
				case err != nil:
					errs <- err
				case resp.StatusCode != 200 || !strings.Contains(string(got), `"llmgate":{`):
					errs <- fmt.Errorf("status %d: %.200s", resp.StatusCode, got)
				case stream && !strings.HasSuffix(string(got), "data: [DONE]\n\n"):
					errs <- fmt.Errorf("stream not finished: %q", got[max(0, len(got)-80):])
				default:
					ids <- resp.Header.Get("X-Llmgate-Request-Id")
				}
			}
		}()
	}
	wg.Wait()
	close(ids)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	n := 0
	for id := range ids {
		n++
		if row := h.row(id); row.Status != "ok" || row.PromptTokens == 0 {
			t.Errorf("row %+v", row)
		}
	}
	if n != workers*each || a.hits.Load()+b.hits.Load() != workers*each {
		t.Errorf("%d ok answers, %d+%d upstream hits, want %d", n, a.hits.Load(), b.hits.Load(), workers*each)
	}
}
