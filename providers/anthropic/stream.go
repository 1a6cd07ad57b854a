package anthropic

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"time"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/providers/sse"
)

var doneData = []byte("[DONE]")

// Stream performs a streaming call, translating Anthropic's events into
// chat.completion.chunk events as they arrive.
func (p *Provider) Stream(ctx context.Context, req *providers.Request, sink providers.Sink) (providers.Usage, error) {
	if req.Endpoint == providers.Messages {
		return p.streamNative(ctx, req, sink)
	}
	body, tr, err := prepare(req, true)
	if err != nil {
		return providers.Usage{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout.Total)
	defer cancel()
	ctx, wd := providers.NewWatchdog(ctx)
	defer wd.Stop()
	resp, err := p.send(ctx, wd, true, body)
	if err != nil {
		return providers.Usage{}, err
	}
	defer resp.Body.Close()
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" && mt != "" {
		// A proxy in front of the API answering JSON to a stream request.
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return providers.Usage{}, fmt.Errorf("%w: expected an event stream, got %s: %.200s", providers.ErrBadResponse, mt, b)
	}
	wd.Arm("first token", p.timeout.FirstToken)
	dec := newDecoder(tr.trimmed, time.Now().Unix())
	r := sse.NewReader(resp.Body)
	for {
		e, err := r.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return dec.finalUsage(), fmt.Errorf("%w: stream ended before message_stop", providers.ErrStreamBroken)
			}
			return dec.finalUsage(), providers.Classify(ctx, err)
		}
		if e.Comment || e.Data == nil {
			continue
		}
		evs, herr := dec.handle(e.Name, e.Data)
		if dec.sawToken {
			// message_start and pings come at once even when the model
			// is slow to produce its first token: only output moves the
			// deadline from "first token" to the idle gap.
			wd.Arm("stream event", p.timeout.Idle)
		}
		more := r.EventBuffered()
		for i := range evs {
			evs[i].More = i < len(evs)-1 || more
			if err := sink.Event(&evs[i]); err != nil {
				if errors.Is(err, providers.ErrStop) {
					return dec.finalUsage(), nil
				}
				return dec.finalUsage(), err
			}
		}
		if herr != nil {
			return dec.finalUsage(), herr
		}
		if dec.done {
			return dec.finalUsage(), nil
		}
	}
}

type blockKind uint8

const (
	kindOther blockKind = iota // server tools, redacted thinking, anything new
	kindText
	kindThinking
	kindTool
)

// blockState follows one open content block.
type blockState struct {
	kind blockKind
	tool int  // the OpenAI tool-call index, counted over client tool_use blocks only
	args bool // an arguments fragment went out
	// input is the input given whole at block start, sent at block stop
	// when no fragment streamed (so arguments is never empty JSON).
	input string
}

// decoder turns Anthropic stream events into OpenAI chunks. It holds no
// I/O, so tests and the fuzzer drive it directly.
type decoder struct {
	created int64
	head    []byte // `{"id":…,"object":…,"created":…,"model":…,`
	started bool
	// sawToken: output (text, reasoning, a tool call or the finish) has
	// arrived.
	sawToken bool
	finished bool
	done     bool
	gotFinal bool // message_delta reported the final counts
	usage    nativeUsage
	blocks   map[int]*blockState
	tools    int
	skip     wsSkipper
	tokens   int64
	out      []providers.Event
}

func newDecoder(trimmed string, created int64) *decoder {
	return &decoder{created: created, skip: wsSkipper{rest: trimmed}, blocks: map[int]*blockState{}}
}

// handle translates one event. The returned events are valid until the
// next call; the error is an in-band upstream error (ErrStreamBroken).
func (d *decoder) handle(name, data []byte) ([]providers.Event, error) {
	d.out = d.out[:0]
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, nil
	}
	if !gjson.ValidBytes(data) {
		d.out = append(d.out, providers.Event{Malformed: true})
		return d.out, nil
	}
	root := gjson.ParseBytes(data)
	typ := root.Get("type").Str
	if typ == "" {
		typ = string(name)
	}
	switch typ {
	case "message_start":
		m := root.Get("message")
		if !d.started {
			d.setHead(m.Get("id").Str, m.Get("model").Str)
		}
		d.usage.merge(m.Get("usage"))
		d.start()
	case "content_block_start":
		d.start()
		d.blockStart(int(root.Get("index").Int()), root.Get("content_block"))
	case "content_block_delta":
		d.start()
		d.blockDelta(d.blocks[int(root.Get("index").Int())], root.Get("delta"))
	case "content_block_stop":
		idx := int(root.Get("index").Int())
		if st := d.blocks[idx]; st != nil && st.kind == kindTool && !st.args {
			d.toolArgs(st, st.input)
		}
		delete(d.blocks, idx)
	case "message_delta":
		d.start()
		if u := root.Get("usage"); u.IsObject() {
			d.usage.merge(u)
			d.gotFinal = true
		}
		if sr := root.Get("delta.stop_reason"); sr.Type == gjson.String && sr.Str != "" {
			d.finish(finishReason(sr.Str))
		}
	case "message_stop":
		d.start()
		d.finish("stop")
		u := d.finalUsage()
		c := append(d.headCopy(), `"choices":[],"usage":`...)
		c = appendUsage(c, u)
		c = append(c, '}')
		d.out = append(d.out,
			providers.Event{Data: c, UsageOnly: true, Usage: &u},
			providers.Event{Data: doneData, Done: true})
		d.done = true
	case "error":
		e := root.Get("error")
		msg := e.Get("message").String()
		if t := e.Get("type").Str; t != "" {
			msg = t + ": " + msg
		}
		return d.out, fmt.Errorf("%w: upstream error in stream: %s", providers.ErrStreamBroken, msg)
	}
	// ping and event types added after this was written need nothing.
	return d.out, nil
}

