package messages

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/providers"
)

// StreamWriter turns the gateway's chat SSE into Anthropic's event
// stream: message_start, then content blocks one at a time with
// increasing indexes (thinking, text, tool_use), then message_delta
// (stop_reason, usage, and the gateway's llmgate object) and
// message_stop. Only choice 0 is translated.
//
// Frames may be split across Write calls at any byte; each complete input
// frame's translation is written to the underlying writer at once, in a
// single Write, and nothing is held back across frames (except the
// arguments of a parallel tool call that has to wait for an earlier one,
// see toolFragment).
type StreamWriter struct {
	w    io.Writer
	meta Meta
	err  error // the underlying writer's, sticky

	in   []byte // input not yet translated: at most one partial frame
	scan int    // offset in in where the next unscanned line starts
	data []byte // scratch for joining multi-line data fields
	out  []byte // the current frame's translation

	started bool // message_start went out
	ended   bool // message_stop or error went out: the rest is ignored

	// Content blocks (blocks.go).
	open      blockKind
	openIndex int
	openTool  *toolCall
	next      int // index of the next block
	tools     []*toolCall
	queue     []*toolCall // tool calls waiting for their block, in arrival order
	toolUse   bool        // a tool_use block was started

	finished  bool   // choice 0's finish_reason arrived
	finish    string // that finish_reason
	usage     providers.Usage
	haveUsage bool
	llmgate   []byte // the last llmgate object seen, raw
}

// NewStreamWriter returns a StreamWriter writing Anthropic events to w.
func NewStreamWriter(w io.Writer, m Meta) *StreamWriter {
	m.ID = m.messageID()
	return &StreamWriter{w: w, meta: m}
}

// Write consumes chat SSE bytes. It returns the underlying writer's error
// (also on every later call) when a write fails.
func (s *StreamWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	s.in = append(s.in, p...)
	start := 0 // where the current frame starts
	for {
		i := bytes.IndexByte(s.in[s.scan:], '\n')
		if i < 0 {
			break
		}
		end := s.scan + i
		line := s.in[s.scan:end]
		s.scan = end + 1
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if len(line) > 0 {
			continue
		}
		// A blank line ends the frame.
		s.frame(s.in[start:end])
		start = s.scan
		if len(s.out) > 0 {
			_, err := s.w.Write(s.out)
			s.out = s.out[:0]
			if err != nil {
				s.err = err
				return 0, err
			}
		}
	}
	if start > 0 {
		n := copy(s.in, s.in[start:])
		s.in = s.in[:n]
		s.scan -= start
	}
	return len(p), nil
}

