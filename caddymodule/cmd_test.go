package caddymodule

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
)

// runCLI runs `caddy llmgate <args…>` through the command tree that the
// registered CobraFunc builds, under a root configured like Caddy's.
func runCLI(args ...string) (stdout, stderr string, err error) {
	c, ok := caddycmd.Commands()["llmgate"]
	if !ok {
		return "", "", errors.New("llmgate command not registered")
	}
	root := &cobra.Command{Use: "caddy", SilenceUsage: true}
	llm := &cobra.Command{Use: "llmgate " + c.Usage, Short: c.Short, Long: c.Long}
	c.CobraFunc(llm)
	root.AddCommand(llm)
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(append([]string{"llmgate"}, args...))
	err = root.Execute()
	return out.String(), errb.String(), err
}

// cliRecord is one request the fake admin endpoint saw.
type cliRecord struct {
	Method, Path, ContentType string
	Query                     url.Values
	Body                      string
}

// cliFake is an admin endpoint that records requests and answers a
// canned status and body.
type cliFake struct {
	mu     sync.Mutex
	reqs   []cliRecord
	status int
	body   string
}

func (f *cliFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.reqs = append(f.reqs, cliRecord{Method: r.Method, Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"),
		Query: r.URL.Query(), Body: string(b)})
	status, body := f.status, f.body
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func (f *cliFake) answer(status int, body string) {
	f.mu.Lock()
	f.status, f.body, f.reqs = status, body, nil
	f.mu.Unlock()
}

func (f *cliFake) requests() []cliRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]cliRecord(nil), f.reqs...)
}

func newCLIFake(t *testing.T) (*cliFake, *httptest.Server) {
	t.Helper()
	f := &cliFake{status: 200, body: "{}"}
	srv := httptest.NewServer(f) // 127.0.0.1 on a free port, never 2999
	t.Cleanup(srv.Close)
	return f, srv
}

func jsonEqual(t *testing.T, got, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Errorf("body %q is not JSON: %v", got, err)
		return false
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expectation %q: %v", want, err)
	}
	return reflect.DeepEqual(g, w)
}

// lineFields finds the first output line starting with the given fields.
func lineFields(out string, start ...string) []string {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= len(start) && reflect.DeepEqual(f[:len(start)], start) {
			return f
		}
	}
	return nil
}

const (
	cliKeyObj = `{"id":"k_1","name":"ci","project":"acme","owner":"ops","prefix":"lg_AbCd1","models":["gpt-5*","auto"],
		"limits":{"rpm":60,"tpm":1000,"concurrency":4},"quotas":{"daily_requests":0,"daily_tokens":0},
		"budget":{"usd":50,"period":"month","spent_usd":1.25},"status":"active","created_at":"2026-05-01T10:00:00Z",
		"expires_at":"2026-12-31T00:00:00Z","metadata":{"team":"ml"}}`
	cliSecretKey = `{"id":"k_1","name":"ci","project":"acme","owner":"","prefix":"lg_AbCd1","models":[],
		"limits":{"rpm":60,"tpm":0,"concurrency":0},"quotas":{"daily_requests":0,"daily_tokens":0},
		"budget":{"usd":0,"period":"","spent_usd":0},"status":"active","created_at":"2026-05-01T10:00:00Z",
		"expires_at":null,"metadata":{},"secret":"lg_AbCd1secretsecretsecretsecretsecret"}`
	cliProjectObj = `{"id":"acme","name":"Acme","status":"active","credit_usd":25.5,"limits":{"rpm":100,"tpm":0,"concurrency":0},
		"quotas":{"daily_requests":0,"daily_tokens":0},"budget":{"usd":0,"period":"","spent_usd":3.5},"paid_policy":"none",
		"created_at":"2026-05-01T10:00:00Z","metadata":{"tier":"gold"}}`
	cliUsageBody = `{"from":"2026-05-01T00:00:00Z","to":"2026-05-02T00:00:00Z",
		"totals":{"group":{},"requests":1500,"errors":3,"cancelled":1,"prompt_tokens":120000,"completion_tokens":34000,"cost_usd":12.3456,"latency_ms":{"p50":420,"p95":1800,"p99":2500}},
		"groups":[{"group":{"model":"gpt-5","provider":"openai"},"requests":1000,"errors":2,"cancelled":1,"prompt_tokens":100000,"completion_tokens":30000,"cost_usd":10.5,"latency_ms":{"p50":400,"p95":1700,"p99":2400}},
		{"group":{"model":"claude-sonnet-4-6","provider":"anthropic"},"requests":500,"errors":1,"cancelled":0,"prompt_tokens":20000,"completion_tokens":4000,"cost_usd":1.8456,"latency_ms":{"p50":500,"p95":1900,"p99":2600}}]}`
	cliRequestRow = `{"id":"req_1","time":"2026-05-01T10:00:05Z","key_id":"k_1","key_name":"ci","project":"acme","endpoint":"chat.completions",
		"requested_model":"auto","route":"auto","provider":"openai","provider_type":"openai","model":"gpt-5","tier":"","status":"error",
		"http_status":502,"error_code":"upstream_error","error_message":"boom","attempts":[{"provider":"openai","model":"gpt-5","status":502,"error":"boom","duration_ms":120},
		{"provider":"azure","model":"gpt-5","status":502,"duration_ms":80}],"stream":false,"prompt_tokens":1200,"completion_tokens":0,
		"cached_tokens":0,"cache_write_tokens":0,"reasoning_tokens":0,"usage_estimated":true,"cost_usd":0,"saved_usd":0,"price_unknown":false,
		"latency_ms":210.4,"ttft_ms":0,"client_cancelled":false}`
	cliProvidersBody = `{"providers":[{"name":"openai","type":"openai","models":["gpt-5"],"weight":1,"in_flight":2,"state":"closed",
		"health":{"provider":"openai","state":"closed","error_rate":0.015,"latency_ms":350.2,"consecutive_failures":0,"requests":200,"errors":3,"last_error":"HTTP 502"}},
		{"name":"azure","type":"azure","models":["gpt-5"],"weight":1,"in_flight":0,"state":"open"}]}`
)

