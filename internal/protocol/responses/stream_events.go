package responses

import (
	"strconv"

	"github.com/llmgate/llmgate/providers"
	"github.com/tidwall/gjson"
)

// Output items open when their first delta arrives and close (their .done
// events) when an item of another kind starts or the answer finishes.
// Function calls stay open until the finish: chat may interleave the
// argument fragments of parallel calls, and each keeps its own item.

// begin starts an event: the event line and the data object's type and
// sequence_number. end closes it.
func (s *StreamWriter) begin(typ string) {
	s.out = append(s.out, "event: "...)
	s.out = append(s.out, typ...)
	s.out = append(s.out, "\ndata: {\"type\":\""...)
	s.out = append(s.out, typ...)
	s.out = append(s.out, `","sequence_number":`...)
	s.out = strconv.AppendInt(s.out, s.seq, 10)
	s.seq++
}

func (s *StreamWriter) end() { s.out = append(s.out, "}\n\n"...) }

// ref appends the item_id and output_index most events carry.
func (s *StreamWriter) ref(it *outItem) {
	s.out = append(s.out, `,"item_id":`...)
	s.out = providers.AppendJSONString(s.out, it.id)
	s.out = append(s.out, `,"output_index":`...)
	s.out = strconv.AppendInt(s.out, int64(it.index), 10)
}

// index appends a named index field (content_index, summary_index).
func (s *StreamWriter) index(name string, i int) {
	s.out = append(s.out, ',', '"')
	s.out = append(s.out, name...)
	s.out = append(s.out, '"', ':')
	s.out = strconv.AppendInt(s.out, int64(i), 10)
}

// str appends a named string field.
func (s *StreamWriter) str(name, v string) {
	s.out = append(s.out, ',', '"')
	s.out = append(s.out, name...)
	s.out = append(s.out, '"', ':')
	s.out = providers.AppendJSONString(s.out, v)
}

// start writes response.created and response.in_progress.
func (s *StreamWriter) start() {
	for _, typ := range [...]string{"response.created", "response.in_progress"} {
		s.begin(typ)
		s.out = append(s.out, `,"response":`...)
		s.out = s.sh.appendTo(s.out, response{status: "in_progress"})
		s.end()
	}
}

// open adds an output item and announces it.
func (s *StreamWriter) open(it *outItem) *outItem {
	it.index, it.open, it.status = len(s.items), true, "in_progress"
	s.items = append(s.items, it)
	s.begin("response.output_item.added")
	s.index("output_index", it.index)
	s.out = append(s.out, `,"item":`...)
	s.out = appendItem(s.out, it, true)
	s.end()
	if it.kind == kindReasoning {
		// chat thinking is one stream of text: one summary part.
		it.parts = []*outPart{{open: true}}
		s.begin("response.reasoning_summary_part.added")
		s.ref(it)
		s.index("summary_index", 0)
		s.out = append(s.out, `,"part":{"type":"summary_text","text":""}`...)
		s.end()
	}
	return it
}

// current returns the open reasoning or message item of kind k, closing
// the open one of the other kind and opening a new one as needed.
func (s *StreamWriter) current(k itemKind) *outItem {
	if s.cur != nil && s.cur.kind == k && s.cur.open {
		return s.cur
	}
	s.closeCur()
	prefix := "msg_"
	if k == kindReasoning {
		prefix = "rs_"
	}
	s.cur = s.open(&outItem{kind: k, id: newID(prefix)})
	return s.cur
}

func (s *StreamWriter) closeCur() {
	if s.cur != nil && s.cur.open {
		s.closeItem(s.cur, "completed")
	}
	s.cur = nil
}

func (s *StreamWriter) reasoningDelta(text string) {
	if text == "" {
		return
	}
	it := s.current(kindReasoning)
	it.parts[0].text.WriteString(text)
	s.begin("response.reasoning_summary_text.delta")
	s.ref(it)
	s.index("summary_index", 0)
	s.str("delta", text)
	s.end()
}

