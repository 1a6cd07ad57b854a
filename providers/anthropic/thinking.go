package anthropic

import (
	"fmt"
	"strconv"
	"strings"
)

// budgets are the thinking budgets for models that take a fixed one.
// 1024 is the API's minimum, so "minimal" cannot go lower.
var budgets = map[string]int64{
	"minimal": 1024,
	"low":     1024,
	"medium":  2048,
	"high":    4096,
	"xhigh":   8192,
	"max":     8192,
}

// adaptiveEfforts maps OpenAI's levels onto the documented
// output_config.effort set (low, medium, high, max). xhigh is not in it
// on every model, so it becomes high rather than risk a 400.
var adaptiveEfforts = map[string]string{
	"minimal": "low",
	"low":     "low",
	"medium":  "medium",
	"high":    "high",
	"xhigh":   "high",
	"max":     "max",
}

// budgetHeadroom is what max_tokens must leave for the answer when it is
// raised above a thinking budget.
const budgetHeadroom = 1024

// applyThinking switches thinking on for a reasoning_effort other than
// none. Thinking excludes a custom temperature, and top_p below 0.95, so
// they are dropped rather than have the request rejected.
func applyThinking(r *nativeRequest, effort string) error {
	budget, ok := budgets[effort]
	if !ok {
		return localError(fmt.Sprintf("reasoning_effort %q is not one of none, minimal, low, medium, high, xhigh, max", effort))
	}
	if adaptiveOnly(r.Model) {
		r.Thinking = &thinking{Type: "adaptive"}
		if r.OutputConfig == nil {
			r.OutputConfig = &outputConfig{}
		}
		r.OutputConfig.Effort = adaptiveEfforts[effort]
	} else {
		r.Thinking = &thinking{Type: "enabled", BudgetTokens: budget}
		if r.MaxTokens <= budget {
			r.MaxTokens = budget + budgetHeadroom
		}
	}
	r.Temperature = nil
	if r.TopP != nil && *r.TopP < 0.95 {
		r.TopP = nil
	}
	return nil
}

// modelVersion is what adaptiveOnly needs from a model id.
type modelVersion struct {
	family       string // opus, sonnet, haiku, or "" when unnamed
	major, minor int
}

// parseModel reads the family and version out of a Claude model id in
// either naming scheme (claude-opus-4-7, claude-3-7-sonnet-20250219),
// with or without a provider prefix (anthropic/…, us.anthropic.…) or
// suffixes (dates, @20251101, -v1:0). Numbers of four digits or more are
// dates, not versions. ok is false when no version was found.
func parseModel(id string) (v modelVersion, ok bool) {
	s := strings.ToLower(id)
	if i := strings.LastIndex(s, "claude-"); i >= 0 {
		s = s[i+len("claude-"):]
	}
	s = strings.NewReplacer(".", "-", "@", "-", ":", "-", "_", "-").Replace(s)
	nums := 0
	for _, tok := range strings.Split(s, "-") {
		switch tok {
		case "opus", "sonnet", "haiku":
			if v.family == "" {
				v.family = tok
			}
			continue
		}
		if nums == 2 || len(tok) == 0 || len(tok) > 3 {
			continue
		}
		n, err := strconv.Atoi(tok)
		if err != nil {
			if nums > 0 {
				nums = 2 // a word after the version ends it ("-v1-0" is a revision)
			}
			continue
		}
		if nums == 0 {
			v.major = n
		} else {
			v.minor = n
		}
		nums++
	}
	return v, nums > 0
}

// adaptiveOnly reports whether a model accepts only adaptive thinking
// (it rejects type "enabled" with a budget): Opus 4.7 and later, and
// every model of generation 5 and later, whatever its family.
func adaptiveOnly(model string) bool {
	v, ok := parseModel(model)
	if !ok {
		return false
	}
	if v.major >= 5 {
		return true
	}
	return v.family == "opus" && v.major == 4 && v.minor >= 7
}
