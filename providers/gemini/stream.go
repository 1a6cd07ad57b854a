package gemini

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

// OpenAI chunk shapes.
type chunk struct {
	ID      string        `json:"id"`
	Object  string        `json:"object"`
	Created int64         `json:"created"`
	Model   string        `json:"model"`
	Choices []chunkChoice `json:"choices"`
	Usage   *usageJSON    `json:"usage,omitempty"`
}

type chunkChoice struct {
	Index        int       `json:"index"`
	Delta        delta     `json:"delta"`
	Logprobs     *struct{} `json:"logprobs"`
	FinishReason *string   `json:"finish_reason"`
}

type delta struct {
	Role             string     `json:"role,omitempty"`
	Content          *string    `json:"content,omitempty"`
	ReasoningContent string     `json:"reasoning_content,omitempty"`
	ToolCalls        []toolCall `json:"tool_calls,omitempty"`
}

var doneData = []byte("[DONE]")

// maxCandidateIndex bounds the choice index taken from the upstream; the
// OpenAI API (and its SDK accumulators) stop at 128 choices.
const maxCandidateIndex = 127

// decoder turns Gemini stream payloads into OpenAI chunk events. It holds
// no I/O, so the fuzz test drives it directly.
type decoder struct {
	reqModel string
	now      time.Time
	h        header
	started  bool
	cands    map[int]*candState
	usage    providers.Usage
	gotUsage bool
	tokens   int64
	finished bool
	evs      []providers.Event
}

type candState struct {
	tools    int
	finished bool
}

func newDecoder(reqModel string, now time.Time) *decoder {
	return &decoder{reqModel: reqModel, now: now, cands: map[int]*candState{}}
}

// feed decodes one event's data: each is a complete GenerateContentResponse
// holding only the parts that are new since the previous one. The events
// returned are valid until the next call.
func (d *decoder) feed(data []byte) ([]providers.Event, error) {
	d.evs = d.evs[:0]
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, nil
	}
	if !gjson.ValidBytes(data) {
		return append(d.evs, providers.Event{Malformed: true}), nil
	}
	root := gjson.ParseBytes(data)
	if !root.IsObject() {
		return append(d.evs, providers.Event{Malformed: true}), nil
	}
	if e := root.Get("error"); e.Exists() && e.Type != gjson.Null {
		msg := e.Get("message").String()
		if msg == "" {
			msg = e.String()
		}
		return nil, fmt.Errorf("%w: upstream error in stream: %s", providers.ErrStreamBroken, msg)
	}
	if !d.started {
		d.h = newHeader(root, d.reqModel, d.now)
		d.started = true
	}
	// usageMetadata is cumulative on every chunk: the last one wins.
	if u := root.Get("usageMetadata"); u.IsObject() {
		d.usage, d.gotUsage = parseUsage(u), true
	}
	cands := root.Get("candidates").Array()
	for n, c := range cands {
		idx := n
		if i := c.Get("index"); i.Exists() {
			idx = int(i.Int())
		}
		if idx < 0 || idx > maxCandidateIndex {
			continue
		}
		cs := d.cand(idx)
		if cs.finished {
			continue // nothing may follow a choice's finish chunk
		}
		for _, p := range c.Get("content.parts").Array() {
			d.part(idx, cs, p)
		}
		if fr := c.Get("finishReason").String(); fr != "" {
			d.finish(idx, cs, finishReason(fr, cs.tools > 0))
		}
	}
	if len(cands) == 0 && root.Get("promptFeedback.blockReason").String() != "" {
		// The prompt was blocked: an empty answer filtered by content policy.
		if cs := d.cand(0); !cs.finished {
			d.finish(0, cs, "content_filter")
		}
	}
	return d.evs, nil
}

// cand returns a candidate's state, emitting its role chunk first time.
func (d *decoder) cand(idx int) *candState {
	cs, ok := d.cands[idx]
	if !ok {
		cs = &candState{}
		d.cands[idx] = cs
		empty := ""
		d.emit(chunkChoice{Index: idx, Delta: delta{Role: "assistant", Content: &empty}}, 0, false)
	}
	return cs
}

