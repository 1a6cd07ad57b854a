package router

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// The request-difficulty classifier behind routes such as "auto". It reads
// the request body (never decoding it), computes a handful of transparent
// features, adds them up with documented weights into a difficulty score in
// [0, 1], and maps the score to a tier. It is plain deterministic Go: no
// network, no model, no allocation on the hot path beyond the Features
// value itself.
//
// The score is measured by cmd/llmgate-eval on public data (RouteLLM's
// GSM8K and MMLU correctness of a weak and a strong model); every signal
// is a general property of a prompt (length, relational quantities,
// sequencing, notation, terminology density …), never a dataset's strings.

// Features are computed from an OpenAI chat request body.
type Features struct {
	// PromptTokens is the estimated prompt size of the whole request (all
	// messages, tool definitions, images), as in internal/tokens.
	PromptTokens int64
	// Messages is the message depth of the conversation.
	Messages int
	// Words and Clauses are counted in the request text: the last user
	// message (or the prompt / input of the other request shapes). Clauses
	// are sentence ends, commas and clause-joining conjunctions.
	Words, Clauses int
	// Code reports fenced code blocks or code-like lines (in the request
	// text, or a fenced block anywhere in the conversation); CodeLines
	// counts them and CodeLanguage is the best guess ("go", "python", …,
	// or "" when unknown).
	Code         bool
	CodeLanguage string
	CodeLines    int
	// Math is the 0..1 strength of quantitative reasoning,
	// ln(1+m)/ln(17) capped at 1, where m counts relational quantities
	// (twice, half, remaining, average, than …), written fractions (3/4,
	// like "three quarters") and mathematical notation (LaTeX, ∑ ≤ → ×),
	// plus 0.5 per word of mathematical vocabulary (equation, integral,
	// probability …) and 0.1 per number, operator between operands or
	// percentage.
	Math float64
	// MultiStep is the 0..1 strength of multi-step markers,
	// ln(1+s)/ln(17) capped at 1, where s counts sequencing words (first,
	// then, later, initially …) and numbered or bulleted lines, 2 per
	// reasoning or engineering verb (prove, derive, compare, refactor …)
	// and per "step by step", and 0.5 per condition or causal connective
	// (if, unless, suppose, because, therefore …).
	MultiStep float64
	// Terminology is the share of long (10+ letter) words: dense jargon
	// without much structure marks recall questions, which cheap models
	// answer as well as strong ones.
	Terminology float64
	// Recall is the 0..1 strength of definition / recall phrasing (called,
	// known as, refers to, stands for): ln(1+n)/ln(5).
	Recall float64
	// Choices counts the words and numbers of the answer options when the
	// request text lists at least two ("A. …", "b) …", "(C) …" lines), else
	// 0. Picking among given answers is recognition, not generation: the
	// longer the options, the more of the answer the prompt already holds
	// (and the more of its length is not the problem's).
	Choices int
	// Light is the 0..1 strength of light-task verbs (translate,
	// summarize, rephrase, define): ln(1+n)/ln(3).
	Light float64
	// Domain is "legal", "financial", "medical" or "scientific" when the
	// request text uses at least two words (and 1.5%) of that domain's
	// vocabulary, else "". The high-risk domains (legal, financial,
	// medical) go up a tier.
	Domain string
	// ReasoningEffort is the request's reasoning_effort (or
	// reasoning.effort).
	ReasoningEffort string
	// Tools, Images and JSONSchema report tool definitions, image inputs
	// and a json_schema response format.
	Tools, Images, JSONSchema bool
	// Criticality is the X-Llmgate-Criticality header, else the request's
	// llmgate.tier ("" if none).
	Criticality string
}

// Weights are the classifier's weights and thresholds. The raw score is
//
//	Bias + Length·len + Math·Math + MultiStep·MultiStep + Clauses·clauses
//	+ Terminology·Terminology + Recall·Recall + Light·Light + Choices·choices
//	+ Code·code + Conversation·depth + Domain·[high-risk domain]
//	+ Tools·[tools] + Images·[images] + JSONSchema·[json_schema]
//	+ EffortHigh·[effort high|xhigh|max] + EffortLow·[effort none|minimal|low]
//
// where len = log2(1+tokens/16)/log2(1+32768/16) (0 for an empty prompt,
// 1 at 32k tokens), clauses = ln(1+Clauses)/ln(65), choices =
// ln(1+Choices)/ln(257), code = 0.5 + 0.5·
// ln(1+CodeLines)/ln(129) when Code, depth = ln(Messages)/ln(33); the
// score is the logistic of the raw score. The zero value means
// DefaultWeights.
type Weights struct {
	Bias         float64
	Length       float64
	Math         float64
	MultiStep    float64
	Clauses      float64
	Terminology  float64
	Recall       float64
	Light        float64
	Choices      float64
	Code         float64
	Conversation float64
	Domain       float64
	Tools        float64
	Images       float64
	JSONSchema   float64
	EffortHigh   float64
	EffortLow    float64
	// SimpleMax and ComplexMin are the tier thresholds: a score below
	// SimpleMax is simple, at or above ComplexMin complex, medium between.
	SimpleMax, ComplexMin float64
	// LongContextTokens is the prompt size from which a request is at least
	// medium and its reason says long_context.
	LongContextTokens float64
}

