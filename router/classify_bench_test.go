package router

import (
	"strings"
	"testing"
)

// prompt2KB is a 2 KB request text with prose, numbers, a condition and a
// little code: every branch of the scanner runs.
func prompt2KB() string {
	var b strings.Builder
	parts := []string{
		"A warehouse ships 1,250 parcels on Monday and twice as many on Tuesday. ",
		"If 15% of Tuesday's parcels are returned, how many remain, and what is the average per day? ",
		"First compute the totals, then compare them with last week's 3.5k average; explain why they differ. ",
		"The contract says the carrier's liability is limited to $2.50 per parcel unless negligence is proven. ",
		"```python\ndef total(days):\n    return sum(d.count for d in days)\n```\n",
		"Use x^2 + 3x = 12 \u2264 20 and \\frac{a}{b} where needed; don't round until the last step.\n",
	}
	for b.Len() < 2048 {
		for _, p := range parts {
			if b.Len() >= 2048 {
				break
			}
			b.WriteString(p)
		}
	}
	return b.String()[:2048]
}

func BenchmarkClassify(b *testing.B) {
	body := chat(b, nil, prompt2KB())
	w := DefaultWeights()
	ClassifyRequest(body, "", w) // warm the reason cache
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ClassifyRequest(body, "", w)
	}
}

func BenchmarkClassifyShort(b *testing.B) {
	body := chat(b, nil, "What is the capital of France?")
	w := DefaultWeights()
	ClassifyRequest(body, "", w)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ClassifyRequest(body, "", w)
	}
}

func BenchmarkClassifyConversation(b *testing.B) {
	turns := []string{prompt2KB(), "Here is my answer: 42.", "Now do the same for Wednesday, step by step."}
	body := chat(b, map[string]any{"tools": []any{map[string]any{"type": "function", "function": map[string]any{"name": "lookup"}}}, "reasoning_effort": "high"}, turns...)
	w := DefaultWeights()
	ClassifyRequest(body, "", w)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ClassifyRequest(body, "", w)
	}
}

// BenchmarkClassifyHuge: a 600 KB (150k-token) prompt is sampled, so it
// costs about as much as 64 KB.
func BenchmarkClassifyHuge(b *testing.B) {
	body := chat(b, nil, strings.Repeat(prompt2KB(), 300))
	w := DefaultWeights()
	ClassifyRequest(body, "", w)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ClassifyRequest(body, "", w)
	}
}

// TestClassifyAllocations pins the hot path at zero heap allocations: the
// Features value is returned by value and the reason string is cached.
func TestClassifyAllocations(t *testing.T) {
	w := DefaultWeights()
	for _, body := range [][]byte{chat(t, nil, prompt2KB()), chat(t, nil, refactorPrompt), chat(t, nil, legalPrompt()),
		[]byte(`{"messages":[{"role":"user","content":[{"type":"text","text":"caf\u00e9 \"quoted\"\n"},{"type":"image_url","image_url":{"url":"x"}}]}],"response_format":{"type":"json_schema"},"reasoning_effort":"high"}`)} {
		ClassifyRequest(body, "high", w)
		if n := testing.AllocsPerRun(100, func() { ClassifyRequest(body, "high", w) }); n != 0 {
			t.Errorf("%d allocations per classification of %.40q", int(n), body)
		}
	}
}
