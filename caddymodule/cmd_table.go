package caddymodule

// Table and detail formatting for the `caddy llmgate` subcommands (cmd.go).

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"
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

// cliPrintUsage prints one row per group (the group columns in --by order,
// or as found), then a TOTAL line.
func cliPrintUsage(w io.Writer, data []byte, by []string) error {
	var u cliUsage
	if err := json.Unmarshal(data, &u); err != nil {
		return err
	}
	cols := by
	if len(cols) == 0 {
		seen := map[string]bool{}
		for _, g := range u.Groups {
			for k := range g.Group {
				seen[k] = true
			}
		}
		for _, f := range cliGroupFields {
			if seen[f] {
				cols = append(cols, f)
				delete(seen, f)
			}
		}
		rest := make([]string, 0, len(seen))
		for k := range seen {
			rest = append(rest, k)
		}
		sort.Strings(rest)
		cols = append(cols, rest...)
	}
	if u.From != "" || u.To != "" {
		fmt.Fprintf(w, "Usage from %s to %s\n\n", cliOr(cliTime(u.From), "-"), cliOr(cliTime(u.To), "now"))
	}
	header := make([]string, 0, len(cols)+8)
	for _, c := range cols {
		header = append(header, strings.ToUpper(c))
	}
	if len(header) == 0 {
		header = append(header, "")
	}
	label := len(header)
	header = append(header, "REQUESTS", "ERRORS", "PROMPT", "COMPLETION", "COST", "P50", "P95", "P99")
	tw := cliTable(w, header...)
	stats := func(s *cliUsageStats) []string {
		return []string{cliCount(s.Requests), cliCount(s.Errors), cliCount(s.PromptTokens),
			cliCount(s.CompletionTokens), cliUSD(s.CostUSD), cliMS(s.LatencyMS.P50), cliMS(s.LatencyMS.P95), cliMS(s.LatencyMS.P99)}
	}
	if len(cols) > 0 {
		for i := range u.Groups {
			g := &u.Groups[i]
			row := make([]string, 0, len(header))
			for _, c := range cols {
				row = append(row, cliScalar(g.Group[c]))
			}
			cliRow(tw, append(row, stats(g)...)...)
		}
	}
	total := make([]string, label)
	total[0] = "TOTAL"
	cliRowRaw(tw, append(total, stats(&u.Totals)...)...)
	return tw.Flush()
}

// ---- requests ----------------------------------------------------------------

// cliRequestCols are the request log's columns, each with the row fields
// that may hold it (first found wins; dots reach into nested objects).
var cliRequestCols = []struct {
	head   string
	fields []string
	format func(any) string
}{
	{"ID", []string{"id"}, cliScalar},
	{"TIME", []string{"time", "created_at", "started_at", "at"}, func(v any) string { return cliTimeSec(cliScalar(v)) }},
	{"KEY", []string{"key_name", "key", "key_id"}, cliScalar},
	{"PROJECT", []string{"project"}, cliScalar},
	{"MODEL", []string{"model", "requested_model"}, cliScalar},
	{"PROVIDER", []string{"provider"}, cliScalar},
	{"STATUS", []string{"status"}, cliScalar},
	{"HTTP", []string{"http_status", "status_code"}, cliScalar},
	{"PROMPT", []string{"prompt_tokens", "usage.prompt_tokens"}, cliCountAny},
	{"COMPLETION", []string{"completion_tokens", "usage.completion_tokens"}, cliCountAny},
	{"COST", []string{"cost_usd"}, func(v any) string {
		if f, ok := v.(float64); ok {
			return cliUSD(f)
		}
		return cliScalar(v)
	}},
	{"LATENCY", []string{"latency_ms", "timings.latency_ms", "timings.total_ms"}, func(v any) string {
		if f, ok := v.(float64); ok {
			return cliMS(f)
		}
		return cliScalar(v)
	}},
}