// TestCLICommands checks every command's request (method, path, query,
// body) and its default output.
func TestCLICommands(t *testing.T) {
	fake, srv := newCLIFake(t)
	cases := []struct {
		name       string
		args       []string
		status     int
		reply      string
		method     string
		path       string
		query      url.Values // exact; nil means none
		body       string     // exact JSON; "" means no body
		header     []string   // fields of a table header line, if any
		row        []string   // fields a row starts with
		contains   []string
		notContain []string
	}{
		{
			name: "keys create, all flags",
			args: []string{"keys", "create", "--name", "ci", "--project", "acme", "--owner", "ops", "--models", "gpt-5*, auto",
				"--rpm", "60", "--tpm", "1000", "--concurrency", "4", "--daily-requests", "100", "--daily-tokens", "5000",
				"--budget", "50usd/month", "--expires", "2026-12-31T00:00:00Z", "--meta", "team=ml"},
			status: 201, reply: cliSecretKey,
			method: "POST", path: "/llmgate/keys",
			body: `{"name":"ci","project":"acme","owner":"ops","models":["gpt-5*","auto"],"limits":{"rpm":60,"tpm":1000,"concurrency":4},
				"quotas":{"daily_requests":100,"daily_tokens":5000},"budget":{"usd":50,"period":"month"},
				"expires_at":"2026-12-31T00:00:00Z","metadata":{"team":"ml"}}`,
			contains: []string{"shown once", "    lg_AbCd1secretsecretsecretsecretsecret\n", "ID:", "k_1", "Models:", "all", "Expires:", "never"},
		},
		{
			name:   "keys create, name only",
			args:   []string{"keys", "create", "--name", "ci"},
			status: 201, reply: cliSecretKey,
			method: "POST", path: "/llmgate/keys", body: `{"name":"ci"}`,
			contains: []string{"lg_AbCd1secretsecretsecretsecretsecret"},
		},
		{
			name:   "keys list",
			args:   []string{"keys", "list", "--project", "acme"},
			reply:  `{"data":[` + cliKeyObj + `]}`,
			method: "GET", path: "/llmgate/keys", query: url.Values{"project": {"acme"}},
			header:     []string{"ID", "NAME", "PROJECT", "PREFIX", "STATUS", "RPM", "BUDGET", "SPENT", "EXPIRES"},
			row:        []string{"k_1", "ci", "acme", "lg_AbCd1", "active", "60", "$50.00/month", "$1.25", "2026-12-31", "00:00", "UTC"},
			notContain: []string{"secret"},
		},
		{
			name:   "keys list, empty",
			args:   []string{"keys", "list"},
			reply:  `{"data":[]}`,
			method: "GET", path: "/llmgate/keys",
			contains: []string{"No keys."},
		},
		{
			name:   "keys show",
			args:   []string{"keys", "show", "k_1"},
			reply:  cliKeyObj,
			method: "GET", path: "/llmgate/keys/k_1",
			contains: []string{"ID:", "k_1", "gpt-5*, auto", "rpm 60, tpm 1,000, concurrency 4", "$50.00/month, spent $1.25",
				"2026-12-31 00:00 UTC", "team=ml"},
		},
		{
			name:   "keys update",
			args:   []string{"keys", "update", "k_1", "--status", "suspended", "--rpm", "0", "--models", "", "--expires", "never"},
			reply:  cliKeyObj,
			method: "PATCH", path: "/llmgate/keys/k_1",
			body:     `{"status":"suspended","limits":{"rpm":0},"models":[],"expires_at":""}`,
			contains: []string{"Status:"},
		},
		{
			name:   "keys rotate with grace",
			args:   []string{"keys", "rotate", "k_1", "--grace", "24h"},
			reply:  cliSecretKey,
			method: "POST", path: "/llmgate/keys/k_1/rotate", body: `{"grace":"24h"}`,
			contains: []string{"rotated", "shown once", "lg_AbCd1secretsecretsecretsecretsecret"},
		},
		{
			name:   "keys rotate, server default grace",
			args:   []string{"keys", "rotate", "k_1"},
			reply:  cliSecretKey,
			method: "POST", path: "/llmgate/keys/k_1/rotate", body: `{}`,
		},
		{
			name:   "keys revoke",
			args:   []string{"keys", "revoke", "k_1"},
			reply:  strings.Replace(cliKeyObj, `"active"`, `"revoked"`, 1),
			method: "DELETE", path: "/llmgate/keys/k_1",
			contains: []string{"Key k_1 revoked.", "revoked"},
		},
		{
			name: "projects create",
			args: []string{"projects", "create", "--id", "acme", "--name", "Acme", "--status", "active", "--rpm", "100",
				"--paid-policy", "none", "--meta", "tier=gold"},
			status: 201, reply: cliProjectObj,
			method: "POST", path: "/llmgate/projects",
			body:     `{"id":"acme","name":"Acme","status":"active","limits":{"rpm":100},"paid_policy":"none","metadata":{"tier":"gold"}}`,
			contains: []string{"ID:", "acme", "Credit:", "$25.50", "Paid policy:", "tier=gold"},
		},
		{
			name:   "projects list",
			args:   []string{"projects", "list"},
			reply:  `{"data":[` + cliProjectObj + `]}`,
			method: "GET", path: "/llmgate/projects",
			header: []string{"ID", "NAME", "STATUS", "CREDIT", "RPM", "BUDGET", "SPENT", "PAID", "POLICY", "CREATED"},
			row:    []string{"acme", "Acme", "active", "$25.50", "100", "-", "$3.50", "none", "2026-05-01", "10:00", "UTC"},
		},
		{
			name:   "projects show",
			args:   []string{"projects", "show", "acme"},
			reply:  cliProjectObj,
			method: "GET", path: "/llmgate/projects/acme",
			contains: []string{"Acme", "rpm 100"},
		},
		{
			name:   "projects update",
			args:   []string{"projects", "update", "acme", "--status", "past_due", "--budget", "$20/week"},
			reply:  cliProjectObj,
			method: "PATCH", path: "/llmgate/projects/acme",
			body: `{"status":"past_due","budget":{"usd":20,"period":"week"}}`,
		},
		{
			name:   "projects credit",
			args:   []string{"projects", "credit", "acme", "--usd", "10", "--note", "invoice 42"},
			reply:  `{"project":"acme","balance_usd":35.5}`,
			method: "POST", path: "/llmgate/projects/acme/credits",
			body:     `{"usd":10,"note":"invoice 42"}`,
			contains: []string{"Project acme credited $10.00; balance $35.50"},
		},
		{
			name:   "usage grouped",
			args:   []string{"usage", "--since", "24h", "--by", "model,provider", "--key", "k_1", "--project", "acme"},
			reply:  cliUsageBody,
			method: "GET", path: "/llmgate/usage",
			query:    url.Values{"from": {"24h"}, "group_by": {"model,provider"}, "key": {"k_1"}, "project": {"acme"}},
			header:   []string{"MODEL", "PROVIDER", "REQUESTS", "ERRORS", "PROMPT", "COMPLETION", "COST", "P50", "P95", "P99"},
			row:      []string{"gpt-5", "openai", "1,000", "2", "100,000", "30,000", "$10.50", "400ms", "1700ms", "2400ms"},
			contains: []string{"Usage from 2026-05-01 00:00 UTC to 2026-05-02 00:00 UTC"},
		},
		{
			name:   "usage window, groups found in the answer",
			args:   []string{"usage", "--from", "2026-05-01T00:00:00Z", "--to", "2026-05-02T00:00:00Z"},
			reply:  cliUsageBody,
			method: "GET", path: "/llmgate/usage",
			query:  url.Values{"from": {"2026-05-01T00:00:00Z"}, "to": {"2026-05-02T00:00:00Z"}},
			header: []string{"MODEL", "PROVIDER", "REQUESTS", "ERRORS", "PROMPT", "COMPLETION", "COST", "P50", "P95", "P99"},
			row:    []string{"claude-sonnet-4-6", "anthropic", "500", "1", "20,000", "4,000", "$1.85"},
		},
		{
			name:   "requests",
			args:   []string{"requests", "--since", "1h", "--key", "k_1", "--model", "gpt-5", "--provider", "openai", "--status", "error", "--limit", "10"},
			reply:  `{"data":[` + cliRequestRow + `],"next":"c_2"}`,
			method: "GET", path: "/llmgate/requests",
			query: url.Values{"from": {"1h"}, "key": {"k_1"}, "model": {"gpt-5"}, "provider": {"openai"}, "status": {"error"}, "limit": {"10"}},
			header: []string{"ID", "TIME", "KEY", "PROJECT", "MODEL", "PROVIDER", "STATUS", "HTTP", "PROMPT", "COMPLETION",
				"COST", "LATENCY"},
			row:      []string{"req_1", "2026-05-01", "10:00:05", "ci", "acme", "gpt-5", "openai", "error", "502", "1,200", "0", "$0.00", "210ms"},
			contains: []string{"--cursor c_2"},
		},
		{
			name:   "requests show",
			args:   []string{"requests", "show", "req_1"},
			reply:  cliRequestRow,
			method: "GET", path: "/llmgate/requests/req_1",
			header:   []string{"#", "PROVIDER", "MODEL", "STATUS", "ERROR", "DURATION_MS"},
			row:      []string{"2", "azure", "gpt-5", "502", "-", "80"},
			contains: []string{"ATTEMPTS", "error_message:", "boom", "requested_model:"},
		},
		{
			name:   "providers",
			args:   []string{"providers"},
			reply:  cliProvidersBody,
			method: "GET", path: "/llmgate/providers",
			header: []string{"NAME", "TYPE", "STATE", "IN", "FLIGHT", "REQUESTS", "ERRORS", "ERROR", "RATE", "LATENCY", "LAST", "ERROR"},
			row:    []string{"openai", "openai", "closed", "2", "200", "3", "1.5%", "350ms", "HTTP", "502"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status := tc.status
			if status == 0 {
				status = 200
			}
			fake.answer(status, tc.reply)
			out, errOut, err := runCLI(append([]string{"--address", srv.URL}, tc.args...)...)
			if err != nil {
				t.Fatalf("err = %v, stderr %q", err, errOut)
			}
			if errOut != "" {
				t.Errorf("stderr = %q", errOut)
			}
			reqs := fake.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != tc.method || r.Path != tc.path {
				t.Errorf("request %s %s, want %s %s", r.Method, r.Path, tc.method, tc.path)
			}
			if len(r.Query) != 0 || tc.query != nil {
				if !reflect.DeepEqual(r.Query, tc.query) {
					t.Errorf("query %v, want %v", r.Query, tc.query)
				}
			}
			if tc.body == "" {
				if r.Body != "" {
					t.Errorf("body %q, want none", r.Body)
				}
			} else {
				if !jsonEqual(t, r.Body, tc.body) {
					t.Errorf("body %s\nwant %s", r.Body, tc.body)
				}
				if r.ContentType != "application/json" {
					t.Errorf("Content-Type %q", r.ContentType)
				}
			}
			if tc.header != nil && !reflect.DeepEqual(lineFields(out, tc.header[0]), tc.header) {
				t.Errorf("header %q, want %q in\n%s", lineFields(out, tc.header[0]), tc.header, out)
			}
			if tc.row != nil && lineFields(out, tc.row...) == nil {
				t.Errorf("no row starting %q in\n%s", tc.row, out)
			}
			for _, s := range tc.contains {
				if !strings.Contains(out, s) {
					t.Errorf("output lacks %q:\n%s", s, out)
				}
			}
			for _, s := range tc.notContain {
				if strings.Contains(out, s) {
					t.Errorf("output has %q:\n%s", s, out)
				}
			}
		})
	}
}

