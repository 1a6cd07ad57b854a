package catalog

import "testing"

func mustLookup(t *testing.T, c *Catalog, id string) *Model {
	t.Helper()
	m, ok := c.Lookup(id)
	if !ok {
		t.Fatalf("no model %q", id)
	}
	return m
}

func TestCost(t *testing.T) {
	c := Default()
	cases := []struct {
		name  string
		model string
		u     Usage
		want  float64
	}{
		// The OpenAI fixture: 14 prompt, 30 completion tokens on gpt-4o.
		{"openai fixture", "gpt-4o", Usage{PromptTokens: 14, CompletionTokens: 30},
			14*2.5/1e6 + 30*10.0/1e6},
		{"cached discounted", "gpt-4o", Usage{PromptTokens: 1000, CachedTokens: 400, CompletionTokens: 100},
			(600*2.5 + 400*1.25 + 100*10.0) / 1e6},
		{"reasoning is inside completion", "o4-mini", Usage{PromptTokens: 100, CompletionTokens: 1000, ReasoningTokens: 800},
			(100*1.1 + 1000*4.4) / 1e6},
		{"no cached rate bills input", "llama-3.3-70b-versatile", Usage{PromptTokens: 1000, CachedTokens: 500},
			1000 * 0.59 / 1e6},
		{"no write rate bills input", "gpt-4o", Usage{PromptTokens: 1000, CacheWriteTokens: 300},
			1000 * 2.5 / 1e6},
		{"anthropic cache write and read", "claude-sonnet-4-6",
			Usage{PromptTokens: 10000, CachedTokens: 2000, CacheWriteTokens: 3000, CompletionTokens: 500},
			(5000*3 + 2000*0.3 + 3000*3.75 + 500*15.0) / 1e6},
		{"tier not reached at threshold", "gpt-5.4", Usage{PromptTokens: 272000, CompletionTokens: 1000},
			(272000*2.5 + 1000*15.0) / 1e6},
		{"tier switches every rate", "gpt-5.4", Usage{PromptTokens: 272001, CachedTokens: 100000, CompletionTokens: 1000},
			(172001*5 + 100000*0.5 + 1000*22.5) / 1e6},
		{"anthropic tier", "claude-sonnet-4-5", Usage{PromptTokens: 300000, CacheWriteTokens: 100000, CompletionTokens: 10},
			(200000*6 + 100000*7.5 + 10*22.5) / 1e6},
		{"embeddings", "text-embedding-3-small", Usage{PromptTokens: 1_000_000}, 0.02},
		{"mock demo", "mock-mini", Usage{PromptTokens: 1_000_000, CompletionTokens: 1_000_000}, 0.50},
		{"cached over prompt clamps", "gpt-4o", Usage{PromptTokens: 10, CachedTokens: 20},
			20 * 1.25 / 1e6},
		{"negative counts clamp", "gpt-4o", Usage{PromptTokens: -5, CompletionTokens: -5, CachedTokens: -1}, 0},
	}
	for _, tc := range cases {
		got := mustLookup(t, c, tc.model).Cost(tc.u)
		if !near(got, tc.want) {
			t.Errorf("%s: Cost = %.12g, want %.12g", tc.name, got, tc.want)
		}
		if usd, known := c.Cost(tc.model, tc.u); !known || usd != got {
			t.Errorf("%s: Catalog.Cost = %v,%v", tc.name, usd, known)
		}
	}
}

func TestCostUnknown(t *testing.T) {
	if usd, known := Default().Cost("no-such-model", Usage{PromptTokens: 100}); known || usd != 0 {
		t.Errorf("unknown model: %v, %v", usd, known)
	}
	var m *Model
	if m.Cost(Usage{PromptTokens: 1}) != 0 || m.Has(CapTools) {
		t.Error("nil model should cost nothing and have nothing")
	}
}