// DefaultWeights: Length, Math, MultiStep, Clauses, Terminology and Recall
// were tuned (coarse grid, round values, signs fixed in advance) on the
// even rows of the evaluation data and checked on the odd rows; see
// cmd/llmgate-eval. Choices was set the same way, and checked also
// across subjects (fit on every other MMLU subject, scored on the rest).
// The other signals do not occur in that data: their
// weights are priors, set so that each pushes a request about as much as
// a few markers do, and the rules in Classify carry the rest.
func DefaultWeights() Weights {
	return Weights{
		Bias:              -3.0,  // a bare greeting scores ~0.05
		Length:            4.5,   // +0.41 per doubling of the prompt beyond 16 tokens
		Math:              2.0,   // relational quantities and notation
		MultiStep:         2.0,   // sequencing, conditions, reasoning verbs
		Clauses:           1.75,  // propositions to keep track of
		Terminology:       -4.0,  // jargon-dense recall questions are easy for any model
		Recall:            -1.5,  // "is called", "refers to"
		Light:             -1.0,  // translate, summarize, rephrase
		Choices:           -2.0,  // -1.1 for four options of five words each
		Code:              2.5,   // code in the conversation
		Conversation:      0.5,   // 0.5 at 33 messages
		Domain:            0.25,  // legal, financial or medical (the tier also goes up one)
		Tools:             0.25,  // function calling
		Images:            0.25,  // vision input
		JSONSchema:        0.25,  // structured output
		EffortHigh:        1.0,   // the client asked for deep reasoning (the tier also goes up one)
		EffortLow:         -0.5,  // the client asked for little reasoning
		SimpleMax:         0.35,  // below: simple
		ComplexMin:        0.7,   // at or above: complex
		LongContextTokens: 16000, // long_context: at least medium
	}
}

var weightNames = map[string]func(*Weights) *float64{
	"bias": func(w *Weights) *float64 { return &w.Bias }, "length": func(w *Weights) *float64 { return &w.Length },
	"math": func(w *Weights) *float64 { return &w.Math }, "multi_step": func(w *Weights) *float64 { return &w.MultiStep },
	"clauses": func(w *Weights) *float64 { return &w.Clauses }, "terminology": func(w *Weights) *float64 { return &w.Terminology },
	"recall": func(w *Weights) *float64 { return &w.Recall }, "light": func(w *Weights) *float64 { return &w.Light },
	"choices": func(w *Weights) *float64 { return &w.Choices },
	"code":    func(w *Weights) *float64 { return &w.Code }, "conversation": func(w *Weights) *float64 { return &w.Conversation },
	"domain": func(w *Weights) *float64 { return &w.Domain }, "tools": func(w *Weights) *float64 { return &w.Tools },
	"images": func(w *Weights) *float64 { return &w.Images }, "json_schema": func(w *Weights) *float64 { return &w.JSONSchema },
	"effort_high": func(w *Weights) *float64 { return &w.EffortHigh }, "effort_low": func(w *Weights) *float64 { return &w.EffortLow },
	"simple_max": func(w *Weights) *float64 { return &w.SimpleMax }, "complex_min": func(w *Weights) *float64 { return &w.ComplexMin },
	"long_context_tokens": func(w *Weights) *float64 { return &w.LongContextTokens },
}