// textDelta streams output text, or refusal text, into the open message,
// starting a new content part when the kind of text changes.
func (s *StreamWriter) textDelta(text string, refusal bool, logprobs gjson.Result) {
	it := s.current(kindMessage)
	p := it.lastPart()
	if p == nil || !p.open || p.refusal != refusal {
		if p != nil && p.open {
			s.closePart(it, len(it.parts)-1)
		}
		p = &outPart{refusal: refusal, open: true}
		it.parts = append(it.parts, p)
		s.begin("response.content_part.added")
		s.ref(it)
		s.index("content_index", len(it.parts)-1)
		s.out = append(s.out, `,"part":`...)
		s.out = appendPart(s.out, p, true)
		s.end()
	}
	p.text.WriteString(text)
	if refusal {
		s.begin("response.refusal.delta")
	} else {
		s.begin("response.output_text.delta")
	}
	s.ref(it)
	s.index("content_index", len(it.parts)-1)
	s.str("delta", text)
	if !refusal {
		s.out = append(s.out, `,"logprobs":`...)
		if logprobs.IsArray() {
			s.out = appendCompact(s.out, logprobs.Raw)
			p.logprobs = appendLogprobs(p.logprobs, logprobs)
		} else {
			s.out = append(s.out, "[]"...)
		}
	}
	s.end()
}

// callDelta streams one chat tool_calls fragment into its function_call item.
func (s *StreamWriter) callDelta(tc gjson.Result) {
	idx := tc.Get("index").Int()
	it := s.calls[idx]
	// Some compatible providers send every complete call at index 0: a new
	// id at a known index is a new call.
	if id := tc.Get("id").String(); it != nil && id != "" && id != it.callID {
		it = nil
	}
	if it == nil {
		s.closeCur()
		it = &outItem{kind: kindCall, id: newID("fc_"), callID: tc.Get("id").String(), name: tc.Get("function.name").String()}
		if it.callID == "" {
			it.callID = newID("call_")
		}
		s.calls[idx] = s.open(it)
	} else if !it.open {
		return // a fragment after the finish: nowhere left to put it
	} else if it.name == "" {
		it.name = tc.Get("function.name").String()
	}
	if args := tc.Get("function.arguments").String(); args != "" {
		it.args.WriteString(args)
		s.begin("response.function_call_arguments.delta")
		s.ref(it)
		s.str("delta", args)
		s.end()
	}
}

// closePart writes the .done events of a message content part.
func (s *StreamWriter) closePart(it *outItem, i int) {
	p := it.parts[i]
	p.open = false
	if p.refusal {
		s.begin("response.refusal.done")
		s.ref(it)
		s.index("content_index", i)
		s.str("refusal", p.text.String())
	} else {
		s.begin("response.output_text.done")
		s.ref(it)
		s.index("content_index", i)
		s.str("text", p.text.String())
		s.out = append(s.out, `,"logprobs":[`...)
		s.out = append(s.out, p.logprobs...)
		s.out = append(s.out, ']')
	}
	s.end()
	s.begin("response.content_part.done")
	s.ref(it)
	s.index("content_index", i)
	s.out = append(s.out, `,"part":`...)
	s.out = appendPart(s.out, p, false)
	s.end()
}

// closeItem writes an item's .done events, ending with output_item.done.
func (s *StreamWriter) closeItem(it *outItem, status string) {
	it.open, it.status = false, status
	switch it.kind {
	case kindReasoning:
		text := it.parts[0].text.String()
		it.parts[0].open = false
		s.begin("response.reasoning_summary_text.done")
		s.ref(it)
		s.index("summary_index", 0)
		s.str("text", text)
		s.end()
		s.begin("response.reasoning_summary_part.done")
		s.ref(it)
		s.index("summary_index", 0)
		s.out = append(s.out, `,"part":`...)
		s.out = appendSummaryPart(s.out, text)
		s.end()
	case kindMessage:
		if p := it.lastPart(); p != nil && p.open {
			s.closePart(it, len(it.parts)-1)
		}
	case kindCall:
		s.begin("response.function_call_arguments.done")
		s.ref(it)
		s.str("name", it.name)
		s.str("arguments", it.args.String())
		s.end()
	}
	s.begin("response.output_item.done")
	s.index("output_index", it.index)
	s.out = append(s.out, `,"item":`...)
	s.out = appendItem(s.out, it, false)
	s.end()
}

