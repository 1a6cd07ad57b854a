package caddymodule

import (
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func parse(t *testing.T, src string) (*Handler, error) {
	t.Helper()
	h := new(Handler)
	err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(src))
	return h, err
}

func TestCaddyfileValid(t *testing.T) {
	t.Setenv("LLMGATE_TEST_WEIGHT", "3")
	h, err := parse(t, `llmgate {
		store sqlite /tmp/x.db
		provider openai {
			type openai
			base_url https://api.openai.com/v1
			api_key {env.OPENAI_API_KEY}
			models gpt-5 gpt-5-mini
			weight {env.LLMGATE_TEST_WEIGHT}
			max_concurrency 64
			timeout {
				connect 5s
				headers 30s
				first_token 31s
				idle 32s
				total 10m
			}
			header X-Title llmgate
			option delay 10ms
		}
		provider m mock
		key {env.LLMGATE_DEMO_KEY} {
			name demo
			models auto gpt-4o-mini
		}
		model my-finetune {
			price 2.50 10.00
			cached_price 1.25
			cache_write_price 3
			context 128000
			max_output 16384
			capabilities tools vision json_schema reasoning prefix
		}
		max_body 10MB
	}`)
	if err != nil {
		t.Fatal(err)
	}
	p := h.Providers[0]
	if p.Name != "openai" || p.Type != "openai" || p.APIKey != "{env.OPENAI_API_KEY}" || p.Weight != 3 || p.MaxConcurrency != 64 ||
		len(p.Models) != 2 || p.Headers["X-Title"] != "llmgate" || p.Options["delay"] != "10ms" {
		t.Errorf("provider parsed as %+v", p)
	}
	if tt := p.Timeout; tt == nil || time.Duration(tt.Connect) != 5*time.Second || time.Duration(tt.FirstToken) != 31*time.Second ||
		time.Duration(tt.Idle) != 32*time.Second || time.Duration(tt.Total) != 10*time.Minute {
		t.Errorf("timeouts parsed as %+v", p.Timeout)
	}
	if h.Providers[1].Type != "mock" {
		t.Errorf("inline type not parsed: %+v", h.Providers[1])
	}
	if h.Store.Type != "sqlite" || h.Store.Path != "/tmp/x.db" {
		t.Errorf("store %+v", h.Store)
	}
	if h.MaxBody != 10_000_000 {
		t.Errorf("max_body 10MB = %d, want 10000000 (Caddy sizes: MB is 10^6)", h.MaxBody)
	}
	if k := h.Keys[0]; k.Secret != "{env.LLMGATE_DEMO_KEY}" || k.Name != "demo" || len(k.Models) != 2 {
		t.Errorf("key %+v", k)
	}
	if m := h.Models[0]; *m.InputPrice != 2.5 || *m.OutputPrice != 10 || *m.CachedPrice != 1.25 || m.Context != 128000 || len(m.Capabilities) != 5 {
		t.Errorf("model %+v", m)
	}
}

// The options whose behaviour arrives later parse now, so configs can be
// written against the spec; loading them is refused with a clear message.
func TestCaddyfileAllSpecOptionsParse(t *testing.T) {
	h, err := parse(t, `llmgate {
		route auto {
			simple  gpt-5-nano claude-haiku-4-5
			medium  gpt-5-mini
			complex gpt-5
			optimize cost
			fallback_on content_policy
		}
		fallback gpt-4o-mini openrouter/openai/gpt-4o-mini anthropic/claude-haiku-4-5
		retry {
			attempts 3
			max_attempts 6
			backoff 100ms 5s
			deadline 45s
			on 408 429 500 502 503 504 529 network
			breaker 4 20s 3s
		}
		limits {
			rpm 600
			tpm 200000
			concurrency 32
			daily_tokens 2000000
			budget 50usd/month
		}
		key lg_0123456789abcdef0123456789abcdef {
			limits {
				rpm 60
			}
		}
	}`)
	if err != nil {
		t.Fatal(err)
	}
	if r := h.Retry; r.MaxAttempts != 6 || time.Duration(r.Deadline) != 45*time.Second || r.BreakerFailures != 4 ||
		time.Duration(r.BreakerWindow) != 20*time.Second || time.Duration(r.BreakerCooldown) != 3*time.Second || len(r.On) != 8 {
		t.Errorf("retry parsed as %+v", r)
	}
	if len(h.Fallbacks) != 1 || len(h.Fallbacks[0].Chain) != 2 {
		t.Errorf("fallback parsed as %+v", h.Fallbacks)
	}
	if h.Limits.BudgetUSD != 50 || h.Limits.BudgetPeriod != "month" || h.Retry.Attempts != 3 || len(h.Routes[0].Tiers) != 3 {
		t.Fatalf("parsed %+v %+v %+v", h.Limits, h.Retry, h.Routes)
	}
	if err := h.Validate(); err != nil {
		t.Fatalf("every option here is implemented now: %v", err)
	}
	// Cluster mode parses but is refused at load, naming what to remove.
	h2, err := parse(t, "llmgate {\n\tlimiter redis redis://x\n\tstore postgres postgres://x\n}")
	if err != nil {
		t.Fatal(err)
	}
	err = h2.Validate()
	for _, want := range []string{"limiter", "store postgres", "remove it to load this config"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %q", err, want)
		}
	}
}

