package caddymodule

// The `caddy llmgate` subcommands: keys, projects, credits, usage, the
// request log and provider health, talking to llmgate's routes on Caddy's
// admin endpoint (admin.api.llmgate, default localhost:2019) the way
// `caddy reload` does. Output is an aligned table by default and the raw
// JSON response with --json. Table formatting lives in cmd_table.go.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "llmgate",
		Usage: "<keys|projects|usage|requests|providers> [--address <admin>] [--json]",
		Short: "Manages llmgate keys, projects, credits and usage through Caddy's admin API",
		Long: `
Manages a running llmgate through its routes on Caddy's admin endpoint
(/llmgate/... on the admin listener, default localhost:2019).

The admin endpoint is, in order: --address; the admin listener of the config
given with --config (as 'caddy reload' finds it); the CADDY_ADMIN environment
variable; localhost:2019. --address takes host:port, a full http(s) URL, or
a unix socket as unix//path/to/admin.sock.

Tables are printed by default; --json prints the admin API's JSON response
as is. Errors from the admin API are printed to stderr and exit with status 1.

  caddy llmgate keys create --name ci --project acme --rpm 60 --budget 50usd/month
  caddy llmgate keys list --project acme
  caddy llmgate keys rotate <id> --grace 24h
  caddy llmgate projects credit acme --usd 10 --note "invoice 42"
  caddy llmgate usage --since 24h --by model,provider
  caddy llmgate requests --since 1h --status error
  caddy llmgate providers
`,
		CobraFunc: cliSetup,
	})
}

// cliSetup builds the llmgate command tree under cmd (Caddy's cobra
// command for "llmgate").
func cliSetup(cmd *cobra.Command) {
	pf := cmd.PersistentFlags()
	pf.String("address", "", "Admin endpoint: host:port, http(s)://URL or unix//path (default: $CADDY_ADMIN, else localhost:2019)")
	pf.StringP("config", "c", "", "Config file to read the admin listener from, if --address is not used")
	pf.StringP("adapter", "a", "", "Config adapter for --config")
	pf.Bool("json", false, "Print the raw JSON response")
	cliGroup(cmd)
	cmd.AddCommand(cliKeysCmd(), cliProjectsCmd(), cliUsageCmd(), cliRequestsCmd(), cliProvidersCmd())
}

// cliGroup makes a command that only holds subcommands print its help when
// run bare and refuse unknown subcommands.
func cliGroup(cmd *cobra.Command) {
	cmd.Args = cobra.NoArgs
	cmd.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
}

// ---- commands ------------------------------------------------------------