func cliPrintRequests(w io.Writer, data []byte) error {
	var r struct {
		Data *[]map[string]any `json:"data"`
		Next string            `json:"next"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return err
	}
	if r.Data == nil {
		return errors.New(`no "data" list`)
	}
	if len(*r.Data) == 0 {
		fmt.Fprintln(w, "No requests.")
	} else {
		head := make([]string, len(cliRequestCols))
		for i, c := range cliRequestCols {
			head[i] = c.head
		}
		tw := cliTable(w, head...)
		for _, row := range *r.Data {
			cells := make([]string, len(cliRequestCols))
			for i, c := range cliRequestCols {
				cells[i] = "-"
				for _, f := range c.fields {
					if v, ok := cliLookup(row, f); ok && v != nil {
						cells[i] = c.format(v)
						break
					}
				}
			}
			cliRow(tw, cells...)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if r.Next != "" {
		fmt.Fprintf(w, "\nMore: --cursor %s\n", r.Next)
	}
	return nil
}

func cliLookup(m map[string]any, path string) (any, bool) {
	var cur any = m
	for _, part := range strings.Split(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

var cliRequestFirst = []string{"id", "time", "status", "http_status", "error_code", "error_message", "key_id", "key_name",
	"project", "endpoint", "requested_model", "route", "model", "provider", "provider_type", "stream",
	"prompt_tokens", "completion_tokens", "cost_usd", "latency_ms", "ttft_ms"}

// cliPrintRequest prints one request's fields in the server's order,
// nested objects flattened to dotted names, and each list of objects (the
// attempts) as a table of its own.
func cliPrintRequest(w io.Writer, data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := cliDecodeOrdered(dec)
	if err != nil {
		return err
	}
	obj, ok := v.(*cliObj)
	if !ok {
		return errors.New("not a JSON object")
	}
	type list struct {
		name string
		rows []*cliObj
	}
	var lists []list
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	var walk func(prefix string, o *cliObj)
	walk = func(prefix string, o *cliObj) {
		for _, k := range o.keys {
			name := prefix + k
			switch val := o.vals[k].(type) {
			case *cliObj:
				walk(name+".", val)
			case []any:
				var rows []*cliObj
				for _, e := range val {
					if eo, ok := e.(*cliObj); ok {
						rows = append(rows, eo)
					}
				}
				if len(rows) > 0 && len(rows) == len(val) {
					lists = append(lists, list{name, rows})
					cliField(tw, name, strconv.Itoa(len(rows)))
					continue
				}
				parts := make([]string, len(val))
				for i, e := range val {
					parts[i] = cliOrderedString(e)
				}
				cliField(tw, name, strings.Join(parts, ", "))
			default:
				cliField(tw, name, cliOrderedString(val))
			}
		}
	}
	// The most telling fields first, the rest in the server's order.
	var first []string
	for _, k := range cliRequestFirst {
		if _, ok := obj.vals[k]; ok {
			first = append(first, k)
		}
	}
	for _, k := range obj.keys {
		if !slices.Contains(first, k) {
			first = append(first, k)
		}
	}
	obj.keys = first
	walk("", obj)
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, l := range lists {
		var cols []string
		for _, r := range l.rows {
			for _, k := range r.keys {
				if !slices.Contains(cols, k) {
					cols = append(cols, k)
				}
			}
		}
		fmt.Fprintf(w, "\n%s\n", strings.ToUpper(l.name))
		head := make([]string, 0, len(cols)+1)
		head = append(head, "#")
		for _, c := range cols {
			head = append(head, strings.ToUpper(c))
		}
		tw := cliTable(w, head...)
		for i, r := range l.rows {
			cells := []string{strconv.Itoa(i + 1)}
			for _, c := range cols {
				if v, ok := r.vals[c]; ok {
					cells = append(cells, cliOrderedString(v))
				} else {
					cells = append(cells, "-")
				}
			}
			cliRow(tw, cells...)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// cliObj is a JSON object that keeps its keys' order.
type cliObj struct {
	keys []string
	vals map[string]any
}

func cliDecodeOrdered(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return tok, nil
	}
	switch d {
	case '{':
		o := &cliObj{vals: map[string]any{}}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			k, _ := kt.(string)
			v, err := cliDecodeOrdered(dec)
			if err != nil {
				return nil, err
			}
			if _, dup := o.vals[k]; !dup {
				o.keys = append(o.keys, k)
			}
			o.vals[k] = v
		}
		_, err := dec.Token()
		return o, err
	case '[':
		arr := []any{}
		for dec.More() {
			v, err := cliDecodeOrdered(dec)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		_, err := dec.Token()
		return arr, err
	}
	return nil, fmt.Errorf("unexpected %v", d)
}

// cliOrderedString renders a value of cliDecodeOrdered in one cell.
func cliOrderedString(v any) string {
	switch t := v.(type) {
	case nil:
		return "-"
	case string:
		if t == "" {
			return "-"
		}
		return cliCell(t)
	case json.Number:
		return t.String()
	case bool:
		return strconv.FormatBool(t)
	case *cliObj:
		parts := make([]string, len(t.keys))
		for i, k := range t.keys {
			parts[i] = k + "=" + cliOrderedString(t.vals[k])
		}
		return "{" + strings.Join(parts, " ") + "}"
	case []any:
		parts := make([]string, len(t))
		for i, e := range t {
			parts[i] = cliOrderedString(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return cliCell(fmt.Sprint(v))
}

// ---- providers ---------------------------------------------------------------

func cliPrintProviders(w io.Writer, data []byte) error {
	var r struct {
		Providers *[]cliProvider `json:"providers"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return err
	}
	if r.Providers == nil {
		return errors.New(`no "providers" list`)
	}
	if len(*r.Providers) == 0 {
		fmt.Fprintln(w, "No providers.")
		return nil
	}
	tw := cliTable(w, "NAME", "TYPE", "STATE", "IN FLIGHT", "REQUESTS", "ERRORS", "ERROR RATE", "LATENCY", "LAST ERROR")
	for _, p := range *r.Providers {
		req, errs, rate, lat, last := "-", "-", "-", "-", "-"
		if h := p.Health; h != nil {
			req, errs = cliCount(h.Requests), cliCount(h.Errors)
			rate = strconv.FormatFloat(h.ErrorRate*100, 'f', 1, 64) + "%"
			lat = cliMS(h.LatencyMS)
			last = cliOr(cliTrunc(h.LastError, 60), "-")
		}
		cliRow(tw, p.Name, p.Type, p.State, cliCount(p.InFlight), req, errs, rate, lat, last)
	}
	return tw.Flush()
}

