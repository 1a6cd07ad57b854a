// Command report turns the JSON lines written by `load -json` during
// bench/run.sh into the markdown tables the script prints.
//
// Each line's label is "<target>#<round>", target one of mock, baseline,
// llmgate. Runs of the same target, mode (json/stream) and concurrency are
// averaged over rounds (req/s, p50, p99, TTFB: arithmetic mean of the
// per-round figures). Derived figures compare llmgate with the baseline
// (a plain Caddy reverse_proxy to the same upstream):
//
//	added latency at p50 = llmgate p50 − baseline p50   (ms, lower is better)
//	throughput ratio     = llmgate req/s ÷ baseline req/s (1.00 = no cost)
//
// Exit status: 0, or 4 if any run recorded errors.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
)

type run struct {
	Label       string           `json:"label"`
	Concurrency int              `json:"concurrency"`
	Stream      bool             `json:"stream"`
	Requests    int64            `json:"requests"`
	OK          int64            `json:"ok"`
	Errors      int64            `json:"errors"`
	Status      map[string]int64 `json:"status"`
	RPS         float64          `json:"rps"`
	P50         float64          `json:"p50_ms"`
	P90         float64          `json:"p90_ms"`
	P99         float64          `json:"p99_ms"`
	Max         float64          `json:"max_ms"`
	TTFBP50     float64          `json:"ttfb_p50_ms"`
	TTFBP99     float64          `json:"ttfb_p99_ms"`

	target, round string
}

func (r run) mode() string {
	if r.Stream {
		return "stream"
	}
	return "json"
}

type key struct {
	mode   string
	conc   int
	target string
}

type agg struct {
	n                             int
	rps, p50, p99, ttfb50, ttfb99 float64
	errors, requests              int64
	minRPS, maxRPS                float64
}

var targetOrder = map[string]int{"mock": 0, "baseline": 1, "llmgate": 2}

var targetName = map[string]string{
	"mock":     "mock (direct)",
	"baseline": "baseline (reverse_proxy)",
	"llmgate":  "llmgate",
}

func main() {
	in := flag.String("in", "", "JSON lines from load -json (required)")
	perRun := flag.Bool("runs", true, "also print the per-run table")
	flag.Parse()
	if *in == "" {
		fmt.Fprintln(os.Stderr, "report: -in is required")
		os.Exit(2)
	}
	f, err := os.Open(*in)
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(2)
	}
	defer f.Close()

	var runs []run
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || !strings.HasPrefix(line, "{") {
			continue
		}
		var r run
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			fmt.Fprintln(os.Stderr, "report: bad line:", err)
			continue
		}
		r.target, r.round, _ = strings.Cut(r.Label, "#")
		runs = append(runs, r)
	}
	if len(runs) == 0 {
		fmt.Fprintln(os.Stderr, "report: no runs")
		os.Exit(2)
	}

	anyErr := false
	if *perRun {
		fmt.Println("### Runs (in the order they ran)")
		fmt.Println()
		fmt.Println("| target | mode | round | concurrency | req/s | p50 ms | p90 ms | p99 ms | max ms | TTFB p50 ms | TTFB p99 ms | errors |")
		fmt.Println("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
		for _, r := range runs {
			fmt.Printf("| %s | %s | %s | %d | %.0f | %.2f | %.2f | %.2f | %.2f | %s | %s | %d |\n",
				r.target, r.mode(), r.round, r.Concurrency, r.RPS, r.P50, r.P90, r.P99, r.Max,
				ttfb(r.Stream, r.TTFBP50), ttfb(r.Stream, r.TTFBP99), r.Errors)
		}
		fmt.Println()
	}

	groups := map[key]*agg{}
	for _, r := range runs {
		k := key{r.mode(), r.Concurrency, r.target}
		g := groups[k]
		if g == nil {
			g = &agg{minRPS: r.RPS, maxRPS: r.RPS}
			groups[k] = g
		}
		g.n++
		g.rps += r.RPS
		g.p50 += r.P50
		g.p99 += r.P99
		g.ttfb50 += r.TTFBP50
		g.ttfb99 += r.TTFBP99
		g.errors += r.Errors
		g.requests += r.Requests
		g.minRPS = min(g.minRPS, r.RPS)
		g.maxRPS = max(g.maxRPS, r.RPS)
		if r.Errors > 0 {
			anyErr = true
		}
	}
	for _, g := range groups {
		d := float64(g.n)
		g.rps /= d
		g.p50 /= d
		g.p99 /= d
		g.ttfb50 /= d
		g.ttfb99 /= d
	}
	keys := make([]key, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.mode != b.mode {
			return a.mode < b.mode // json before stream
		}
		if a.conc != b.conc {
			return a.conc < b.conc
		}
		return targetOrder[a.target] < targetOrder[b.target]
	})

	fmt.Println("### Summary (mean over rounds)")
	fmt.Println()
	fmt.Println("| target | mode | concurrency | rounds | req/s | req/s range | p50 ms | p99 ms | TTFB p50 ms | TTFB p99 ms | errors |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, k := range keys {
		g := groups[k]
		name := targetName[k.target]
		if name == "" {
			name = k.target
		}
		stream := k.mode == "stream"
		fmt.Printf("| %s | %s | %d | %d | %.0f | %.0f–%.0f | %.2f | %.2f | %s | %s | %d |\n",
			name, k.mode, k.conc, g.n, g.rps, g.minRPS, g.maxRPS, g.p50, g.p99,
			ttfb(stream, g.ttfb50), ttfb(stream, g.ttfb99), g.errors)
	}
	fmt.Println()

	fmt.Println("### llmgate vs baseline")
	fmt.Println()
	fmt.Println("| mode | concurrency | added latency p50 ms | added latency p99 ms | added TTFB p50 ms | throughput ratio |")
	fmt.Println("|---|---:|---:|---:|---:|---:|")
	seen := map[[2]any]bool{}
	for _, k := range keys {
		pk := [2]any{k.mode, k.conc}
		if seen[pk] {
			continue
		}
		seen[pk] = true
		b := groups[key{k.mode, k.conc, "baseline"}]
		l := groups[key{k.mode, k.conc, "llmgate"}]
		if b == nil {
			continue
		}
		if l == nil {
			fmt.Printf("| %s | %d | n/a | n/a | n/a | n/a |\n", k.mode, k.conc)
			continue
		}
		ratio := "n/a"
		if b.rps > 0 {
			ratio = fmt.Sprintf("%.2f", l.rps/b.rps)
		}
		fmt.Printf("| %s | %d | %+.2f | %+.2f | %s | %s |\n", k.mode, k.conc,
			l.p50-b.p50, l.p99-b.p99, signedTTFB(k.mode == "stream", l.ttfb50-b.ttfb50), ratio)
	}
	fmt.Println()
	if anyErr {
		fmt.Println("**WARNING: some runs recorded errors (non-2xx, transport or truncated bodies); their figures are not comparable.**")
		os.Exit(4)
	}
}

func ttfb(stream bool, v float64) string {
	if !stream {
		return "–"
	}
	return fmt.Sprintf("%.2f", v)
}

func signedTTFB(stream bool, v float64) string {
	if !stream {
		return "–"
	}
	return fmt.Sprintf("%+.2f", v)
}
