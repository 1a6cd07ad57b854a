package bedrock

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"strconv"
	"time"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/providers"
)

var doneData = []byte("[DONE]")

// chunker renders chat.completion.chunk objects sharing one id, created
// time and model. Every chunk is a fresh slice: the sink may keep it.
type chunker struct {
	head []byte // {"id":…,"object":…,"created":…,"model":…,"choices":
}

func newChunker(id, model string, created int64) chunker {
	b := providers.AppendJSONString([]byte(`{"id":`), id)
	b = append(b, `,"object":"chat.completion.chunk","created":`...)
	b = strconv.AppendInt(b, created, 10)
	b = append(b, `,"model":`...)
	b = providers.AppendJSONString(b, model)
	return chunker{head: append(b, `,"choices":`...)}
}

// chunk wraps a delta object (and an optional finish reason) in a chunk.
func (c chunker) chunk(delta []byte, finish string) []byte {
	b := make([]byte, 0, len(c.head)+len(delta)+64)
	b = append(b, c.head...)
	b = append(b, `[{"index":0,"delta":`...)
	b = append(b, delta...)
	b = append(b, `,"logprobs":null,"finish_reason":`...)
	if finish == "" {
		b = append(b, "null"...)
	} else {
		b = providers.AppendJSONString(b, finish)
	}
	return append(b, "}]}"...)
}

// usageChunk is the final choices:[] chunk carrying the usage.
func (c chunker) usageChunk(u providers.Usage) []byte {
	uj, _ := marshal(toUsageJSON(u))
	b := append(append([]byte(nil), c.head...), `[],"usage":`...)
	b = append(b, uj...)
	return append(b, '}')
}

// textDelta renders {"<key>":"<s>"}.
func textDelta(key, s string) []byte {
	b := providers.AppendJSONString([]byte{'{'}, key)
	b = append(b, ':')
	b = providers.AppendJSONString(b, s)
	return append(b, '}')
}