// part emits one part. Function calls arrive whole, so a call is one
// fragment carrying id, name and the complete arguments.
func (d *decoder) part(idx int, cs *candState, p gjson.Result) {
	kind, text, name, args, sig := readPart(p)
	switch kind {
	case partText:
		d.emit(chunkChoice{Index: idx, Delta: delta{Content: &text}}, 1, false)
	case partThought:
		d.emit(chunkChoice{Index: idx, Delta: delta{ReasoningContent: text}}, 1, false)
	case partCall:
		n := cs.tools
		cs.tools++
		tc := toolCall{
			Index:    &n,
			ID:       encodeCallID(d.h.respID, idx, n, name, sig),
			Type:     "function",
			Function: fnCall{Name: name, Arguments: args},
		}
		d.emit(chunkChoice{Index: idx, Delta: delta{ToolCalls: []toolCall{tc}}}, 1, false)
	}
}

func (d *decoder) finish(idx int, cs *candState, reason string) {
	cs.finished, d.finished = true, true
	d.emit(chunkChoice{Index: idx, FinishReason: &reason}, 0, true)
}

func (d *decoder) emit(c chunkChoice, tokens int64, finish bool) {
	b, _ := marshal(chunk{ID: d.h.id, Object: "chat.completion.chunk", Created: d.h.created, Model: d.h.model, Choices: []chunkChoice{c}})
	d.tokens += tokens
	d.evs = append(d.evs, providers.Event{Data: b, Tokens: tokens, Finish: finish})
}

// end closes a stream at EOF: Gemini has no terminator, so a stream is
// complete only if some candidate reported its finishReason. It yields
// the usage-only chunk and [DONE].
func (d *decoder) end() ([]providers.Event, error) {
	if !d.finished {
		return nil, fmt.Errorf("%w: stream ended before a finishReason", providers.ErrStreamBroken)
	}
	u := d.final()
	uj := toUsageJSON(u)
	b, _ := marshal(chunk{ID: d.h.id, Object: "chat.completion.chunk", Created: d.h.created, Model: d.h.model, Choices: []chunkChoice{}, Usage: &uj})
	return []providers.Event{
		{Data: b, UsageOnly: true, Usage: &u},
		{Data: doneData, Done: true},
	}, nil
}

// final is the reported usage, or the flagged estimate of what was
// delivered when the upstream never reported any.
func (d *decoder) final() providers.Usage {
	if d.gotUsage {
		return d.usage
	}
	return providers.Usage{CompletionTokens: d.tokens, Estimated: true}
}

// Stream performs a streaming chat call, translating each event.
func (p *Provider) Stream(ctx context.Context, req *providers.Request, sink providers.Sink) (providers.Usage, error) {
	if req.Endpoint == providers.Embeddings {
		return providers.Usage{}, badRequest("Embeddings cannot be streamed.", "stream")
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout.Total)
	defer cancel()
	ctx, wd := providers.NewWatchdog(ctx)
	defer wd.Stop()
	native, err := translateChat(req.Model, req.Body)
	if err != nil {
		return providers.Usage{}, err
	}
	resp, err := p.send(ctx, wd, p.methodURL(req.Model, "streamGenerateContent")+"?alt=sse", native, true)
	if err != nil {
		return providers.Usage{}, err
	}
	defer resp.Body.Close()
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" && mt != "" {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return providers.Usage{}, fmt.Errorf("%w: expected an event stream, got %s: %.200s", providers.ErrBadResponse, mt, body)
	}
	wd.Arm("first token", p.timeout.FirstToken)
	d := newDecoder(req.Model, p.now())
	r := sse.NewReader(resp.Body)
	// deliver hands a batch to the sink; stop reports that the call is
	// over (ErrStop: cleanly, so err is nil).
	deliver := func(evs []providers.Event) (stop bool, err error) {
		for i := range evs {
			evs[i].More = i < len(evs)-1 || r.EventBuffered()
			if err := sink.Event(&evs[i]); err != nil {
				if errors.Is(err, providers.ErrStop) {
					return true, nil
				}
				return true, err
			}
		}
		return false, nil
	}
	for {
		e, err := r.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				return d.final(), providers.Classify(ctx, err)
			}
			evs, err := d.end()
			if err != nil {
				return d.final(), err
			}
			_, err = deliver(evs)
			return d.final(), err
		}
		if e.Comment || e.Data == nil {
			continue
		}
		evs, ferr := d.feed(e.Data)
		if !(len(evs) == 1 && evs[0].Malformed) {
			wd.Arm("stream event", p.timeout.Idle)
		}
		if stop, err := deliver(evs); stop {
			return d.final(), err
		}
		if ferr != nil {
			return d.final(), ferr
		}
	}
}
