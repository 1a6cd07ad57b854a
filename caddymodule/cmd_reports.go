package caddymodule

// Printing usage reports, the request log and provider health.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

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