// frame translates one SSE frame (its lines, without the blank line).
func (s *StreamWriter) frame(f []byte) {
	if s.ended {
		return
	}
	var (
		data    []byte
		nData   int
		comment bool
	)
	for len(f) > 0 {
		line := f
		if i := bytes.IndexByte(f, '\n'); i >= 0 {
			line, f = f[:i], f[i+1:]
		} else {
			f = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		switch {
		case bytes.HasPrefix(line, []byte("data:")):
			v := line[len("data:"):]
			if len(v) > 0 && v[0] == ' ' {
				v = v[1:]
			}
			nData++
			switch nData {
			case 1:
				data = v
			case 2:
				s.data = append(append(append(s.data[:0], data...), '\n'), v...)
				data = s.data
			default:
				s.data = append(append(s.data, '\n'), v...)
				data = s.data
			}
		case len(line) > 0 && line[0] == ':':
			comment = true
		}
	}
	data = bytes.TrimSpace(data)
	switch {
	case len(data) > 0:
		s.handleData(data)
	case comment:
		// The gateway's keep-alive: Anthropic's is a ping event.
		s.start()
		s.out = append(s.out, "event: ping\ndata: {\"type\": \"ping\"}\n\n"...)
	}
}

// handleData translates one data payload: [DONE], an error, or a
// chat.completion.chunk.
func (s *StreamWriter) handleData(data []byte) {
	if string(data) == "[DONE]" {
		s.start()
		s.end()
		return
	}
	if !gjson.ValidBytes(data) {
		// Not from the gateway's relay, which only writes JSON it
		// parsed; copying pieces of it could break the client's stream.
		return
	}
	var choices, usage, errv, meta gjson.Result
	gjson.ParseBytes(data).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "choices":
			choices = v
		case "usage":
			usage = v
		case "error":
			errv = v
		case "llmgate":
			meta = v
		}
		return true
	})
	if meta.IsObject() {
		s.llmgate = append(s.llmgate[:0], meta.Raw...)
		if bytes.ContainsAny(s.llmgate, "\r\n") {
			// From a multi-line data field: a raw line break would end
			// the SSE data line it is copied into.
			var c bytes.Buffer
			if json.Compact(&c, s.llmgate) == nil {
				s.llmgate = append(s.llmgate[:0], c.Bytes()...)
			}
		}
	}
	if errv.Exists() && errv.Type != gjson.Null {
		s.fail(errv)
		return
	}
	s.start()
	choices.ForEach(func(_, c gjson.Result) bool {
		if i := c.Get("index"); i.Exists() && i.Int() != 0 {
			return true
		}
		s.delta(c.Get("delta"))
		if f := c.Get("finish_reason"); f.Type == gjson.String && f.Str != "" && !s.finished {
			s.finished, s.finish = true, f.Str
			s.closeAll()
		}
		return false
	})
	if usage.IsObject() {
		s.usage, s.haveUsage = providers.ParseOpenAIUsage(usage), true
		// The usage chunk (choices:[]) or a finish chunk carrying usage
		// (Groq, DeepSeek) is the last word. Usage on a chunk before the
		// finish (cumulative counts some servers send) is only noted.
		if s.finished || choices.Get("#").Int() == 0 {
			s.end()
		}
	}
}

// start writes message_start once, before anything else. Output counts
// are unknown yet; Anthropic itself usually says 1 here.
func (s *StreamWriter) start() {
	if s.started {
		return
	}
	s.started = true
	b := append(s.out, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":"...)
	b = appendString(b, s.meta.ID)
	b = append(b, `,"type":"message","role":"assistant","model":`...)
	b = appendString(b, s.meta.Model)
	b = append(b, `,"content":[],"stop_reason":null,"stop_sequence":null,`...)
	b = appendUsage(b, providers.Usage{PromptTokens: s.meta.InputTokens, CompletionTokens: 1})
	s.out = append(b, "}}\n\n"...)
}

// end closes the open blocks and writes message_delta and message_stop.
// Without any usage from upstream the counts are the gateway's prompt
// estimate and 0 output tokens (the llmgate object has the gateway's own
// accounting).
func (s *StreamWriter) end() {
	if s.ended {
		return
	}
	s.closeAll()
	s.ended = true
	u := s.usage
	if !s.haveUsage {
		u = providers.Usage{PromptTokens: s.meta.InputTokens}
	}
	b := append(s.out, "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"...)
	b = appendString(b, stopReason(s.finish, s.toolUse))
	b = append(b, `,"stop_sequence":null},`...)
	b = appendUsage(b, u)
	if len(s.llmgate) > 0 {
		b = append(b, `,"llmgate":`...)
		b = append(b, s.llmgate...)
	}
	b = append(b, "}\n\n"...)
	s.out = append(b, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"...)
}

// fail writes the error event that ends an Anthropic stream; the SDKs
// raise it as an APIError. Nothing follows it, not even message_stop,
// just as from Anthropic. An error before anything else goes out alone.
func (s *StreamWriter) fail(e gjson.Result) {
	msg := e.Str
	if e.IsObject() {
		msg = e.Get("message").Str
	}
	if msg == "" {
		msg = "upstream stream failed"
	}
	typ := "api_error"
	if strings.Contains(strings.ToLower(msg), "overloaded") {
		typ = "overloaded_error"
	}
	s.ended = true
	b := append(s.out, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"...)
	b = appendString(b, typ)
	b = append(b, `,"message":`...)
	b = appendString(b, msg)
	b = append(b, '}')
	if len(s.llmgate) > 0 {
		b = append(b, `,"llmgate":`...)
		b = append(b, s.llmgate...)
	}
	s.out = append(b, "}\n\n"...)
}
