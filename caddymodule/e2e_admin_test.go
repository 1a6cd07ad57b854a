package caddymodule

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

func admin(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "http://localhost:2999"+path, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// chatWith sends one chat request with a key through the official SDK.
func chatWith(key string) error {
	c := openai.NewClient(option.WithBaseURL(httpAddr+"/v1"), option.WithAPIKey(key), option.WithMaxRetries(0))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "mock-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("echo hi")}})
	return err
}

func wantAPIError(t *testing.T, what string, err error, status int, typ, code string) {
	t.Helper()
	var e *openai.Error
	if !errors.As(err, &e) || e.StatusCode != status || e.Type != typ || e.Code != code || e.Message == "" {
		t.Fatalf("%s: got %v, want %d %s/%s", what, err, status, typ, code)
	}
}

// Keys and projects made through the admin API work at once through a
// real Caddy, and every governance refusal reaches the SDK as the right
// error type.
func TestE2EAdminKeysAndProjects(t *testing.T) {
	startGateway(t)
	code, p := admin(t, "POST", "/llmgate/projects", map[string]any{"name": "acme-" + time.Now().Format("150405.000"), "limits": map[string]any{"rpm": 1000}})
	if code != 201 || p["id"] == "" {
		t.Fatalf("create project: %d %v", code, p)
	}
	pid := p["id"].(string)
	code, k := admin(t, "POST", "/llmgate/keys", map[string]any{"name": "ci", "project": pid, "models": []string{"mock-*"}, "limits": map[string]any{"rpm": 3}})
	secret, _ := k["secret"].(string)
	if code != 201 || !strings.HasPrefix(secret, "lg_") || len(secret) < 35 || k["prefix"] != secret[:8] {
		t.Fatalf("create key: %d %v", code, k)
	}
	kid := k["id"].(string)
	if err := chatWith(secret); err != nil {
		t.Fatalf("a new key does not work: %v", err)
	}
	// The secret is shown once: never by show or list.
	_, shown := admin(t, "GET", "/llmgate/keys/"+kid, nil)
	_, list := admin(t, "GET", "/llmgate/keys?project="+pid, nil)
	for _, v := range []map[string]any{shown, list} {
		b, _ := json.Marshal(v)
		if strings.Contains(string(b), secret) || strings.Contains(string(b), `"secret"`) {
			t.Fatalf("a secret leaked after creation: %s", b)
		}
	}

	// Scope: 403 permission_error / model_not_allowed.
	c := openai.NewClient(option.WithBaseURL(httpAddr+"/v1"), option.WithAPIKey(secret), option.WithMaxRetries(0))
	_, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "slow",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
	wantAPIError(t, "scope", err, 403, "permission_error", "model_not_allowed")

	// Rate limit rpm 3: the first chat used one; the scope refusal above
	// used none (refused requests do not count); two more pass, the
	// third is refused.
	for i := 0; i < 3; i++ {
		err = chatWith(secret)
	}
	wantAPIError(t, "rpm", err, 429, "rate_limit_error", "rate_limit_exceeded")
	// Back to the project's rpm 1000: what was used carries over, so the
	// key has 996 left at once.
	if code, out := admin(t, "PATCH", "/llmgate/keys/"+kid, map[string]any{"limits": map[string]any{"rpm": 0}}); code != 200 {
		t.Fatalf("patch: %d %v", code, out)
	}

	// Rotation: both secrets work during the grace period.
	code, rot := admin(t, "POST", "/llmgate/keys/"+kid+"/rotate", map[string]any{"grace": "1h"})
	newSecret, _ := rot["secret"].(string)
	if code != 200 || newSecret == "" || newSecret == secret {
		t.Fatalf("rotate: %d %v", code, rot)
	}
	if err := chatWith(secret); err != nil {
		var e *openai.Error
		errors.As(err, &e)
		t.Fatalf("the old secret stopped during its grace period: %v %s", err, e.RawJSON())
	}
	if err := chatWith(newSecret); err != nil {
		t.Fatalf("the new secret does not work: %v", err)
	}
	code, _ = admin(t, "POST", "/llmgate/keys/"+kid+"/rotate", map[string]any{"grace": "0s"})
	if code != 200 {
		t.Fatalf("rotate without grace: %d", code)
	}
	wantAPIError(t, "rotated out", chatWith(newSecret), 401, "authentication_error", "invalid_api_key")

	// Suspending the project stops its keys at once: 402.
	_, cur := admin(t, "POST", "/llmgate/keys/"+kid+"/rotate", map[string]any{"grace": "0s"})
	live := cur["secret"].(string)
	admin(t, "PATCH", "/llmgate/projects/"+pid, map[string]any{"status": "suspended"})
	wantAPIError(t, "suspended project", chatWith(live), 402, "billing_error", "account_suspended")
	admin(t, "PATCH", "/llmgate/projects/"+pid, map[string]any{"status": "active"})
	if err := chatWith(live); err != nil {
		t.Fatalf("reactivated project: %v", err)
	}

	// Revocation is immediate: 401.
	if code, _ := admin(t, "DELETE", "/llmgate/keys/"+kid, nil); code != 200 {
		t.Fatalf("revoke: %d", code)
	}
	wantAPIError(t, "revoked", chatWith(live), 401, "authentication_error", "invalid_api_key")

	// Bad input names the field.
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"name": ""}, "name"},
		{map[string]any{"name": "x", "limits": map[string]any{"rpm": -1}}, "limits.rpm"},
		{map[string]any{"name": "x", "bogus": 1}, "bogus"},
		{map[string]any{"name": "x", "expires_at": "someday"}, "expires_at"},
		{map[string]any{"name": "x", "project": "no-such-project"}, "project"},
		{map[string]any{"name": "x", "budget": map[string]any{"usd": 5, "period": "year"}}, "budget.period"},
		{map[string]any{"name": "x", "quotas": map[string]any{"daily_requests": -1}}, "quotas.daily_requests"},
	} {
		code, out := admin(t, "POST", "/llmgate/keys", c.body)
		e, _ := out["error"].(map[string]any)
		if code != 400 || e["field"] != c.field || e["message"] == "" {
			t.Errorf("%v: %d %v, want 400 naming %s", c.body, code, out, c.field)
		}
	}
	if code, _ := admin(t, "GET", "/llmgate/keys/key_nope", nil); code != 404 {
		t.Errorf("unknown key: %d", code)
	}

	// Credits and usage.
	code, cr := admin(t, "POST", "/llmgate/projects/"+pid+"/credits", map[string]any{"usd": 12.5, "note": "top-up"})
	if code != 200 || cr["balance_usd"] != 12.5 {
		t.Fatalf("credit: %d %v", code, cr)
	}
	code, usage := admin(t, "GET", "/llmgate/usage?from=1h&group_by=key&project="+pid, nil)
	totals, _ := usage["totals"].(map[string]any)
	if code != 200 || totals["requests"].(float64) < 5 || totals["cost_usd"].(float64) <= 0 {
		t.Fatalf("usage: %d %v", code, usage)
	}
	code, reqs := admin(t, "GET", "/llmgate/requests?from=1h&limit=2&project="+pid, nil)
	if data, _ := reqs["data"].([]any); code != 200 || len(data) != 2 || reqs["next"] == "" {
		t.Fatalf("requests: %d %v", code, reqs)
	}
}

