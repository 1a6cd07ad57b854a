package mock

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"unicode/utf8"
)

// answerText picks the text of a non-tool answer: a summary of a tool
// result, an echo (which tests use to control the output exactly), a
// sample for a JSON response format, or the canned prose answer.
func answerText(r *chatRequest, model string) string {
	if r.lastRole == "tool" {
		name := "The tool"
		if r.toolName != "" {
			name = "The tool " + r.toolName
		}
		lead := fmt.Sprintf("%s returned: \"%s\". Here is a mock answer from llmgate (model %s) based on it.",
			name, firstRunes(r.toolResult, 60), model)
		return withFiller(lead, r.toolResult, model)
	}
	if rest, ok := echoed(r.lastUser); ok {
		return rest
	}
	switch r.format {
	case "json_schema":
		return string(sampleObject(r.schema, 0))
	case "json_object":
		return string(mustJSON(map[string]string{"answer": proseAnswer(r.lastUser, model)}))
	}
	return proseAnswer(r.lastUser, model)
}

// proseAnswer is the canned answer to a user message: a line quoting it,
// then sentences picked by its hash.
func proseAnswer(user, model string) string {
	lead := fmt.Sprintf("This is a mock answer from llmgate (model %s) to: \"%s\".", model, firstRunes(user, 60))
	return withFiller(lead, user, model)
}

// echoed returns what follows the word "echo" (any case) in msg, dropping
// the single space after it, so a caller can dictate the answer verbatim.
func echoed(msg string) (string, bool) {
	for i := 0; i+4 <= len(msg); i++ {
		if !isEcho(msg[i : i+4]) {
			continue
		}
		prev, _ := utf8.DecodeLastRuneInString(msg[:i])
		next, _ := utf8.DecodeRuneInString(msg[i+4:])
		if (i > 0 && isWordRune(prev)) || (i+4 < len(msg) && isWordRune(next)) {
			continue
		}
		return strings.TrimPrefix(msg[i+4:], " "), true
	}
	return "", false
}

// isEcho compares four bytes with "echo", ignoring ASCII case.
func isEcho(s string) bool {
	for i := range 4 {
		if s[i]|0x20 != "echo"[i] {
			return false
		}
	}
	return true
}

// sentences are the filler the canned answers are built from. They read
// like an assistant's answer so demos look plausible, and say plainly what
// the mock is so nobody mistakes them for a model's output.
var sentences = []string{
	"No real model was called, so this answer cost nothing.",
	"The gateway routed, metered and logged this request exactly as it would for a paid provider.",
	"Streaming clients receive this text one token at a time.",
	"Token counts in the usage block are estimated from the length of the messages.",
	"Configure a real provider with an API key to get genuine answers.",
	"Answers are deterministic, so the same request always gets the same reply.",
	"The mock also supports tool calls, JSON schemas and embeddings.",
	"Model names containing a failure marker let you test retries and fallbacks.",
	"Budgets, rate limits and virtual keys apply to mock traffic too.",
	"You can add pacing options to make the stream feel like a real model.",
	"Everything here happened inside the gateway process, with no network calls.",
	"Swap the model name for a real one when you are ready to go live.",
}

// withFiller appends hash-picked sentences to lead until the answer holds
// 25 to 50 words, never passing 60, so answers vary in length like real
// ones while staying short.
func withFiller(lead, seed, model string) string {
	h := sha256.Sum256([]byte(model + "\x00" + seed))
	target := 25 + int(h[0])%26
	words := len(strings.Fields(lead))
	used := make([]bool, len(sentences))
	picked := []string{lead}
	for _, b := range h[1:] {
		if words >= target {
			break
		}
		k := int(b) % len(sentences)
		if used[k] {
			continue
		}
		n := len(strings.Fields(sentences[k]))
		if words+n > 60 {
			break
		}
		used[k] = true
		picked = append(picked, sentences[k])
		words += n
	}
	return strings.Join(picked, " ")
}
