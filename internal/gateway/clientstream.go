package gateway

import (
	"errors"
	"io"
	"net/http"
)

// clientStream is the client's side of a streamed answer, shared by the
// chat relay and the native relay: the status and headers go out with
// the first byte (until then the request can still fail over
// invisibly), writes are flushed once per burst, and a failed write or
// flush marks the client gone.
type clientStream struct {
	x  *exchange
	w  http.ResponseWriter
	rc *http.ResponseController
	// out receives the body: the client's connection, or for a client
	// protocol the chat relay translates, the writer that does it.
	out io.Writer
	// translate: chat frames written here are translated into the
	// client's protocol (set by the chat relay of a Responses or
	// Messages request).
	translate bool
	committed bool
	dirty     bool // written but not yet flushed
	werr      error
}

func newClientStream(x *exchange, translate bool) clientStream {
	return clientStream{x: x, w: x.w, rc: http.NewResponseController(x.w), translate: translate}
}

// errClientGone marks a failed write to the client.
var errClientGone = errors.New("client went away")

// Committed reports whether any byte reached the client.
func (c *clientStream) Committed() bool { return c.committed }

func (c *clientStream) commit() {
	c.committed = true
	c.x.answered = true
	c.x.setAnswerHeaders()
	h := c.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	c.w.WriteHeader(http.StatusOK)
	c.out = c.w
	if c.translate {
		c.out = c.x.streamWriter(c.w)
	}
}

// write sends b to the client's buffer; flush pushes it out.
func (c *clientStream) write(b []byte) {
	if c.werr != nil {
		return
	}
	if !c.committed {
		c.commit()
	}
	if _, err := c.out.Write(b); err != nil {
		c.werr = errClientGone
		return
	}
	c.dirty = true
}

func (c *clientStream) flush() {
	if !c.dirty || c.werr != nil {
		return
	}
	c.dirty = false
	if err := c.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		c.werr = errClientGone
	}
}
