// Command llmgate-eval measures the request-difficulty classifier of the
// "auto" route on public data: RouteLLM's per-prompt correctness of a weak
// and a strong model on GSM8K and MMLU (see ../shared/eval/routellm/README.md).
//
//	go run ./cmd/llmgate-eval [-data ../shared/eval/routellm] [-json] [-set math=2,bias=-3]
//
// Every prompt becomes a one-message chat body and is scored with
// router.ClassifyRequest. Sweeping a threshold over the scores sends the
// top-k prompts to the strong model (k = 0…n); a prompt sent to the weak
// model counts its weak_correct, to the strong one its strong_correct.
// Prompts with equal scores are ordered by neither index nor chance: a
// threshold that cuts a group of ties sends each of its prompts with the
// same probability, so the curve takes the group's average (the expected
// accuracy over every order of the ties; deterministic).
//
//   - PGR(k) = (accuracy(k) - weak accuracy) / (strong accuracy - weak accuracy)
//   - APGR = the mean of PGR over the 101 strong fractions 0%, 1%, …, 100%
//     (k = fraction·n; a fractional k interpolates linearly between the two
//     neighbouring integer k, which is again the tie-group average)
//   - CPT(x) = the smallest strong fraction k/n (k integer) whose PGR >= x
//
// Next to the classifier, in the same run: a prompt-length router (score =
// the prompt's length in bytes) and a random router (the mean of 20 seeded
// random orders). Each file is reported whole and split by row parity
// (even rows 0, 2, 4 … were used to tune the default weights; odd rows
// were held out). "At the default thresholds" sends the prompts whose tier
// is complex to the strong model, and, on a second line, medium or complex.
package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/llmgate/llmgate/router"
)

// Item is one prompt and the two models' correctness.
type Item struct {
	Prompt       string
	Weak, Strong bool
	Score        float64
	Tier         string
	Length       float64
	index        int
}

// Metrics summarise one router on one set of items.
type Metrics struct {
	APGR  float64 `json:"apgr"`
	CPT50 float64 `json:"cpt50"`
	CPT80 float64 `json:"cpt80"`
}

// Threshold is the outcome of routing by tier.
type Threshold struct {
	Strong   float64 `json:"strong_fraction"`
	Accuracy float64 `json:"accuracy"`
	PGR      float64 `json:"pgr"`
}

// Curve is the accuracy gain over the all-weak router when the top k items
// by score go to the strong model, k = 0…n, ties averaged.
type Curve struct {
	N            int
	Weak, Strong int       // correct answers when all go to one model
	Cum          []float64 // Cum[k]: extra correct answers with the top k on strong
}

// NewCurve orders items by descending score (ties averaged).
func NewCurve(scores []float64, weak, strong []bool) Curve {
	n := len(scores)
	c := Curve{N: n, Cum: make([]float64, n+1)}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
		if weak[i] {
			c.Weak++
		}
		if strong[i] {
			c.Strong++
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] > scores[idx[b]] })
	for i := 0; i < n; {
		j := i
		g := 0.0
		for j < n && scores[idx[j]] == scores[idx[i]] {
			g += gain(weak[idx[j]], strong[idx[j]])
			j++
		}
		for t := i; t < j; t++ {
			c.Cum[t+1] = c.Cum[i] + g*float64(t+1-i)/float64(j-i)
		}
		i = j
	}
	return c
}

func gain(weak, strong bool) float64 {
	switch {
	case strong && !weak:
		return 1
	case weak && !strong:
		return -1
	}
	return 0
}

// PGR at k prompts on the strong model (k may be fractional).
func (c Curve) PGR(k float64) float64 {
	if c.Strong == c.Weak {
		return 0
	}
	k = math.Max(0, math.Min(float64(c.N), k))
	k0 := int(k)
	g := c.Cum[k0]
	if k0 < c.N {
		g += (c.Cum[k0+1] - c.Cum[k0]) * (k - float64(k0))
	}
	return g / float64(c.Strong-c.Weak)
}

// APGR averages PGR over the strong fractions 0, 1/(steps-1), …, 1.
func (c Curve) APGR(steps int) float64 {
	sum := 0.0
	for q := 0; q < steps; q++ {
		sum += c.PGR(float64(q) / float64(steps-1) * float64(c.N))
	}
	return sum / float64(steps)
}

// CPT is the smallest strong fraction k/n whose PGR reaches x (1 if none).
func (c Curve) CPT(x float64) float64 {
	for k := 0; k <= c.N; k++ {
		if c.PGR(float64(k)) >= x-1e-12 {
			return float64(k) / float64(max(c.N, 1))
		}
	}
	return 1
}

