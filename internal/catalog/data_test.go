package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// TestEmbeddedParses guards Default's panic: the shipped file must parse.
func TestEmbeddedParses(t *testing.T) {
	if _, err := Parse(embedded); err != nil {
		t.Fatalf("Parse(embedded): %v", err)
	}
	if n := len(Default().All()); n == 0 {
		t.Fatal("Default() is empty")
	}
}

// TestEmbeddedEntries checks the shipped data independently of Parse, by
// decoding the raw file, so a bug in Parse cannot hide a bad entry.
func TestEmbeddedEntries(t *testing.T) {
	var f file
	if err := json.NewDecoder(bytes.NewReader(embedded)).Decode(&f); err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, m := range f.Models {
		if m.ID == "" || len(m.Families) == 0 || m.Source == "" {
			t.Errorf("%q: id, families and source are required", m.ID)
		}
		if _, err := time.Parse("2006-01-02", m.Checked); err != nil {
			t.Errorf("%q: checked %q is not YYYY-MM-DD", m.ID, m.Checked)
		}
		if m.Price.Input <= 0 {
			t.Errorf("%q: input price must be positive", m.ID)
		}
		embeddingsOnly := len(m.Capabilities) == 1 && m.Has(CapEmbeddings)
		if m.Price.Output <= 0 && !embeddingsOnly {
			t.Errorf("%q: output price must be positive for a chat model", m.ID)
		}
		for _, fam := range m.Families {
			// Bedrock serves only its own ids (vendor.model-vN:M), never
			// a bare vendor name.
			if fam == "bedrock" && (!strings.Contains(m.ID, ".") || !strings.Contains(m.ID, ":")) {
				t.Errorf("%q: bedrock ids look like vendor.model-v1:0", m.ID)
			}
			if fam == "openrouter" && !strings.Contains(m.ID, "/") {
				t.Errorf("%q: openrouter ids are vendor-prefixed", m.ID)
			}
		}
		if err := Validate(m); err != nil {
			t.Error(err)
		}
		for _, name := range append([]string{m.ID}, m.Aliases...) {
			if prev, dup := seen[strings.ToLower(name)]; dup {
				t.Errorf("name %q used by %q and %q", name, prev, m.ID)
			}
			seen[strings.ToLower(name)] = m.ID
		}
	}
}

// TestEmbeddedCoverage pins the models the design's price table and the
// brief require, so a careless regeneration cannot drop one.
func TestEmbeddedCoverage(t *testing.T) {
	want := []string{
		"gpt-5.5", "gpt-5.4", "gpt-5.4-mini", "gpt-5.4-nano", "gpt-5", "gpt-5-mini", "gpt-5-nano",
		"gpt-4.1", "gpt-4.1-mini", "gpt-4o", "gpt-4o-mini", "o4-mini",
		"text-embedding-3-small", "text-embedding-3-large", "text-embedding-ada-002",
		"claude-opus-5", "claude-opus-4-8", "claude-opus-4-7", "claude-opus-4-6", "claude-opus-4-5",
		"claude-sonnet-5", "claude-sonnet-4-6", "claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1",
		"gemini-3.5-flash", "gemini-3.1-pro-preview", "gemini-3-flash-preview",
		"gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite",
		"grok-4.5", "grok-4.3", "grok-code-fast-1",
		"deepseek-v4-pro", "deepseek-v4-flash",
		"mistral-large-2512", "mistral-small-2603",
		"llama-3.3-70b-versatile", "openai/gpt-oss-120b", "gpt-oss-120b",
		"mock-mini", "mock-large", "mock-embed",
		"openai/gpt-4o-mini", "openai/gpt-5-mini", "anthropic/claude-sonnet-4.6", "google/gemini-2.5-flash",
	}
	c := Default()
	for _, id := range want {
		m, ok := c.Lookup(id)
		if !ok || !strings.EqualFold(m.ID, id) {
			t.Errorf("missing entry %q", id)
		}
	}
}

