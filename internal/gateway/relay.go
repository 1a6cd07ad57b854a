package gateway

import (
	"errors"
	"net/http"

	"github.com/llmgate/llmgate/providers"
)

// relay is the Sink of a streaming chat request. Each event is written and
// flushed as it arrives; the only thing ever held back is a finish chunk,
// and only until the upstream's usage (or the end of the stream) arrives,
// so that the llmgate object can ride on the right chunk with the real
// cost: the usage chunk when the client asked for usage and the upstream
// sent one, else the finish chunk.
type relay struct {
	clientStream
	clientUsage bool

	// per-attempt state, reset by reset()
	held      []byte
	heldValid bool
	metaDone  bool
	finished  bool
	doneSent  bool
	usage     providers.Usage
	haveUsage bool
	tokens    int64
	buf       []byte

	// What the client received (the data chunks that carried content),
	// kept so a stream that breaks can be continued elsewhere: arena holds
	// the chunks back to back, ends their end offsets.
	arena    []byte
	ends     []int
	cont     *continuation
	noPrefix bool // an upstream refused the prefix: replay instead
}

func newRelay(x *exchange) *relay {
	return &relay{clientStream: newClientStream(x, x.proto != nil), clientUsage: x.req.includeUsage}
}

// reset prepares for an attempt on t; only valid before commit.
func (s *relay) reset() {
	s.held, s.heldValid, s.metaDone, s.finished, s.doneSent = s.held[:0], false, false, false, false
	s.usage, s.haveUsage, s.tokens = providers.Usage{}, false, 0
}

// carryOver prepares a committed stream that broke to continue on the
// next attempt; false when it cannot be (the client is gone, the answer
// is complete, or it has several choices).
func (s *relay) carryOver() bool {
	if s.werr != nil || s.doneSent {
		return false
	}
	chunks := make([][]byte, len(s.ends))
	start := 0
	for i, end := range s.ends {
		chunks[i], start = s.arena[start:end], end
	}
	c := parseDelivered(chunks)
	if c.multi {
		return false
	}
	s.cont = c
	s.usage, s.haveUsage = providers.Usage{}, false
	return true
}

// Event implements providers.Sink. Each event is written as it arrives;
// the flush (a syscall and a packet) is skipped only while the provider
// already holds the next complete event (ev.More), so a burst of events
// that arrived in one read leaves in one flush, and a lone event is never
// delayed.
func (s *relay) Event(ev *providers.Event) error {
	err := s.event(ev)
	if !ev.More || err != nil {
		s.flush()
	}
	if err == nil {
		err = s.werr
	}
	return err
}

func (s *relay) event(ev *providers.Event) error {
	if s.werr != nil {
		return s.werr
	}
	switch {
	case ev.Comment:
		// Before the first data event a comment would commit the response
		// and rule out an invisible failover; after it, it keeps the
		// client's connection alive and is passed on.
		if s.committed {
			s.write(ev.Raw)
		}
		return s.werr
	case ev.Done:
		s.finalize()
		if s.werr != nil {
			return s.werr
		}
		return providers.ErrStop
	case ev.Malformed:
		s.x.g.log.Warn("dropped a malformed upstream event; the stream goes on",
			zapString("request_id", s.x.id), zapString("provider", s.x.target.Account.Name))
		return nil
	}
	if s.cont != nil {
		out, drop, err := s.cont.filter(ev)
		if err != nil {
			return err
		}
		if drop {
			return nil
		}
		if out != nil {
			ev.Data, ev.Raw = out, nil
		}
	}
	if ev.Tokens > 0 {
		s.arena = append(s.arena, ev.Data...)
		s.ends = append(s.ends, len(s.arena))
	}
	if ev.Usage != nil {
		s.usage, s.haveUsage = *ev.Usage, true
	}
	s.tokens += ev.Tokens
	if ev.Tokens > 0 && s.x.ttft == 0 {
		s.x.ttft = s.x.g.now().Sub(s.x.start)
	}
	if ev.UsageOnly {
		if s.clientUsage {
			s.flushHeld(false)
			s.writeData(ev.Data, true)
		} else {
			// The client did not ask for usage: the extra chunk is hidden
			// and the llmgate object rides on the held finish chunk.
			s.flushHeld(true)
		}
		s.finalize()
		if s.werr != nil {
			return s.werr
		}
		return providers.ErrStop
	}
	if ev.Finish {
		s.finished = true
		if ev.Usage != nil {
			// Usage on the finish chunk (Groq, DeepSeek, Mistral).
			s.flushHeld(false)
			s.writeData(ev.Data, true)
			return s.werr
		}
		// Held even when the client asked for usage: an upstream that
		// ignores stream_options sends no usage chunk, and the llmgate
		// object must then ride on this chunk at [DONE].
		s.flushHeld(false)
		s.held = append(s.held[:0], ev.Data...)
		s.heldValid = true
		return nil
	}
	s.flushHeld(false)
	if ev.Raw != nil {
		s.write(ev.Raw)
	} else {
		s.writeData(ev.Data, false)
	}
	return s.werr
}

