package caddymodule

// Table and detail formatting for the `caddy llmgate` subcommands (cmd.go).

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// ---- response shapes -------------------------------------------------------

type cliLimits struct {
	RPM         float64 `json:"rpm"`
	TPM         float64 `json:"tpm"`
	Concurrency float64 `json:"concurrency"`
}

type cliQuotas struct {
	DailyRequests float64 `json:"daily_requests"`
	DailyTokens   float64 `json:"daily_tokens"`
}

type cliBudget struct {
	USD      float64 `json:"usd"`
	Period   string  `json:"period"`
	SpentUSD float64 `json:"spent_usd"`
}

type cliKey struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	Project   string         `json:"project"`
	Owner     string         `json:"owner"`
	Prefix    string         `json:"prefix"`
	Models    []string       `json:"models"`
	Limits    *cliLimits     `json:"limits"`
	Quotas    *cliQuotas     `json:"quotas"`
	Budget    *cliBudget     `json:"budget"`
	Status    string         `json:"status"`
	CreatedAt string         `json:"created_at"`
	ExpiresAt string         `json:"expires_at"`
	Metadata  map[string]any `json:"metadata"`
	Secret    string         `json:"secret"`
}

type cliProject struct {
	ID         string         `json:"id"`
	Name       string         `json:"name"`
	Status     string         `json:"status"`
	CreditUSD  float64        `json:"credit_usd"`
	Limits     *cliLimits     `json:"limits"`
	Quotas     *cliQuotas     `json:"quotas"`
	Budget     *cliBudget     `json:"budget"`
	PaidPolicy string         `json:"paid_policy"`
	CreatedAt  string         `json:"created_at"`
	Metadata   map[string]any `json:"metadata"`
}

type cliUsageStats struct {
	Group            map[string]any `json:"group"`
	Requests         float64        `json:"requests"`
	Errors           float64        `json:"errors"`
	Cancelled        float64        `json:"cancelled"`
	PromptTokens     float64        `json:"prompt_tokens"`
	CompletionTokens float64        `json:"completion_tokens"`
	CostUSD          float64        `json:"cost_usd"`
	LatencyMS        struct {
		P50 float64 `json:"p50"`
		P95 float64 `json:"p95"`
		P99 float64 `json:"p99"`
	} `json:"latency_ms"`
}

type cliUsage struct {
	From   string          `json:"from"`
	To     string          `json:"to"`
	Totals cliUsageStats   `json:"totals"`
	Groups []cliUsageStats `json:"groups"`
}

type cliProvider struct {
	Name     string  `json:"name"`
	Type     string  `json:"type"`
	State    string  `json:"state"`
	InFlight float64 `json:"in_flight"`
	Health   *struct {
		ErrorRate float64 `json:"error_rate"`
		LatencyMS float64 `json:"latency_ms"`
		Requests  float64 `json:"requests"`
		Errors    float64 `json:"errors"`
		LastError string  `json:"last_error"`
	} `json:"health"`
}

// cliList reads {"data":[…]} (or a bare array) into out.
func cliList[T any](data []byte) ([]T, error) {
	var out []T
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '[' {
		return out, json.Unmarshal(t, &out)
	}
	var env struct {
		Data *[]T `json:"data"`
	}
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, err
	}
	if env.Data == nil {
		return nil, errors.New(`no "data" list`)
	}
	return *env.Data, nil
}

// ---- keys ------------------------------------------------------------------

func cliPrintKeyList(w io.Writer, data []byte) error {
	keys, err := cliList[cliKey](data)
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		fmt.Fprintln(w, "No keys.")
		return nil
	}
	tw := cliTable(w, "ID", "NAME", "PROJECT", "PREFIX", "STATUS", "RPM", "BUDGET", "SPENT", "EXPIRES")
	for _, k := range keys {
		rpm := 0.0
		if k.Limits != nil {
			rpm = k.Limits.RPM
		}
		cliRow(tw, k.ID, k.Name, k.Project, k.Prefix, k.Status, cliLimit(rpm),
			cliBudgetText(k.Budget), cliSpent(k.Budget), cliExpires(k.ExpiresAt))
	}
	return tw.Flush()
}