// WeightNames lists the names Set accepts (for a route block's options).
func WeightNames() []string {
	out := make([]string, 0, len(weightNames))
	for n := range weightNames {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Set changes one weight or threshold by its snake_case name ("math",
// "simple_max", …); Validate checks the result.
func (w *Weights) Set(name string, v float64) error {
	f, ok := weightNames[name]
	if !ok {
		return fmt.Errorf("unknown classifier weight %q (known: %s)", name, strings.Join(WeightNames(), ", "))
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("classifier weight %s: %v is not a number", name, v)
	}
	*f(w) = v
	return nil
}

// Validate checks the thresholds: 0 < simple_max <= complex_min <= 1.
func (w Weights) Validate() error {
	if w.SimpleMax <= 0 || w.SimpleMax > w.ComplexMin || w.ComplexMin > 1 {
		return fmt.Errorf("classifier thresholds: want 0 < simple_max (%v) <= complex_min (%v) <= 1", w.SimpleMax, w.ComplexMin)
	}
	return nil
}

// Classification is the classifier's verdict.
type Classification struct {
	// Score is the difficulty in [0,1].
	Score float64
	// Tier is "simple", "medium" or "complex".
	Tier string
	// Reason names the features that decided, e.g.
	// "code,long_context -> complex".
	Reason string
}

var classTiers = [3]string{"simple", "medium", "complex"}

// ExtractFeatures computes the features of a chat request body.
// criticality is the X-Llmgate-Criticality header ("" if absent). It never
// panics on malformed input and keeps no reference to body.
func ExtractFeatures(body []byte, criticality string) Features {
	rq := readRequest(bodyString(body))
	sc := newScanner()
	scanContent(&sc, rq.last)
	st := &sc.textStats

	f := Features{
		PromptTokens:    rq.estimateTokens(),
		Messages:        rq.messages,
		Words:           st.words,
		Clauses:         st.sentences + st.commas + st.cls[bitIndex(wConj)],
		CodeLines:       st.codeLines,
		ReasoningEffort: rq.effort,
		Tools:           rq.tools,
		Images:          rq.images > 0,
		JSONSchema:      rq.jsonSchema,
		Criticality:     normCriticality(criticality, rq.tier),
	}
	f.Code = st.fences > 0 || st.codeLines >= 2 || (st.codeLines == 1 && st.lines <= 2) || rq.otherCode || st.fileRefs >= 2
	if f.Code {
		f.CodeLanguage = guessLanguage(st, rq.otherLang)
	}
	notation := st.mathSyms + st.latex
	plain := st.numbers + st.arith + st.percent
	f.Math = logScale(float64(st.cls[bitIndex(wRel)]+notation+st.fractions)+0.5*float64(st.cls[bitIndex(wMath)])+0.1*float64(plain), 16)
	steps := float64(st.cls[bitIndex(wSeq)]+st.listItems+2*st.stepByStep+2*st.cls[bitIndex(wReason)]) +
		0.5*float64(st.cls[bitIndex(wCond)]+st.cls[bitIndex(wCausal)])
	f.MultiStep = logScale(steps, 16)
	if st.words > 0 {
		f.Terminology = float64(st.longWords) / float64(st.words)
	}
	f.Recall = logScale(float64(st.cls[bitIndex(wRecall)]), 4)
	f.Light = logScale(float64(st.cls[bitIndex(wSimple)]), 2)
	if st.choiceLines >= 2 {
		f.Choices = st.choiceTokens
	}
	f.Domain = domainOf(st)
	return f
}

// logScale maps a count to [0,1]: ln(1+x)/ln(1+max), capped at 1.
func logScale(x, max float64) float64 {
	if x <= 0 {
		return 0
	}
	return math.Min(1, math.Log1p(x)/math.Log1p(max))
}

func bitIndex(c wordClass) int {
	i := 0
	for c > 1 {
		c >>= 1
		i++
	}
	return i
}

var domains = [...]struct {
	cls  wordClass
	name string
}{{wLegal, "legal"}, {wFinance, "financial"}, {wMedical, "medical"}, {wScience, "scientific"}}

// domainOf picks the domain with the most vocabulary hits: at least two,
// and at least 1.5% of the words. Ties go to the earlier (riskier) domain.
func domainOf(st *textStats) string {
	best, hits := "", 1
	for _, d := range domains {
		n := st.cls[bitIndex(d.cls)]
		if n > hits && float64(n) >= 0.015*float64(st.words) {
			best, hits = d.name, n
		}
	}
	return best
}

func highRisk(domain string) bool {
	return domain == "legal" || domain == "financial" || domain == "medical"
}

var langVotes = [...]struct {
	cls  wordClass
	name string
}{{wLangGo, "go"}, {wLangPy, "python"}, {wLangJS, "javascript"}, {wLangJava, "java"},
	{wLangRust, "rust"}, {wLangC, "c"}, {wLangSQL, "sql"}, {wLangShell, "shell"}}

// guessLanguage: a fence tag wins, then a tag seen earlier in the
// conversation, then keyword votes (ties go to the earlier language).
func guessLanguage(st *textStats, other string) string {
	if st.fenceLang != "" {
		return st.fenceLang
	}
	if other != "" {
		return other
	}
	best, votes := "", 1
	for _, l := range langVotes {
		if n := st.cls[bitIndex(l.cls)]; n > votes {
			best, votes = l.name, n
		}
	}
	return best
}

// normCriticality canonicalises the header (high, medium, low; "critical"
// counts as high) and falls back to llmgate.tier.
func normCriticality(h, tier string) string {
	switch {
	case h == "":
		return tier
	case strings.EqualFold(h, "high"), strings.EqualFold(h, "critical"):
		return "high"
	case strings.EqualFold(h, "medium"), strings.EqualFold(h, "normal"):
		return "medium"
	case strings.EqualFold(h, "low"):
		return "low"
	}
	if t := internTier(h); t != "" {
		return t
	}
	return "" // unknown values are ignored
}