func cliKeysCmd() *cobra.Command {
	keys := &cobra.Command{Use: "keys", Short: "Manage gateway keys"}
	cliGroup(keys)

	create := &cobra.Command{
		Use:   "create --name <name> [--project <id>] [--owner <o>] [--models <globs>] [limits] [--budget 50usd/month] [--expires 720h|RFC3339]",
		Short: "Create a key; its secret is shown once",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			body, err := cliKeyBody(c.Flags(), false)
			if err != nil {
				return err
			}
			return cliRun(c, http.MethodPost, "/llmgate/keys", nil, body, cliPrintKeySecret("Key created."))
		},
	}
	cliKeyFlags(create.Flags(), false)
	_ = create.MarkFlagRequired("name")

	list := &cobra.Command{
		Use:   "list [--project <id>]",
		Short: "List keys",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			q := url.Values{}
			if p, _ := c.Flags().GetString("project"); p != "" {
				q.Set("project", p)
			}
			return cliRun(c, http.MethodGet, "/llmgate/keys", q, nil, cliPrintKeyList)
		},
	}
	list.Flags().String("project", "", "Only keys of this project")

	show := &cobra.Command{
		Use:   "show <id>",
		Short: "Show a key, with its current spend",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return cliRun(c, http.MethodGet, "/llmgate/keys/"+url.PathEscape(args[0]), nil, nil, cliPrintKey)
		},
	}

	update := &cobra.Command{
		Use:   "update <id> [--name …] [--models …] [limits] [--budget …] [--expires …] [--status active|suspended|past_due]",
		Short: "Change a key's name, scope, limits, quotas, budget, expiry or status",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			body, err := cliKeyBody(c.Flags(), true)
			if err != nil {
				return err
			}
			if len(body) == 0 {
				return errors.New("nothing to update: give at least one flag (see --help)")
			}
			return cliRun(c, http.MethodPatch, "/llmgate/keys/"+url.PathEscape(args[0]), nil, body, cliPrintKey)
		},
	}
	cliKeyFlags(update.Flags(), true)

	rotate := &cobra.Command{
		Use:   "rotate <id> [--grace 24h]",
		Short: "Issue a new secret; the old one keeps working for the grace period",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			body := map[string]any{}
			if c.Flags().Changed("grace") {
				g, _ := c.Flags().GetString("grace")
				d, err := cliDurationParam(g, true)
				if err != nil {
					return fmt.Errorf("invalid --grace %q: want a duration such as 24h, 30m or 0s", g)
				}
				body["grace"] = d
			}
			return cliRun(c, http.MethodPost, "/llmgate/keys/"+url.PathEscape(args[0])+"/rotate", nil, body,
				cliPrintKeySecret("Key rotated; the previous secret keeps working until the grace period ends."))
		},
	}
	rotate.Flags().String("grace", "", "How long the previous secret stays valid (server default 24h)")

	revoke := &cobra.Command{
		Use:   "revoke <id>",
		Short: "Revoke a key immediately",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return cliRun(c, http.MethodDelete, "/llmgate/keys/"+url.PathEscape(args[0]), nil, nil,
				func(w io.Writer, data []byte) error {
					var k cliKey
					if err := json.Unmarshal(data, &k); err != nil {
						return err
					}
					fmt.Fprintf(w, "Key %s revoked.\n\n", cliOr(k.ID, args[0]))
					return cliWriteKey(w, &k)
				})
		},
	}

	keys.AddCommand(create, list, show, update, rotate, revoke)
	return keys
}

func cliProjectsCmd() *cobra.Command {
	projects := &cobra.Command{Use: "projects", Short: "Manage projects and their credits"}
	cliGroup(projects)

	create := &cobra.Command{
		Use:   "create --name <name> [--id <id>] [--status …] [limits] [--budget …] [--paid-policy …]",
		Short: "Create a project",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			body, err := cliProjectBody(c.Flags())
			if err != nil {
				return err
			}
			return cliRun(c, http.MethodPost, "/llmgate/projects", nil, body, cliPrintProject)
		},
	}
	create.Flags().String("id", "", "Project id (default: chosen by the server)")
	cliProjectFlags(create.Flags())

	list := &cobra.Command{
		Use:   "list",
		Short: "List projects",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return cliRun(c, http.MethodGet, "/llmgate/projects", nil, nil, cliPrintProjectList)
		},
	}

	show := &cobra.Command{
		Use:   "show <id>",
		Short: "Show a project, with its credit balance and spend",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return cliRun(c, http.MethodGet, "/llmgate/projects/"+url.PathEscape(args[0]), nil, nil, cliPrintProject)
		},
	}

	update := &cobra.Command{
		Use:   "update <id> [--name …] [--status active|suspended|past_due] [limits] [--budget …] [--paid-policy …]",
		Short: "Change a project's name, status, limits, quotas, budget or paid policy",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			body, err := cliProjectBody(c.Flags())
			if err != nil {
				return err
			}
			if len(body) == 0 {
				return errors.New("nothing to update: give at least one flag (see --help)")
			}
			return cliRun(c, http.MethodPatch, "/llmgate/projects/"+url.PathEscape(args[0]), nil, body, cliPrintProject)
		},
	}
	cliProjectFlags(update.Flags())

	credit := &cobra.Command{
		Use:   "credit <id> --usd <amount> [--note <text>]",
		Short: "Add credit (USD) to a project's balance; a negative amount debits it",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			usd, _ := c.Flags().GetFloat64("usd")
			if usd == 0 || math.IsNaN(usd) || math.IsInf(usd, 0) {
				return errors.New("invalid --usd: want a non-zero amount such as 10 or 2.50")
			}
			body := map[string]any{"usd": usd}
			if c.Flags().Changed("note") {
				note, _ := c.Flags().GetString("note")
				body["note"] = note
			}
			return cliRun(c, http.MethodPost, "/llmgate/projects/"+url.PathEscape(args[0])+"/credits", nil, body,
				func(w io.Writer, data []byte) error {
					var r struct {
						Project    json.RawMessage `json:"project"`
						BalanceUSD float64         `json:"balance_usd"`
					}
					if err := json.Unmarshal(data, &r); err != nil {
						return err
					}
					fmt.Fprintf(w, "Project %s credited %s; balance %s\n",
						cliOr(cliRawString(r.Project), args[0]), cliUSD(usd), cliUSD(r.BalanceUSD))
					return nil
				})
		},
	}
	credit.Flags().Float64("usd", 0, "Amount in USD (required)")
	credit.Flags().String("note", "", "Note recorded with the credit")
	_ = credit.MarkFlagRequired("usd")

	projects.AddCommand(create, list, show, update, credit)
	return projects
}

