// Package responses serves the OpenAI Responses API (POST /v1/responses) on
// top of upstreams that only speak Chat Completions.
//
// The gateway speaks Chat Completions internally. ToChat turns an inbound
// Responses request (plus the stored items of earlier turns, for
// previous_response_id) into a chat request; FromChat and StreamWriter turn
// the chat answer back into a Responses object or event stream that the
// official SDKs and the Codex CLI accept. Everything the chat wire cannot
// carry (built-in tools, item references, stored prompts) is refused with a
// RequestError rather than silently dropped, so a client never gets an
// answer to a question it did not ask.
package responses

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
)

// ErrInvalid wraps every request-translation failure; the message says what
// was wrong (the gateway answers 400 invalid_request_error with it; Param
// names the field).
var ErrInvalid = errors.New("invalid responses request")

// RequestError is a request the chat wire cannot express, or a malformed one.
// Param is the offending field in OpenAI's dotted/indexed notation
// ("input[2].content[0].type"), so the gateway can fill error.param.
type RequestError struct{ Param, Msg string }

func (e *RequestError) Error() string { return e.Msg }

// Unwrap lets callers test with errors.Is(err, ErrInvalid).
func (e *RequestError) Unwrap() error { return ErrInvalid }

// reqErr builds a RequestError; it keeps call sites short.
func reqErr(param, msg string) error { return &RequestError{Param: param, Msg: msg} }

// Meta is what the gateway knows about the response it is building.
type Meta struct {
	ID                 string // "resp_…" (the gateway generates it)
	CreatedAt          int64  // unix seconds
	Model              string // the model that ran
	PreviousResponseID string
}

// newID returns prefix followed by 48 random hex digits, the shape of
// OpenAI's own item ids (msg_67e5…, fc_67e5…). Clients use item ids as map
// keys across turns, so they must be unique, not merely sequential.
func newID(prefix string) string {
	var b [24]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥1.24)
	out := make([]byte, len(prefix)+hex.EncodedLen(len(b)))
	copy(out, prefix)
	hex.Encode(out[len(prefix):], b[:])
	return string(out)
}
