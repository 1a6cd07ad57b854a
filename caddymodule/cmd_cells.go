package caddymodule

// Table cells: aligned rows and the formatting of counts, prices, times and limits.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"
)

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
