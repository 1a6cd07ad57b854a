package router

import (
	"strings"
	"unsafe"

	"github.com/llmgate/llmgate/internal/tokens"
	"github.com/tidwall/gjson"
)

// This file reads an OpenAI-shaped request body without decoding it:
// a small iterator walks the top level and the messages and hands the raw
// inside of each content string to the scanner, so no string is unescaped
// or copied. gjson reads the small nested objects (response_format,
// reasoning, llmgate). Nothing returned refers to the body's memory.

// Framing overhead per message and per request, as in internal/tokens.
const (
	perMessageTokens = 3
	perRequestTokens = 3
	imageTokens      = 85 // a low-detail image
)

// jsonIter walks the members of one JSON object or the elements of one
// array. It never fails loudly: malformed input ends the walk.
type jsonIter struct {
	s   string
	i   int
	obj bool
	key string // raw key, with its quotes (objects only)
	val string // raw value
}

// newIter starts a walk over raw, which must be an object or an array
// (anything else walks nothing).
func newIter(raw string) jsonIter {
	i := skipSpace(raw, 0)
	it := jsonIter{s: raw, i: len(raw)}
	if i < len(raw) && (raw[i] == '{' || raw[i] == '[') {
		it.i, it.obj = i+1, raw[i] == '{'
	}
	return it
}

