// Package messages lets clients of Anthropic's Messages API (Claude Code,
// the Anthropic SDKs) use upstreams that are not Anthropic. The gateway
// speaks OpenAI Chat Completions to every provider, so an inbound
// POST /v1/messages is translated to a chat request (ToChat), and the chat
// answer back to an Anthropic message (FromChat) or event stream
// (StreamWriter). Errors and count_tokens are answered in Anthropic's
// shapes too, because the SDKs parse them.
//
// This is the inverse of providers/anthropic, which turns chat requests
// into Anthropic ones; the two share no code on purpose, so that either
// side can follow its own API's changes.
package messages

import (
	"crypto/rand"
	"errors"
	"strconv"

	"github.com/llmgate/llmgate/providers"
)

// ErrInvalid is the sentinel of every request this package refuses; the
// gateway answers it with a 400 invalid_request_error.
var ErrInvalid = errors.New("invalid messages request")

// RequestError is a request that cannot be translated, naming the field
// at fault the way Anthropic's 400s do ("max_tokens: field required").
type RequestError struct{ Param, Msg string }

func (e *RequestError) Error() string {
	if e.Param == "" {
		return e.Msg
	}
	return e.Param + ": " + e.Msg
}

// Unwrap makes errors.Is(err, ErrInvalid) hold.
func (e *RequestError) Unwrap() error { return ErrInvalid }

func invalid(param, msg string) error { return &RequestError{Param: param, Msg: msg} }

// Meta is what the gateway knows about the message it is building.
type Meta struct {
	ID    string // "msg_…" (the gateway generates it)
	Model string // the model that ran
	// InputTokens is the gateway's estimate of the prompt tokens, for
	// message_start (real counts arrive at the end).
	InputTokens int64
}

// messageID is m.ID, or a fresh Anthropic-looking id when the gateway
// gave none: the SDKs keep the id and some clients key on it.
func (m Meta) messageID() string {
	if m.ID != "" {
		return m.ID
	}
	return newID("msg_")
}

const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// newID returns prefix followed by 24 random base62 characters, the
// length of Anthropic's own ids ("toolu_01…", "msg_01…").
func newID(prefix string) string {
	var r [24]byte
	_, _ = rand.Read(r[:]) // never fails (crypto/rand panics instead)
	b := make([]byte, 0, len(prefix)+len(r))
	b = append(b, prefix...)
	for _, c := range r {
		b = append(b, idAlphabet[int(c)%len(idAlphabet)])
	}
	return string(b)
}

// stopReason maps a chat finish_reason to Anthropic's stop_reason. A
// "stop" that came with tool calls (some compatible servers say so) is
// reported as tool_use, because agent loops such as Claude Code's only run
// tools on tool_use. Chat does not say which stop sequence matched, so
// "stop_sequence" is never reported.
func stopReason(finish string, toolUse bool) string {
	switch finish {
	case "length":
		return "max_tokens"
	case "tool_calls", "function_call":
		return "tool_use"
	case "content_filter":
		return "refusal"
	}
	if toolUse {
		return "tool_use"
	}
	return "end_turn"
}

// appendUsage appends Anthropic's usage object. Anthropic's input_tokens
// excludes cache reads and writes (the three add up to the prompt), while
// chat's prompt_tokens includes them.
func appendUsage(b []byte, u providers.Usage) []byte {
	in := max(u.PromptTokens-u.CachedTokens-u.CacheWriteTokens, 0)
	b = append(b, `"usage":{"input_tokens":`...)
	b = appendInt(b, in)
	b = append(b, `,"cache_creation_input_tokens":`...)
	b = appendInt(b, u.CacheWriteTokens)
	b = append(b, `,"cache_read_input_tokens":`...)
	b = appendInt(b, u.CachedTokens)
	b = append(b, `,"output_tokens":`...)
	b = appendInt(b, u.CompletionTokens)
	return append(b, '}')
}

// appendInt appends n, clamping the negative counts a confused upstream
// could produce to 0.
func appendInt(b []byte, n int64) []byte { return strconv.AppendInt(b, max(n, 0), 10) }
