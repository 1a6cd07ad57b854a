package caddymodule

import (
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"
)

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := new(Handler)
	err := m.UnmarshalCaddyfile(h.Dispenser)
	return m, err
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	llmgate {
//		store sqlite [<path>]
//		provider <name> {
//			type <openai|openrouter|groq|xai|mistral|cerebras|deepseek|together|fireworks|mock>
//			base_url <url>
//			api_key <key>
//			models <model...>
//			weight <n>
//			max_concurrency <n>
//			timeout {
//				connect <duration>
//				headers <duration>
//				first_token <duration>
//				idle <duration>
//				total <duration>
//			}
//			header <name> <value>
//			option <name> <value>
//		}
//		key <secret> {
//			name <name>
//			models <pattern...>
//			limits { … }
//		}
//		model <name> {
//			price <input> <output>
//			cached_price <usd>
//			cache_write_price <usd>
//			context <tokens>
//			max_output <tokens>
//			capabilities <tools|vision|json_schema|reasoning|prefix|embeddings...>
//		}
//		max_body <size>
//		responses_retention <duration|off>
//
//		fallback <model> <fallback model...>
//		retry {
//			attempts <n>
//			max_attempts <n>
//			backoff <min> <max>
//			deadline <duration>
//			on <status|network|timeout...>
//			breaker <failures> <window> <cooldown>
//			hedge <duration>
//		}
//
//		# parsed, refused at load until supported:
//		route <name> { simple|medium|complex <model...>; optimize <cost|latency|quality>; fallback_on <...> }
//		limits { rpm <n>; tpm <n>; concurrency <n>; daily_tokens <n>; budget <usd>usd/<day|week|month|total> }
//		limiter redis <url>
//	}
//
// Numbers, durations and sizes may use {env.NAME}, expanded while the
// Caddyfile is parsed; strings keep their placeholders until load.
func (m *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	seen := map[string]bool{}
	once := func(name string) error {
		if seen[name] {
			return d.Errf("%s: option given twice", name)
		}
		seen[name] = true
		return nil
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		switch opt {
		case "store":
			if err := once(opt); err != nil {
				return err
			}
			args := d.RemainingArgs()
			if len(args) < 1 || len(args) > 2 {
				return d.Errf("store: want 'store sqlite [<path>]', got %d arguments", len(args))
			}
			m.Store = &StoreConfig{Type: args[0]}
			if len(args) == 2 {
				m.Store.Path = args[1]
			}
			if args[0] != "sqlite" && args[0] != "postgres" {
				return d.Errf("store: unknown backend %q (want sqlite or postgres)", args[0])
			}
		case "limiter":
			if err := once(opt); err != nil {
				return err
			}
			args := d.RemainingArgs()
			if len(args) != 2 {
				return d.Errf("limiter: want 'limiter redis <url>'")
			}
			m.Limiter = &LimiterConfig{Type: args[0], URL: args[1]}
		case "provider":
			p, err := parseProvider(d)
			if err != nil {
				return err
			}
			for _, q := range m.Providers {
				if q.Name == p.Name {
					return d.Errf("provider %q: defined twice", p.Name)
				}
			}
			m.Providers = append(m.Providers, p)
		case "key":
			k, err := parseKey(d)
			if err != nil {
				return err
			}
			m.Keys = append(m.Keys, k)
		case "model":
			mc, err := parseModel(d)
			if err != nil {
				return err
			}
			m.Models = append(m.Models, mc)
		case "route":
			r, err := parseRoute(d)
			if err != nil {
				return err
			}
			m.Routes = append(m.Routes, r)
		case "fallback":
			args := d.RemainingArgs()
			if len(args) < 2 {
				return d.Errf("fallback: want 'fallback <model> <fallback model...>'")
			}
			m.Fallbacks = append(m.Fallbacks, FallbackConfig{Model: args[0], Chain: args[1:]})
		case "retry":
			if err := once(opt); err != nil {
				return err
			}
			r, err := parseRetry(d)
			if err != nil {
				return err
			}
			m.Retry = r
		case "limits":
			if err := once(opt); err != nil {
				return err
			}
			l, err := parseLimits(d)
			if err != nil {
				return err
			}
			m.Limits = l
		case "max_body":
			if err := once(opt); err != nil {
				return err
			}
			var v string
			if !d.Args(&v) {
				return d.ArgErr()
			}
			n, err := humanize.ParseBytes(expand(v))
			if err != nil || n == 0 {
				return d.Errf("max_body: bad size %q (use e.g. 10MB or 32MiB)", v)
			}
			m.MaxBody = int64(n)
		case "responses_retention":
			if err := once(opt); err != nil {
				return err
			}
			var v string
			if !d.Args(&v) || d.NextArg() {
				return d.ArgErr()
			}
			if v = expand(v); v == "off" {
				m.ResponsesRetention = -1
				break
			}
			dur, err := caddy.ParseDuration(v)
			if err != nil || dur <= 0 {
				return d.Errf("responses_retention: bad duration %q (use e.g. 720h, 7d, or off)", v)
			}
			m.ResponsesRetention = caddy.Duration(dur)
		default:
			return d.Errf("unknown option %q (want store, provider, key, model, route, fallback, retry, limits, limiter, max_body or responses_retention)", opt)
		}
	}
	return nil
}

// expand resolves {env.NAME} in values parsed at Caddyfile time.
func expand(s string) string {
	if !strings.Contains(s, "{") {
		return s
	}
	return caddy.NewReplacer().ReplaceAll(s, "")
}

func intArg(d *caddyfile.Dispenser, opt string) (int64, error) {
	var v string
	if !d.Args(&v) {
		return 0, d.Errf("%s: want one number", opt)
	}
	if d.NextArg() {
		return 0, d.Errf("%s: want one number, got more", opt)
	}
	n, err := strconv.ParseInt(expand(v), 10, 64)
	if err != nil || n < 0 {
		return 0, d.Errf("%s: bad number %q", opt, v)
	}
	return n, nil
}

func floatVal(d *caddyfile.Dispenser, opt, v string) (float64, error) {
	f, err := strconv.ParseFloat(expand(v), 64)
	if err != nil || f < 0 {
		return 0, d.Errf("%s: bad number %q", opt, v)
	}
	return f, nil
}

func durationArg(d *caddyfile.Dispenser, opt string) (caddy.Duration, error) {
	var v string
	if !d.Args(&v) {
		return 0, d.Errf("%s: want one duration", opt)
	}
	if d.NextArg() {
		return 0, d.Errf("%s: want one duration, got more", opt)
	}
	dur, err := caddy.ParseDuration(expand(v))
	if err != nil || dur <= 0 {
		return 0, d.Errf("%s: bad duration %q (use e.g. 30s or 5m)", opt, v)
	}
	return caddy.Duration(dur), nil
}

func parseProvider(d *caddyfile.Dispenser) (ProviderConfig, error) {
	var p ProviderConfig
	if !d.Args(&p.Name) {
		return p, d.Errf("provider: want 'provider <name> { … }'")
	}
	if strings.ContainsAny(p.Name, "/ \t") {
		return p, d.Errf("provider %q: a name may not contain '/' or spaces", p.Name)
	}
	if d.NextArg() {
		p.Type = d.Val()
		if d.NextArg() {
			return p, d.ArgErr()
		}
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		switch opt {
		case "type":
			if !d.Args(&p.Type) {
				return p, d.Errf("provider %q: type: want one value", p.Name)
			}
		case "base_url":
			if !d.Args(&p.BaseURL) {
				return p, d.Errf("provider %q: base_url: want one URL", p.Name)
			}
		case "api_key":
			if !d.Args(&p.APIKey) {
				return p, d.Errf("provider %q: api_key: want one value", p.Name)
			}
		case "models":
			p.Models = append(p.Models, d.RemainingArgs()...)
			if len(p.Models) == 0 {
				return p, d.Errf("provider %q: models: want at least one model", p.Name)
			}
		case "weight":
			n, err := intArg(d, "weight")
			if err != nil {
				return p, err
			}
			if n < 1 {
				return p, d.Errf("provider %q: weight must be at least 1, got %d", p.Name, n)
			}
			p.Weight = int(n)
		case "max_concurrency":
			n, err := intArg(d, "max_concurrency")
			if err != nil {
				return p, err
			}
			p.MaxConcurrency = int(n)
		case "timeout":
			t, err := parseTimeout(d)
			if err != nil {
				return p, err
			}
			p.Timeout = t
		case "header":
			args := d.RemainingArgs()
			if len(args) != 2 {
				return p, d.Errf("provider %q: header: want '<name> <value>'", p.Name)
			}
			if p.Headers == nil {
				p.Headers = map[string]string{}
			}
			p.Headers[args[0]] = args[1]
		case "option":
			args := d.RemainingArgs()
			if len(args) != 2 {
				return p, d.Errf("provider %q: option: want '<name> <value>'", p.Name)
			}
			if p.Options == nil {
				p.Options = map[string]string{}
			}
			p.Options[args[0]] = args[1]
		default:
			return p, d.Errf("provider %q: unknown option %q", p.Name, opt)
		}
	}
	if p.Type == "" {
		return p, d.Errf("provider %q: missing 'type'", p.Name)
	}
	return p, nil
}

func parseTimeout(d *caddyfile.Dispenser) (*TimeoutConfig, error) {
	t := &TimeoutConfig{}
	if d.NextArg() {
		// "timeout 30s" sets the header and first-token deadlines.
		dur, err := caddy.ParseDuration(expand(d.Val()))
		if err != nil || dur <= 0 {
			return nil, d.Errf("timeout: bad duration %q", d.Val())
		}
		t.Headers, t.FirstToken = caddy.Duration(dur), caddy.Duration(dur)
		return t, nil
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		dur, err := durationArg(d, "timeout "+opt)
		if err != nil {
			return nil, err
		}
		switch opt {
		case "connect":
			t.Connect = dur
		case "headers":
			t.Headers = dur
		case "first_token":
			t.FirstToken = dur
		case "idle":
			t.Idle = dur
		case "total":
			t.Total = dur
		default:
			return nil, d.Errf("timeout: unknown option %q (want connect, headers, first_token, idle or total)", opt)
		}
	}
	return t, nil
}

func parseKey(d *caddyfile.Dispenser) (KeyConfig, error) {
	var k KeyConfig
	if !d.Args(&k.Secret) {
		return k, d.Errf("key: want 'key <secret> { … }'")
	}
	if d.NextArg() {
		return k, d.ArgErr()
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch opt := d.Val(); opt {
		case "name":
			if !d.Args(&k.Name) {
				return k, d.Errf("key: name: want one value")
			}
		case "models":
			k.Models = append(k.Models, d.RemainingArgs()...)
			if len(k.Models) == 0 {
				return k, d.Errf("key: models: want at least one pattern")
			}
		case "limits":
			l, err := parseLimits(d)
			if err != nil {
				return k, err
			}
			k.Limits = l
		default:
			return k, d.Errf("key: unknown option %q (want name, models or limits)", opt)
		}
	}
	return k, nil
}

func parseModel(d *caddyfile.Dispenser) (ModelConfig, error) {
	var m ModelConfig
	if !d.Args(&m.Name) {
		return m, d.Errf("model: want 'model <name> { … }'")
	}
	price := func(opt string) (*float64, error) {
		var v string
		if !d.Args(&v) {
			return nil, d.Errf("model %q: %s: want one price in USD per 1M tokens", m.Name, opt)
		}
		f, err := floatVal(d, opt, v)
		return &f, err
	}
	var err error
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch opt := d.Val(); opt {
		case "price":
			args := d.RemainingArgs()
			if len(args) != 2 {
				return m, d.Errf("model %q: price: want '<input> <output>' in USD per 1M tokens", m.Name)
			}
			in, err := floatVal(d, "price", args[0])
			if err != nil {
				return m, err
			}
			out, err := floatVal(d, "price", args[1])
			if err != nil {
				return m, err
			}
			m.InputPrice, m.OutputPrice = &in, &out
		case "cached_price":
			if m.CachedPrice, err = price(opt); err != nil {
				return m, err
			}
		case "cache_write_price":
			if m.CacheWritePrice, err = price(opt); err != nil {
				return m, err
			}
		case "context":
			if m.Context, err = intArg(d, "context"); err != nil {
				return m, err
			}
		case "max_output":
			if m.MaxOutput, err = intArg(d, "max_output"); err != nil {
				return m, err
			}
		case "capabilities":
			for _, c := range d.RemainingArgs() {
				switch c {
				case "tools", "vision", "json_schema", "reasoning", "prefix", "embeddings":
				default:
					return m, d.Errf("model %q: unknown capability %q (want tools, vision, json_schema, reasoning, prefix or embeddings)", m.Name, c)
				}
				m.Capabilities = append(m.Capabilities, c)
			}
		default:
			return m, d.Errf("model %q: unknown option %q", m.Name, opt)
		}
	}
	return m, nil
}