// closeAll closes every open item in output order. A cut-off answer is cut
// off in its last item, which is marked incomplete.
func (s *StreamWriter) closeAll() {
	_, incomplete := finishStatus(s.finish)
	for i, it := range s.items {
		if !it.open {
			continue
		}
		status := "completed"
		if incomplete != nil && i == len(s.items)-1 {
			status = "incomplete"
		}
		s.closeItem(it, status)
	}
	s.cur = nil
}

// complete writes response.completed, or response.incomplete when the
// answer was cut off by the token limit or the content filter.
func (s *StreamWriter) complete() {
	s.closeAll()
	status, incomplete := finishStatus(s.finish)
	r := response{status: status, incomplete: incomplete, output: appendOutput(nil, s.items), llmgate: s.llmgate}
	if len(s.usage) > 0 {
		r.usage = appendUsage(nil, gjson.ParseBytes(s.usage))
	}
	s.final = s.sh.appendTo(nil, r)
	if s.BeforeTerminal != nil {
		s.BeforeTerminal(s.final)
	}
	s.terminal("response." + status)
}

// fail writes the error event and response.failed, OpenAI's in-stream
// failure. The error event carries the SDKs' flat fields and the nested
// error object the live API sends, so both kinds of client read it.
func (s *StreamWriter) fail(e, lg gjson.Result) {
	msg := e.Get("message").String()
	if e.Type == gjson.String {
		msg = e.Str
	}
	if msg == "" {
		msg = "the upstream stream failed"
	}
	typ := e.Get("type").String()
	code := e.Get("code").String()
	if code == "" {
		code = typ
	}
	if code == "" {
		code = "server_error"
	}
	if typ == "" {
		typ = "server_error"
	}
	param := e.Get("param")
	s.begin("error")
	s.str("code", code)
	s.str("message", msg)
	s.out = append(s.out, `,"param":`...)
	s.out = appendParam(s.out, param)
	s.out = append(s.out, `,"error":{"type":`...)
	s.out = providers.AppendJSONString(s.out, typ)
	s.str("code", code)
	s.str("message", msg)
	s.out = append(s.out, `,"param":`...)
	s.out = appendParam(s.out, param)
	s.out = append(s.out, '}')
	s.end()

	if lg.IsObject() {
		s.llmgate = appendCompact(s.llmgate[:0], lg.Raw)
	}
	for _, it := range s.items {
		if it.open {
			it.open, it.status = false, "incomplete"
		}
	}
	errObj := providers.AppendJSONString([]byte(`{"code":`), code)
	errObj = providers.AppendJSONString(append(errObj, `,"message":`...), msg)
	r := response{status: "failed", err: append(errObj, '}'), output: appendOutput(nil, s.items), llmgate: s.llmgate}
	if len(s.usage) > 0 {
		r.usage = appendUsage(nil, gjson.ParseBytes(s.usage))
	}
	s.final = s.sh.appendTo(nil, r)
	s.failed = true
	s.terminal("response.failed")
}

func appendParam(b []byte, p gjson.Result) []byte {
	if p.Type == gjson.String {
		return providers.AppendJSONString(b, p.Str)
	}
	return append(b, "null"...)
}

// terminal writes the terminal event around s.final; nothing follows it.
func (s *StreamWriter) terminal(typ string) {
	s.begin(typ)
	s.out = append(s.out, `,"response":`...)
	s.out = append(s.out, s.final...)
	s.end()
	s.done = true
}
