package caddymodule

// Flags of `caddy llmgate`: reading them into admin API request bodies and queries.

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/spf13/pflag"
)

func cliLimitFlags(fs *pflag.FlagSet) {
	fs.Int64("rpm", 0, "Requests per minute")
	fs.Int64("tpm", 0, "Tokens per minute")
	fs.Int64("concurrency", 0, "Concurrent requests")
	fs.Int64("daily-requests", 0, "Requests per day (quota)")
	fs.Int64("daily-tokens", 0, "Tokens per day (quota)")
	fs.String("budget", "", "USD budget: <amount>usd/<day|week|month|total>, e.g. 50usd/month or $50/month")
	fs.StringArray("meta", nil, "Metadata as key=value (repeatable)")
}

func cliKeyFlags(fs *pflag.FlagSet, update bool) {
	fs.String("name", "", "Key name")
	fs.String("project", "", "Project the key belongs to")
	fs.String("owner", "", "Owner (a person or system)")
	fs.String("models", "", "Allowed models, comma-separated globs such as 'gpt-5*,anthropic/*,auto' (empty: all)")
	cliLimitFlags(fs)
	fs.String("expires", "", "Expiry: a duration from now (720h, 30d), an RFC 3339 time, or never")
	if update {
		fs.String("status", "", "active, suspended or past_due")
	}
}

func cliProjectFlags(fs *pflag.FlagSet) {
	fs.String("name", "", "Project name")
	fs.String("status", "", "active, suspended or past_due")
	fs.String("paid-policy", "", "Which requests draw on the project's credit balance (none: no request)")
	cliLimitFlags(fs)
}

// cliKeyBody turns the set flags of keys create/update into the request
// body; unset flags are left out, so an update changes only what is given.
func cliKeyBody(fs *pflag.FlagSet, update bool) (map[string]any, error) {
	body := map[string]any{}
	cliCopyStrings(fs, body, "name", "project", "owner")
	if fs.Changed("models") {
		v, _ := fs.GetString("models")
		body["models"] = cliSplitList(v)
	}
	if err := cliLimitsBody(fs, body); err != nil {
		return nil, err
	}
	if fs.Changed("expires") {
		v, _ := fs.GetString("expires")
		t, err := cliParseExpires(v, cliNow())
		if err != nil {
			return nil, err
		}
		body["expires_at"] = t
	}
	if update {
		if err := cliStatus(fs, body); err != nil {
			return nil, err
		}
	}
	return body, nil
}

func cliProjectBody(fs *pflag.FlagSet) (map[string]any, error) {
	body := map[string]any{}
	cliCopyStrings(fs, body, "id", "name")
	if err := cliStatus(fs, body); err != nil {
		return nil, err
	}
	if fs.Changed("paid-policy") {
		v, _ := fs.GetString("paid-policy")
		body["paid_policy"] = v
	}
	if err := cliLimitsBody(fs, body); err != nil {
		return nil, err
	}
	return body, nil
}

func cliLimitsBody(fs *pflag.FlagSet, body map[string]any) error {
	limits, err := cliInts(fs, map[string]string{"rpm": "rpm", "tpm": "tpm", "concurrency": "concurrency"})
	if err != nil {
		return err
	}
	if len(limits) > 0 {
		body["limits"] = limits
	}
	quotas, err := cliInts(fs, map[string]string{"daily-requests": "daily_requests", "daily-tokens": "daily_tokens"})
	if err != nil {
		return err
	}
	if len(quotas) > 0 {
		body["quotas"] = quotas
	}
	if fs.Changed("budget") {
		v, _ := fs.GetString("budget")
		usd, period, err := cliParseBudget(v)
		if err != nil {
			return err
		}
		body["budget"] = map[string]any{"usd": usd, "period": period}
	}
	if fs.Changed("meta") {
		pairs, _ := fs.GetStringArray("meta")
		meta := map[string]any{}
		for _, p := range pairs {
			k, v, ok := strings.Cut(p, "=")
			if !ok || strings.TrimSpace(k) == "" {
				return fmt.Errorf("invalid --meta %q: want key=value", p)
			}
			meta[strings.TrimSpace(k)] = v
		}
		body["metadata"] = meta
	}
	return nil
}

// cliInts collects the set integer flags (flag name → JSON field).
func cliInts(fs *pflag.FlagSet, fields map[string]string) (map[string]any, error) {
	out := map[string]any{}
	for flagName, field := range fields {
		if !fs.Changed(flagName) {
			continue
		}
		n, _ := fs.GetInt64(flagName)
		if n < 0 {
			return nil, fmt.Errorf("invalid --%s %d: must not be negative", flagName, n)
		}
		out[field] = n
	}
	return out, nil
}

func cliStatus(fs *pflag.FlagSet, body map[string]any) error {
	if !fs.Changed("status") {
		return nil
	}
	st, _ := fs.GetString("status")
	switch st {
	case "active", "suspended", "past_due":
		body["status"] = st
		return nil
	}
	return fmt.Errorf("invalid --status %q: want active, suspended or past_due", st)
}