func parseRoute(d *caddyfile.Dispenser) (RouteConfig, error) {
	r := RouteConfig{Tiers: map[string][]string{}}
	if !d.Args(&r.Name) {
		return r, d.Errf("route: want 'route <name> { … }'")
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch opt := d.Val(); opt {
		case "simple", "medium", "complex":
			ms := d.RemainingArgs()
			if len(ms) == 0 {
				return r, d.Errf("route %q: %s: want at least one model", r.Name, opt)
			}
			r.Tiers[opt] = ms
		case "optimize":
			if !d.Args(&r.Optimize) {
				return r, d.ArgErr()
			}
			if r.Optimize != "cost" && r.Optimize != "latency" && r.Optimize != "quality" {
				return r, d.Errf("route %q: optimize: %q is not one of cost, latency, quality", r.Name, r.Optimize)
			}
		case "fallback_on":
			r.FallbackOn = d.RemainingArgs()
		case "weight":
			args := d.RemainingArgs()
			if len(args) != 2 {
				return r, d.Errf("route %q: weight: want '<feature> <value>'", r.Name)
			}
			if !knownWeight(args[0]) {
				return r, d.Errf("route %q: weight: unknown feature %q", r.Name, args[0])
			}
			f, err := strconv.ParseFloat(expand(args[1]), 64)
			if err != nil {
				return r, d.Errf("route %q: weight %s: bad number %q", r.Name, args[0], args[1])
			}
			if r.Weights == nil {
				r.Weights = map[string]float64{}
			}
			r.Weights[args[0]] = f
		case "thresholds":
			args := d.RemainingArgs()
			if len(args) != 2 {
				return r, d.Errf("route %q: thresholds: want '<simple_max> <complex_min>' in [0, 1]", r.Name)
			}
			lo, err1 := strconv.ParseFloat(expand(args[0]), 64)
			hi, err2 := strconv.ParseFloat(expand(args[1]), 64)
			if err1 != nil || err2 != nil || lo < 0 || hi > 1 || lo > hi {
				return r, d.Errf("route %q: thresholds: bad values %q %q (want 0 <= simple_max <= complex_min <= 1)", r.Name, args[0], args[1])
			}
			r.Thresholds = []float64{lo, hi}
		default:
			return r, d.Errf("route %q: unknown option %q (want simple, medium, complex, optimize, fallback_on, weight or thresholds)", r.Name, opt)
		}
	}
	return r, nil
}