func TestCaddyfileInvalid(t *testing.T) {
	cases := []struct {
		name, src, want string
		line            string
	}{
		{"unknown option", "llmgate {\n\tbogus 1\n}", `unknown option "bogus"`, "2"},
		{"provider without type", "llmgate {\n\tprovider x {\n\t\tapi_key k\n\t}\n}", `provider "x": missing 'type'`, ""},
		{"provider name with slash", "llmgate {\n\tprovider a/b {\n\t\ttype openai\n\t}\n}", `provider "a/b": a name may not contain '/'`, ""},
		{"duplicate provider", "llmgate {\n\tprovider a mock\n\tprovider a mock\n}", `provider "a": defined twice`, ""},
		{"bad weight", "llmgate {\n\tprovider a {\n\t\ttype mock\n\t\tweight heavy\n\t}\n}", `weight: bad number "heavy"`, "4"},
		{"zero weight", "llmgate {\n\tprovider a {\n\t\ttype mock\n\t\tweight 0\n\t}\n}", `weight must be at least 1`, ""},
		{"bad timeout", "llmgate {\n\tprovider a {\n\t\ttype mock\n\t\ttimeout {\n\t\t\tidle soon\n\t\t}\n\t}\n}", `timeout idle: bad duration "soon"`, "5"},
		{"unknown timeout", "llmgate {\n\tprovider a {\n\t\ttype mock\n\t\ttimeout {\n\t\t\tforever 1s\n\t\t}\n\t}\n}", `timeout: unknown option "forever"`, ""},
		{"unknown provider option", "llmgate {\n\tprovider a {\n\t\ttype mock\n\t\tregion x\n\t}\n}", `provider "a": unknown option "region"`, ""},
		{"bad max_body", "llmgate {\n\tmax_body lots\n}", `max_body: bad size "lots"`, ""},
		{"max_body twice", "llmgate {\n\tmax_body 1MB\n\tmax_body 2MB\n}", `max_body: option given twice`, ""},
		{"bad responses_retention", "llmgate {\n\tresponses_retention forever\n}", `responses_retention: bad duration "forever"`, ""},
		{"bad store", "llmgate {\n\tstore mysql x\n}", `store: unknown backend "mysql"`, ""},
		{"bad budget", "llmgate {\n\tlimits {\n\t\tbudget lots\n\t}\n}", `limits budget: bad value "lots"`, ""},
		{"bad optimize", "llmgate {\n\troute auto {\n\t\toptimize vibes\n\t}\n}", `optimize: "vibes" is not one of cost, latency, quality`, ""},
		{"bad breaker", "llmgate {\n\tretry {\n\t\tbreaker 5 soon 1s\n\t}\n}", `retry breaker: bad values "5 soon 1s"`, "3"},
		{"bad retry status", "llmgate {\n\tretry {\n\t\ton 200\n\t}\n}", `retry on: "200" is not a 4xx/5xx status`, ""},
		{"bad capability", "llmgate {\n\tmodel m {\n\t\tcapabilities telepathy\n\t}\n}", `unknown capability "telepathy"`, ""},
		{"bad price", "llmgate {\n\tmodel m {\n\t\tprice 1\n\t}\n}", `price: want '<input> <output>'`, ""},
		{"directive args", "llmgate extra {\n}", `wrong argument count`, "1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parse(t, c.src)
			if err == nil {
				t.Fatalf("accepted:\n%s", c.src)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q\nwant it to contain %q", err, c.want)
			}
			if c.line != "" && !strings.HasSuffix(err.Error(), "at Testfile:"+c.line) {
				t.Fatalf("error %q does not name Testfile:%s", err, c.line)
			}
		})
	}
}

