// Package providers defines the seam between the gateway and the upstream
// protocols. Every provider type (openai and its shorthands, mock, and the
// native translators added later) implements Provider; optional behaviour is
// discovered by type assertion rather than a wide interface, so a provider
// never carries "not supported" stubs.
package providers

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// Endpoint names an OpenAI-shaped operation a provider can serve.
type Endpoint string

const (
	// Chat is POST /v1/chat/completions.
	Chat Endpoint = "chat/completions"
	// Embeddings is POST /v1/embeddings.
	Embeddings Endpoint = "embeddings"
	// Responses is OpenAI's POST /v1/responses, for providers that speak
	// it natively (see Speaker); the body is the client's Responses
	// request and events come back in that protocol.
	Responses Endpoint = "responses"
	// Messages is Anthropic's POST /v1/messages, for providers that speak
	// it natively.
	Messages Endpoint = "messages"
	// CountTokens is Anthropic's POST /v1/messages/count_tokens.
	CountTokens Endpoint = "messages/count_tokens"
)

// Speaker is implemented by providers that serve an endpoint other than
// Chat and Embeddings natively: the gateway then passes the client's own
// protocol through instead of translating it to chat and back.
type Speaker interface {
	Speaks(ep Endpoint) bool
}

// Speaks reports whether p serves ep natively.
func Speaks(p Provider, ep Endpoint) bool {
	s, ok := p.(Speaker)
	return ok && s.Speaks(ep)
}

// Request is one upstream call. Body is the client's JSON with only the
// model rewritten and the llmgate extension removed; everything else is
// byte-identical to what the client sent, so passthrough providers can send
// it as is and translators can peek at it with gjson.
type Request struct {
	Endpoint Endpoint
	// Model is the model name as it goes upstream (after any account pin
	// was stripped).
	Model string
	// Body is the request body (OpenAI shape).
	Body []byte
	// Stream reports whether the client asked for a stream.
	Stream bool
	// Timeouts bound this attempt; zero fields mean "no limit".
	Timeouts Timeouts
	// Header holds protocol headers of the client's request that a native
	// passthrough forwards (anthropic-version, anthropic-beta); nil for
	// translated calls.
	Header http.Header
}

// Timeouts bound one attempt. Connect and Headers are enforced by the
// provider's transport; FirstToken and Idle by the stream reader; Total by
// the caller's context.
type Timeouts struct {
	Connect    time.Duration
	Headers    time.Duration
	FirstToken time.Duration
	Idle       time.Duration
	Total      time.Duration
}

// Usage is the token accounting of one call, normalised to OpenAI's
// meaning: CachedTokens and CacheWriteTokens are subsets of PromptTokens,
// ReasoningTokens is a subset of CompletionTokens.
type Usage struct {
	PromptTokens     int64
	CompletionTokens int64
	CachedTokens     int64
	CacheWriteTokens int64
	ReasoningTokens  int64
	// CostUSD is the cost the upstream itself reported (OpenRouter's
	// usage.cost), valid when HasCost is set; it wins over the price table.
	CostUSD float64
	HasCost bool
	// Estimated marks counts that were estimated locally (a stream cut
	// before the upstream reported usage), not reported by the upstream.
	Estimated bool
}

// Known reports whether any token count is present.
func (u Usage) Known() bool { return u.PromptTokens > 0 || u.CompletionTokens > 0 }