// Accuracy when the items flagged strong go to the strong model.
func Accuracy(toStrong, weak, strong []bool) Threshold {
	var n, correct, s, w, st int
	for i := range toStrong {
		n++
		if weak[i] {
			w++
		}
		if strong[i] {
			st++
		}
		if toStrong[i] {
			s++
			if strong[i] {
				correct++
			}
		} else if weak[i] {
			correct++
		}
	}
	if n == 0 {
		return Threshold{}
	}
	t := Threshold{Strong: float64(s) / float64(n), Accuracy: float64(correct) / float64(n)}
	if st != w {
		t.PGR = float64(correct-w) / float64(st-w)
	}
	return t
}

const apgrSteps = 101

func metrics(scores []float64, weak, strong []bool) Metrics {
	c := NewCurve(scores, weak, strong)
	return Metrics{APGR: c.APGR(apgrSteps), CPT50: c.CPT(0.5), CPT80: c.CPT(0.8)}
}

// randomMetrics averages seeds random orders.
func randomMetrics(n int, weak, strong []bool, seeds int) Metrics {
	var m Metrics
	scores := make([]float64, n)
	for s := 1; s <= seeds; s++ {
		r := rand.New(rand.NewPCG(uint64(s), 0x6c6c6d67617465))
		for i, p := range r.Perm(n) {
			scores[i] = float64(p)
		}
		x := metrics(scores, weak, strong)
		m.APGR += x.APGR / float64(seeds)
		m.CPT50 += x.CPT50 / float64(seeds)
		m.CPT80 += x.CPT80 / float64(seeds)
	}
	return m
}

// Load reads a CSV with a header naming prompt, weak_correct and
// strong_correct (other columns are ignored).
func Load(r io.Reader) ([]Item, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	hdr, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("reading the header: %w", err)
	}
	col := map[string]int{}
	for i, h := range hdr {
		col[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	for _, want := range []string{"prompt", "weak_correct", "strong_correct"} {
		if _, ok := col[want]; !ok {
			return nil, fmt.Errorf("no %q column in the header %q", want, hdr)
		}
	}
	var items []Item
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		get := func(k string) string {
			if i := col[k]; i < len(rec) {
				return rec[i]
			}
			return ""
		}
		weak, err1 := strconv.ParseBool(get("weak_correct"))
		strong, err2 := strconv.ParseBool(get("strong_correct"))
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("record %d: weak_correct %q, strong_correct %q: want True or False", line, get("weak_correct"), get("strong_correct"))
		}
		items = append(items, Item{Prompt: get("prompt"), Weak: weak, Strong: strong, index: len(items)})
	}
	if len(items) == 0 {
		return nil, errors.New("no records")
	}
	return items, nil
}

// ChatBody is the minimal chat request for one prompt.
func ChatBody(prompt string) []byte {
	type msg struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	b, _ := json.Marshal(struct {
		Messages []msg `json:"messages"`
	}{[]msg{{"user", prompt}}})
	return b
}

// Score classifies every item.
func Score(items []Item, w router.Weights) {
	for i := range items {
		_, c := router.ClassifyRequest(ChatBody(items[i].Prompt), "", w)
		items[i].Score, items[i].Tier = c.Score, c.Tier
		items[i].Length = float64(len(items[i].Prompt))
	}
}

// Row is one router on one split.
type Row struct {
	Router string `json:"router"`
	Split  string `json:"split"`
	N      int    `json:"n"`
	Metrics
}

// Defaults is routing by tier on one split.
type Defaults struct {
	Split          string         `json:"split"`
	Complex        Threshold      `json:"complex_to_strong"`
	MediumComplex  Threshold      `json:"medium_and_complex_to_strong"`
	Tiers          map[string]int `json:"tiers"`
	WeakAccuracy   float64        `json:"weak_accuracy"`
	StrongAccuracy float64        `json:"strong_accuracy"`
}

// Report is one data file's evaluation.
type Report struct {
	File     string     `json:"file"`
	N        int        `json:"n"`
	Rows     []Row      `json:"rows"`
	Defaults []Defaults `json:"defaults"`
}

var splits = []struct {
	name string
	keep func(i int) bool
}{
	{"all", func(int) bool { return true }},
	{"even", func(i int) bool { return i%2 == 0 }},
	{"odd", func(i int) bool { return i%2 == 1 }},
}

// Evaluate computes the report of scored items.
func Evaluate(file string, items []Item, seeds int) Report {
	rep := Report{File: file, N: len(items)}
	for _, sp := range splits {
		var cls, length []float64
		var weak, strong, none, all, cplx, medc []bool
		tiers := map[string]int{}
		for _, it := range items {
			if !sp.keep(it.index) {
				continue
			}
			cls, length = append(cls, it.Score), append(length, it.Length)
			weak, strong = append(weak, it.Weak), append(strong, it.Strong)
			none, all = append(none, false), append(all, true)
			cplx = append(cplx, it.Tier == "complex")
			medc = append(medc, it.Tier == "complex" || it.Tier == "medium")
			tiers[it.Tier]++
		}
		n := len(cls)
		rep.Rows = append(rep.Rows,
			Row{"classifier", sp.name, n, metrics(cls, weak, strong)},
			Row{"length", sp.name, n, metrics(length, weak, strong)},
			Row{fmt.Sprintf("random(%d)", seeds), sp.name, n, randomMetrics(n, weak, strong, seeds)})
		rep.Defaults = append(rep.Defaults, Defaults{
			Split: sp.name, Tiers: tiers,
			Complex:        Accuracy(cplx, weak, strong),
			MediumComplex:  Accuracy(medc, weak, strong),
			WeakAccuracy:   Accuracy(none, weak, strong).Accuracy,
			StrongAccuracy: Accuracy(all, weak, strong).Accuracy,
		})
	}
	sort.SliceStable(rep.Rows, func(a, b int) bool { return routerOrder(rep.Rows[a].Router) < routerOrder(rep.Rows[b].Router) })
	return rep
}