func TestCLIUsageTotalLine(t *testing.T) {
	fake, srv := newCLIFake(t)
	fake.answer(200, cliUsageBody)
	out, _, err := runCLI("--address", srv.URL, "usage", "--by", "model,provider")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	last := strings.Fields(lines[len(lines)-1])
	want := []string{"TOTAL", "1,500", "3", "120,000", "34,000", "$12.35", "420ms", "1800ms", "2500ms"}
	if !reflect.DeepEqual(last, want) {
		t.Errorf("total line %q, want %q\n%s", last, want, out)
	}
	// The columns line up: TOTAL's REQUESTS starts where the header's does.
	var header string
	for _, l := range lines {
		if strings.HasPrefix(l, "MODEL") {
			header = l
		}
	}
	if strings.Index(header, "REQUESTS") != strings.Index(lines[len(lines)-1], "1,500") {
		t.Errorf("columns not aligned:\n%s", out)
	}

	// Without groups there is only the TOTAL line.
	fake.answer(200, `{"from":"2026-05-01T00:00:00Z","to":"2026-05-02T00:00:00Z","totals":{"requests":2,"errors":0,"cancelled":0,
		"prompt_tokens":10,"completion_tokens":5,"cost_usd":0.001,"latency_ms":{"p50":1,"p95":2,"p99":3}},"groups":[]}`)
	out, _, err = runCLI("--address", srv.URL, "usage")
	if err != nil {
		t.Fatal(err)
	}
	if f := lineFields(out, "TOTAL"); !reflect.DeepEqual(f, []string{"TOTAL", "2", "0", "10", "5", "$0.001", "1.0ms", "2.0ms", "3.0ms"}) {
		t.Errorf("total %q in\n%s", f, out)
	}
}