// ---- cells -------------------------------------------------------------------

func cliTable(w io.Writer, header ...string) *tabwriter.Writer {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	return tw
}

// cliRow writes a table row; an empty cell shows as "-".
func cliRow(tw *tabwriter.Writer, cells ...string) {
	for i, c := range cells {
		cells[i] = cliOr(cliCell(c), "-")
	}
	fmt.Fprintln(tw, strings.Join(cells, "\t"))
}

// cliRowRaw writes a table row as given (blank cells stay blank).
func cliRowRaw(tw *tabwriter.Writer, cells ...string) {
	fmt.Fprintln(tw, strings.Join(cells, "\t"))
}

// cliField writes one "Name  value" line of a detail view.
func cliField(tw *tabwriter.Writer, name, value string) {
	fmt.Fprintf(tw, "%s:\t%s\n", name, cliOr(cliCell(value), "-"))
}

// cliCell keeps a value on one line and out of the tab stops.
func cliCell(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

func cliOr(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

func cliTrunc(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// cliRawString shows a JSON string as text and anything else compactly.
func cliRawString(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) == nil {
		return buf.String()
	}
	return string(raw)
}

func cliScalar(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case float64:
		if t == math.Trunc(t) && math.Abs(t) < 1e15 {
			return strconv.FormatInt(int64(t), 10)
		}
		return strconv.FormatFloat(t, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(t)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// cliCount shows a count with thousands separators.
func cliCount(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return humanize.Comma(int64(f))
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func cliCountAny(v any) string {
	if f, ok := v.(float64); ok {
		return cliCount(f)
	}
	return cliScalar(v)
}

// cliUSD shows dollars: cents normally, up to six decimals below a cent.
func cliUSD(f float64) string {
	sign := ""
	if f < 0 {
		sign, f = "-", -f
	}
	if f != 0 && f < 0.01 {
		d := strings.TrimRight(strconv.FormatFloat(f, 'f', 6, 64), "0")
		if d == "0." {
			d = strconv.FormatFloat(f, 'g', 2, 64)
		}
		return sign + "$" + d
	}
	whole, cents, _ := strings.Cut(strconv.FormatFloat(f, 'f', 2, 64), ".")
	if n, err := strconv.ParseInt(whole, 10, 64); err == nil {
		whole = humanize.Comma(n)
	}
	return sign + "$" + whole + "." + cents
}

func cliMS(f float64) string {
	if f <= 0 {
		return "-"
	}
	switch {
	case f >= 10000:
		return strconv.FormatFloat(f/1000, 'f', 1, 64) + "s"
	case f < 10:
		return strconv.FormatFloat(f, 'f', 1, 64) + "ms"
	}
	return strconv.FormatFloat(math.Round(f), 'f', 0, 64) + "ms"
}

func cliLimit(f float64) string {
	if f <= 0 {
		return "-"
	}
	return cliCount(f)
}

func cliLimitsText(l *cliLimits) string {
	if l == nil || (l.RPM <= 0 && l.TPM <= 0 && l.Concurrency <= 0) {
		return "none"
	}
	return fmt.Sprintf("rpm %s, tpm %s, concurrency %s", cliLimit(l.RPM), cliLimit(l.TPM), cliLimit(l.Concurrency))
}

func cliQuotasText(q *cliQuotas) string {
	if q == nil || (q.DailyRequests <= 0 && q.DailyTokens <= 0) {
		return "none"
	}
	return fmt.Sprintf("%s requests/day, %s tokens/day", cliLimit(q.DailyRequests), cliLimit(q.DailyTokens))
}

func cliBudgetText(b *cliBudget) string {
	if b == nil || b.USD <= 0 {
		return "-"
	}
	return cliUSD(b.USD) + "/" + cliOr(b.Period, "total")
}

func cliSpent(b *cliBudget) string {
	if b == nil {
		return "-"
	}
	return cliUSD(b.SpentUSD)
}

func cliBudgetDetail(b *cliBudget) string {
	if b == nil {
		return "none"
	}
	if b.USD <= 0 {
		return "none (spent " + cliUSD(b.SpentUSD) + ")"
	}
	return cliBudgetText(b) + ", spent " + cliUSD(b.SpentUSD)
}

func cliMeta(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + cliScalar(m[k])
	}
	return strings.Join(parts, ", ")
}

// cliTime shows an RFC 3339 time to the minute in UTC; anything else as is.
func cliTime(s string) string {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC().Format("2006-01-02 15:04 UTC")
	}
	return s
}

func cliTimeSec(s string) string {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC().Format("2006-01-02 15:04:05")
	}
	return s
}

func cliExpires(s string) string {
	if s == "" {
		return "never"
	}
	return cliTime(s)
}
