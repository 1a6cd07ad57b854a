package gateway

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/internal/protocol/messages"
	"github.com/llmgate/llmgate/providers"
)

// nativeRelay is the Sink of a stream passed through in the client's own
// protocol (Responses to an upstream that serves it, Messages to an
// Anthropic account). Events are written byte for byte as they arrive; the
// only change is the llmgate object, added to the terminal response
// object (Responses) or to message_delta (Messages), which is also where
// the usage is final.
type nativeRelay struct {
	clientStream

	// per-attempt state, reset by reset()
	usage     providers.Usage
	haveUsage bool
	tokens    int64
	terminal  bool   // the protocol's last event was written
	seq       int64  // the last Responses sequence_number seen
	upID      string // the upstream's response id (response.created)
	buf       []byte
}

func newNativeRelay(x *exchange) *nativeRelay {
	return &nativeRelay{clientStream: newClientStream(x, false), seq: -1}
}

func (s *nativeRelay) reset() {
	s.usage, s.haveUsage, s.tokens, s.terminal, s.seq, s.upID = providers.Usage{}, false, 0, false, -1, ""
}

// Event implements providers.Sink, flushing like relay.Event: once per
// burst of events that arrived together.
func (s *nativeRelay) Event(ev *providers.Event) error {
	err := s.event(ev)
	if !ev.More || err != nil {
		s.flush()
	}
	if err == nil {
		err = s.werr
	}
	return err
}

func (s *nativeRelay) event(ev *providers.Event) error {
	if s.werr != nil {
		return s.werr
	}
	switch {
	case ev.Comment:
		if s.committed {
			s.write(ev.Raw)
		}
		return s.werr
	case ev.Malformed:
		s.x.g.log.Warn("dropped a malformed upstream event; the stream goes on",
			zapString("request_id", s.x.id), zapString("provider", s.x.target.Account.Name))
		return nil
	}
	if ev.Usage != nil {
		s.usage, s.haveUsage = *ev.Usage, true
	}
	s.tokens += ev.Tokens
	if ev.Tokens > 0 && s.x.ttft == 0 {
		s.x.ttft = s.x.g.now().Sub(s.x.start)
	}
	if s.x.ep == epResponses {
		if q := gjson.GetBytes(ev.Data, "sequence_number"); q.Exists() {
			s.seq = q.Int()
		}
		if ev.Name == "response.created" {
			s.upID = gjson.GetBytes(ev.Data, "response.id").Str
		}
	}
	switch {
	case s.x.ep == epResponses && isResponsesTerminal(ev.Name):
		// The terminal response object gets the llmgate object and is
		// stored before the client sees it, so a follow-up naming it
		// right away finds it.
		r := gjson.GetBytes(ev.Data, "response")
		if r.IsObject() && r.Index > 0 {
			obj := attachMeta([]byte(r.Raw), s.x.meta(s.currentUsage()))
			s.x.storeResponse(obj, true)
			data := make([]byte, 0, len(ev.Data)+len(obj))
			data = append(data, ev.Data[:r.Index]...)
			data = append(data, obj...)
			data = append(data, ev.Data[r.Index+len(r.Raw):]...)
			s.frame(ev.Name, data)
		} else {
			s.write(ev.Raw)
		}
	case s.x.ep == epMessages && ev.Name == "message_delta":
		s.frame(ev.Name, attachMeta(ev.Data, s.x.meta(s.currentUsage())))
	default:
		s.write(ev.Raw)
	}
	if ev.Done {
		s.terminal = true
		if s.werr != nil {
			return s.werr
		}
		return providers.ErrStop
	}
	return s.werr
}

func isResponsesTerminal(name string) bool {
	return name == "response.completed" || name == "response.incomplete" || name == "response.failed"
}

// frame writes one event with a rewritten data payload.
func (s *nativeRelay) frame(name string, data []byte) {
	b := append(s.buf[:0], "event: "...)
	b = append(b, name...)
	b = append(b, "\ndata: "...)
	b = append(b, data...)
	b = append(b, '\n', '\n')
	s.buf = b
	s.write(b)
}

func (s *nativeRelay) currentUsage() providers.Usage {
	if s.haveUsage {
		return s.usage
	}
	return s.x.estimatedUsage(s.tokens)
}

// end finishes a committed native stream. A stream the upstream ended
// with its own terminal event is over (a failed one is recorded as an
// error); one cut before that gets the protocol's own error ending,
// never a clean finish.
func (s *nativeRelay) end(err error) {
	x := s.x
	if s.haveUsage || !x.usage.Known() || x.usage.Estimated {
		x.usage = s.currentUsage()
	}
	switch {
	case s.werr != nil || x.r.Context().Err() != nil:
		x.cancelled()
		return
	case err == nil:
		x.row.Status = "ok"
		x.row.HTTPStatus = http.StatusOK
		return
	}
	msg := redactString(err.Error(), x.target.Account.Key)
	x.row.HTTPStatus = http.StatusOK
	x.row.ErrorMessage = msg
	if s.terminal {
		// The upstream ended the stream with its own error event.
		x.row.Status = "error"
		x.row.ErrorCode = "upstream_stream_error"
		return
	}
	x.row.Status = "truncated"
	x.row.ErrorCode = "stream_interrupted"
	msg = "the upstream stream was interrupted: " + msg
	if x.ep == epResponses {
		s.frame("error", s.responsesError(msg))
		s.frame("response.failed", s.responsesFailed(msg))
	} else {
		s.frame("error", messagesStreamError(msg))
	}
	s.flush()
	if s.werr != nil {
		x.cancelled()
	}
}

// responsesError is the data of a Responses error event.
func (s *nativeRelay) responsesError(msg string) []byte {
	s.seq++
	b := []byte(`{"type":"error","code":"stream_interrupted","message":`)
	b = providers.AppendJSONString(b, msg)
	b = append(b, `,"param":null,"sequence_number":`...)
	b = strconv.AppendInt(b, s.seq, 10)
	return append(b, '}')
}

// responsesFailed is the data of the response.failed event that follows.
func (s *nativeRelay) responsesFailed(msg string) []byte {
	s.seq++
	x := s.x
	id := s.upID
	if id == "" {
		id = x.proto.respID
	}
	r := []byte(`{"id":`)
	r = providers.AppendJSONString(r, id)
	r = append(r, `,"object":"response","created_at":`...)
	r = strconv.AppendInt(r, x.proto.created, 10)
	r = append(r, `,"status":"failed","error":{"code":"stream_interrupted","message":`...)
	r = providers.AppendJSONString(r, msg)
	r = append(r, `},"model":`...)
	r = providers.AppendJSONString(r, x.target.Model)
	r = append(r, `,"output":[],"usage":null}`...)
	r = attachMeta(r, x.meta(s.currentUsage()))
	b := []byte(`{"type":"response.failed","sequence_number":`)
	b = strconv.AppendInt(b, s.seq, 10)
	b = append(b, `,"response":`...)
	b = append(b, r...)
	return append(b, '}')
}

// messagesStreamError is an Anthropic error event's data: the same body
// as the endpoint's error answers, overloaded when the upstream said so.
func messagesStreamError(msg string) []byte {
	status := http.StatusInternalServerError
	if strings.Contains(msg, "verloaded") {
		status = 529
	}
	return messages.ErrorBody(status, msg)
}
