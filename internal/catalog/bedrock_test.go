package catalog

import "testing"

// Bedrock ids, inference profiles and their regional premium.
func TestBedrockLookup(t *testing.T) {
	c := Default()
	cases := []struct {
		name string
		in   float64
	}{
		{"us.amazon.nova-micro-v1:0", 0.035},
		{"amazon.nova-pro-v1:0", 0.8},
		{"us.anthropic.claude-sonnet-4-20250514-v1:0", 3},
		{"global.anthropic.claude-sonnet-4-5-20250929-v1:0", 3},
		{"eu.anthropic.claude-sonnet-4-5-20250929-v1:0", 3.3},
		{"us.anthropic.claude-haiku-4-5-20251001-v1:0", 1.1},
	}
	for _, c2 := range cases {
		m, ok := c.Lookup(c2.name)
		if !ok || m.Price.Input != c2.in {
			t.Errorf("%s: found %v, input price %v, want %v", c2.name, ok, m, c2.in)
		}
	}
}