// Event is one OpenAI-shaped server-sent event on its way to the client.
type Event struct {
	// Raw is the event exactly as the upstream framed it (including the
	// terminating blank line). Passthrough providers set it so unmodified
	// events reach the client byte for byte; translators leave it nil and
	// the sink frames Data as "data: <Data>\n\n".
	Raw []byte
	// Data is the event's data payload: a chat.completion.chunk JSON object,
	// or "[DONE]"; on a native stream (Responses, Messages), the event's
	// JSON object.
	Data []byte
	// Name is the SSE event name of a native stream ("response.completed",
	// "message_delta"); empty on chat streams, which name no events.
	Name string
	// Comment marks an SSE comment line (": keep-alive"); Data is empty.
	Comment bool
	// Malformed marks an event whose data could not be parsed; the sink
	// logs and drops it, and the stream goes on.
	Malformed bool
	// Done marks the "[DONE]" terminator.
	Done bool
	// Finish reports that the chunk carries a finish_reason for some choice.
	Finish bool
	// UsageOnly marks the extra chunk (choices: []) that only carries usage.
	UsageOnly bool
	// Usage is set when this chunk carries usage (already normalised).
	Usage *Usage
	// More reports that the provider already holds the next complete
	// event (it arrived in the same read), so the sink may write this one
	// without flushing; the last event of a burst always has More unset.
	More bool
	// Tokens is the provider's estimate of how many completion tokens this
	// chunk delivered, used only when the stream ends before usage arrives.
	Tokens int64
}

// Response is a complete non-streaming answer in OpenAI shape.
type Response struct {
	Body  []byte
	Usage Usage
}

// Sink receives a provider's output. The gateway implements it: it writes
// and flushes each event as it arrives, may hold back or rewrite the last
// chunks to attach its own metadata, and tracks whether anything reached
// the client.
type Sink interface {
	// Event delivers one streaming event. It returns ErrStop when the sink
	// has everything it needs (the provider should stop reading and return
	// nil), or another error when the client is gone.
	Event(ev *Event) error
	// Committed reports whether any byte has been written to the client.
	Committed() bool
}

// Provider is one configured upstream account speaking one protocol.
type Provider interface {
	// Do performs a non-streaming call and returns the OpenAI-shaped body.
	Do(ctx context.Context, req *Request) (*Response, error)
	// Stream performs a streaming call, delivering each OpenAI-shaped event
	// to sink as it arrives, and returns the usage the upstream reported
	// (or an estimate, flagged, if it ended early). An error with
	// sink.Committed() false happened before the first byte reached the
	// client and can be retried elsewhere invisibly.
	Stream(ctx context.Context, req *Request, sink Sink) (Usage, error)
}

// ErrStop is returned by Sink.Event when the stream is complete from the
// gateway's point of view; the provider stops reading without error.
var ErrStop = errors.New("stream complete")

// Sentinel causes, matched with errors.Is on the errors providers return.
var (
	// ErrTimeout: a connect, header, first-token, idle or total deadline passed.
	ErrTimeout = errors.New("upstream timed out")
	// ErrNetwork: the upstream could not be reached or the connection broke.
	ErrNetwork = errors.New("upstream unreachable")
	// ErrStreamBroken: the stream ended without its terminator or carried an
	// in-band error.
	ErrStreamBroken = errors.New("upstream stream broken")
	// ErrBadResponse: the upstream answered with something unparseable.
	ErrBadResponse = errors.New("upstream response malformed")
	// ErrNoCredentials is returned by a Factory when the account has no
	// usable credentials (for types whose credentials are not just
	// api_key, such as Bedrock's access keys); the account is skipped with
	// a warning, like an account whose api_key is empty.
	ErrNoCredentials = errors.New("no credentials configured")
)

// StatusError is an upstream answer with a non-2xx status, returned before
// anything was written to the sink.
type StatusError struct {
	Status int
	Header http.Header
	// Body is the upstream's error body as received (the gateway redacts
	// the account key before passing it on).
	Body []byte
	// Code and Message are peeked from the body when it is OpenAI-shaped.
	Code    string
	Message string
	// RetryAfter is parsed from Retry-After / retry-after-ms, zero if none.
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	if e.Message != "" {
		return "upstream status " + http.StatusText(e.Status) + ": " + e.Message
	}
	return "upstream status " + http.StatusText(e.Status)
}

// Capabilities a provider type declares; the router uses them to filter
// candidates (later issues add translators that differ here).
type Capabilities struct {
	Tools, Vision, JSONSchema, Reasoning, AssistantPrefix, Embeddings bool
}

// Capable is implemented by providers that declare capabilities.
type Capable interface {
	Capabilities() Capabilities
}