func TestCLIJSONOutput(t *testing.T) {
	fake, srv := newCLIFake(t)
	for _, args := range [][]string{
		{"keys", "list"}, {"keys", "create", "--name", "ci"}, {"usage", "--since", "24h"}, {"providers"}, {"requests", "show", "req_1"},
	} {
		body := `{"data":[],"anything":{"kept":"as is"}}`
		fake.answer(200, body)
		out, _, err := runCLI(append([]string{"--json", "--address", srv.URL}, args...)...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if out != body+"\n" {
			t.Errorf("%v: output %q, want the raw body", args, out)
		}
		// --json also works after the subcommand (a persistent flag).
		out, _, err = runCLI(append(append([]string{"--address", srv.URL}, args...), "--json")...)
		if err != nil || out != body+"\n" {
			t.Errorf("%v --json: %q, %v", args, out, err)
		}
	}
	// The secret is in the raw JSON of create.
	fake.answer(201, cliSecretKey)
	out, _, _ := runCLI("--json", "--address", srv.URL, "keys", "create", "--name", "ci")
	if !strings.Contains(out, `"secret":"lg_AbCd1secret`) {
		t.Errorf("create --json: %q", out)
	}
}

func TestCLIAPIErrors(t *testing.T) {
	fake, srv := newCLIFake(t)
	cases := []struct {
		status int
		body   string
		want   string
	}{
		{400, `{"error":{"message":"limits.rpm: must not be negative","field":"limits.rpm"}}`, "admin API: HTTP 400: limits.rpm: must not be negative\n"},
		{400, `{"error":{"message":"must be one of day, week, month, total","field":"budget.period"}}`,
			"admin API: HTTP 400: must be one of day, week, month, total (field: budget.period)\n"},
		{404, `{"error":"not found"}`, "admin API: HTTP 404: not found\n"},
		{409, `{"error":{"message":"key k_1 is revoked; create a new one"}}`, "admin API: HTTP 409: key k_1 is revoked; create a new one\n"},
		{502, "bad gateway", "admin API: HTTP 502: bad gateway\n"},
		{503, "", "admin API: HTTP 503: Service Unavailable\n"},
	}
	for _, tc := range cases {
		fake.answer(tc.status, tc.body)
		out, errOut, err := runCLI("--address", srv.URL, "keys", "show", "k_1")
		if err == nil {
			t.Errorf("%d: no error", tc.status)
			continue
		}
		var ae *cliAPIError
		if !errors.As(err, &ae) || ae.Status != tc.status {
			t.Errorf("%d: err %#v", tc.status, err)
		}
		if errOut != "Error: "+tc.want {
			t.Errorf("%d: stderr %q, want %q", tc.status, errOut, "Error: "+tc.want)
		}
		if out != "" {
			t.Errorf("%d: stdout %q", tc.status, out)
		}
	}

	// Nothing listening.
	srv2 := httptest.NewServer(http.NotFoundHandler())
	addr := srv2.URL
	srv2.Close()
	_, errOut, err := runCLI("--address", addr, "providers")
	if err == nil || !strings.Contains(errOut, "cannot reach Caddy's admin endpoint at "+addr) {
		t.Errorf("unreachable: %v, %q", err, errOut)
	}

	// An answer that is not the expected shape is shown as JSON, with a warning.
	fake.answer(200, `{"surprise":true}`)
	out, errOut, err := runCLI("--address", srv.URL, "keys", "list")
	if err != nil || !strings.Contains(out, `"surprise": true`) || !strings.Contains(errOut, "unexpected response shape") {
		t.Errorf("unexpected shape: %v, %q, %q", err, out, errOut)
	}
}

// TestCLIUsageErrors: bad flags fail before any request is sent.
func TestCLIUsageErrors(t *testing.T) {
	fake, srv := newCLIFake(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"keys", "create", "--name", "ci", "--budget", "50"}, `invalid --budget "50"`},
		{[]string{"keys", "create", "--name", "ci", "--budget", "50usd/year"}, `invalid --budget "50usd/year": want <amount>usd/<period> such as 50usd/month`},
		{[]string{"projects", "update", "p", "--budget", "lots/month"}, `invalid --budget`},
		{[]string{"keys", "create"}, `required flag(s) "name" not set`},
		{[]string{"keys", "create", "--name", "ci", "--rpm", "-1"}, `invalid --rpm -1`},
		{[]string{"keys", "create", "--name", "ci", "--rpm", "many"}, `invalid argument "many"`},
		{[]string{"keys", "create", "--name", "ci", "--expires", "soon"}, `invalid --expires "soon"`},
		{[]string{"keys", "create", "--name", "ci", "--meta", "novalue"}, `invalid --meta "novalue"`},
		{[]string{"keys", "update", "k_1"}, "nothing to update"},
		{[]string{"keys", "update", "k_1", "--status", "revoked"}, `invalid --status "revoked"`},
		{[]string{"keys", "show"}, "accepts 1 arg(s), received 0"},
		{[]string{"keys", "rotate", "k_1", "--grace", "a while"}, `invalid --grace "a while"`},
		{[]string{"keys", "frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"projects", "credit", "acme"}, `required flag(s) "usd" not set`},
		{[]string{"projects", "credit", "acme", "--usd", "0"}, "invalid --usd"},
		{[]string{"usage", "--since", "24h", "--from", "2026-01-01T00:00:00Z"}, "either --since or --from"},
		{[]string{"usage", "--since", "yesterday"}, `invalid --since "yesterday"`},
		{[]string{"usage", "--to", "noon"}, `invalid --to "noon"`},
		{[]string{"usage", "--by", "model,colour"}, `"colour" is not one of model, provider, key, project, day`},
		{[]string{"requests", "--status", "bad"}, `invalid --status "bad"`},
		{[]string{"requests", "--limit", "0"}, "invalid --limit 0"},
		{[]string{"--address", "ftp://example.com", "providers"}, `invalid admin address "ftp://example.com"`},
		{[]string{"--address", "localhost:1-5", "providers"}, `invalid admin address "localhost:1-5"`},
	}
	for _, tc := range cases {
		fake.answer(200, "{}")
		args := tc.args
		if args[0] != "--address" {
			args = append([]string{"--address", srv.URL}, args...)
		}
		_, errOut, err := runCLI(args...)
		if err == nil {
			t.Errorf("%v: no error", tc.args)
		}
		if !strings.Contains(errOut, tc.want) || !strings.HasPrefix(errOut, "Error: ") {
			t.Errorf("%v: stderr %q, want %q", tc.args, errOut, tc.want)
		}
		if n := len(fake.requests()); n != 0 {
			t.Errorf("%v: %d requests sent", tc.args, n)
		}
	}
}

func TestCLIBudgetParser(t *testing.T) {
	good := []struct {
		in     string
		usd    float64
		period string
	}{
		{"50usd/month", 50, "month"},
		{"$50/month", 50, "month"},
		{"12.5USD/day", 12.5, "day"},
		{"$ 7 / week", 7, "week"},
		{"100/total", 100, "total"},
		{"0.25usd/week", 0.25, "week"},
		{".5usd/day", 0.5, "day"},
		{"$1000usd/Month", 1000, "month"},
	}
	for _, g := range good {
		usd, period, err := cliParseBudget(g.in)
		if err != nil || usd != g.usd || period != g.period {
			t.Errorf("%q: %v %q %v, want %v %q", g.in, usd, period, err, g.usd, g.period)
		}
	}
	for _, b := range []string{"", "50", "50usd", "usd/month", "$/month", "abc/month", "-5usd/month", "0usd/month",
		"50usd/year", "50usd/month/x", "1e3usd/month", "0x10usd/month", "inf/month", "NaN/day", "50eur/month", "$$5/day"} {
		if usd, period, err := cliParseBudget(b); err == nil {
			t.Errorf("%q accepted as %v %q", b, usd, period)
		} else if !strings.Contains(err.Error(), "50usd/month") {
			t.Errorf("%q: unclear error %v", b, err)
		}
	}
}

func TestCLIExpiresAndDurations(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	old := cliNow
	cliNow = func() time.Time { return now }
	t.Cleanup(func() { cliNow = old })

	fake, srv := newCLIFake(t)
	for in, want := range map[string]string{
		"720h":                      "2026-05-31T12:00:00Z",
		"30d":                       "2026-05-31T12:00:00Z",
		"2026-12-31T01:00:00+01:00": "2026-12-31T00:00:00Z",
		"2027-01-01":                "2027-01-01T00:00:00Z",
		"never":                     "",
	} {
		fake.answer(201, cliSecretKey)
		if _, errOut, err := runCLI("--address", srv.URL, "keys", "create", "--name", "ci", "--expires", in); err != nil {
			t.Fatalf("%s: %v %s", in, err, errOut)
		}
		if r := fake.requests(); !jsonEqual(t, r[0].Body, `{"name":"ci","expires_at":"`+want+`"}`) {
			t.Errorf("--expires %s: body %s, want expires_at %q", in, r[0].Body, want)
		}
	}

	// Day durations are normalised for the admin API's time.ParseDuration.
	fake.answer(200, `{"data":[],"next":""}`)
	if _, _, err := runCLI("--address", srv.URL, "requests", "--since", "7d"); err != nil {
		t.Fatal(err)
	}
	if q := fake.requests()[0].Query; q.Get("from") != "168h0m0s" {
		t.Errorf("--since 7d sent from=%q", q.Get("from"))
	}
	fake.answer(200, cliSecretKey)
	if _, _, err := runCLI("--address", srv.URL, "keys", "rotate", "k_1", "--grace", "0s"); err != nil {
		t.Fatal(err)
	}
	if b := fake.requests()[0].Body; !jsonEqual(t, b, `{"grace":"0s"}`) {
		t.Errorf("--grace 0s sent %s", b)
	}
}

func TestCLIAddressResolution(t *testing.T) {
	t.Setenv("CADDY_ADMIN", "")
	got := func(flag, config string) string {
		t.Helper()
		a, err := cliResolveAddress(flag, config, "")
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if a := got("", ""); a != "localhost:2019" {
		t.Errorf("default %q", a)
	}
	t.Setenv("CADDY_ADMIN", "127.0.0.1:3019")
	if a := got("", ""); a != "127.0.0.1:3019" {
		t.Errorf("env %q", a)
	}
	if a := got("10.0.0.1:2020", ""); a != "10.0.0.1:2020" {
		t.Errorf("flag over env %q", a)
	}
	// The admin listener of a config file, as `caddy reload --config` finds it.
	dir := t.TempDir()
	cfg := filepath.Join(dir, "caddy.json")
	if err := os.WriteFile(cfg, []byte(`{"admin":{"listen":"unix//run/caddy-admin.sock"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if a := got("", cfg); a != "unix//run/caddy-admin.sock" {
		t.Errorf("config %q", a)
	}
	if a := got("localhost:1", cfg); a != "localhost:1" {
		t.Errorf("flag over config %q", a)
	}
	noAdmin := filepath.Join(dir, "plain.json")
	os.WriteFile(noAdmin, []byte(`{"apps":{}}`), 0o600)
	if a := got("", noAdmin); a != "127.0.0.1:3019" {
		t.Errorf("config without admin falls back to env: %q", a)
	}
	if _, err := cliResolveAddress("", filepath.Join(dir, "missing.json"), ""); err == nil {
		t.Error("missing config file accepted")
	}

	for in, base := range map[string]string{
		"localhost:2019":                   "http://localhost:2019",
		"localhost":                        "http://localhost:2019",
		":2020":                            "http://localhost:2020",
		"tcp/127.0.0.1:2021":               "http://127.0.0.1:2021",
		"[::1]:2019":                       "http://[::1]:2019",
		"http://127.0.0.1:2019":            "http://127.0.0.1:2019",
		"https://admin.example.com/caddy/": "https://admin.example.com/caddy",
		"unix//run/caddy-admin.sock":       "http://127.0.0.1",
		"unix//run/caddy-admin.sock|0220":  "http://127.0.0.1",
	} {
		c, err := cliNewClient(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if c.base != base {
			t.Errorf("%q: base %q, want %q", in, c.base, base)
		}
	}
	for _, bad := range []string{"ftp://x", "http://", "localhost:1-9", "fd/3", "unix/"} {
		if _, err := cliNewClient(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestCLIAddressForms sends real requests through each address form.
func TestCLIAddressForms(t *testing.T) {
	t.Setenv("CADDY_ADMIN", "")
	fake, srv := newCLIFake(t)
	hostport := strings.TrimPrefix(srv.URL, "http://")
	check := func(name string, wantPath string, args ...string) {
		t.Helper()
		fake.answer(200, cliProvidersBody)
		out, errOut, err := runCLI(args...)
		if err != nil {
			t.Errorf("%s: %v %s", name, err, errOut)
			return
		}
		r := fake.requests()
		if len(r) != 1 || r[0].Path != wantPath {
			t.Errorf("%s: requests %+v", name, r)
		}
		if lineFields(out, "openai", "openai") == nil {
			t.Errorf("%s: output\n%s", name, out)
		}
	}
	check("host:port flag", "/llmgate/providers", "--address", hostport, "providers")
	check("URL flag", "/llmgate/providers", "--address", srv.URL, "providers")
	check("flag after subcommand", "/llmgate/providers", "providers", "--address", srv.URL+"/")
	check("URL with a path prefix", "/admin/llmgate/providers", "--address", srv.URL+"/admin", "providers")
	t.Setenv("CADDY_ADMIN", hostport)
	check("CADDY_ADMIN", "/llmgate/providers", "providers")

	// A unix socket, as in `admin unix//path`.
	dir, err := os.MkdirTemp("", "lgcli")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "admin.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Skipf("unix sockets unavailable: %v", err)
	}
	var host string
	us := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host = r.Host
		fake.ServeHTTP(w, r)
	})}
	go us.Serve(ln)
	t.Cleanup(func() { us.Close() })
	t.Setenv("CADDY_ADMIN", "")
	check("unix socket", "/llmgate/providers", "--address", "unix/"+sock, "providers")
	if host != "127.0.0.1" {
		t.Errorf("unix socket request Host %q, want 127.0.0.1 (Caddy accepts only loopback)", host)
	}
	check("unix socket with permissions", "/llmgate/providers", "--address", "unix/"+sock+"|0200", "providers")
}