func cliPrintKey(w io.Writer, data []byte) error {
	var k cliKey
	if err := json.Unmarshal(data, &k); err != nil {
		return err
	}
	return cliWriteKey(w, &k)
}

// cliPrintKeySecret prints a key that comes with its secret (create,
// rotate): the secret first and prominently, since it is shown only once.
func cliPrintKeySecret(headline string) func(io.Writer, []byte) error {
	return func(w io.Writer, data []byte) error {
		var k cliKey
		if err := json.Unmarshal(data, &k); err != nil {
			return err
		}
		if k.Secret == "" {
			return errors.New(`no "secret" in the response`)
		}
		fmt.Fprintln(w, headline)
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Secret (shown once; it cannot be retrieved again, store it now):")
		fmt.Fprintln(w)
		fmt.Fprintf(w, "    %s\n", k.Secret)
		fmt.Fprintln(w)
		return cliWriteKey(w, &k)
	}
}

func cliWriteKey(w io.Writer, k *cliKey) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	models := "all"
	if len(k.Models) > 0 {
		models = strings.Join(k.Models, ", ")
	}
	cliField(tw, "ID", k.ID)
	cliField(tw, "Name", k.Name)
	cliField(tw, "Project", k.Project)
	cliField(tw, "Owner", k.Owner)
	cliField(tw, "Prefix", k.Prefix)
	cliField(tw, "Status", k.Status)
	cliField(tw, "Models", models)
	cliField(tw, "Limits", cliLimitsText(k.Limits))
	cliField(tw, "Quotas", cliQuotasText(k.Quotas))
	cliField(tw, "Budget", cliBudgetDetail(k.Budget))
	cliField(tw, "Created", cliTime(k.CreatedAt))
	cliField(tw, "Expires", cliExpires(k.ExpiresAt))
	if len(k.Metadata) > 0 {
		cliField(tw, "Metadata", cliMeta(k.Metadata))
	}
	return tw.Flush()
}

// ---- projects ----------------------------------------------------------------

func cliPrintProjectList(w io.Writer, data []byte) error {
	projects, err := cliList[cliProject](data)
	if err != nil {
		return err
	}
	if len(projects) == 0 {
		fmt.Fprintln(w, "No projects.")
		return nil
	}
	tw := cliTable(w, "ID", "NAME", "STATUS", "CREDIT", "RPM", "BUDGET", "SPENT", "PAID POLICY", "CREATED")
	for _, p := range projects {
		rpm := 0.0
		if p.Limits != nil {
			rpm = p.Limits.RPM
		}
		cliRow(tw, p.ID, p.Name, p.Status, cliUSD(p.CreditUSD), cliLimit(rpm), cliBudgetText(p.Budget),
			cliSpent(p.Budget), p.PaidPolicy, cliTime(p.CreatedAt))
	}
	return tw.Flush()
}

func cliPrintProject(w io.Writer, data []byte) error {
	var p cliProject
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	cliField(tw, "ID", p.ID)
	cliField(tw, "Name", p.Name)
	cliField(tw, "Status", p.Status)
	cliField(tw, "Credit", cliUSD(p.CreditUSD))
	cliField(tw, "Limits", cliLimitsText(p.Limits))
	cliField(tw, "Quotas", cliQuotasText(p.Quotas))
	cliField(tw, "Budget", cliBudgetDetail(p.Budget))
	cliField(tw, "Paid policy", p.PaidPolicy)
	cliField(tw, "Created", cliTime(p.CreatedAt))
	if len(p.Metadata) > 0 {
		cliField(tw, "Metadata", cliMeta(p.Metadata))
	}
	return tw.Flush()
}

// ---- usage -------------------------------------------------------------------