func parseRetry(d *caddyfile.Dispenser) (*RetryConfig, error) {
	r := &RetryConfig{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch opt := d.Val(); opt {
		case "attempts":
			n, err := intArg(d, "retry attempts")
			if err != nil {
				return nil, err
			}
			if n < 1 {
				return nil, d.Errf("retry attempts: must be at least 1, got %d", n)
			}
			r.Attempts = int(n)
		case "backoff":
			args := d.RemainingArgs()
			if len(args) != 2 {
				return nil, d.Errf("retry backoff: want '<min> <max>'")
			}
			lo, err1 := caddy.ParseDuration(expand(args[0]))
			hi, err2 := caddy.ParseDuration(expand(args[1]))
			if err1 != nil || err2 != nil || lo <= 0 || hi < lo {
				return nil, d.Errf("retry backoff: bad durations %q %q (want min <= max, e.g. 100ms 5s)", args[0], args[1])
			}
			r.BackoffMin, r.BackoffMax = caddy.Duration(lo), caddy.Duration(hi)
		case "max_attempts":
			n, err := intArg(d, "retry max_attempts")
			if err != nil {
				return nil, err
			}
			if n < 1 {
				return nil, d.Errf("retry max_attempts: must be at least 1, got %d", n)
			}
			r.MaxAttempts = int(n)
		case "deadline":
			dur, err := durationArg(d, "retry deadline")
			if err != nil {
				return nil, err
			}
			r.Deadline = dur
		case "hedge":
			dur, err := durationArg(d, "retry hedge")
			if err != nil {
				return nil, err
			}
			r.Hedge = dur
		case "breaker":
			args := d.RemainingArgs()
			if len(args) != 3 {
				return nil, d.Errf("retry breaker: want '<failures> <window> <cooldown>', e.g. 5 30s 5s")
			}
			n, err1 := strconv.Atoi(expand(args[0]))
			win, err2 := caddy.ParseDuration(expand(args[1]))
			cool, err3 := caddy.ParseDuration(expand(args[2]))
			if err1 != nil || err2 != nil || err3 != nil || n < 1 || win <= 0 || cool <= 0 {
				return nil, d.Errf("retry breaker: bad values %q (want '<failures> <window> <cooldown>', e.g. 5 30s 5s)", strings.Join(args, " "))
			}
			r.BreakerFailures, r.BreakerWindow, r.BreakerCooldown = n, caddy.Duration(win), caddy.Duration(cool)
		case "on":
			for _, v := range d.RemainingArgs() {
				if v != "network" && v != "timeout" {
					if n, err := strconv.Atoi(v); err != nil || n < 400 || n > 599 {
						return nil, d.Errf("retry on: %q is not a 4xx/5xx status, 'network' or 'timeout'", v)
					}
				}
				r.On = append(r.On, v)
			}
		default:
			return nil, d.Errf("retry: unknown option %q (want attempts, max_attempts, backoff, deadline, on, hedge or breaker)", opt)
		}
	}
	return r, nil
}

