package router

import (
	"errors"
	"testing"
)

func accounts() []*Account {
	return []*Account{
		{Name: "openai", Type: "openai", Models: []string{"gpt-4o-mini", "gpt-5"}, Weight: 3},
		{Name: "openai-b", Type: "openai", Models: []string{"gpt-4o-mini"}, Weight: 1},
		{Name: "openrouter", Type: "openrouter", Models: []string{"openai/gpt-4o-mini"}},
	}
}

func TestPlan(t *testing.T) {
	r := New(accounts())
	cases := []struct {
		model, pin string
		want       []string // account:model
		pinned     bool
		err        error
	}{
		{model: "gpt-5", want: []string{"openai:gpt-5"}},
		{model: "openrouter/openai/gpt-4o-mini", want: []string{"openrouter:openai/gpt-4o-mini"}, pinned: true},
		{model: "openai/gpt-4o-mini", want: []string{"openai:gpt-4o-mini"}, pinned: true},
		{model: "gpt-5", pin: "openai-b", want: []string{"openai-b:gpt-5"}, pinned: true},
		{model: "nope", err: ErrModelNotFound},
		{model: "gpt-5", pin: "ghost", err: ErrUnknownProvider},
		{model: "openai/gpt-5", pin: "openai-b", err: ErrModelNotFound},
	}
	for _, c := range cases {
		p, err := r.Plan(c.model, c.pin)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("%s/%s: err %v, want %v", c.model, c.pin, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.model, err)
		}
		if p.Pinned != c.pinned || len(p.Targets) != len(c.want) {
			t.Fatalf("%s: plan %+v", c.model, p)
		}
		for i, w := range c.want {
			if got := p.Targets[i].Account.Name + ":" + p.Targets[i].Model; got != w {
				t.Errorf("%s: target %d = %s, want %s", c.model, i, got, w)
			}
		}
	}
}

// Accounts share a model's traffic by weight: weight 3 leads ~75% of plans.
func TestPlanWeights(t *testing.T) {
	r := New(accounts())
	first := map[string]int{}
	const n = 4000
	for i := 0; i < n; i++ {
		p, _ := r.Plan("gpt-4o-mini", "")
		if len(p.Targets) != 2 {
			t.Fatalf("want both pooled accounts in the plan, got %d", len(p.Targets))
		}
		first[p.Targets[0].Account.Name]++
	}
	share := float64(first["openai"]) / n
	if share < 0.70 || share > 0.80 {
		t.Fatalf("weight-3 account led %.2f of plans, want about 0.75", share)
	}
}

func TestConcurrencyCap(t *testing.T) {
	a := &Account{MaxConcurrency: 2}
	if !a.TryAcquire() || !a.TryAcquire() {
		t.Fatal("first two acquisitions must succeed")
	}
	if a.TryAcquire() {
		t.Fatal("third acquisition must fail at max_concurrency 2")
	}
	a.Release()
	if !a.TryAcquire() {
		t.Fatal("a released slot must be reusable")
	}
}

func TestModels(t *testing.T) {
	ms := New(accounts()).Models()
	if len(ms) != 3 || ms[0].ID != "gpt-4o-mini" || ms[2].ID != "openai/gpt-4o-mini" || ms[2].OwnedBy != "openrouter" {
		t.Fatalf("models %+v", ms)
	}
}
