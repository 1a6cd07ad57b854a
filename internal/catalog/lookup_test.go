package catalog

import (
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestLookup(t *testing.T) {
	c := Default()
	cases := []struct{ in, want string }{
		{"gpt-4o-mini", "gpt-4o-mini"},
		{"gpt-4o-mini-2024-07-18", "gpt-4o-mini"},                // alias
		{"GPT-4o-Mini", "gpt-4o-mini"},                           // case
		{"  gpt-4o  ", "gpt-4o"},                                 // whitespace
		{"openai/gpt-4o-mini", "openai/gpt-4o-mini"},             // the OpenRouter entry itself
		{"accounts/fireworks/models/gpt-4o-mini", "gpt-4o-mini"}, // last segment
		{"gpt-4o-2024-08-06", "gpt-4o"},                          // dated (also an alias)
		{"gpt-4.1-2099-12-31", "gpt-4.1"},                        // dated, not an alias
		{"claude-sonnet-4-6-20991231", "claude-sonnet-4-6"},      // Anthropic date style
		{"gpt-4o-0613", "gpt-4o"},                                // short date style
		{"openai/gpt-4o-2024-08-06", "openai/gpt-4o"},            // undated full name first
		{"somevendor/gpt-5-mini-20990101", "gpt-5-mini"},         // segment, then undated
		{"anthropic/claude-sonnet-4-6", "anthropic/claude-sonnet-4.6"},
		{"openai/gpt-oss-120b", "openai/gpt-oss-120b"}, // Groq's own id
		{"gpt-oss-120b", "gpt-oss-120b"},               // Cerebras
	}
	for _, tc := range cases {
		m, ok := c.Lookup(tc.in)
		if !ok || m.ID != tc.want {
			got := "<none>"
			if ok {
				got = m.ID
			}
			t.Errorf("Lookup(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
	for _, in := range []string{"", "gpt-9", "meta-llama/llama-99", "accounts/x/models/", "gpt-4o-mini-extra"} {
		if m, ok := c.Lookup(in); ok {
			t.Errorf("Lookup(%q) = %s, want not found", in, m.ID)
		}
	}
}

func TestForFamily(t *testing.T) {
	c := Default()
	openai := c.ForFamily("openai")
	ids := make([]string, len(openai))
	for i, m := range openai {
		ids[i] = m.ID
	}
	if !slices.IsSorted(ids) {
		t.Errorf("not sorted: %v", ids)
	}
	for _, want := range []string{"gpt-4o", "gpt-4o-mini", "gpt-5-nano", "text-embedding-3-small"} {
		if !slices.Contains(ids, want) {
			t.Errorf("openai list lacks %s", want)
		}
	}
	for _, id := range ids {
		if strings.Contains(id, "/") || strings.HasPrefix(id, "claude") {
			t.Errorf("openai list has foreign id %s", id)
		}
	}
	if got := c.ForFamily("OpenRouter"); len(got) < 8 {
		t.Errorf("openrouter has %d models, want about 8", len(got))
	}
	if got := c.ForFamily("bedrock"); !slices.ContainsFunc(got, func(m *Model) bool { return m.ID == "amazon.nova-micro-v1:0" }) {
		t.Errorf("bedrock list lacks amazon.nova-micro-v1:0: %d models", len(got))
	}
	if got := c.ForFamily("azure"); !slices.ContainsFunc(got, func(m *Model) bool { return m.ID == "gpt-4o-mini" }) {
		t.Error("azure list lacks gpt-4o-mini")
	}
	// The returned slice is the caller's: clobbering it changes nothing.
	openai[0] = nil
	if c.ForFamily("openai")[0] == nil {
		t.Error("ForFamily returned shared storage")
	}
	all := c.All()
	if len(all) != len(Default().All()) || !slices.IsSortedFunc(all, func(a, b *Model) int { return strings.Compare(a.ID, b.ID) }) {
		t.Error("All is not a sorted copy")
	}
}

// TestConcurrentUse exercises Default, lookups and With under -race.
func TestConcurrentUse(t *testing.T) {
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := Default()
			if i%4 == 0 {
				c = c.With(Model{ID: "tmp", Families: []string{"mock"}, Price: Price{Input: 1}})
			}
			for range 100 {
				c.Lookup("openai/gpt-4o-2024-08-06")
				c.ForFamily("openai")
				c.Cost("gpt-4o", Usage{PromptTokens: 10})
			}
		}()
	}
	wg.Wait()
}
