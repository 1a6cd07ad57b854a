package catalog

import (
	"errors"
	"testing"
)

func TestWithOverride(t *testing.T) {
	base := Default()
	before := mustLookup(t, base, "gpt-4o").Price
	c := base.With(Model{ID: "GPT-4O", Families: []string{"openai"}, Price: Price{Input: 1, Output: 2},
		Source: "Caddyfile"})
	m := mustLookup(t, c, "gpt-4o")
	if m.Price.Input != 1 || m.Source != "Caddyfile" {
		t.Fatalf("override not applied: %+v", m)
	}
	if got := m.Cost(Usage{PromptTokens: 1e6, CompletionTokens: 1e6}); !near(got, 3) {
		t.Errorf("override cost %v, want 3", got)
	}
	// An override replaces the whole entry, so its old aliases go with it.
	if m, ok := c.Lookup("gpt-4o-2024-08-06"); !ok || m.Price.Input != 1 {
		t.Errorf("dated name should fall back to the override, got %+v", m)
	}
	if len(c.All()) != len(base.All()) {
		t.Errorf("override changed the model count: %d vs %d", len(c.All()), len(base.All()))
	}
	if mustLookup(t, base, "gpt-4o").Price != before {
		t.Error("With modified the receiver")
	}
}

func TestWithAddition(t *testing.T) {
	extra := Model{ID: "my-llama", Families: []string{"together"}, Aliases: []string{"llama-local"},
		Capabilities: []string{CapTools}, Price: Price{Input: 0.2, Output: 0.4}}
	c := Default().With(extra, Model{}) // an entry without id is skipped
	m := mustLookup(t, c, "llama-local")
	if m.ID != "my-llama" || len(c.All()) != len(Default().All())+1 {
		t.Fatalf("addition missing: %+v", m)
	}
	if got := c.ForFamily("together"); len(got) != 1 || got[0].ID != "my-llama" {
		t.Errorf("ForFamily(together) = %v", got)
	}
	if _, ok := Default().Lookup("my-llama"); ok {
		t.Error("With leaked into Default")
	}
	// The catalogue owns its copy; the caller's slices are still theirs.
	extra.Aliases[0] = "changed"
	if _, ok := c.Lookup("llama-local"); !ok {
		t.Error("catalogue shares the caller's alias slice")
	}
	if usd, known := c.Cost("accounts/fireworks/models/my-llama", Usage{PromptTokens: 1e6}); !known || !near(usd, 0.2) {
		t.Errorf("Cost via prefix = %v, %v", usd, known)
	}
}

// TestWithIDBeatsAlias: an operator alias cannot shadow an existing id.
func TestWithIDBeatsAlias(t *testing.T) {
	c := Default().With(Model{ID: "mine", Families: []string{"openai"}, Aliases: []string{"gpt-4o"}, Price: Price{Input: 9}})
	if m := mustLookup(t, c, "gpt-4o"); m.ID != "gpt-4o" {
		t.Errorf("alias shadowed an id: %s", m.ID)
	}
}

func TestValidate(t *testing.T) {
	good := Model{ID: "local"} // a free self-hosted model served only by accounts that list it is fine
	if err := Validate(good); err != nil {
		t.Fatalf("Validate(good) = %v", err)
	}
	bad := []Model{
		{Families: []string{"openai"}},
		{ID: "has space", Families: []string{"openai"}},
		{ID: "x", Families: []string{"openai"}, Aliases: []string{""}},
		{ID: "x", Families: []string{"openai"}, Price: Price{Output: -1}},
		{ID: "x", Families: []string{"openai"}, LongContext: &Tier{Threshold: 10, Price: Price{Input: -1}}},
		{ID: "x", Families: []string{"openai"}, Checked: "yesterday"},
		{ID: "x", Families: []string{"openai"}, Rank: -1},
	}
	for _, m := range bad {
		if err := Validate(m); !errors.Is(err, ErrInvalidModel) {
			t.Errorf("Validate(%+v) = %v, want ErrInvalidModel", m, err)
		}
	}
}
