package router

import (
	"encoding/json"
	"strings"
	"testing"
)

// chat builds a chat body: messages alternate user/assistant and the
// extra fields are merged at the top level.
func chat(t testing.TB, extra map[string]any, msgs ...string) []byte {
	t.Helper()
	var ms []map[string]any
	for i, m := range msgs {
		role := "user"
		if i%2 == 1 {
			role = "assistant"
		}
		ms = append(ms, map[string]any{"role": role, "content": m})
	}
	body := map[string]any{"model": "auto", "messages": ms}
	for k, v := range extra {
		body[k] = v
	}
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const refactorPrompt = "Refactor the storage layer across these three files so that the cache, the SQL store and the " +
	"HTTP handlers share one interface. First extract the interface into store.go, then update cache.go and " +
	"handlers.go, and make sure the existing tests still pass. Explain the trade-offs of the design.\n\n" +
	"```go\n// store.go\npackage store\n\ntype SQLStore struct {\n\tdb *sql.DB\n}\n\n" +
	"func (s *SQLStore) Get(ctx context.Context, key string) ([]byte, error) {\n" +
	"\trow := s.db.QueryRowContext(ctx, \"SELECT v FROM kv WHERE k = ?\", key)\n\tvar v []byte\n" +
	"\tif err := row.Scan(&v); err != nil {\n\t\treturn nil, err\n\t}\n\treturn v, nil\n}\n```\n\n" +
	"```go\n// cache.go\npackage store\n\ntype Cache struct {\n\tmu sync.Mutex\n\tm  map[string][]byte\n\tnext *SQLStore\n}\n\n" +
	"func (c *Cache) Get(ctx context.Context, key string) ([]byte, error) {\n\tc.mu.Lock()\n" +
	"\tif v, ok := c.m[key]; ok {\n\t\tc.mu.Unlock()\n\t\treturn v, nil\n\t}\n\tc.mu.Unlock()\n" +
	"\treturn c.next.Get(ctx, key)\n}\n```\n\n" +
	"```go\n// handlers.go\nfunc (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {\n" +
	"\tv, err := h.cache.Get(r.Context(), r.URL.Path)\n\tif err != nil {\n\t\thttp.Error(w, err.Error(), 500)\n" +
	"\t\treturn\n\t}\n\tw.Write(v)\n}\n```"

func legalPrompt() string {
	clause := "The Licensee shall indemnify and hold harmless the Licensor against all claims, damages and " +
		"liabilities arising from any breach of this Agreement, and the Licensor's liability under any warranty " +
		"shall not exceed the fees paid in the twelve months preceding the claim. "
	var b strings.Builder
	b.WriteString("Here is the contract between our company and a supplier:\n\n")
	for i := 0; i < 12; i++ {
		b.WriteString(clause)
		b.WriteString("Either party may terminate this Agreement on ninety days' written notice, unless the other party cures the breach within thirty days. ")
	}
	b.WriteString("\n\nIf the supplier terminates early and a court finds the limitation of liability clause unenforceable " +
		"under the governing law, are we liable for consequential damages, and what should we change before signing?")
	return b.String()
}

const wordProblem = "A bakery sells 48 muffins in the morning. In the afternoon it sells twice as many as in the " +
	"morning, and then a third of the remaining stock is given away. If the bakery started with 200 muffins, " +
	"how many muffins are left at the end of the day?"

func TestClassifierCases(t *testing.T) {
	cases := []struct {
		name        string
		body        []byte
		criticality string
		tier        string // exact tier, or
		atLeast     string // minimum tier
		reason      string // substring of the reason
		check       func(t *testing.T, f Features)
	}{
		{name: "short factual question", body: chat(t, nil, "What is the capital of France?"), tier: "simple", reason: "-> simple"},
		{name: "greeting", body: chat(t, nil, "hi"), tier: "simple"},
		{name: "translation", body: chat(t, nil, "Translate 'good morning' into Spanish."), tier: "simple"},
		{name: "multi-file refactor with code", body: chat(t, nil, refactorPrompt), tier: "complex", reason: "code",
			check: func(t *testing.T, f Features) {
				if !f.Code || f.CodeLanguage != "go" || f.CodeLines < 10 {
					t.Errorf("Code %v, CodeLanguage %q, CodeLines %d; want go code", f.Code, f.CodeLanguage, f.CodeLines)
				}
			}},
		{name: "long legal contract question", body: chat(t, nil, legalPrompt()), tier: "complex", reason: "legal",
			check: func(t *testing.T, f Features) {
				if f.Domain != "legal" {
					t.Errorf("Domain %q, want legal", f.Domain)
				}
			}},
		{name: "math word problem with several steps", body: chat(t, nil, wordProblem), atLeast: "medium",
			check: func(t *testing.T, f Features) {
				if f.Math < 0.3 || f.MultiStep <= 0 {
					t.Errorf("Math %.2f, MultiStep %.2f: want quantitative and multi-step markers", f.Math, f.MultiStep)
				}
			}},
		{name: "proof request", body: chat(t, nil, "Prove that there are infinitely many primes, then derive the density of primes up to n."), atLeast: "medium", reason: "multi_step"},
		{name: "criticality header high", body: chat(t, nil, "What is the capital of France?"), criticality: "high", tier: "complex", reason: "criticality"},
		{name: "criticality header medium", body: chat(t, nil, "What is the capital of France?"), criticality: "Medium", tier: "medium"},
		{name: "llmgate.tier complex", body: chat(t, map[string]any{"llmgate": map[string]any{"tier": "complex"}}, "hello there"), tier: "complex",
			check: func(t *testing.T, f Features) {
				if f.Criticality != "complex" {
					t.Errorf("Criticality %q, want complex", f.Criticality)
				}
			}},
		{name: "tools", body: chat(t, map[string]any{"tools": []any{map[string]any{"type": "function", "function": map[string]any{"name": "get_weather", "parameters": map[string]any{"type": "object"}}}}}, "Weather in Paris?"),
			reason: "tools", check: func(t *testing.T, f Features) {
				if !f.Tools || f.Images || f.JSONSchema {
					t.Errorf("Tools %v Images %v JSONSchema %v, want tools only", f.Tools, f.Images, f.JSONSchema)
				}
			}},
		{name: "empty tools", body: chat(t, map[string]any{"tools": []any{}}, "hi"), check: func(t *testing.T, f Features) {
			if f.Tools {
				t.Error("an empty tools array set Tools")
			}
		}},
		{name: "image", body: []byte(`{"messages":[{"role":"user","content":[{"type":"text","text":"What is in this picture?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]}`),
			reason: "images", check: func(t *testing.T, f Features) {
				if !f.Images || f.Tools || f.JSONSchema {
					t.Errorf("Tools %v Images %v JSONSchema %v, want images only", f.Tools, f.Images, f.JSONSchema)
				}
				if f.Words != 5 {
					t.Errorf("Words %d, want the text part's 5", f.Words)
				}
			}},
		{name: "json schema", body: chat(t, map[string]any{"response_format": map[string]any{"type": "json_schema", "json_schema": map[string]any{"name": "x", "schema": map[string]any{"type": "object"}}}}, "List three colours."),
			reason: "json_schema", check: func(t *testing.T, f Features) {
				if !f.JSONSchema || f.Tools || f.Images {
					t.Errorf("Tools %v Images %v JSONSchema %v, want json_schema only", f.Tools, f.Images, f.JSONSchema)
				}
			}},
		{name: "json object is not a schema", body: chat(t, map[string]any{"response_format": map[string]any{"type": "json_object"}}, "List three colours as JSON."),
			check: func(t *testing.T, f Features) {
				if f.JSONSchema {
					t.Error("json_object set JSONSchema")
				}
			}},
		{name: "long context", body: chat(t, nil, strings.Repeat("The quick brown fox jumps over the lazy dog. ", 2000)+"Which animal jumps?"),
			atLeast: "medium", reason: "long_context"},
		{name: "150k-token prompt", body: chat(t, nil, strings.Repeat("Section 4.2 of the report lists the quarterly figures for each region. ", 8500)+"Summarize the trends."),
			tier: "complex", reason: "long_context", check: func(t *testing.T, f Features) {
				if f.PromptTokens < 140000 || f.PromptTokens > 160000 {
					t.Errorf("PromptTokens %d, want about 150k", f.PromptTokens)
				}
				if f.Words > 15000 {
					t.Errorf("Words %d: a huge text should be sampled", f.Words)
				}
			}},
		{name: "multiple choice with answer options", body: chat(t, nil, "Which planet is known as the red planet?\nA. Venus\nB. Mars\n(C) Jupiter and its moons\nd) Saturn\nAnswer:"),
			tier: "simple", check: func(t *testing.T, f Features) {
				if f.Choices != 7 {
					t.Errorf("Choices %d, want 7 (the words of four options)", f.Choices)
				}
			}},
		{name: "not answer options", body: chat(t, nil, "e.g. the first item\nA.B. Smith wrote it\nA. single labelled line"),
			check: func(t *testing.T, f Features) {
				if f.Choices != 0 {
					t.Errorf("Choices %d, want 0 (abbreviations, one labelled line)", f.Choices)
				}
			}},
		{name: "conversation depth", body: chat(t, nil, "hi", "Hello! How can I help?", "What's 2+2?", "4", "And 3+3?", "6", "Thanks", "You're welcome", "Bye"),
			check: func(t *testing.T, f Features) {
				if f.Messages != 9 {
					t.Errorf("Messages %d, want 9", f.Messages)
				}
			}},
		{name: "code earlier in the conversation", body: chat(t, nil, "```python\ndef f(x):\n    return x * 2\n```", "It doubles x.", "Now add type hints."),
			atLeast: "medium", check: func(t *testing.T, f Features) {
				if !f.Code || f.CodeLanguage != "python" {
					t.Errorf("Code %v, CodeLanguage %q, want python from the earlier message", f.Code, f.CodeLanguage)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, cl := ClassifyRequest(c.body, c.criticality, DefaultWeights())
			t.Logf("score %.3f tier %s reason %q features %+v", cl.Score, cl.Tier, cl.Reason, f)
			if cl.Score < 0 || cl.Score > 1 {
				t.Errorf("score %v out of [0,1]", cl.Score)
			}
			if c.tier != "" && cl.Tier != c.tier {
				t.Errorf("tier %s, want %s (score %.3f, reason %q)", cl.Tier, c.tier, cl.Score, cl.Reason)
			}
			if c.atLeast != "" && tierIndex(cl.Tier) < tierIndex(c.atLeast) {
				t.Errorf("tier %s, want at least %s (score %.3f, reason %q)", cl.Tier, c.atLeast, cl.Score, cl.Reason)
			}
			if !strings.Contains(cl.Reason, c.reason) || !strings.HasSuffix(cl.Reason, "-> "+cl.Tier) {
				t.Errorf("reason %q, want it to contain %q and end in -> %s", cl.Reason, c.reason, cl.Tier)
			}
			if c.check != nil {
				c.check(t, f)
			}
		})
	}
}

func TestClassifierReasoningEffortUpATier(t *testing.T) {
	for _, p := range []string{"What is the capital of France?", wordProblem} {
		_, base := ClassifyRequest(chat(t, nil, p), "", DefaultWeights())
		f, high := ClassifyRequest(chat(t, map[string]any{"reasoning_effort": "high"}, p), "", DefaultWeights())
		if f.ReasoningEffort != "high" {
			t.Fatalf("ReasoningEffort %q, want high", f.ReasoningEffort)
		}
		if tierIndex(high.Tier) != min(tierIndex(base.Tier)+1, 2) || high.Score <= base.Score {
			t.Errorf("%.30q: effort high gave %s %.3f, without %s %.3f; want one tier up and a higher score", p, high.Tier, high.Score, base.Tier, base.Score)
		}
		if !strings.Contains(high.Reason, "reasoning_effort") {
			t.Errorf("reason %q does not name reasoning_effort", high.Reason)
		}
	}
	// The Responses API shape.
	f := ExtractFeatures([]byte(`{"input":"hi","reasoning":{"effort":"HIGH"}}`), "")
	if f.ReasoningEffort != "high" || f.Messages != 1 {
		t.Errorf("Responses API: effort %q messages %d", f.ReasoningEffort, f.Messages)
	}
	// A low effort lowers the score and never the tier below simple.
	_, low := ClassifyRequest(chat(t, map[string]any{"reasoning_effort": "low"}, wordProblem), "", DefaultWeights())
	_, base := ClassifyRequest(chat(t, nil, wordProblem), "", DefaultWeights())
	if low.Score >= base.Score {
		t.Errorf("effort low: score %.3f, without %.3f", low.Score, base.Score)
	}
}

func TestClassifierDeterministic(t *testing.T) {
	bodies := [][]byte{chat(t, nil, refactorPrompt), chat(t, nil, legalPrompt()), chat(t, nil, wordProblem), chat(t, nil, "hi")}
	for _, b := range bodies {
		f1, c1 := ClassifyRequest(b, "", DefaultWeights())
		for i := 0; i < 5; i++ {
			f2, c2 := ClassifyRequest(append([]byte(nil), b...), "", DefaultWeights())
			if f1 != f2 || c1 != c2 {
				t.Fatalf("run %d differs: %+v %+v vs %+v %+v", i, f1, c1, f2, c2)
			}
		}
	}
}

func TestClassifierZeroWeightsMeanDefaults(t *testing.T) {
	b := chat(t, nil, wordProblem)
	_, a := ClassifyRequest(b, "", Weights{})
	_, d := ClassifyRequest(b, "", DefaultWeights())
	if a != d {
		t.Errorf("zero weights %+v, defaults %+v", a, d)
	}
}

func TestClassifierWeightsConfigurable(t *testing.T) {
	w := DefaultWeights()
	if err := w.Set("simple_max", 0.01); err != nil {
		t.Fatal(err)
	}
	if err := w.Set("complex_min", 0.02); err != nil {
		t.Fatal(err)
	}
	if err := w.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, c := ClassifyRequest(chat(t, nil, "hi"), "", w); c.Tier != "complex" {
		t.Errorf("thresholds near 0: tier %s, want complex", c.Tier)
	}
	if err := w.Set("nope", 1); err == nil {
		t.Error("an unknown weight was accepted")
	}
	if err := w.Set("complex_min", 0.001); err != nil || w.Validate() == nil {
		t.Errorf("complex_min below simple_max validated")
	}
	if len(WeightNames()) != 20 {
		t.Errorf("WeightNames: %v", WeightNames())
	}
}

func TestClassifierFeaturesDoNotReferToBody(t *testing.T) {
	b := chat(t, map[string]any{"reasoning_effort": "high"}, "```go\npackage main\nfunc main() {}\n```")
	f := ExtractFeatures(b, "")
	for i := range b {
		b[i] = 'x'
	}
	if f.ReasoningEffort != "high" || f.CodeLanguage != "go" {
		t.Errorf("features changed with the body: %+v", f)
	}
}

func TestClassifierMalformedBodies(t *testing.T) {
	for _, b := range []string{"", "{", "[]", "null", `{"messages":`, `{"messages":{}}`, `{"messages":[1,2,"x",null]}`,
		`{"messages":[{"role":"user","content":"unterminated`, `{"messages":[{"role":"user","content":"\u12"}]}`,
		`{"messages":[{"role":"user","content":"ends in a backslash\`, `{"messages":[{"content":[{"text":5},{"type":"image_url"}]}]}`,
		`{"messages":[{"role":"user","content":"\ud83d\ude00 emoji \ud83d x"}]}`, "\xff\xfe\x00", `{"tools":[`, `{"llmgate":"x","reasoning":7}`} {
		f, c := ClassifyRequest([]byte(b), "", DefaultWeights())
		if c.Score < 0 || c.Score > 1 || c.Tier == "" {
			t.Errorf("%q: %+v %+v", b, f, c)
		}
	}
}

func TestScannerCounts(t *testing.T) {
	sc := newScanner()
	st := &sc.textStats
	sc.scanJSON(`She had 3.5 apples and 1,200 pears; 1/4 of them (25%) cost $3. Then x^2 + 3 = 12 \u2264 20 and \\frac{a}{b}.\n- first step\n- second step\nIt isn't hard. Step by step: main.go and app.py.`)
	got := map[string]int{"fractions": st.fractions, "percent": st.percent, "listItems": st.listItems,
		"stepByStep": st.stepByStep, "fileRefs": st.fileRefs, "sentences": st.sentences}
	for k, v := range map[string]int{"fractions": 1, "percent": 1, "listItems": 2, "stepByStep": 1, "fileRefs": 2, "sentences": 4} {
		if got[k] != v {
			t.Errorf("%s = %d, want %d (stats %+v)", k, got[k], v, st)
		}
	}
	if st.arith < 3 || st.mathSyms != 1 || st.latex != 1 {
		t.Errorf("arith %d mathSyms %d latex %d", st.arith, st.mathSyms, st.latex)
	}
	if st.numbers != 9 {
		t.Errorf("numbers %d, want 9", st.numbers)
	}
}

func FuzzClassify(f *testing.F) {
	f.Add([]byte(`{"messages":[{"role":"user","content":"What is the capital of France?"}]}`), "")
	f.Add(chat(f, map[string]any{"tools": []any{map[string]any{"type": "function"}}, "reasoning_effort": "high"}, refactorPrompt), "high")
	f.Add([]byte(`{"messages":[{"role":"user","content":[{"type":"text","text":"a\\u00e9\\n\\\"b"},{"type":"image_url"}]}],"llmgate":{"tier":"medium"}}`), "low")
	f.Add([]byte(`{"input":[{"role":"user","content":[{"type":"input_text","text":"x = 2 + 3"}]}],"text":{"format":{"type":"json_schema"}}}`), "")
	f.Add([]byte(`{"messages":[{"role":"user","content":"\`), "critical")
	f.Fuzz(func(t *testing.T, body []byte, crit string) {
		f1, c1 := ClassifyRequest(body, crit, DefaultWeights())
		f2, c2 := ClassifyRequest(body, crit, DefaultWeights())
		if f1 != f2 || c1 != c2 {
			t.Fatalf("not deterministic: %+v %+v / %+v %+v", f1, c1, f2, c2)
		}
		if !(c1.Score >= 0 && c1.Score <= 1) || tierIndex(c1.Tier) < 0 || !strings.HasSuffix(c1.Reason, "-> "+c1.Tier) {
			t.Fatalf("bad classification %+v", c1)
		}
		if f1.Math < 0 || f1.Math > 1 || f1.MultiStep < 0 || f1.MultiStep > 1 || f1.PromptTokens < 0 {
			t.Fatalf("features out of range %+v", f1)
		}
	})
}