// TestCLIRegisteredCmd checks the command Caddy registers, and the exit
// status through caddycmd.Main, in a child process.
func TestCLIRegisteredCmd(t *testing.T) {
	if args := os.Getenv("LLMGATE_CLI_CHILD"); args != "" {
		os.Args = append([]string{"caddy"}, strings.Split(args, "\x1f")...)
		caddycmd.Main()
		os.Exit(0)
	}
	c, ok := caddycmd.Commands()["llmgate"]
	if !ok || c.CobraFunc == nil || c.Short == "" {
		t.Fatalf("llmgate command: %+v", c)
	}
	llm := &cobra.Command{Use: "llmgate"}
	c.CobraFunc(llm)
	var names []string
	for _, sub := range llm.Commands() {
		names = append(names, sub.Name())
	}
	if want := []string{"keys", "projects", "providers", "requests", "usage"}; !reflect.DeepEqual(names, want) {
		t.Errorf("subcommands %v, want %v", names, want)
	}
	for _, path := range [][]string{
		{"keys", "create"}, {"keys", "list"}, {"keys", "show"}, {"keys", "update"}, {"keys", "rotate"}, {"keys", "revoke"},
		{"projects", "create"}, {"projects", "list"}, {"projects", "show"}, {"projects", "update"}, {"projects", "credit"},
		{"requests", "show"},
	} {
		if found, _, err := llm.Find(path); err != nil || found.Name() != path[1] {
			t.Errorf("%v missing", path)
		}
	}

	fake, srv := newCLIFake(t)
	child := func(args ...string) (string, string, int) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCLIRegisteredCmd$")
		cmd.Env = append(os.Environ(), "LLMGATE_CLI_CHILD="+strings.Join(args, "\x1f"), "CADDY_ADMIN=")
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errb.String(), code
	}
	fake.answer(200, `{"data":[`+cliKeyObj+`]}`)
	out, errOut, code := child("llmgate", "keys", "list", "--address", srv.URL)
	if code != 0 || lineFields(out, "ID", "NAME") == nil {
		t.Errorf("success: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	fake.answer(400, `{"error":{"message":"name: must not be empty","field":"name"}}`)
	out, errOut, code = child("llmgate", "keys", "update", "k_1", "--name", "", "--address", srv.URL)
	if code != 1 || !strings.Contains(errOut, "name: must not be empty") || out != "" {
		t.Errorf("API error: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	out, errOut, code = child("llmgate", "keys", "create", "--name", "ci", "--budget", "lots", "--address", srv.URL)
	if code != 1 || !strings.Contains(errOut, `invalid --budget "lots"`) {
		t.Errorf("usage error: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestCLICellFormats(t *testing.T) {
	for in, want := range map[float64]string{0: "$0.00", 1234.5: "$1,234.50", 0.01: "$0.01", 0.0004: "$0.0004",
		0.000035: "$0.000035", 0.0000001: "$1e-07", -2.5: "-$2.50", 12.3456: "$12.35"} {
		if got := cliUSD(in); got != want {
			t.Errorf("cliUSD(%v) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[float64]string{0: "-", 0.212: "0.2ms", 420: "420ms", 12345: "12.3s"} {
		if got := cliMS(in); got != want {
			t.Errorf("cliMS(%v) = %q, want %q", in, got, want)
		}
	}
}