func TestValidateUnknownType(t *testing.T) {
	h, err := parse(t, "llmgate {\n\tprovider a {\n\t\ttype telepathy\n\t}\n}")
	if err != nil {
		t.Fatal(err)
	}
	err = h.Validate()
	if err == nil || !strings.Contains(err.Error(), `provider "a": unknown type "telepathy" (known: `) || !strings.Contains(err.Error(), "openai") {
		t.Fatalf("Validate() = %v", err)
	}
}

// Provision skips a provider whose key is empty (one warning, no crash),
// refuses a short static key, and expands {env.*} in strings.
func TestProvision(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	t.Setenv("LLMGATE_TEST_KEY", "lg_0123456789abcdef0123456789abcdef")
	dir := t.TempDir()
	h, err := parse(t, `llmgate {
		store sqlite `+dir+`/gw.db
		provider openai {
			type openai
			api_key {env.LLMGATE_TEST_UNSET_KEY}
		}
		provider m mock
		key {env.LLMGATE_TEST_KEY} {
			name demo
		}
		key {env.LLMGATE_TEST_UNSET_SECRET}
	}`)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: t.Context()})
	defer cancel()
	if err := h.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	defer h.Cleanup()
	accts := h.gw
	if accts == nil {
		t.Fatal("no gateway built")
	}

	short, _ := parse(t, "llmgate {\n\tprovider m mock\n\tkey shortkey\n}")
	err = short.Provision(ctx)
	short.Cleanup()
	if err == nil || !strings.Contains(err.Error(), "use at least 16") {
		t.Fatalf("short key: %v", err)
	}
}

// Options added with failover, governance and routing: parsed, and
// carried into what the runtime uses.
func TestCaddyfileRoutingAndGovernanceOptions(t *testing.T) {
	h, err := parse(t, `llmgate {
		retry {
			hedge 2s
		}
		limits {
			daily_requests 100
			zone Europe/Paris
		}
		route auto {
			simple mock-mini
			complex mock-large
			weight code 3.5
			thresholds 0.2 0.8
		}
	}`)
	if err != nil {
		t.Fatal(err)
	}
	if time.Duration(h.Retry.Hedge) != 2*time.Second || h.Limits.DailyRequests != 100 || h.Limits.Zone != "Europe/Paris" {
		t.Fatalf("retry %+v limits %+v", h.Retry, h.Limits)
	}
	if pol, _ := h.retryPolicy(); pol.Hedge != 2*time.Second {
		t.Errorf("hedge not carried into the policy: %v", pol.Hedge)
	}
	routes, err := h.routes()
	if err != nil || len(routes) != 1 {
		t.Fatalf("routes %v %v", routes, err)
	}
	w := routes[0].Weights
	if w.Code != 3.5 || w.SimpleMax != 0.2 || w.ComplexMin != 0.8 || w.Length == 0 {
		t.Errorf("weights %+v: the override must sit on top of the defaults", w)
	}
	for _, bad := range []struct{ src, want string }{
		{"llmgate {\n\troute auto {\n\t\tweight vibes 1\n\t}\n}", `weight: unknown feature "vibes"`},
		{"llmgate {\n\troute auto {\n\t\tthresholds 0.9 0.1\n\t}\n}", "want 0 <= simple_max <= complex_min <= 1"},
		{"llmgate {\n\tlimits {\n\t\tzone Mars/Olympus\n\t}\n}", `limits zone: unknown time zone "Mars/Olympus"`},
		{"llmgate {\n\tretry {\n\t\thedge soon\n\t}\n}", `retry hedge: bad duration "soon"`},
	} {
		if _, err := parse(t, bad.src); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: error %v, want %q", bad.src, err, bad.want)
		}
	}
}

// responses_retention takes Caddy durations (days included) or off.
func TestCaddyfileResponsesRetention(t *testing.T) {
	for src, want := range map[string]caddy.Duration{
		"responses_retention 7d":   caddy.Duration(7 * 24 * time.Hour),
		"responses_retention 720h": caddy.Duration(720 * time.Hour),
		"responses_retention off":  -1,
		"max_body 1MB":             0,
	} {
		h, err := parse(t, "llmgate {\n\t"+src+"\n}")
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if h.ResponsesRetention != want {
			t.Errorf("%s: retention %v, want %v", src, h.ResponsesRetention, want)
		}
	}
}