// Stream performs a ConverseStream call and translates its events.
func (p *Provider) Stream(ctx context.Context, req *providers.Request, sink providers.Sink) (providers.Usage, error) {
	body, err := p.prepare(req)
	if err != nil {
		return providers.Usage{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout.Total)
	defer cancel()
	ctx, wd := providers.NewWatchdog(ctx)
	defer wd.Stop()
	resp, err := p.send(ctx, wd, req.Model, "converse-stream", body)
	if err != nil {
		return providers.Usage{}, err
	}
	defer resp.Body.Close()
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "" && mt != "application/vnd.amazon.eventstream" {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return providers.Usage{}, fmt.Errorf("%w: expected an event stream, got %s: %.200s", providers.ErrBadResponse, mt, b)
	}
	wd.Arm("first token", p.timeout.FirstToken)
	s := &streamState{
		fr:    newFrameReader(resp.Body),
		ch:    newChunker(completionID(resp.Header.Get("X-Amzn-Requestid")), req.Model, p.now().Unix()),
		tools: map[int64]int{},
		sink:  sink,
		wd:    wd,
		idle:  p.timeout.Idle,
	}
	return s.run(ctx)
}

// streamState is the translation of one ConverseStream.
type streamState struct {
	fr    *frameReader
	ch    chunker
	sink  providers.Sink
	wd    *providers.Watchdog
	idle  time.Duration
	tools map[int64]int // contentBlockIndex → OpenAI tool index

	started, finished bool
	usage             providers.Usage
	gotUsage          bool
	tokens            int64
}

// errDone ends the loop after [DONE] was delivered (or the sink stopped).
var errDone = errors.New("done")

func (s *streamState) run(ctx context.Context) (providers.Usage, error) {
	for {
		f, err := s.fr.Next()
		if err != nil {
			switch {
			case errors.Is(err, io.EOF) && s.finished:
				// messageStop arrived but metadata did not: the answer
				// is complete, only the usage is estimated.
				return s.final(), nil
			case errors.Is(err, io.EOF):
				return s.final(), fmt.Errorf("%w: stream ended before messageStop", providers.ErrStreamBroken)
			case errors.Is(err, providers.ErrStreamBroken):
				return s.final(), err
			}
			return s.final(), providers.Classify(ctx, err)
		}
		if err := s.frame(f); err != nil {
			if errors.Is(err, errDone) || errors.Is(err, providers.ErrStop) {
				return s.final(), nil
			}
			return s.final(), err
		}
		// messageStart arrives at once, before the model has produced
		// anything: the first-token deadline keeps running until output
		// (text, reasoning or a tool call) does, then gaps are bounded by
		// the idle deadline.
		if s.tokens > 0 || s.finished {
			s.wd.Arm("stream event", s.idle)
		}
	}
}

// frame handles one decoded message.
func (s *streamState) frame(f *frame) error {
	switch f.str(":message-type") {
	case "exception", "error":
		return streamException(f)
	case "event":
	default:
		return nil
	}
	if !gjson.ValidBytes(f.Payload) {
		return s.emit(&providers.Event{Malformed: true})
	}
	p := gjson.ParseBytes(f.Payload)
	switch f.str(":event-type") {
	case "messageStart":
		return s.role(false)
	case "contentBlockStart":
		tu := p.Get("start.toolUse")
		if !tu.IsObject() {
			return nil
		}
		idx := len(s.tools)
		s.tools[p.Get("contentBlockIndex").Int()] = idx
		d := []byte(`{"tool_calls":[{"index":`)
		d = strconv.AppendInt(d, int64(idx), 10)
		d = append(d, `,"id":`...)
		d = providers.AppendJSONString(d, tu.Get("toolUseId").Str)
		d = append(d, `,"type":"function","function":{"name":`...)
		d = providers.AppendJSONString(d, tu.Get("name").Str)
		d = append(d, `,"arguments":""}}]}`...)
		return s.content(d)
	case "contentBlockDelta":
		return s.delta(p)
	case "messageStop":
		if err := s.role(true); err != nil {
			return err
		}
		s.finished = true
		return s.emit(&providers.Event{Data: s.ch.chunk([]byte("{}"), finishReason(p.Get("stopReason").Str)), Finish: true})
	case "metadata":
		s.usage, s.gotUsage = parseUsage(p.Get("usage")), true
		if !s.finished {
			return fmt.Errorf("%w: metadata arrived before messageStop", providers.ErrStreamBroken)
		}
		u := s.usage
		// [DONE] follows at once: no flush in between.
		if err := s.sink.Event(&providers.Event{Data: s.ch.usageChunk(u), UsageOnly: true, Usage: &u, More: true}); err != nil {
			return err
		}
		if err := s.emit(&providers.Event{Data: doneData, Done: true}); err != nil {
			return err
		}
		return errDone
	}
	return nil // contentBlockStop and event types added later
}

// delta handles contentBlockDelta: text, a tool input fragment or
// reasoning text (reasoning signatures are not representable in OpenAI's
// shape and are dropped).
func (s *streamState) delta(p gjson.Result) error {
	d := p.Get("delta")
	if t := d.Get("text"); t.Type == gjson.String {
		if t.Str == "" {
			return nil
		}
		return s.content(textDelta("content", t.Str))
	}
	if in := d.Get("toolUse.input"); in.Exists() {
		idx, ok := s.tools[p.Get("contentBlockIndex").Int()]
		if !ok || in.Type != gjson.String {
			// A fragment for a block that never started as a tool.
			return s.emit(&providers.Event{Malformed: true})
		}
		if in.Str == "" {
			return nil
		}
		b := []byte(`{"tool_calls":[{"index":`)
		b = strconv.AppendInt(b, int64(idx), 10)
		b = append(b, `,"function":{"arguments":`...)
		b = providers.AppendJSONString(b, in.Str)
		return s.content(append(b, "}}]}"...))
	}
	if r := d.Get("reasoningContent.text"); r.Type == gjson.String && r.Str != "" {
		return s.content(textDelta("reasoning_content", r.Str))
	}
	return nil
}

// role emits the opening chunk once, even if messageStart went missing;
// next reports that another chunk follows at once (so no flush between).
func (s *streamState) role(next bool) error {
	if s.started {
		return nil
	}
	s.started = true
	ev := &providers.Event{Data: s.ch.chunk([]byte(`{"role":"assistant","content":""}`), "")}
	if next {
		ev.More = true
		return s.sink.Event(ev)
	}
	return s.emit(ev)
}

// content emits a chunk that delivers generated output.
func (s *streamState) content(delta []byte) error {
	if err := s.role(true); err != nil {
		return err
	}
	s.tokens++
	return s.emit(&providers.Event{Data: s.ch.chunk(delta, ""), Tokens: 1})
}

func (s *streamState) emit(ev *providers.Event) error {
	ev.More = s.fr.frameBuffered()
	return s.sink.Event(ev)
}

// final returns the reported usage, or the running estimate flagged as
// such when the stream ended before metadata.
func (s *streamState) final() providers.Usage {
	if s.gotUsage {
		return s.usage
	}
	return providers.Usage{CompletionTokens: s.tokens, Estimated: true}
}
