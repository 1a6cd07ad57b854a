package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// Four prompts: A and B only the strong model answers, C both, D only the
// weak one. Weak accuracy 2/4, strong 3/4, so PGR = extra correct answers.
var (
	hWeak   = []bool{false, false, true, true}
	hStrong = []bool{true, true, true, false}
)

func TestCurveByHand(t *testing.T) {
	// A perfect order: A, B, C, D. Extra answers at k = 0…4: 0, 1, 2, 2, 1.
	c := NewCurve([]float64{4, 3, 2, 1}, hWeak, hStrong)
	for k, want := range []float64{0, 1, 2, 2, 1} {
		if got := c.PGR(float64(k)); !near(got, want, 1e-12) {
			t.Errorf("PGR(%d) = %v, want %v", k, got, want)
		}
	}
	if got := c.PGR(1.5); !near(got, 1.5, 1e-12) {
		t.Errorf("PGR(1.5) = %v, want the interpolated 1.5", got)
	}
	// Five fractions 0, 25, 50, 75, 100%: mean(0, 1, 2, 2, 1) = 1.2.
	if got := c.APGR(5); !near(got, 1.2, 1e-12) {
		t.Errorf("APGR(5) = %v, want 1.2", got)
	}
	// 101 fractions of a piecewise-linear curve: the mean of the samples.
	want := 0.0
	for q := 0; q <= 100; q++ {
		k := 4 * float64(q) / 100
		k0 := math.Floor(k)
		v := []float64{0, 1, 2, 2, 1, 1}
		want += v[int(k0)] + (v[int(k0)+1]-v[int(k0)])*(k-k0)
	}
	if got := c.APGR(101); !near(got, want/101, 1e-12) {
		t.Errorf("APGR(101) = %v, want %v", got, want/101)
	}
	if got := c.CPT(0.5); got != 0.25 {
		t.Errorf("CPT(50%%) = %v, want 0.25", got)
	}
	if got := c.CPT(1.5); got != 0.5 {
		t.Errorf("CPT(150%%) = %v, want 0.5", got)
	}
	if got := c.CPT(3); got != 1 {
		t.Errorf("CPT(300%%) = %v, want 1 (never reached)", got)
	}

	// The worst order: D first. Extra answers 0, -1, -1, 0, 1.
	w := NewCurve([]float64{1, 2, 3, 4}, hWeak, hStrong)
	if got := w.APGR(5); !near(got, -0.2, 1e-12) {
		t.Errorf("worst APGR(5) = %v, want -0.2", got)
	}
	if got := w.CPT(0.8); got != 1 {
		t.Errorf("worst CPT(80%%) = %v, want 1", got)
	}
}

func TestCurveTiesAveraged(t *testing.T) {
	// All tied: each prompt goes strong with probability k/n, so PGR is
	// linear and APGR exactly 0.5 whatever the input order.
	c := NewCurve([]float64{1, 1, 1, 1}, hWeak, hStrong)
	for k := 0; k <= 4; k++ {
		if got := c.PGR(float64(k)); !near(got, float64(k)/4, 1e-12) {
			t.Errorf("PGR(%d) = %v, want %v", k, got, float64(k)/4)
		}
	}
	if got := c.APGR(101); !near(got, 0.5, 1e-12) {
		t.Errorf("APGR = %v, want 0.5", got)
	}
	// A tie between A and D after B: B, then {A, D} averaged, then C.
	c = NewCurve([]float64{2, 3, 1, 2}, hWeak, hStrong)
	for k, want := range []float64{0, 1, 1, 1, 1} {
		if got := c.PGR(float64(k)); !near(got, want, 1e-12) {
			t.Errorf("tied PGR(%d) = %v, want %v", k, got, want)
		}
	}
}

func TestAccuracyByHand(t *testing.T) {
	got := Accuracy([]bool{true, false, false, false}, hWeak, hStrong)
	if got.Strong != 0.25 || got.Accuracy != 0.75 || got.PGR != 1 {
		t.Errorf("A to strong: %+v, want strong 0.25, accuracy 0.75, PGR 1", got)
	}
	got = Accuracy([]bool{true, true, true, true}, hWeak, hStrong)
	if got.Strong != 1 || got.Accuracy != 0.75 || got.PGR != 1 {
		t.Errorf("all strong: %+v", got)
	}
	got = Accuracy([]bool{false, false, false, true}, hWeak, hStrong)
	if got.Accuracy != 0.25 || got.PGR != -1 {
		t.Errorf("D to strong: %+v, want accuracy 0.25, PGR -1", got)
	}
}

