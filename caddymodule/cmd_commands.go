package caddymodule

// The keys and projects subcommands of `caddy llmgate`.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

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
