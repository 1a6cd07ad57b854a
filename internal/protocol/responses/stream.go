package responses

import (
	"bytes"
	"io"

	"github.com/tidwall/gjson"
)

// StreamWriter turns the gateway's chat SSE (chat.completion.chunk frames,
// keep-alive comments, an optional error frame, [DONE]) into a Responses
// event stream.
//
// It is an io.Writer the chat relay writes to as if it were the client. It
// parses the relay's SSE, buffering partial lines across Write calls, and
// writes the translated events of each complete input frame to the
// underlying writer before Write returns, so the client sees every delta as
// soon as the upstream produced it. It keeps only the state the terminal
// event needs (the text of each item), never re-decoding chunks into maps.
// A StreamWriter is not safe for concurrent use.
type StreamWriter struct {
	w  io.Writer
	sh *shell

	in   []byte // unconsumed input: the start of a line not yet complete
	data []byte // the data lines of the frame being read
	out  []byte // events translated from the current frame, not yet written
	err  error  // the underlying writer's first error; sticky

	seq     int64
	started bool // response.created and response.in_progress are out
	done    bool // the terminal event is out: everything after is dropped
	failed  bool

	items   []*outItem         // every output item, in output_index order
	cur     *outItem           // the open reasoning or message item
	calls   map[int64]*outItem // function call items by chat tool_calls index
	finish  string             // chat finish_reason
	usage   []byte             // the chat usage object, raw
	llmgate []byte             // the gateway's metadata object, raw
	final   []byte             // the terminal response object

	// BeforeTerminal, when set, is called with the completed (or
	// incomplete) response object before its terminal event is written,
	// so the gateway can store it before the client can name it.
	BeforeTerminal func(resp []byte)
}

// NewStreamWriter returns a StreamWriter that writes the events of response
// m, for request req, to w.
func NewStreamWriter(w io.Writer, req []byte, m Meta) *StreamWriter {
	return &StreamWriter{w: w, sh: newShell(req, m), calls: map[int64]*outItem{}}
}

// Response returns the final response object once the terminal event was written (nil before), so the gateway can store it.
func (s *StreamWriter) Response() []byte { return s.final }

// Failed reports whether the stream ended in response.failed.
func (s *StreamWriter) Failed() bool { return s.failed }

// Write consumes chat SSE bytes. It returns the underlying writer's error,
// if any; after one, every later Write returns it too.
func (s *StreamWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if !s.started {
		// The client learns the response id before the upstream's first
		// token, as it would from OpenAI.
		s.started = true
		s.start()
		if err := s.flush(); err != nil {
			return 0, err
		}
	}
	s.in = append(s.in, p...)
	rest := s.in
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		line := rest[:i]
		rest = rest[i+1:]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		s.line(line)
		if err := s.flush(); err != nil {
			return 0, err
		}
	}
	s.in = append(s.in[:0], rest...)
	return len(p), nil
}

// line handles one SSE line: data lines accumulate, a blank line ends the
// frame, comments (keep-alives) pass straight through, other fields (the
// chat relay sends none) are ignored.
func (s *StreamWriter) line(line []byte) {
	switch {
	case len(line) == 0:
		if len(s.data) > 0 {
			s.frame(s.data)
			s.data = s.data[:0]
		}
	case line[0] == ':':
		if !s.done {
			s.out = append(s.out, line...)
			s.out = append(s.out, "\n\n"...)
		}
	case bytes.HasPrefix(line, []byte("data:")):
		v := line[5:]
		if len(v) > 0 && v[0] == ' ' {
			v = v[1:]
		}
		if len(s.data) > 0 {
			s.data = append(s.data, '\n')
		}
		s.data = append(s.data, v...)
	}
}

// flush writes what the last frame produced.
func (s *StreamWriter) flush() error {
	if len(s.out) == 0 {
		return nil
	}
	_, err := s.w.Write(s.out)
	s.out = s.out[:0]
	if err != nil {
		s.err = err
	}
	return err
}

// frame translates one chat frame.
func (s *StreamWriter) frame(data []byte) {
	if s.done {
		return
	}
	if string(bytes.TrimSpace(data)) == "[DONE]" {
		s.complete()
		return
	}
	root := gjson.ParseBytes(data)
	if e := root.Get("error"); e.Exists() && e.Type != gjson.Null {
		s.fail(e, root.Get("llmgate"))
		return
	}
	lg := root.Get("llmgate")
	if lg.IsObject() {
		s.llmgate = appendCompact(s.llmgate[:0], lg.Raw)
	}
	choices := root.Get("choices")
	ch := choices.Get("0")
	// Responses has no n: only choice 0 exists unless an upstream ignored
	// that, and mixing choices would garble the answer.
	if ch.Exists() && ch.Get("index").Int() == 0 {
		d := ch.Get("delta")
		s.reasoningDelta(reasoningText(d))
		if c := d.Get("content"); c.Type == gjson.String && c.Str != "" {
			s.textDelta(c.Str, false, ch.Get("logprobs.content"))
		}
		if r := d.Get("refusal"); r.Type == gjson.String && r.Str != "" {
			s.textDelta(r.Str, true, gjson.Result{})
		}
		d.Get("tool_calls").ForEach(func(_, tc gjson.Result) bool {
			s.callDelta(tc)
			return true
		})
		if fr := ch.Get("finish_reason"); fr.Type == gjson.String && fr.Str != "" {
			s.finish = fr.Str
			s.closeAll()
		}
	}
	if u := root.Get("usage"); u.IsObject() {
		s.usage = append(s.usage[:0], u.Raw...)
	}
	// The usage chunk, or whatever chunk carries the gateway's metadata, is
	// the last one before [DONE]: answer now rather than wait for [DONE].
	noChoices := choices.IsArray() && !ch.Exists()
	if (noChoices && len(s.usage) > 0) || lg.IsObject() {
		s.complete()
	}
}
