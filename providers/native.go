package providers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/providers/sse"
)

// Native describes one event of a native (non-chat) stream, as read by a
// provider's Inspect function.
type Native struct {
	// Usage, when set, is the usage reported so far (normalised,
	// cumulative: the inspector merges partial reports itself).
	Usage *Usage
	// Output marks an event that delivers generated content (a text or
	// arguments delta, a content block); the first one commits the stream.
	Output bool
	// Terminal marks the protocol's last event (response.completed,
	// response.failed, message_stop, or Anthropic's error event).
	Terminal bool
	// Err reports a failure the upstream announced inside the stream.
	Err error
}

// Inspect reads one native event by its SSE name and data.
type Inspect func(name string, data []byte) Native

// RelayNative passes a native event stream (the Responses API's or
// Anthropic's) through to sink byte for byte, reading usage in passing.
//
// Lifecycle events that come before any output (response.created,
// message_start, pings) are held back and delivered just before the first
// output event: they arrive at once even when the model is slow, and an
// upstream that fails before producing anything (an in-stream
// insufficient_quota or overloaded error) then fails before a byte reached
// the client, so the gateway can move to another account invisibly.
func RelayNative(ctx context.Context, wd *Watchdog, resp *http.Response, t Timeouts, sink Sink, inspect Inspect) (Usage, error) {
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" && mt != "" {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return Usage{}, fmt.Errorf("%w: expected an event stream, got %s: %.200s", ErrBadResponse, mt, b)
	}
	wd.Arm("first token", t.FirstToken)
	var (
		r       = sse.NewReader(resp.Body)
		usage   Usage
		got     bool
		tokens  int64
		output  bool
		held    []Event
		failure error
	)
	result := func() Usage {
		if got {
			return usage
		}
		return Usage{CompletionTokens: tokens, Estimated: true}
	}
	deliver := func(ev *Event) error {
		if err := sink.Event(ev); err != nil {
			if errors.Is(err, ErrStop) {
				return ErrStop
			}
			return err
		}
		return nil
	}
	for {
		e, err := r.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				if failure != nil {
					return result(), failure
				}
				return result(), fmt.Errorf("%w: stream ended before its terminal event", ErrStreamBroken)
			}
			return result(), Classify(ctx, err)
		}
		ev := Event{Raw: e.Raw, Name: string(e.Name), Data: e.Data, More: r.EventBuffered()}
		if e.Comment || e.Data == nil {
			ev.Comment = true
			if output {
				if err := deliver(&ev); err != nil {
					return result(), stopErr(err)
				}
			}
			continue
		}
		if !gjson.ValidBytes(e.Data) {
			ev.Malformed = true
			if err := deliver(&ev); err != nil {
				return result(), stopErr(err)
			}
			continue
		}
		n := inspect(ev.Name, e.Data)
		if n.Usage != nil {
			usage, got = *n.Usage, true
			ev.Usage = &usage
		}
		if n.Err != nil && failure == nil {
			failure = fmt.Errorf("%w: upstream error in stream: %w", ErrStreamBroken, n.Err)
			if !output && !sink.Committed() {
				// Nothing reached the client: fail now, invisibly, as the
				// status the error stands for when it names one (a quota
				// stop moves to the next account, overload retries).
				var se *StatusError
				if errors.As(n.Err, &se) {
					return result(), se
				}
				return result(), failure
			}
		}
		if n.Output {
			ev.Tokens = 1
			tokens++
			wd.Arm("stream event", t.Idle)
		}
		ev.Done = n.Terminal
		if !output && !n.Output && !n.Terminal {
			// Copy: the reader reuses its buffers.
			ev.Raw, ev.Data = append([]byte(nil), ev.Raw...), append([]byte(nil), ev.Data...)
			held = append(held, ev)
			continue
		}
		output = true
		for i := range held {
			held[i].More = true
			if err := deliver(&held[i]); err != nil {
				return result(), stopErr(err)
			}
		}
		held = nil
		err = deliver(&ev)
		if n.Terminal || err != nil {
			if failure != nil && (err == nil || errors.Is(err, ErrStop)) {
				return result(), failure
			}
			return result(), stopErr(err)
		}
	}
}

func stopErr(err error) error {
	if errors.Is(err, ErrStop) {
		return nil
	}
	return err
}

// NativeError is an upstream failure reported inside a native stream.
type NativeError struct {
	Type, Code, Message string
}

// StreamFailure turns an in-stream error object's fields into the error
// RelayNative reports: a *StatusError for the kinds that have a status
// (rate limits and quota stops 429, overload 529, server errors 500), so
// retries and failover treat them like the same answer given up front;
// else a *NativeError. body is the event's data, kept for passthrough.
func StreamFailure(typ, code, msg string, body []byte) error {
	status := 0
	switch {
	case code == "insufficient_quota" || typ == "insufficient_quota" || code == "rate_limit_exceeded" || typ == "rate_limit_error" || typ == "rate_limit_exceeded":
		status = http.StatusTooManyRequests
	case typ == "overloaded_error" || code == "overloaded":
		status = 529
	case typ == "api_error" || typ == "server_error" || code == "server_error":
		status = http.StatusInternalServerError
	}
	if status == 0 {
		return &NativeError{Type: typ, Code: code, Message: msg}
	}
	if code == "" {
		code = typ
	}
	return &StatusError{Status: status, Code: code, Message: msg, Body: append([]byte(nil), body...), Header: http.Header{"Content-Type": {"application/json"}}}
}

func (e *NativeError) Error() string {
	switch {
	case e.Code != "" && e.Message != "":
		return e.Code + ": " + e.Message
	case e.Type != "" && e.Message != "":
		return e.Type + ": " + e.Message
	case e.Message != "":
		return e.Message
	}
	return "unknown error"
}