// TestAnthropicCacheRates checks the 5-minute cache write (1.25x) and read
// (0.1x) multipliers on every Anthropic entry.
func TestAnthropicCacheRates(t *testing.T) {
	for _, m := range Default().ForFamily("anthropic") {
		if !near(m.Price.CacheWrite, 1.25*m.Price.Input) || !near(m.Price.CachedInput, 0.1*m.Price.Input) {
			t.Errorf("%s: cache rates %+v", m.ID, m.Price)
		}
	}
}

// TestOpenRouterListPrices checks that OpenRouter entries carry the list
// price of the model they route to.
func TestOpenRouterListPrices(t *testing.T) {
	c := Default()
	pairs := map[string]string{
		"openai/gpt-4o-mini":          "gpt-4o-mini",
		"openai/gpt-5-mini":           "gpt-5-mini",
		"anthropic/claude-sonnet-4.6": "claude-sonnet-4-6",
		"google/gemini-2.5-flash":     "gemini-2.5-flash",
		"google/gemini-2.5-pro":       "gemini-2.5-pro",
	}
	for or, vendor := range pairs {
		a, _ := c.Lookup(or)
		b, _ := c.Lookup(vendor)
		if a == nil || b == nil || a.Price != b.Price || (a.LongContext == nil) != (b.LongContext == nil) {
			t.Errorf("%s vs %s: prices differ", or, vendor)
		}
	}
}

func TestMockModels(t *testing.T) {
	c := Default()
	for id, p := range map[string]Price{
		"mock-mini":  {Input: 0.10, CachedInput: 0.01, Output: 0.40},
		"mock-large": {Input: 2.00, CachedInput: 0.20, Output: 8.00},
		"mock-embed": {Input: 0.02},
	} {
		m, ok := c.Lookup(id)
		if !ok || m.Price != p || len(m.Families) != 1 || m.Families[0] != "mock" {
			t.Errorf("%s: %+v", id, m)
		}
	}
	if m, _ := c.Lookup("mock-large"); !m.Has("reasoning") || !m.Has("VISION") || m.Has(CapEmbeddings) {
		t.Errorf("mock-large capabilities %v", m.Capabilities)
	}
}

func TestParseRejects(t *testing.T) {
	const ok = `{"id":"x","families":["openai"],"context":10,"max_output":5,"capabilities":["tools"],"rank":1,` +
		`"price":{"input":1,"cached_input":0,"cache_write":0,"output":1},"source":"s","checked":"2026-01-02"`
	doc := func(models ...string) []byte {
		return []byte(`{"models":[` + strings.Join(models, ",") + `]}`)
	}
	if _, err := Parse(doc(ok + `}`)); err != nil {
		t.Fatalf("valid document rejected: %v", err)
	}
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"unknown field", doc(ok + `,"inputt":1}`), ErrInvalidModel},
		{"unknown family", doc(strings.Replace(ok, `"openai"`, `"opneai"`, 1) + `}`), ErrInvalidModel},
		{"unknown capability", doc(strings.Replace(ok, `"tools"`, `"telepathy"`, 1) + `}`), ErrInvalidModel},
		{"negative price", doc(strings.Replace(ok, `"input":1`, `"input":-1`, 1) + `}`), ErrInvalidModel},
		{"bad date", doc(strings.Replace(ok, `2026-01-02`, `2026-13-02`, 1) + `}`), ErrInvalidModel},
		{"no source", doc(strings.Replace(ok, `"source":"s"`, `"source":""`, 1) + `}`), ErrInvalidModel},
		{"output over context", doc(strings.Replace(ok, `"max_output":5`, `"max_output":50`, 1) + `}`), ErrInvalidModel},
		{"zero tier threshold", doc(ok + `,"long_context":{"threshold":0,"input":2,"output":2}}`), ErrInvalidModel},
		{"trailing data", append(doc(ok+`}`), []byte(` {}`)...), ErrInvalidModel},
		{"duplicate id", doc(ok+`}`, strings.Replace(ok, `"id":"x"`, `"id":"X"`, 1)+`}`), ErrDuplicateName},
		{"alias clashes with id", doc(ok+`}`, strings.Replace(ok, `"id":"x"`, `"id":"y","aliases":["x"]`, 1)+`}`), ErrDuplicateName},
	}
	for _, tc := range cases {
		if _, err := Parse(tc.data); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }
