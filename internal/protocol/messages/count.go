package messages

import (
	"bytes"
	"encoding/base64"

	"github.com/tidwall/gjson"
)

const (
	// imageTokens is what one image counts: Anthropic's images are
	// scaled to at most ~1.15 megapixels, about 1,600 tokens.
	imageTokens = 1600
	// pdfPageTokens is what one PDF page counts (its text and its page
	// image); Anthropic documents 1,500 to 3,000 tokens a page.
	pdfPageTokens = 2000
	// pdfBytesPerPage guesses the page count of a PDF whose page objects
	// are compressed out of sight.
	pdfBytesPerPage = 100 << 10
)

// CountTokens answers POST /v1/messages/count_tokens locally:
// {"input_tokens":N}. est estimates the tokens of a text; it is applied to
// the system text, every text, tool_use and tool_result block, and each
// tool's JSON. Images count imageTokens each, PDFs pdfPageTokens a page.
// Thinking and server tool blocks count nothing, as ToChat drops them
// before the upstream sees them.
func CountTokens(body []byte, est func(string) int64) ([]byte, error) {
	if est == nil {
		est = func(s string) int64 { return int64(len(s)+3) / 4 }
	}
	if !gjson.ValidBytes(body) {
		return nil, invalid("", "request body is not valid JSON")
	}
	r := gjson.ParseBytes(body)
	msgs := r.Get("messages")
	if !msgs.IsArray() {
		return nil, invalid("messages", "field required (an array of messages)")
	}
	var n int64
	sys := r.Get("system")
	if sys.Type == gjson.String {
		n += est(sys.Str)
	} else {
		for _, b := range sys.Array() {
			n += countBlock(b, est)
		}
	}
	for _, m := range msgs.Array() {
		c := m.Get("content")
		if c.Type == gjson.String {
			n += est(c.Str)
			continue
		}
		for _, b := range c.Array() {
			n += countBlock(b, est)
		}
	}
	for _, t := range r.Get("tools").Array() {
		n += est(t.Raw)
	}
	b := append([]byte(`{"input_tokens":`), appendInt(nil, n)...)
	return append(b, '}'), nil
}

func countBlock(b gjson.Result, est func(string) int64) int64 {
	switch b.Get("type").Str {
	case "text":
		return est(b.Get("text").Str)
	case "image":
		return imageTokens
	case "tool_use":
		return est(b.Get("name").Str) + est(b.Get("input").Raw)
	case "tool_result":
		c := b.Get("content")
		if c.Type == gjson.String {
			return est(c.Str)
		}
		var n int64
		for _, cb := range c.Array() {
			n += countBlock(cb, est)
		}
		return n
	case "document":
		src := b.Get("source")
		switch src.Get("type").Str {
		case "text":
			return est(src.Get("data").Str)
		case "content":
			c := src.Get("content")
			if c.Type == gjson.String {
				return est(c.Str)
			}
			var n int64
			for _, cb := range c.Array() {
				n += countBlock(cb, est)
			}
			return n
		case "base64":
			return pdfPages(src.Get("data").Str) * pdfPageTokens
		}
		return pdfPageTokens
	}
	return 0
}

// pdfPages counts a base64 PDF's page objects ("/Type /Page", not the
// "/Type /Pages" tree nodes). When they sit in compressed object streams,
// it guesses from the size.
func pdfPages(b64 string) int64 {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return 1
	}
	var n int
	for _, pat := range [...]string{"/Type /Page", "/Type/Page"} {
		n += bytes.Count(raw, []byte(pat)) - bytes.Count(raw, []byte(pat+"s"))
	}
	if n > 0 {
		return int64(n)
	}
	return int64(max(1, len(raw)/pdfBytesPerPage))
}
