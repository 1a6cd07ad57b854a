package providertest

import (
	"bytes"
	"errors"
	"sync"

	"github.com/llmgate/llmgate/providers"
)

// ErrGone is what Sink returns by default on its FailAfter-th event: the
// client went away.
var ErrGone = errors.New("client went away")

// Sink is a providers.Sink that records a copy of every event (providers
// may reuse Raw, Data and Usage after Event returns) and can stop or fail
// the stream on cue.
type Sink struct {
	// Events are the copies, in order.
	Events []providers.Event
	// StopOn, when it returns true for an event, makes Event return
	// providers.ErrStop.
	StopOn func(*providers.Event) bool
	// FailAfter makes the n-th event (1-based) and any later one return
	// Err, or ErrGone when Err is nil.
	FailAfter int
	Err       error
	// OnEvent runs after each event is recorded, with the count so far
	// (to cancel a context mid-stream, or to time events).
	OnEvent func(n int)

	mu        sync.Mutex
	committed bool
}

// Event records ev. Like the gateway, it counts as committed on the first
// event that is neither a comment nor malformed (those reach no client).
func (s *Sink) Event(ev *providers.Event) error {
	c := *ev
	c.Raw = bytes.Clone(ev.Raw)
	c.Data = bytes.Clone(ev.Data)
	if ev.Usage != nil {
		u := *ev.Usage
		c.Usage = &u
	}
	s.mu.Lock()
	s.Events = append(s.Events, c)
	n := len(s.Events)
	if !ev.Comment && !ev.Malformed {
		s.committed = true
	}
	s.mu.Unlock()
	if s.OnEvent != nil {
		s.OnEvent(n)
	}
	if s.FailAfter > 0 && n >= s.FailAfter {
		if s.Err != nil {
			return s.Err
		}
		return ErrGone
	}
	if s.StopOn != nil && s.StopOn(ev) {
		return providers.ErrStop
	}
	return nil
}

// Committed implements providers.Sink.
func (s *Sink) Committed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.committed
}

// Data lists the data payloads of the recorded events.
func (s *Sink) Data() []string {
	var out []string
	for _, e := range s.Events {
		out = append(out, string(e.Data))
	}
	return out
}