func parseLimits(d *caddyfile.Dispenser) (*LimitsConfig, error) {
	l := &LimitsConfig{}
	var err error
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch opt := d.Val(); opt {
		case "rpm":
			l.RPM, err = intArg(d, "limits rpm")
		case "tpm":
			l.TPM, err = intArg(d, "limits tpm")
		case "concurrency":
			l.Concurrency, err = intArg(d, "limits concurrency")
		case "daily_tokens":
			l.DailyTokens, err = intArg(d, "limits daily_tokens")
		case "daily_requests":
			l.DailyRequests, err = intArg(d, "limits daily_requests")
		case "zone":
			var v string
			if !d.Args(&v) {
				return nil, d.Errf("limits zone: want an IANA time zone such as Europe/Paris")
			}
			if _, e := time.LoadLocation(expand(v)); e != nil {
				return nil, d.Errf("limits zone: unknown time zone %q", v)
			}
			l.Zone = expand(v)
		case "budget":
			var v string
			if !d.Args(&v) {
				return nil, d.Errf("limits budget: want e.g. 50usd/month")
			}
			l.BudgetUSD, l.BudgetPeriod, err = parseBudget(expand(v))
			if err != nil {
				return nil, d.Errf("limits budget: bad value %q: %v", v, err)
			}
		default:
			return nil, d.Errf("limits: unknown option %q (want rpm, tpm, concurrency, daily_requests, daily_tokens, budget or zone)", opt)
		}
		if err != nil {
			return nil, err
		}
	}
	return l, nil
}

// parseBudget reads "50usd/month" (periods: day, week, month, total).
func parseBudget(v string) (float64, string, error) {
	amount, period, ok := strings.Cut(strings.ToLower(v), "/")
	if !ok {
		return 0, "", errBudgetSyntax
	}
	amount = strings.TrimSuffix(strings.TrimPrefix(amount, "$"), "usd")
	f, err := strconv.ParseFloat(amount, 64)
	if err != nil || f <= 0 {
		return 0, "", errBudgetSyntax
	}
	switch period {
	case "day", "week", "month", "total":
		return f, period, nil
	}
	return 0, "", errBudgetSyntax
}

// Interface guard
var _ caddyfile.Unmarshaler = (*Handler)(nil)