// A reload keeps the rate-limit buckets: a key that used its rpm before
// the reload is still limited after it.
func TestE2ELimitsSurviveReload(t *testing.T) {
	tester, up := startGateway(t)
	code, k := admin(t, "POST", "/llmgate/keys", map[string]any{"name": "reload", "limits": map[string]any{"rpm": 2}})
	if code != 201 {
		t.Fatalf("create key: %d %v", code, k)
	}
	secret := k["secret"].(string)
	for i := 0; i < 2; i++ {
		if err := chatWith(secret); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	tester.InitServer(config(up, "max_body 12MB"), "caddyfile")
	wantAPIError(t, "after reload", chatWith(secret), 429, "rate_limit_error", "rate_limit_exceeded")
}

// Credits: a project whose policy marks all requests as paid needs a
// balance; a top-up through the admin API is seen at once, and each
// request is charged to the ledger at its real cost.
func TestE2ECredits(t *testing.T) {
	startGateway(t)
	code, p := admin(t, "POST", "/llmgate/projects", map[string]any{"name": "paid-" + time.Now().Format("150405.000"), "paid_policy": "all"})
	if code != 201 {
		t.Fatalf("create project: %d %v", code, p)
	}
	pid := p["id"].(string)
	_, k := admin(t, "POST", "/llmgate/keys", map[string]any{"name": "paid", "project": pid})
	secret := k["secret"].(string)
	wantAPIError(t, "no credit", chatWith(secret), 402, "billing_error", "payment_required")
	if code, out := admin(t, "POST", "/llmgate/projects/"+pid+"/credits", map[string]any{"usd": 1}); code != 200 || out["balance_usd"] != 1.0 {
		t.Fatalf("top up: %d %v", code, out)
	}
	if err := chatWith(secret); err != nil {
		t.Fatalf("after a top-up: %v", err)
	}
	_, after := admin(t, "GET", "/llmgate/projects/"+pid, nil)
	if bal := after["credit_usd"].(float64); bal >= 1 || bal < 0.99 {
		t.Fatalf("balance after one request: %v", bal)
	}
	if code, out := admin(t, "PATCH", "/llmgate/projects/"+pid, map[string]any{"paid_policy": "sometimes"}); code != 400 {
		t.Fatalf("bad policy: %d %v", code, out)
	}
}

// The remaining governance refusals, each as the SDK sees it, and the
// quota counters kept across a reload.
func TestE2EGovernanceRefusals(t *testing.T) {
	tester, up := startGateway(t)
	mk := func(body map[string]any) string {
		t.Helper()
		code, k := admin(t, "POST", "/llmgate/keys", body)
		if code != 201 {
			t.Fatalf("create key %v: %d %v", body, code, k)
		}
		return k["secret"].(string)
	}
	quota := mk(map[string]any{"name": "quota", "quotas": map[string]any{"daily_requests": 1}})
	if err := chatWith(quota); err != nil {
		t.Fatal(err)
	}
	tester.InitServer(config(up, "max_body 13MB"), "caddyfile") // a reload keeps the counters
	wantAPIError(t, "quota", chatWith(quota), 429, "rate_limit_error", "quota_exceeded")

	budget := mk(map[string]any{"name": "budget", "budget": map[string]any{"usd": 0.000001, "period": "day"}})
	wantAPIError(t, "budget", chatWith(budget), 402, "billing_error", "budget_exceeded")

	expired := mk(map[string]any{"name": "expired", "expires_at": "1s"}) // a past expiry is refused at creation
	time.Sleep(1200 * time.Millisecond)
	wantAPIError(t, "expired", chatWith(expired), 401, "authentication_error", "invalid_api_key")

	code, p := admin(t, "POST", "/llmgate/projects", map[string]any{"name": "late-" + time.Now().Format("150405.000"), "status": "past_due"})
	if code != 201 {
		t.Fatalf("create project: %d %v", code, p)
	}
	late := mk(map[string]any{"name": "late", "project": p["id"]})
	wantAPIError(t, "past due", chatWith(late), 402, "billing_error", "payment_required")
}

// A project whose policy is all_except_routes pays for pinned models
// from its credit and sends model "auto" on its daily quota instead.
func TestE2ECreditsExceptRoutes(t *testing.T) {
	tester, up := startGateway(t)
	tester.InitServer(config(up, `route auto {
			simple mock/mock-mini
			complex mock/mock-large
		}`), "caddyfile")
	code, p := admin(t, "POST", "/llmgate/projects", map[string]any{"name": "routed-" + time.Now().Format("150405.000"), "paid_policy": "all_except_routes"})
	if code != 201 || p["paid_policy"] != "all_except_routes" {
		t.Fatalf("create project: %d %v", code, p)
	}
	_, k := admin(t, "POST", "/llmgate/keys", map[string]any{"name": "routed", "project": p["id"], "quotas": map[string]any{"daily_requests": 2}})
	secret := k["secret"].(string)
	wantAPIError(t, "pinned model without credit", chatWith(secret), 402, "billing_error", "payment_required")
	c := openai.NewClient(option.WithBaseURL(httpAddr+"/v1"), option.WithAPIKey(secret), option.WithMaxRetries(0))
	ask := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "auto",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("echo hi")}})
		return err
	}
	for i := 0; i < 2; i++ {
		if err := ask(); err != nil {
			t.Fatalf("routed request %d without credit: %v", i+1, err)
		}
	}
	wantAPIError(t, "routed request over the daily quota", ask(), 429, "rate_limit_error", "quota_exceeded")
}