var cliGroupFields = []string{"model", "provider", "key", "project", "day"}

func cliUsageCmd() *cobra.Command {
	usage := &cobra.Command{
		Use:   "usage [--since 24h | --from <t> --to <t>] [--by model,provider] [--key <id>] [--project <id>]",
		Short: "Spend, tokens, requests, errors and latency over a window",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			q, err := cliWindow(c.Flags())
			if err != nil {
				return err
			}
			by, err := cliGroupBy(c.Flags())
			if err != nil {
				return err
			}
			if len(by) > 0 {
				q.Set("group_by", strings.Join(by, ","))
			}
			cliCopyFlags(c.Flags(), q, "key", "project")
			return cliRun(c, http.MethodGet, "/llmgate/usage", q, nil, func(w io.Writer, data []byte) error {
				return cliPrintUsage(w, data, by)
			})
		},
	}
	cliWindowFlags(usage.Flags())
	usage.Flags().String("by", "", "Group by, comma-separated: "+strings.Join(cliGroupFields, ","))
	usage.Flags().String("key", "", "Only this key")
	usage.Flags().String("project", "", "Only this project")
	return usage
}

func cliRequestsCmd() *cobra.Command {
	requests := &cobra.Command{
		Use:   "requests [--since 1h | --from <t> --to <t>] [--key <id>] [--project <id>] [--model <m>] [--provider <p>] [--status ok|error|cancelled|truncated] [--limit N] [--cursor <c>]",
		Short: "The request log, newest first",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			q, err := cliWindow(c.Flags())
			if err != nil {
				return err
			}
			if st, _ := c.Flags().GetString("status"); st != "" {
				switch st {
				case "ok", "error", "cancelled", "truncated":
				default:
					return fmt.Errorf("invalid --status %q: want ok, error, cancelled or truncated", st)
				}
			}
			if c.Flags().Changed("limit") {
				n, _ := c.Flags().GetInt("limit")
				if n <= 0 {
					return fmt.Errorf("invalid --limit %d: want a positive number", n)
				}
				q.Set("limit", strconv.Itoa(n))
			}
			cliCopyFlags(c.Flags(), q, "key", "project", "model", "provider", "status", "cursor")
			return cliRun(c, http.MethodGet, "/llmgate/requests", q, nil, cliPrintRequests)
		},
	}
	cliWindowFlags(requests.Flags())
	requests.Flags().String("key", "", "Only this key")
	requests.Flags().String("project", "", "Only this project")
	requests.Flags().String("model", "", "Only this model")
	requests.Flags().String("provider", "", "Only this provider account")
	requests.Flags().String("status", "", "Only this status: ok, error, cancelled or truncated")
	requests.Flags().Int("limit", 0, "At most this many rows (server default if unset)")
	requests.Flags().String("cursor", "", "Continue from a previous page's cursor")

	show := &cobra.Command{
		Use:   "show <id>",
		Short: "One request's full breakdown: attempts, timings, tokens, cost",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return cliRun(c, http.MethodGet, "/llmgate/requests/"+url.PathEscape(args[0]), nil, nil, cliPrintRequest)
		},
	}
	requests.AddCommand(show)
	return requests
}

func cliProvidersCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "providers",
		Short: "Each provider account's health: state, error rate, latency, breaker",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return cliRun(c, http.MethodGet, "/llmgate/providers", nil, nil, cliPrintProviders)
		},
	}
}

// ---- request bodies --------------------------------------------------------

// cliNow is the clock for --expires durations; tests replace it.
var cliNow = time.Now

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
func cliResolveAddress(flagAddr, configFile, adapter string) (string, error) {
	if a := strings.TrimSpace(flagAddr); a != "" {
		return a, nil
	}
	if configFile != "" {
		cfg, _, _, err := caddycmd.LoadConfig(configFile, adapter)
		if err != nil {
			return "", fmt.Errorf("reading the admin address from %s: %v", configFile, err)
		}
		var c struct {
			Admin struct {
				Listen string `json:"listen"`
			} `json:"admin"`
		}
		if len(cfg) > 0 {
			if err := json.Unmarshal(cfg, &c); err != nil {
				return "", fmt.Errorf("reading the admin address from %s: %v", configFile, err)
			}
		}
		if c.Admin.Listen != "" {
			return c.Admin.Listen, nil
		}
	}
	if a := strings.TrimSpace(os.Getenv("CADDY_ADMIN")); a != "" {
		return a, nil
	}
	return "localhost:2019", nil
}

// cliClient talks to the admin endpoint.
type cliClient struct {
	addr string // as given, for messages
	base string // scheme://host[/prefix], without a trailing slash
	hc   *http.Client
}

const cliTimeout = 60 * time.Second

// cliNewClient accepts host:port (port 2019 if left out), a full http or
// https URL (a path becomes a prefix), or a Caddy network address such as
// unix//run/caddy/admin.sock.
func cliNewClient(addr string) (*cliClient, error) {
	addr = strings.TrimSpace(addr)
	if strings.Contains(addr, "://") {
		u, err := url.Parse(addr)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("invalid admin address %q: want host:port, http(s)://host:port or unix//path", addr)
		}
		return &cliClient{addr: addr, base: u.Scheme + "://" + u.Host + strings.TrimRight(u.Path, "/"),
			hc: &http.Client{Timeout: cliTimeout, Transport: &http.Transport{}}}, nil
	}
	na, err := caddy.ParseNetworkAddressWithDefaults(addr, "tcp", 2019)
	if err != nil || na.PortRangeSize() > 1 {
		if err == nil {
			err = errors.New("a port range is not an address")
		}
		return nil, fmt.Errorf("invalid admin address %q: %v", addr, err)
	}
	var d net.Dialer
	switch {
	case na.IsUnixNetwork():
		path := na.Host
		if i := strings.LastIndex(path, "|"); i >= 0 { // socket permission bits
			path = path[:i]
		}
		if path == "" {
			return nil, fmt.Errorf("invalid admin address %q: no socket path", addr)
		}
		network := na.Network
		tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, path)
		}}
		// Caddy accepts only a loopback Host on a unix socket.
		return &cliClient{addr: addr, base: "http://127.0.0.1", hc: &http.Client{Timeout: cliTimeout, Transport: tr}}, nil
	case na.IsFdNetwork():
		return nil, fmt.Errorf("invalid admin address %q: file descriptor listeners cannot be dialled", addr)
	}
	host := na.Host
	if host == "" {
		host = "localhost"
	}
	hostport := net.JoinHostPort(host, strconv.FormatUint(uint64(na.StartPort), 10))
	network := na.Network
	tr := &http.Transport{DialContext: func(ctx context.Context, _, a string) (net.Conn, error) {
		return d.DialContext(ctx, network, a)
	}}
	return &cliClient{addr: addr, base: "http://" + hostport, hc: &http.Client{Timeout: cliTimeout, Transport: tr}}, nil
}

