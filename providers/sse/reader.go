// Package sse reads server-sent event streams as upstreams really send
// them: LF, CRLF (Gemini) or CR line ends, ":" comment lines (OpenRouter's
// keep-alives), multi-line data fields and trailing spaces after the JSON
// (Anthropic). It keeps each event's raw bytes so that a passthrough can
// forward it byte for byte.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// MaxEventSize bounds one event; a larger one is an error rather than an
// unbounded allocation driven by the upstream.
const MaxEventSize = 16 << 20

// ErrEventTooLarge is returned when an event exceeds MaxEventSize.
var ErrEventTooLarge = errors.New("sse: event too large")

// Event is one dispatched event. Its slices alias the Reader's buffers and
// are valid only until the next call to Next; copy what must be kept.
type Event struct {
	// Raw is every byte of the event as received, including its
	// terminating blank line.
	Raw []byte
	// Name is the "event:" field, empty when absent.
	Name []byte
	// Data is the "data:" lines joined with "\n", with the one optional
	// space after the colon removed.
	Data []byte
	// Comment is set when the event consisted only of comment lines.
	Comment bool
}

// Reader splits a stream into events.
type Reader struct {
	br      *bufio.Reader
	raw     []byte
	data    []byte
	name    []byte
	pending [][]byte // lines split out of one physical read on lone CRs
	line    []byte
}

// NewReader reads events from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 16<<10)}
}

// Next returns the next event, or io.EOF at a clean end of stream. An
// event left without its terminating blank line at EOF is still returned
// (several upstreams omit the last blank line); the following call gets
// io.EOF.
func (r *Reader) Next() (Event, error) {
	r.raw = r.raw[:0]
	r.data = r.data[:0]
	r.name = r.name[:0]
	hasData, hasField := false, false
	for {
		line, err := r.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) && (hasField || len(r.raw) > 0) {
				return r.event(hasData, hasField), nil
			}
			return Event{}, err
		}
		if len(line) == 0 {
			if !hasField && len(r.raw) == 0 {
				continue // stray blank line between events
			}
			if len(r.raw) > 0 {
				return r.event(hasData, hasField), nil
			}
			continue
		}
		if len(r.raw) > MaxEventSize {
			return Event{}, ErrEventTooLarge
		}
		if line[0] == ':' {
			continue // comment; kept in Raw
		}
		hasField = true
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "data":
			if hasData {
				r.data = append(r.data, '\n')
			}
			r.data = append(r.data, value...)
			hasData = true
		case "event":
			r.name = append(r.name[:0], value...)
		}
	}
}

func (r *Reader) event(hasData, hasField bool) Event {
	ev := Event{Raw: r.raw, Data: r.data, Name: r.name}
	if !hasField {
		ev.Comment = true
	}
	if !hasData {
		ev.Data = nil
	}
	return ev
}

// readLine returns the next line without its terminator, appending the
// line and its terminator to r.raw.
func (r *Reader) readLine() ([]byte, error) {
	if len(r.pending) > 0 {
		l := r.pending[0]
		r.pending = r.pending[1:]
		return l, nil
	}
	r.line = r.line[:0]
	for {
		chunk, err := r.br.ReadSlice('\n')
		r.line = append(r.line, chunk...)
		if err == bufio.ErrBufferFull {
			if len(r.line) > MaxEventSize {
				return nil, ErrEventTooLarge
			}
			continue
		}
		if err != nil {
			if len(r.line) == 0 {
				return nil, err
			}
			if err != io.EOF {
				return nil, err
			}
			// last line without a terminator
		}
		break
	}
	start := len(r.raw)
	r.raw = append(r.raw, r.line...)
	body := r.raw[start:]
	body = bytes.TrimSuffix(body, []byte("\n"))
	body = bytes.TrimSuffix(body, []byte("\r"))
	if bytes.IndexByte(body, '\r') < 0 {
		if len(r.line) > 0 && r.line[len(r.line)-1] != '\n' && len(body) == 0 {
			return nil, io.EOF
		}
		return body, nil
	}
	// Lone CRs as line ends: split into several logical lines.
	parts := bytes.Split(body, []byte("\r"))
	r.pending = append(r.pending[:0], parts[1:]...)
	return parts[0], nil
}

// EventBuffered reports whether a complete event is already buffered, so
// the next call to Next will not block on the network.
func (r *Reader) EventBuffered() bool {
	if len(r.pending) > 0 {
		return true
	}
	n := r.br.Buffered()
	if n == 0 {
		return false
	}
	b, _ := r.br.Peek(n)
	return bytes.Contains(b, lf2) || bytes.Contains(b, crlf2) || bytes.Contains(b, cr2)
}

var (
	lf2   = []byte("\n\n")
	crlf2 = []byte("\r\n\r\n")
	cr2   = []byte("\r\r")
)