func cliCopyStrings(fs *pflag.FlagSet, body map[string]any, names ...string) {
	for _, n := range names {
		if fs.Lookup(n) != nil && fs.Changed(n) {
			v, _ := fs.GetString(n)
			body[n] = v
		}
	}
}

func cliCopyFlags(fs *pflag.FlagSet, q url.Values, names ...string) {
	for _, n := range names {
		if v, _ := fs.GetString(n); v != "" {
			q.Set(n, v)
		}
	}
}

func cliSplitList(v string) []string {
	out := []string{}
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

var cliAmountRE = regexp.MustCompile(`^([0-9]+(\.[0-9]*)?|\.[0-9]+)$`)

// cliParseBudget reads a budget flag: "50usd/month", "$50/month",
// "12.5 USD/day", "100/total". Periods: day, week, month, total.
func cliParseBudget(v string) (float64, string, error) {
	bad := func() (float64, string, error) {
		return 0, "", fmt.Errorf("invalid --budget %q: want <amount>usd/<period> such as 50usd/month or $50/month, period one of day, week, month, total", v)
	}
	s := strings.ToLower(strings.Join(strings.Fields(v), ""))
	amount, period, ok := strings.Cut(s, "/")
	if !ok {
		return bad()
	}
	amount = strings.TrimSuffix(strings.TrimPrefix(amount, "$"), "usd")
	if !cliAmountRE.MatchString(amount) {
		return bad()
	}
	f, err := strconv.ParseFloat(amount, 64)
	if err != nil || !(f > 0) || math.IsInf(f, 0) {
		return bad()
	}
	switch period {
	case "day", "week", "month", "total":
		return f, period, nil
	}
	return bad()
}

// cliParseExpires reads --expires: an RFC 3339 time, a date (midnight
// UTC), or a duration from now (720h, 30d). It answers RFC 3339 in UTC;
// "never" (or nothing) answers "", which clears an expiry.
func cliParseExpires(v string, now time.Time) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" || strings.EqualFold(v, "never") {
		return "", nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC().Format(time.RFC3339), nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t.UTC().Format(time.RFC3339), nil
	}
	if d, err := caddy.ParseDuration(v); err == nil && d > 0 {
		return now.Add(d).UTC().Format(time.RFC3339), nil
	}
	return "", fmt.Errorf("invalid --expires %q: want a duration from now such as 720h or 30d, or an RFC 3339 time such as 2026-12-31T00:00:00Z", v)
}

// cliDurationParam checks a duration for the admin API; forms Go's
// time.ParseDuration does not know (such as "2d") are sent normalised.
// Zero is allowed only with allowZero.
func cliDurationParam(v string, allowZero bool) (string, error) {
	v = strings.TrimSpace(v)
	d, err := time.ParseDuration(v)
	if err == nil && (d > 0 || (d == 0 && allowZero)) {
		return v, nil
	}
	if d, err = caddy.ParseDuration(v); err != nil || d < 0 || (d == 0 && !allowZero) {
		return "", errors.New("not a valid duration")
	}
	return d.String(), nil
}

func cliWindowFlags(fs *pflag.FlagSet) {
	fs.String("since", "", "Window back from now, such as 24h or 7d (same as --from 24h)")
	fs.String("from", "", "Window start: RFC 3339 time or a duration back from now")
	fs.String("to", "", "Window end: RFC 3339 time or a duration back from now")
}

// cliWindow turns --since/--from/--to into from= and to= query values.
func cliWindow(fs *pflag.FlagSet) (url.Values, error) {
	q := url.Values{}
	since, _ := fs.GetString("since")
	from, _ := fs.GetString("from")
	to, _ := fs.GetString("to")
	if since != "" && from != "" {
		return nil, errors.New("give either --since or --from, not both")
	}
	if since != "" {
		d, err := cliDurationParam(since, false)
		if err != nil {
			return nil, fmt.Errorf("invalid --since %q: want a duration such as 24h or 7d", since)
		}
		q.Set("from", d)
	}
	for _, p := range []struct{ name, v string }{{"from", from}, {"to", to}} {
		if p.v == "" {
			continue
		}
		if _, err := time.Parse(time.RFC3339, p.v); err == nil {
			q.Set(p.name, p.v)
			continue
		}
		d, err := cliDurationParam(p.v, true)
		if err != nil {
			return nil, fmt.Errorf("invalid --%s %q: want an RFC 3339 time or a duration back from now such as 24h", p.name, p.v)
		}
		q.Set(p.name, d)
	}
	return q, nil
}

func cliGroupBy(fs *pflag.FlagSet) ([]string, error) {
	v, _ := fs.GetString("by")
	by := cliSplitList(v)
	for _, g := range by {
		ok := false
		for _, f := range cliGroupFields {
			ok = ok || g == f
		}
		if !ok {
			return nil, fmt.Errorf("invalid --by %q: %q is not one of %s", v, g, strings.Join(cliGroupFields, ", "))
		}
	}
	return by, nil
}

// ---- admin endpoint --------------------------------------------------------

// cliResolveAddress finds the admin endpoint the way `caddy reload` does:
// the --address flag, else the admin listener of --config, else the
// CADDY_ADMIN environment variable, else localhost:2019.
