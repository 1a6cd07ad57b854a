// Package tokens estimates token counts locally, for the moments when the
// upstream has not (yet) reported them: a stream the client abandoned, a
// rate limit that must be checked before the call. The estimate is the
// usual four characters per token over the text the model reads, plus
// OpenAI's per-message framing overhead; it is labelled as an estimate
// wherever it is recorded.
package tokens

import "github.com/tidwall/gjson"

// perMessage is OpenAI's framing overhead per chat message; perRequest is
// the priming of the reply.
const (
	perMessage = 3
	perRequest = 3
)

// FromChars converts a character count to an estimated token count.
func FromChars(n int) int64 {
	return int64((n + 3) / 4)
}

// EstimatePrompt estimates the prompt tokens of an OpenAI-shaped chat or
// embeddings request body without decoding it.
func EstimatePrompt(body []byte) int64 {
	var chars int
	var msgs int64
	gjson.GetBytes(body, "messages").ForEach(func(_, m gjson.Result) bool {
		msgs++
		chars += contentChars(m.Get("content"))
		m.Get("tool_calls").ForEach(func(_, tc gjson.Result) bool {
			chars += len(tc.Get("function.name").Str) + len(tc.Get("function.arguments").Str)
			return true
		})
		return true
	})
	if in := gjson.GetBytes(body, "input"); in.Exists() {
		chars += contentChars(in)
	}
	if t := gjson.GetBytes(body, "tools"); t.Exists() {
		chars += len(t.Raw)
	}
	n := FromChars(chars) + msgs*perMessage
	if msgs > 0 {
		n += perRequest
	}
	return n
}

func contentChars(c gjson.Result) int {
	switch {
	case c.Type == gjson.String:
		return len(c.Str)
	case c.IsArray():
		n := 0
		c.ForEach(func(_, p gjson.Result) bool {
			switch {
			case p.Type == gjson.String:
				n += len(p.Str)
			case p.Get("text").Exists():
				n += len(p.Get("text").Str)
			case p.Get("type").Str == "image_url":
				n += 85 * 4 // a low-detail image costs about 85 tokens
			}
			return true
		})
		return n
	}
	return 0
}
