package messages

import (
	"bytes"
	"strconv"

	"github.com/tidwall/gjson"
)

type blockKind uint8

const (
	kindNone blockKind = iota
	kindText
	kindThinking
	kindTool
)

type toolState uint8

const (
	toolQueued toolState = iota // seen, waiting for its block
	toolOpen
	toolClosed
)

// toolCall follows one chat tool call (one tool_calls index).
type toolCall struct {
	index    int64
	id, name string
	state    toolState
	// args is every arguments fragment so far: whether it is a complete
	// JSON value says whether the call can have more.
	args []byte
	// pending holds the fragments that arrived while the call was queued.
	pending []byte
	sent    bool // an input_json_delta went out
}

// delta translates one chat delta. Reasoning comes before text and text
// before tool calls, which is the order both chat and Anthropic produce
// them in when several share a chunk.
func (s *StreamWriter) delta(d gjson.Result) {
	if !d.IsObject() || s.finished {
		return
	}
	var reasoning, reasoningAlt, content, refusal, calls gjson.Result
	d.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "reasoning_content":
			reasoning = v
		case "reasoning":
			reasoningAlt = v
		case "content":
			content = v
		case "refusal":
			refusal = v
		case "tool_calls":
			calls = v
		}
		return true
	})
	if reasoning.Type != gjson.String || reasoning.Str == "" {
		// OpenRouter and Groq call it reasoning; servers that send both
		// send the same text twice.
		reasoning = reasoningAlt
	}
	s.text(kindThinking, reasoning)
	s.text(kindText, content)
	s.text(kindText, refusal) // Anthropic has no refusal block: it is text
	calls.ForEach(func(_, c gjson.Result) bool {
		s.toolFragment(c)
		return true
	})
}

// text streams a text or thinking fragment into a block of that kind,
// opening one (and closing whatever was open) when needed. Text is never
// held back. v.Raw, already a JSON string, is copied as is.
func (s *StreamWriter) text(kind blockKind, v gjson.Result) {
	if v.Type != gjson.String || v.Str == "" {
		return
	}
	if s.open != kind {
		s.closeBlock()
		s.startBlock(kind, nil)
	}
	b := s.deltaHead()
	if kind == kindThinking {
		b = append(b, `"thinking_delta","thinking":`...)
	} else {
		b = append(b, `"text_delta","text":`...)
	}
	b = append(b, v.Raw...)
	s.out = append(b, "}}\n\n"...)
}

// toolFragment handles one tool_calls entry. Anthropic streams one block
// at a time, while chat may in principle interleave calls by index. So:
//   - a call's block starts at its first fragment, and its arguments
//     stream live, unless another call's block is open and that call's
//     arguments are not yet a complete JSON value;
//   - such a call is queued, its fragments buffered, and its block starts
//     as soon as the open call's arguments are complete (or at the
//     finish), in arrival order.
//
// Sequential streams (OpenAI's, and every known server's) thus stream
// live: the previous call's object is complete when the next call begins.
// Interleaved ones lose nothing. The one lossy case: a fragment for a call
// whose block was closed by text arriving while its arguments were
// incomplete; it cannot be placed anywhere and is dropped.
func (s *StreamWriter) toolFragment(c gjson.Result) {
	idx := c.Get("index").Int()
	var t *toolCall
	for _, x := range s.tools {
		if x.index == idx {
			t = x
			break
		}
	}
	if t == nil {
		t = &toolCall{index: idx}
		s.tools = append(s.tools, t)
		s.queue = append(s.queue, t)
	}
	if t.state == toolQueued {
		// id and name normally come with the first fragment; take them
		// from a later one if they did not.
		if t.id == "" {
			t.id = c.Get("id").Str
		}
		if t.name == "" {
			t.name = c.Get("function.name").Str
		}
	}
	args := c.Get("function.arguments")
	if args.Type != gjson.String {
		args = gjson.Result{}
	}
	switch t.state {
	case toolQueued:
		t.args = append(t.args, args.Str...)
		t.pending = append(t.pending, args.Str...)
		s.advance(false)
	case toolOpen:
		t.args = append(t.args, args.Str...)
		if args.Str != "" {
			s.inputDelta(t, args.Raw)
		}
		if len(s.queue) > 0 {
			s.advance(false)
		}
	case toolClosed:
		// Only reachable in the lossy case described above (or with
		// whitespace after a complete object, which is harmless).
	}
}

// advance starts queued tool calls, in order, while nothing blocks them:
// the open block is not a tool call whose arguments are incomplete. force
// (the finish) starts them all.
func (s *StreamWriter) advance(force bool) {
	for len(s.queue) > 0 {
		if !force && s.open == kindTool && !complete(s.openTool.args) {
			return
		}
		t := s.queue[0]
		s.queue = s.queue[1:]
		s.closeBlock()
		if t.id == "" {
			t.id = newID("toolu_")
		}
		s.startBlock(kindTool, t)
		// Anthropic's first input_json_delta is an empty one; sending it
		// too keeps the sequence a client sees the same.
		s.inputDelta(t, `""`)
		if len(t.pending) > 0 {
			s.inputDelta(t, string(appendString(nil, string(t.pending))))
			t.pending = nil
		}
	}
}

// complete reports whether args is a whole JSON value, so the call it
// belongs to can receive nothing more.
func complete(args []byte) bool {
	a := bytes.TrimSpace(args)
	return len(a) > 0 && gjson.ValidBytes(a)
}

// closeAll ends the content: queued tool calls get their blocks, and the
// last block is closed.
func (s *StreamWriter) closeAll() {
	s.advance(true)
	s.closeBlock()
}

func (s *StreamWriter) startBlock(kind blockKind, t *toolCall) {
	s.open, s.openIndex, s.openTool = kind, s.next, t
	s.next++
	b := append(s.out, "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":"...)
	b = strconv.AppendInt(b, int64(s.openIndex), 10)
	switch kind {
	case kindText:
		b = append(b, `,"content_block":{"type":"text","text":""}}`...)
	case kindThinking:
		// No signature_delta follows: chat reasoning has no signature,
		// and the SDKs keep the empty one from here.
		b = append(b, `,"content_block":{"type":"thinking","thinking":"","signature":""}}`...)
	case kindTool:
		t.state = toolOpen
		s.toolUse = true
		b = append(b, `,"content_block":{"type":"tool_use","id":`...)
		b = appendString(b, t.id)
		b = append(b, `,"name":`...)
		b = appendString(b, t.name)
		b = append(b, `,"input":{}}}`...)
	}
	s.out = append(b, "\n\n"...)
}

func (s *StreamWriter) closeBlock() {
	if s.open == kindNone {
		return
	}
	if s.openTool != nil {
		s.openTool.state = toolClosed
	}
	b := append(s.out, "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":"...)
	b = strconv.AppendInt(b, int64(s.openIndex), 10)
	s.out = append(b, "}\n\n"...)
	s.open, s.openTool = kindNone, nil
}

// deltaHead appends a content_block_delta's start, up to the delta type.
func (s *StreamWriter) deltaHead() []byte {
	b := append(s.out, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":"...)
	b = strconv.AppendInt(b, int64(s.openIndex), 10)
	return append(b, `,"delta":{"type":`...)
}

// inputDelta streams raw (a JSON string) as the open tool block's
// partial_json.
func (s *StreamWriter) inputDelta(t *toolCall, raw string) {
	if raw == `""` && t.sent {
		return
	}
	t.sent = true
	b := s.deltaHead()
	b = append(b, `"input_json_delta","partial_json":`...)
	b = append(b, raw...)
	s.out = append(b, "}}\n\n"...)
}
