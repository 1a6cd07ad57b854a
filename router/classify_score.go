package router

import (
	"math"
	"strings"
	"sync"
	"sync/atomic"
)

// ClassifyRequest extracts the features of a request body and classifies
// them.
func ClassifyRequest(body []byte, criticality string, w Weights) (Features, Classification) {
	f := ExtractFeatures(body, criticality)
	return f, Classify(f, w)
}

// Reason tokens, in the order they are listed.
const (
	rsnLongContext uint32 = 1 << iota
	rsnLength
	rsnCode
	rsnMath
	rsnMultiStep
	rsnClauses
	rsnLegal
	rsnFinancial
	rsnMedical
	rsnScientific
	rsnTools
	rsnImages
	rsnJSONSchema
	rsnConversation
	rsnEffortHigh
	rsnEffortLow
	rsnCriticality
	rsnTerminology
	rsnRecall
	rsnLight
	rsnChoices
	rsnShort
	rsnCount = iota
)

var reasonNames = [rsnCount]string{"long_context", "length", "code", "math", "multi_step",
	"clauses", "legal", "financial", "medical", "scientific", "tools", "images", "json_schema",
	"conversation", "reasoning_effort", "low_effort", "criticality", "terminology", "recall",
	"light_task", "choices", "short"}

// Classify scores features with weights (the zero Weights mean
// DefaultWeights) and picks the tier:
//   - the score's tier (below SimpleMax simple, from ComplexMin complex);
//   - at least medium for code, a prompt of LongContextTokens or more, or
//     criticality "medium";
//   - one tier up for a high-risk domain (legal, financial, medical) and
//     one for reasoning_effort high, xhigh or max;
//   - complex for criticality "high" (or llmgate.tier "complex").
//
// A criticality or llmgate.tier of "low"/"simple" changes nothing; the
// gateway applies llmgate.tier as a floor itself.
func Classify(f Features, w Weights) Classification {
	if w == (Weights{}) {
		w = DefaultWeights()
	}
	var why uint32
	// The signals' contributions, for the reason.
	lenC, mathC, stepC, clauseC := 0.0, w.Math*f.Math, w.MultiStep*f.MultiStep, w.Clauses*logScale(float64(f.Clauses), 64)
	if f.PromptTokens > 0 {
		lenC = w.Length * math.Min(1, math.Log2(1+float64(f.PromptTokens)/16)/math.Log2(1+32768.0/16))
	}
	raw := w.Bias + lenC + mathC + stepC + clauseC
	raw += w.Terminology*f.Terminology + w.Recall*f.Recall + w.Light*f.Light
	choiceC := w.Choices * logScale(float64(f.Choices), 256)
	raw += choiceC
	if f.Code {
		raw += w.Code * (0.5 + 0.5*logScale(float64(f.CodeLines), 128))
		why |= rsnCode
	}
	if f.Messages > 1 {
		raw += w.Conversation * logScale(float64(f.Messages-1), 32)
	}
	if highRisk(f.Domain) {
		raw += w.Domain
	}
	if f.Tools {
		raw += w.Tools
		why |= rsnTools
	}
	if f.Images {
		raw += w.Images
		why |= rsnImages
	}
	if f.JSONSchema {
		raw += w.JSONSchema
		why |= rsnJSONSchema
	}
	effortUp := false
	switch f.ReasoningEffort {
	case "high", "xhigh", "max":
		raw += w.EffortHigh
		why |= rsnEffortHigh
		effortUp = true
	case "none", "minimal", "low":
		raw += w.EffortLow
		why |= rsnEffortLow
	}
	score := 1 / (1 + math.Exp(-raw))
	if math.IsNaN(score) {
		score = 0
	}

	tier := 0
	switch {
	case score >= w.ComplexMin:
		tier = 2
	case score >= w.SimpleMax:
		tier = 1
	}
	long := w.LongContextTokens > 0 && float64(f.PromptTokens) >= w.LongContextTokens
	if (f.Code || long) && tier < 1 {
		tier = 1
	}
	if f.Criticality == "medium" && tier < 1 {
		tier = 1
		why |= rsnCriticality
	}
	if highRisk(f.Domain) {
		tier++
	}
	if effortUp {
		tier++
	}
	if f.Criticality == "high" || f.Criticality == "complex" {
		tier = 2
		why |= rsnCriticality
	}
	tier = min(tier, 2)

	// The reason: every rule that applied and every signal that pushed.
	switch {
	case long:
		why |= rsnLongContext
	case f.PromptTokens >= 256:
		why |= rsnLength
	}
	if mathC >= 0.5 {
		why |= rsnMath
	}
	if stepC >= 0.5 {
		why |= rsnMultiStep
	}
	if clauseC >= 1 {
		why |= rsnClauses
	}
	switch f.Domain {
	case "legal":
		why |= rsnLegal
	case "financial":
		why |= rsnFinancial
	case "medical":
		why |= rsnMedical
	case "scientific":
		why |= rsnScientific
	}
	if f.Messages >= 8 {
		why |= rsnConversation
	}
	if tier == 0 {
		if w.Terminology*f.Terminology <= -0.4 {
			why |= rsnTerminology
		}
		if w.Recall*f.Recall <= -0.25 {
			why |= rsnRecall
		}
		if w.Light*f.Light <= -0.25 {
			why |= rsnLight
		}
		if choiceC <= -0.5 {
			why |= rsnChoices
		}
	}
	if why == 0 {
		// nothing stood out: a short plain prompt, or name the largest push
		switch top := max(lenC-w.Length*0.2, mathC, stepC, clauseC); {
		case tier == 0 || top <= 0:
			why = rsnShort
		case top == mathC:
			why = rsnMath
		case top == stepC:
			why = rsnMultiStep
		case top == clauseC:
			why = rsnClauses
		default:
			why = rsnLength
		}
	}
	return Classification{Score: score, Tier: classTiers[tier], Reason: reasonString(why, tier)}
}

// Reason strings are built once per combination and cached, so the hot
// path does not allocate: readers load an immutable map, writers copy it.
var (
	reasonMu    sync.Mutex
	reasonCache atomic.Pointer[map[uint32]string]
)

const reasonCacheMax = 4096

func reasonString(why uint32, tier int) string {
	key := why<<2 | uint32(tier)
	if m := reasonCache.Load(); m != nil {
		if s, ok := (*m)[key]; ok {
			return s
		}
	}
	var b strings.Builder
	for i := 0; i < rsnCount; i++ {
		if why&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(reasonNames[i])
		}
	}
	if b.Len() == 0 {
		b.WriteString("plain")
	}
	b.WriteString(" -> ")
	b.WriteString(classTiers[tier])
	s := b.String()

	reasonMu.Lock()
	defer reasonMu.Unlock()
	old := reasonCache.Load()
	n := 0
	if old != nil {
		n = len(*old)
	}
	if n >= reasonCacheMax {
		return s
	}
	m := make(map[uint32]string, n+1)
	if old != nil {
		for k, v := range *old {
			m[k] = v
		}
	}
	m[key] = s
	reasonCache.Store(&m)
	return s
}