// writeData frames a data payload, attaching the llmgate object once when
// meta is set.
func (s *relay) writeData(data []byte, meta bool) {
	b := append(s.buf[:0], "data: "...)
	if meta && !s.metaDone {
		s.metaDone = true
		b = append(b, attachMeta(data, s.x.meta(s.currentUsage()))...)
	} else {
		b = append(b, data...)
	}
	b = append(b, '\n', '\n')
	s.buf = b
	s.write(b)
}

func (s *relay) flushHeld(meta bool) {
	if !s.heldValid {
		return
	}
	s.heldValid = false
	s.writeData(s.held, meta)
}

// finalize writes any held chunk (with the llmgate object) and [DONE].
func (s *relay) finalize() {
	if s.doneSent {
		return
	}
	s.flushHeld(true)
	s.doneSent = true
	s.write([]byte("data: [DONE]\n\n"))
}

// currentUsage is the reported usage, or an estimate flagged as such.
func (s *relay) currentUsage() providers.Usage {
	if s.haveUsage {
		return s.usage
	}
	return s.x.estimatedUsage(s.tokens)
}

// end finishes a committed stream after the provider returned. A stream
// that ends without [DONE] but after its finish chunk is complete and is
// finalised at once; one cut before that ends with an explicit
// stream_interrupted error event, never as a clean success.
func (s *relay) end(err error) {
	x := s.x
	// Usage the provider read but the relay never saw (it rides on an
	// in-band error chunk) is the upstream's own figure: it wins over an
	// estimate.
	if s.haveUsage || !x.usage.Known() || x.usage.Estimated {
		x.usage = s.currentUsage()
	}
	switch {
	case s.werr != nil || x.r.Context().Err() != nil:
		x.cancelled()
		return
	case err == nil || (s.finished && !errors.Is(err, providers.ErrStreamBroken)):
		// An in-band upstream error (ErrStreamBroken) after a finish chunk
		// is still a failure, not a clean end.
		s.finalize()
		s.flush()
		x.row.Status = "ok"
		x.row.HTTPStatus = http.StatusOK
		if s.werr != nil {
			x.cancelled()
		}
		return
	}
	msg := "the upstream stream was interrupted: " + redactString(err.Error(), x.target.Account.Key)
	s.flushHeld(false)
	s.writeData(errorBody(errUpstream, "stream_interrupted", msg, ""), false)
	s.write([]byte("data: [DONE]\n\n"))
	s.flush()
	s.doneSent = true
	x.row.Status = "truncated"
	x.row.HTTPStatus = http.StatusOK
	x.row.ErrorCode = "stream_interrupted"
	x.row.ErrorMessage = msg
	if s.werr != nil {
		x.cancelled()
	}
}