func routerOrder(r string) int {
	switch r {
	case "classifier":
		return 0
	case "length":
		return 1
	}
	return 2
}

// Print writes a report as a table.
func Print(w io.Writer, rep Report) {
	d := rep.Defaults[0]
	fmt.Fprintf(w, "%s: %d prompts, weak %.1f%%, strong %.1f%%\n", rep.File, rep.N, 100*d.WeakAccuracy, 100*d.StrongAccuracy)
	fmt.Fprintf(w, "  %-12s %-5s %5s  %6s  %8s  %8s\n", "router", "rows", "n", "APGR", "CPT(50%)", "CPT(80%)")
	for _, r := range rep.Rows {
		fmt.Fprintf(w, "  %-12s %-5s %5d  %6.3f  %7.1f%%  %7.1f%%\n", r.Router, r.Split, r.N, r.APGR, 100*r.CPT50, 100*r.CPT80)
	}
	fmt.Fprintf(w, "  default thresholds (classifier tiers):\n")
	for _, d := range rep.Defaults {
		fmt.Fprintf(w, "    %-4s simple/medium/complex %d/%d/%d\n", d.Split, d.Tiers["simple"], d.Tiers["medium"], d.Tiers["complex"])
		for _, t := range []struct {
			name string
			t    Threshold
		}{{"complex -> strong", d.Complex}, {"medium+complex -> strong", d.MediumComplex}} {
			fmt.Fprintf(w, "         %-25s strong %5.1f%%  accuracy %5.1f%%  PGR %6.3f\n", t.name, 100*t.t.Strong, 100*t.t.Accuracy, t.t.PGR)
		}
	}
}

// findData resolves the default data directory: ../shared/eval/routellm
// next to the repository root (the nearest directory up with a go.mod).
func findData() string {
	dir, err := os.Getwd()
	if err != nil {
		return filepath.Join("..", "shared", "eval", "routellm")
	}
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "..", "shared", "eval", "routellm")
		}
		up := filepath.Dir(d)
		if up == d {
			return filepath.Join(dir, "..", "shared", "eval", "routellm")
		}
		d = up
	}
}

// parseSet applies "name=value,name=value" to the default weights.
func parseSet(s string) (router.Weights, error) {
	w := router.DefaultWeights()
	for _, kv := range strings.Split(s, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return w, fmt.Errorf("-set %q: want name=value", kv)
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return w, fmt.Errorf("-set %s: %v", k, err)
		}
		if err := w.Set(strings.TrimSpace(k), f); err != nil {
			return w, err
		}
	}
	return w, w.Validate()
}

var files = []string{"gsm8k.csv", "mmlu-dev.csv"}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("llmgate-eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "", "directory with gsm8k.csv and mmlu-dev.csv (default: ../shared/eval/routellm next to the repository root)")
	asJSON := fs.Bool("json", false, "print the reports as JSON")
	seeds := fs.Int("seeds", 20, "random orders averaged for the random router")
	set := fs.String("set", "", "override default weights: name=value,… (names: "+strings.Join(router.WeightNames(), ", ")+")")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *data == "" {
		*data = findData()
	}
	w, err := parseSet(*set)
	if err != nil {
		fmt.Fprintln(stderr, "llmgate-eval:", err)
		return 2
	}
	var reps []Report
	for _, name := range files {
		f, err := os.Open(filepath.Join(*data, name))
		if err != nil {
			fmt.Fprintf(stderr, "llmgate-eval: %v (set -data to the directory holding %s)\n", err, strings.Join(files, " and "))
			return 1
		}
		items, err := Load(f)
		f.Close()
		if err != nil {
			fmt.Fprintf(stderr, "llmgate-eval: %s: %v\n", name, err)
			return 1
		}
		Score(items, w)
		reps = append(reps, Evaluate(name, items, max(*seeds, 1)))
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(reps); err != nil {
			fmt.Fprintln(stderr, "llmgate-eval:", err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(stdout, "APGR = mean PGR over strong fractions 0%%..100%% (101 points; ties averaged); rows: all, even (tuning half), odd (held out)\n\n")
	for i, rep := range reps {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		Print(stdout, rep)
	}
	return 0
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
