package catalog

import (
	"regexp"
	"strings"
)

// dateSuffix matches the snapshot suffixes vendors append to a model name:
// -2024-08-06 (OpenAI), -20250929 (Anthropic) and -0613 (older OpenAI).
var dateSuffix = regexp.MustCompile(`-(\d{4}-\d{2}-\d{2}|\d{8}|\d{4})$`)

// key normalises a name for the index; lookups are case-insensitive because
// clients and upstreams disagree on case ("GPT-4o", "gpt-4o").
func key(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// candidates lists the names Lookup tries, in order: the name itself, the
// name without a date suffix, the last path segment (OpenRouter's
// "openai/gpt-4o-mini", Fireworks' "accounts/fireworks/models/x"), and that
// segment without a date suffix. Trying the undated full name before the
// bare segment keeps "openai/gpt-4o-2024-08-06" on the OpenRouter entry.
func candidates(name string) []string {
	k := key(name)
	out := []string{k}
	add := func(s string) {
		if s != "" && s != out[len(out)-1] {
			out = append(out, s)
		}
	}
	add(dateSuffix.ReplaceAllString(k, ""))
	if i := strings.LastIndexByte(k, '/'); i >= 0 {
		last := k[i+1:]
		add(last)
		add(dateSuffix.ReplaceAllString(last, ""))
	}
	return out
}