// synthetic writes a CSV of n prompts with seeded outcomes (weak right
// 60%, strong right 80%) and returns its path.
func synthetic(t *testing.T, dir, name string, n int, subject bool) string {
	t.Helper()
	r := rand.New(rand.NewPCG(7, uint64(n)))
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	hdr := []string{"prompt", "weak_correct", "strong_correct"}
	if subject {
		hdr = append([]string{"subject"}, hdr...)
	}
	w.Write(hdr)
	for i := 0; i < n; i++ {
		weak, strong := r.Float64() < 0.6, r.Float64() < 0.8
		p := fmt.Sprintf("Question %d: if a train leaves at %d and travels, then what, \"quoted\"?\nA. one\nB. two", i, i%24)
		rec := []string{p, pyBool(weak), pyBool(strong)}
		if subject {
			rec = append([]string{"misc"}, rec...)
		}
		w.Write(rec)
	}
	w.Flush()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

func TestSyntheticOracleAndRandom(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Open(synthetic(t, dir, "s.csv", 400, true))
	if err != nil {
		t.Fatal(err)
	}
	items, err := Load(f)
	f.Close()
	if err != nil || len(items) != 400 {
		t.Fatalf("Load: %d items, %v", len(items), err)
	}
	var oracle, weak, strong []float64
	var ws, ss []bool
	for _, it := range items {
		oracle = append(oracle, gain(it.Weak, it.Strong))
		weak, strong = append(weak, 0), append(strong, 0)
		ws, ss = append(ws, it.Weak), append(ss, it.Strong)
	}
	o := metrics(oracle, ws, ss)
	if o.APGR < 0.95 || o.CPT80 > 0.35 {
		t.Errorf("oracle: %+v, want APGR about 1 or more and a small CPT(80%%)", o)
	}
	r := randomMetrics(len(items), ws, ss, 20)
	if !near(r.APGR, 0.5, 0.05) || !near(r.CPT50, 0.5, 0.12) {
		t.Errorf("random: %+v, want APGR about 0.5", r)
	}
	if c := metrics(weak, ws, ss); c.APGR != 0.5 {
		t.Errorf("constant scores: APGR %v, want exactly 0.5", c.APGR)
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	synthetic(t, dir, "gsm8k.csv", 60, false)
	synthetic(t, dir, "mmlu-dev.csv", 80, true)

	var out, errb bytes.Buffer
	if code := run([]string{"-data", dir, "-seeds", "3"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"gsm8k.csv: 60 prompts", "mmlu-dev.csv: 80 prompts", "classifier   all", "classifier   odd", "length       even", "random(3)    all", "complex -> strong", "medium+complex -> strong"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	out.Reset()
	if code := run([]string{"-data", dir, "-json", "-set", "math=3,simple_max=0.2"}, &out, &errb); code != 0 {
		t.Fatalf("-json exit %d: %s", code, errb.String())
	}
	var reps []Report
	if err := json.Unmarshal(out.Bytes(), &reps); err != nil || len(reps) != 2 || len(reps[0].Rows) != 9 || reps[1].N != 80 {
		t.Fatalf("-json: %v %+v", err, reps)
	}
	for _, r := range reps[0].Rows {
		if r.APGR < -1 || r.APGR > 2 || r.CPT50 < 0 || r.CPT80 > 1 {
			t.Errorf("row out of range: %+v", r)
		}
	}

	// Missing data is an error.
	errb.Reset()
	if code := run([]string{"-data", filepath.Join(dir, "nope")}, &out, &errb); code == 0 || !strings.Contains(errb.String(), "gsm8k.csv") {
		t.Errorf("missing data: exit %d, stderr %q", code, errb.String())
	}
	// So are a bad file and a bad weight.
	os.WriteFile(filepath.Join(dir, "gsm8k.csv"), []byte("prompt,weak_correct\nx,True\n"), 0o644)
	if code := run([]string{"-data", dir}, &out, &errb); code == 0 {
		t.Error("a file without strong_correct was accepted")
	}
	if code := run([]string{"-data", dir, "-set", "nope=1"}, &out, &errb); code != 2 {
		t.Errorf("unknown weight: exit %d, want 2", code)
	}
}

func TestFindData(t *testing.T) {
	root := t.TempDir()
	sub := filepath.Join(root, "repo", "cmd", "x")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "repo", "go.mod"), []byte("module x\n"), 0o644)
	t.Chdir(sub)
	want := filepath.Join(root, "repo", "..", "shared", "eval", "routellm")
	if got := findData(); got != want {
		t.Errorf("findData() = %q, want %q", got, want)
	}
}

func TestChatBody(t *testing.T) {
	var v struct {
		Messages []struct{ Role, Content string }
	}
	p := "line 1\n\"quoted\" <tag> & é"
	if err := json.Unmarshal(ChatBody(p), &v); err != nil || len(v.Messages) != 1 || v.Messages[0].Role != "user" || v.Messages[0].Content != p {
		t.Errorf("ChatBody round trip: %v %+v", err, v)
	}
}
