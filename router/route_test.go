package router

import (
	"errors"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/catalog"
)

func routeFixture() (*Router, *catalog.Catalog, *Route) {
	cat := catalog.Default().With(
		catalog.Model{ID: "cheap-text", Families: []string{"mock"}, Context: 8000, MaxOutput: 1000, Capabilities: []string{"tools"}, Rank: 1,
			Price: catalog.Price{Input: 0.1, Output: 0.4}, Source: "test", Checked: "2026-11-22"},
		catalog.Model{ID: "mid-vision", Families: []string{"mock"}, Context: 128000, MaxOutput: 4000, Capabilities: []string{"tools", "vision"}, Rank: 2,
			Price: catalog.Price{Input: 1, Output: 4}, Source: "test", Checked: "2026-11-22"},
		catalog.Model{ID: "big", Families: []string{"mock"}, Context: 1000000, MaxOutput: 32000, Capabilities: []string{"tools", "vision", "json_schema"}, Rank: 5,
			Price: catalog.Price{Input: 5, Output: 20}, Source: "test", Checked: "2026-11-22"},
	)
	acc := []*Account{{Name: "m", Type: "mock", Models: []string{"cheap-text", "mid-vision", "big"}}}
	h := NewHealth(BreakerConfig{})
	r := New(acc, Options{Health: h, Routes: []*Route{{Name: "auto", Tiers: map[string][]string{
		"simple": {"cheap-text", "mid-vision"}, "medium": {"mid-vision", "big"}, "complex": {"big"}}}}})
	rt, _ := r.Route("auto")
	return r, cat, rt
}

func models(d Decision) []string {
	var out []string
	for _, t := range d.Targets {
		out = append(out, t.Model)
	}
	return out
}

func TestPlanRouteSelection(t *testing.T) {
	r, cat, rt := routeFixture()
	simple := Classification{Score: 0.1, Tier: "simple", Reason: "short"}
	cases := []struct {
		name     string
		c        Classification
		n        Needs
		floor    string
		optimize string
		want     []string
		tier     string
	}{
		{"cost: cheapest first", simple, Needs{PromptTokens: 20}, "", "cost", []string{"cheap-text", "mid-vision"}, "simple"},
		{"quality: best rank first", simple, Needs{PromptTokens: 20}, "", "quality", []string{"mid-vision", "cheap-text"}, "simple"},
		{"image only to vision models", simple, Needs{PromptTokens: 20, Images: true}, "", "cost", []string{"mid-vision"}, "simple"},
		{"150k-token prompt only where the window fits", simple, Needs{PromptTokens: 150000, MaxOutput: 1000}, "", "cost", []string{"big"}, "medium"},
		{"json schema steps up to a model that has it", simple, Needs{PromptTokens: 20, JSONSchema: true}, "", "cost", []string{"big"}, "medium"},
		{"session floor never steps down", simple, Needs{PromptTokens: 20}, "complex", "cost", []string{"big"}, "complex"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := r.PlanRoute(rt, cat, c.c, c.n, c.floor, c.optimize)
			if err != nil {
				t.Fatal(err)
			}
			got := models(d)
			if d.Tier != c.tier || len(got) != len(c.want) {
				t.Fatalf("tier %s targets %v, want %s %v (reason %q)", d.Tier, got, c.tier, c.want, d.Reason)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Fatalf("targets %v, want %v", got, c.want)
				}
			}
		})
	}
	if _, err := r.PlanRoute(rt, cat, simple, Needs{PromptTokens: 2000000}, "", ""); !errors.Is(err, ErrNoRouteModel) {
		t.Fatalf("a prompt no model can hold: %v", err)
	}
}

// latency: the lowest observed time to first token among available
// accounts leads.
func TestPlanRouteLatency(t *testing.T) {
	r, cat, rt := routeFixture()
	r.health.Report("m", "cheap-text", Outcome{Latency: 900 * time.Millisecond})
	r.health.Report("m", "mid-vision", Outcome{Latency: 100 * time.Millisecond})
	d, err := r.PlanRoute(rt, cat, Classification{Tier: "simple"}, Needs{PromptTokens: 10}, "", "latency")
	if err != nil || models(d)[0] != "mid-vision" {
		t.Fatalf("%v %v", models(d), err)
	}
}

func TestSessionsMonotonic(t *testing.T) {
	s := NewSessions()
	now := time.Now()
	s.Record("auto", "conv", "complex", now)
	s.Record("auto", "conv", "simple", now)
	if f := s.Floor("auto", "conv", now); f != "complex" {
		t.Fatalf("floor %q after a complex turn, want complex", f)
	}
	if f := s.Floor("auto", "other", now); f != "" {
		t.Fatalf("another session inherited a floor: %q", f)
	}
	if f := s.Floor("auto", "conv", now.Add(25*time.Hour)); f != "" {
		t.Fatalf("a day-old session kept its floor: %q", f)
	}
}
