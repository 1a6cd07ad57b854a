package anthropic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/providers"
)

// finishReason maps Anthropic's stop_reason to OpenAI's finish_reason.
// pause_turn (a server tool paused a long turn) is a normal stop for an
// OpenAI client; an unknown or missing reason is reported as stop.
func finishReason(stop string) string {
	switch stop {
	case "max_tokens", "model_context_window_exceeded", "compaction":
		return "length"
	case "tool_use":
		return "tool_calls"
	case "refusal":
		return "content_filter"
	}
	return "stop"
}

// nativeUsage is Anthropic's accounting, where input_tokens excludes the
// cache reads and writes.
type nativeUsage struct {
	input, cacheRead, cacheWrite, output int64
}

// merge takes the counts present in u; zero counts do not overwrite
// earlier non-zero ones, because message_delta may repeat or omit them.
// output_tokens is cumulative, so the latest value wins.
func (n *nativeUsage) merge(u gjson.Result) {
	u.ForEach(func(k, v gjson.Result) bool {
		x := v.Int()
		switch k.Str {
		case "input_tokens":
			if x != 0 {
				n.input = x
			}
		case "cache_read_input_tokens":
			if x != 0 {
				n.cacheRead = x
			}
		case "cache_creation_input_tokens":
			if x != 0 {
				n.cacheWrite = x
			}
		case "output_tokens":
			if v.Type == gjson.Number {
				n.output = x
			}
		}
		return true
	})
}

// normalise converts to OpenAI's meaning: the prompt includes cache reads
// and writes. Anthropic does not report thinking tokens separately (they
// are inside output_tokens), so ReasoningTokens stays zero.
func (n nativeUsage) normalise() providers.Usage {
	return providers.Usage{
		PromptTokens:     n.input + n.cacheRead + n.cacheWrite,
		CompletionTokens: n.output,
		CachedTokens:     n.cacheRead,
		CacheWriteTokens: n.cacheWrite,
	}
}

// appendUsage writes an OpenAI usage object.
func appendUsage(b []byte, u providers.Usage) []byte {
	b = append(b, `{"prompt_tokens":`...)
	b = appendInt(b, u.PromptTokens)
	b = append(b, `,"completion_tokens":`...)
	b = appendInt(b, u.CompletionTokens)
	b = append(b, `,"total_tokens":`...)
	b = appendInt(b, u.PromptTokens+u.CompletionTokens)
	b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
	b = appendInt(b, u.CachedTokens)
	b = append(b, `,"cache_write_tokens":`...)
	b = appendInt(b, u.CacheWriteTokens)
	b = append(b, `},"completion_tokens_details":{"reasoning_tokens":`...)
	b = appendInt(b, u.ReasoningTokens)
	return append(b, `}}`...)
}

// convertResponse turns a Messages API answer into a chat.completion.
// Text blocks are concatenated, tool_use blocks become tool calls,
// thinking goes to reasoning_content; redacted thinking and server-tool
// blocks have no OpenAI counterpart and are left out.
func convertResponse(raw []byte, trimmed string, created int64) (*providers.Response, error) {
	if !gjson.ValidBytes(raw) {
		return nil, fmt.Errorf("%w: answer is not JSON", providers.ErrBadResponse)
	}
	root := gjson.ParseBytes(raw)
	if root.Get("type").Str == "error" {
		return nil, fmt.Errorf("%w: upstream error in a 200 answer: %s", providers.ErrBadResponse, root.Get("error.message").String())
	}
	var (
		text, reasoning strings.Builder
		hasText         bool
		calls           []byte
		ncalls          int
		skip            = wsSkipper{rest: trimmed}
	)
	root.Get("content").ForEach(func(_, b gjson.Result) bool {
		switch b.Get("type").Str {
		case "text":
			hasText = true
			text.WriteString(skip.feed(b.Get("text").Str))
		case "thinking":
			reasoning.WriteString(b.Get("thinking").Str)
		case "tool_use":
			if ncalls > 0 {
				calls = append(calls, ',')
			}
			ncalls++
			calls = append(calls, `{"id":`...)
			calls = appendString(calls, b.Get("id").Str)
			calls = append(calls, `,"type":"function","function":{"name":`...)
			calls = appendString(calls, b.Get("name").Str)
			calls = append(calls, `,"arguments":`...)
			calls = appendString(calls, compactInput(b.Get("input")))
			calls = append(calls, `}}`...)
		}
		return true
	})
	var nu nativeUsage
	nu.merge(root.Get("usage"))
	usage := nu.normalise()

	out := make([]byte, 0, 512+text.Len()+reasoning.Len()+len(calls))
	out = append(out, `{"id":`...)
	out = appendString(out, "chatcmpl-"+root.Get("id").Str)
	out = append(out, `,"object":"chat.completion","created":`...)
	out = appendInt(out, created)
	out = append(out, `,"model":`...)
	out = appendString(out, root.Get("model").Str)
	out = append(out, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
	if !hasText && ncalls > 0 {
		out = append(out, "null"...)
	} else {
		out = appendString(out, text.String())
	}
	out = append(out, `,"refusal":null`...)
	if ncalls > 0 {
		out = append(out, `,"tool_calls":[`...)
		out = append(out, calls...)
		out = append(out, ']')
	}
	if reasoning.Len() > 0 {
		out = append(out, `,"reasoning_content":`...)
		out = appendString(out, reasoning.String())
	}
	out = append(out, `},"logprobs":null,"finish_reason":`...)
	out = appendString(out, finishReason(root.Get("stop_reason").Str))
	out = append(out, `}],"usage":`...)
	out = appendUsage(out, usage)
	out = append(out, '}')
	return &providers.Response{Body: out, Usage: usage}, nil
}

// compactInput renders a tool_use input as the compact JSON string OpenAI
// carries in arguments; a missing input is {}.
func compactInput(in gjson.Result) string {
	if !in.Exists() || in.Type == gjson.Null {
		return "{}"
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(in.Raw)); err != nil {
		return in.Raw
	}
	return buf.String()
}

// wsSkipper drops, from the start of a continuation, the whitespace that
// was trimmed off the prefill: the client received it already, and the
// model tends to produce it again (" world" after "Hello"). It stops at
// the first character that differs.
type wsSkipper struct{ rest string }

func (s *wsSkipper) feed(frag string) string {
	if s.rest == "" {
		return frag
	}
	i := 0
	for i < len(frag) && i < len(s.rest) && frag[i] == s.rest[i] {
		i++
	}
	if i < len(frag) {
		s.rest = "" // the continuation went its own way
	} else {
		s.rest = s.rest[i:]
	}
	return frag[i:]
}

func appendInt(b []byte, n int64) []byte {
	return strconv.AppendInt(b, n, 10)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// and U+2028/U+2029 are escaped for JavaScript clients, as encoding/json
// does; <, > and & are left alone.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