// do sends one request and answers the body of a 2xx response; any other
// status is a *cliAPIError carrying the admin API's message.
func (c *cliClient) do(ctx context.Context, method, path string, q url.Values, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach Caddy's admin endpoint at %s: %v (is Caddy running? set --address or CADDY_ADMIN)", c.addr, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, cliParseError(resp.StatusCode, data)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the admin API's response: %v", err)
	}
	return data, nil
}

// cliAPIError is a non-2xx answer of the admin API.
type cliAPIError struct {
	Status  int
	Message string
	Field   string
}

func (e *cliAPIError) Error() string {
	msg := e.Message
	if e.Field != "" && !strings.HasPrefix(msg, e.Field+":") {
		msg += " (field: " + e.Field + ")"
	}
	return fmt.Sprintf("admin API: HTTP %d: %s", e.Status, msg)
}

// cliParseError reads {"error":"…"} (Caddy's admin errors) and
// {"error":{"message","field"}} (llmgate's validation errors).
func cliParseError(status int, data []byte) *cliAPIError {
	e := &cliAPIError{Status: status}
	var env struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(data, &env) == nil && len(env.Error) > 0 {
		var s string
		var o struct {
			Message string `json:"message"`
			Field   string `json:"field"`
			Param   string `json:"param"`
		}
		switch {
		case json.Unmarshal(env.Error, &s) == nil:
			e.Message = s
		case json.Unmarshal(env.Error, &o) == nil:
			e.Message, e.Field = o.Message, cliOr(o.Field, o.Param)
		}
	}
	if e.Message == "" {
		e.Message = strings.TrimSpace(string(data))
		if len(e.Message) > 500 {
			e.Message = e.Message[:500] + "…"
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

// cliRun resolves the endpoint, sends the request and prints the answer:
// the raw JSON with --json, else through print. A response that print
// cannot read is shown as JSON rather than lost.
func cliRun(c *cobra.Command, method, path string, q url.Values, body any, print func(io.Writer, []byte) error) error {
	fs := c.Flags()
	flagAddr, _ := fs.GetString("address")
	configFile, _ := fs.GetString("config")
	adapter, _ := fs.GetString("adapter")
	addr, err := cliResolveAddress(flagAddr, configFile, adapter)
	if err != nil {
		return err
	}
	client, err := cliNewClient(addr)
	if err != nil {
		return err
	}
	ctx := c.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	data, err := client.do(ctx, method, path, q, body)
	if err != nil {
		return err
	}
	out := c.OutOrStdout()
	if asJSON, _ := fs.GetBool("json"); asJSON {
		_, err := out.Write(data)
		if err == nil && (len(data) == 0 || data[len(data)-1] != '\n') {
			_, err = io.WriteString(out, "\n")
		}
		return err
	}
	var buf bytes.Buffer
	if perr := print(&buf, data); perr != nil {
		fmt.Fprintf(c.ErrOrStderr(), "warning: unexpected response shape (%v); showing the JSON\n", perr)
		buf.Reset()
		if json.Indent(&buf, data, "", "  ") != nil {
			buf.Reset()
			buf.Write(data)
		}
		buf.WriteString("\n")
	}
	_, err = out.Write(buf.Bytes())
	return err
}
