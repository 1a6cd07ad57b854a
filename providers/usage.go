package providers

import "github.com/tidwall/gjson"

// ParseOpenAIUsage normalises an OpenAI-shaped usage object, including the
// dialects of compatible providers: DeepSeek's prompt_cache_hit_tokens,
// OpenRouter's usage.cost, and the cache_write_tokens some providers add.
func ParseOpenAIUsage(u gjson.Result) Usage {
	var out Usage
	u.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "prompt_tokens", "input_tokens":
			out.PromptTokens = v.Int()
		case "completion_tokens", "output_tokens":
			out.CompletionTokens = v.Int()
		case "prompt_tokens_details", "input_tokens_details":
			if c := v.Get("cached_tokens"); c.Exists() {
				out.CachedTokens = c.Int()
			}
			out.CacheWriteTokens = v.Get("cache_write_tokens").Int()
		case "completion_tokens_details", "output_tokens_details":
			out.ReasoningTokens = v.Get("reasoning_tokens").Int()
		case "prompt_cache_hit_tokens":
			if out.CachedTokens == 0 {
				out.CachedTokens = v.Int()
			}
		case "cost":
			if v.Type == gjson.Number {
				out.CostUSD, out.HasCost = v.Float(), true
			}
		}
		return true
	})
	return out
}