func (d *decoder) setHead(id, model string) {
	h := append([]byte(`{"id":`), appendString(nil, "chatcmpl-"+id)...)
	h = append(h, `,"object":"chat.completion.chunk","created":`...)
	h = appendInt(h, d.created)
	h = append(h, `,"model":`...)
	h = appendString(h, model)
	d.head = append(h, ',')
}

// headCopy returns a fresh buffer starting with the chunk's common fields.
func (d *decoder) headCopy() []byte {
	if d.head == nil {
		d.setHead("", "") // content before message_start: keep going
	}
	return append(make([]byte, 0, len(d.head)+128), d.head...)
}

// emit appends a chunk carrying delta (a JSON object) and, when finish is
// set, the finish reason.
func (d *decoder) emit(delta []byte, finish string, tokens int64) {
	c := append(d.headCopy(), `"choices":[{"index":0,"delta":`...)
	c = append(c, delta...)
	c = append(c, `,"logprobs":null,"finish_reason":`...)
	if finish == "" {
		c = append(c, "null"...)
	} else {
		c = appendString(c, finish)
	}
	c = append(c, `}]}`...)
	d.tokens += tokens
	if tokens > 0 || finish != "" {
		d.sawToken = true
	}
	d.out = append(d.out, providers.Event{Data: c, Finish: finish != "", Tokens: tokens})
}

// start sends the role chunk once, before anything else.
func (d *decoder) start() {
	if d.started {
		return
	}
	d.started = true
	d.emit([]byte(`{"role":"assistant","content":""}`), "", 0)
}

func (d *decoder) finish(reason string) {
	if d.finished {
		return
	}
	d.finished = true
	d.emit([]byte(`{}`), reason, 0)
}

func (d *decoder) text(key, s string) {
	if s == "" {
		return
	}
	delta := append([]byte(`{"`), key...)
	delta = append(delta, `":`...)
	delta = appendString(delta, s)
	d.emit(append(delta, '}'), "", 1)
}

func (d *decoder) blockStart(idx int, cb gjson.Result) {
	st := &blockState{}
	switch cb.Get("type").Str {
	case "text":
		st.kind = kindText
		d.text("content", d.skip.feed(cb.Get("text").Str))
	case "thinking":
		st.kind = kindThinking
		d.text("reasoning_content", cb.Get("thinking").Str)
	case "tool_use":
		st.kind, st.tool = kindTool, d.tools
		d.tools++
		if in := cb.Get("input"); in.IsObject() && len(in.Map()) > 0 {
			st.input = compactInput(in)
		}
		delta := []byte(`{"tool_calls":[{"index":`)
		delta = appendInt(delta, int64(st.tool))
		delta = append(delta, `,"id":`...)
		delta = appendString(delta, cb.Get("id").Str)
		delta = append(delta, `,"type":"function","function":{"name":`...)
		delta = appendString(delta, cb.Get("name").Str)
		delta = append(delta, `,"arguments":""}}]}`...)
		d.emit(delta, "", 1)
	}
	d.blocks[idx] = st
}

func (d *decoder) blockDelta(st *blockState, delta gjson.Result) {
	kind := kindOther
	if st != nil {
		kind = st.kind
	}
	switch delta.Get("type").Str {
	case "text_delta":
		if st == nil || kind == kindText {
			d.text("content", d.skip.feed(delta.Get("text").Str))
		}
	case "thinking_delta":
		if st == nil || kind == kindThinking {
			d.text("reasoning_content", delta.Get("thinking").Str)
		}
	case "input_json_delta":
		// Only a client tool's input: a server tool's must not leak into
		// a tool call.
		if kind == kindTool {
			if pj := delta.Get("partial_json").Str; pj != "" {
				d.toolArgs(st, pj)
			}
		}
	}
	// signature_delta and citations_delta have no OpenAI counterpart.
}

// toolArgs sends an arguments fragment; an empty input becomes {} so the
// assembled arguments always parse.
func (d *decoder) toolArgs(st *blockState, frag string) {
	if frag == "" {
		frag = "{}"
	}
	st.args = true
	delta := []byte(`{"tool_calls":[{"index":`)
	delta = appendInt(delta, int64(st.tool))
	delta = append(delta, `,"function":{"arguments":`...)
	delta = appendString(delta, frag)
	d.emit(append(delta, `}}]}`...), "", 1)
}

// finalUsage is the usage reported so far; before message_delta brought
// the final counts it is flagged as an estimate, with the completion
// counted from the chunks delivered.
func (d *decoder) finalUsage() providers.Usage {
	u := d.usage.normalise()
	if !d.gotFinal {
		u.CompletionTokens = max(u.CompletionTokens, d.tokens)
		u.Estimated = true
	}
	return u
}