func (it *jsonIter) next() bool {
	s := it.s
	i := skipSpace(s, it.i)
	if i < len(s) && s[i] == ',' {
		i = skipSpace(s, i+1)
	}
	if i >= len(s) || s[i] == '}' || s[i] == ']' {
		it.i = len(s)
		return false
	}
	if it.obj {
		if s[i] != '"' {
			it.i = len(s)
			return false
		}
		end := skipValue(s, i)
		it.key = s[i:end]
		i = skipSpace(s, end)
		if i >= len(s) || s[i] != ':' {
			it.i = len(s)
			return false
		}
		i = skipSpace(s, i+1)
	}
	end := skipValue(s, i)
	if end <= i {
		it.i = len(s)
		return false
	}
	it.val = s[i:end]
	it.i = end
	return true
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the end of the JSON value starting at i.
func skipValue(s string, i int) int {
	if i >= len(s) {
		return i
	}
	switch s[i] {
	case '"':
		// jump from quote to quote; a quote after an odd run of
		// backslashes is escaped
		for j := i + 1; j < len(s); {
			k := strings.IndexByte(s[j:], '"')
			if k < 0 {
				return len(s)
			}
			q := j + k
			b := q - 1
			for b > i && s[b] == '\\' {
				b--
			}
			if (q-1-b)%2 == 0 {
				return q + 1
			}
			j = q + 1
		}
		return len(s)
	case '{', '[':
		depth := 0
		for j := i; j < len(s); j++ {
			switch s[j] {
			case '"':
				j = skipValue(s, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(s)
	}
	j := i
	for j < len(s) && s[j] != ',' && s[j] != '}' && s[j] != ']' && s[j] != ' ' && s[j] != '\n' && s[j] != '\r' && s[j] != '\t' {
		j++
	}
	return j
}

// strInside is the inside of a raw JSON string ("" if raw is no string).
func strInside(raw string) string {
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		return raw[1 : len(raw)-1]
	}
	return ""
}

// request is what the JSON walk finds besides the text statistics.
type request struct {
	chars      int
	messages   int
	images     int
	otherCode  bool   // a fenced block in an earlier message
	otherLang  string // its tag
	last       string // raw content of the last user message
	tools      bool
	jsonSchema bool
	effort     string
	tier       string
}

// readRequest walks the body's top level once.
func readRequest(s string) request {
	var rq request
	it := newIter(s)
	for it.next() {
		switch it.key {
		case `"messages"`:
			readMessages(&rq, it.val)
		case `"input"`: // the Responses API
			if it.val != "" && it.val[0] == '"' {
				rq.messages++
				rq.chars += len(it.val) - 2
				rq.last = it.val
			} else {
				readMessages(&rq, it.val)
			}
		case `"prompt"`: // legacy completions
			if it.val != "" && it.val[0] == '"' {
				rq.messages++
				rq.chars += len(it.val) - 2
				rq.last = it.val
			}
		case `"tools"`, `"functions"`:
			if nonEmptyArray(it.val) {
				rq.tools = true
				rq.chars += len(it.val)
			}
		case `"response_format"`:
			if gjson.Get(it.val, "type").Str == "json_schema" {
				rq.jsonSchema = true
			}
		case `"text"`: // Responses API structured output
			if gjson.Get(it.val, "format.type").Str == "json_schema" {
				rq.jsonSchema = true
			}
		case `"reasoning_effort"`:
			rq.effort = internEffort(strInside(it.val))
		case `"reasoning"`:
			if rq.effort == "" {
				rq.effort = internEffort(gjson.Get(it.val, "effort").Str)
			}
		case `"llmgate"`:
			rq.tier = internTier(gjson.Get(it.val, "tier").Str)
		}
	}
	return rq
}

func nonEmptyArray(raw string) bool {
	it := newIter(raw)
	return len(raw) > 0 && raw[0] == '[' && it.next()
}

// readMessages counts an array of chat messages (or Responses API input
// items) and remembers the last user message's content.
func readMessages(rq *request, arr string) {
	it := newIter(arr)
	if arr == "" || arr[0] != '[' {
		return
	}
	for it.next() {
		rq.messages++
		var role, content string
		m := newIter(it.val)
		for m.next() {
			switch m.key {
			case `"role"`:
				role = m.val
			case `"content"`:
				content = m.val
			case `"tool_calls"`, `"function_call"`:
				rq.chars += len(m.val)
			}
		}
		if content == "" {
			continue
		}
		if content[0] == '"' {
			rq.chars += len(content) - 2
		} else if content[0] == '[' {
			p := newIter(content)
			for p.next() {
				if p.val[0] == '"' {
					rq.chars += len(p.val) - 2
					continue
				}
				f := newIter(p.val)
				for f.next() {
					switch f.key {
					case `"text"`:
						rq.chars += len(f.val) - 2
					case `"type"`:
						switch f.val {
						case `"image_url"`, `"input_image"`, `"image"`:
							rq.images++
						}
					}
				}
			}
		}
		if role == `"user"` {
			if rq.last != "" {
				noteCode(rq, rq.last)
			}
			rq.last = content
		} else if role != `"system"` && role != `"developer"` {
			noteCode(rq, content)
		}
	}
}

// noteCode looks for a fenced code block in a message other than the one
// scanned in full.
func noteCode(rq *request, raw string) {
	i := strings.Index(raw, "```")
	if i < 0 {
		return
	}
	rq.otherCode = true
	j := i + 3
	for j < len(raw) && j-i < 16 && (raw[j] >= 'a' && raw[j] <= 'z' || raw[j] >= '0' && raw[j] <= '9' || raw[j] == '+' || raw[j] == '#') {
		j++
	}
	if lang, ok := fenceLangs[raw[i+3:j]]; ok && rq.otherLang == "" {
		rq.otherLang = lang
	}
}

// scanContent scans a message content: a string, or an array of parts
// whose text parts are scanned in turn.
func scanContent(sc *scanner, raw string) {
	if raw == "" {
		return
	}
	if raw[0] == '"' {
		scanText(sc, strInside(raw))
		return
	}
	p := newIter(raw)
	for p.next() {
		if p.val[0] == '"' {
			scanText(sc, strInside(p.val))
			continue
		}
		f := newIter(p.val)
		for f.next() {
			if f.key == `"text"` {
				scanText(sc, strInside(f.val))
			}
		}
	}
}

// A very long text is sampled: its head and its tail (where the question
// usually is). The markers saturate long before, and the prompt's size is
// counted separately, so the sample changes nothing but the time taken.
const (
	scanHead = 24 << 10
	scanTail = 8 << 10
)

func scanText(sc *scanner, raw string) {
	if len(raw) <= scanHead+scanTail {
		sc.scanJSON(raw)
		return
	}
	sc.scanJSON(raw[:scanHead])
	tail := raw[len(raw)-scanTail:]
	if i := strings.IndexByte(tail, ' '); i >= 0 {
		tail = tail[i:] // start between words, never inside an escape
	}
	sc.scanJSON(tail)
}

var efforts = []string{"none", "minimal", "low", "medium", "high", "xhigh", "max"}

// internEffort returns the canonical constant for a reasoning effort, so
// the features never point into the body.
func internEffort(s string) string {
	if s == "" {
		return ""
	}
	for _, e := range efforts {
		if strings.EqualFold(s, e) {
			return e
		}
	}
	return strings.Clone(s)
}

func internTier(s string) string {
	for _, t := range [...]string{"simple", "medium", "complex"} {
		if strings.EqualFold(s, t) {
			return t
		}
	}
	return ""
}

// bodyString views body as a string without copying; the caller must not
// keep any part of it.
func bodyString(body []byte) string {
	if len(body) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(body), len(body))
}

// estimateTokens mirrors tokens.EstimatePrompt over the counted characters.
func (rq *request) estimateTokens() int64 {
	n := tokens.FromChars(rq.chars+rq.images*imageTokens*4) + int64(rq.messages)*perMessageTokens
	if rq.messages > 0 {
		n += perRequestTokens
	}
	return n
}
