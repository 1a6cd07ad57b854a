package mock

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/llmgate/llmgate/providers"
)

var doneData = []byte("[DONE]")

// events renders the whole stream for a plan up front: the answer is
// already decided, and delivery (pacing, cuts, sink errors) is simpler to
// reason about over a plain list. A "-cut-<n>" plan ends after the role
// chunk and n content events, with no finish, usage or [DONE].
func (p *plan) events() []*providers.Event {
	var evs []*providers.Event
	add := func(data []byte, tokens int64) *providers.Event {
		ev := &providers.Event{Raw: frame(data), Data: data, Tokens: tokens}
		evs = append(evs, ev)
		return ev
	}
	content := 0
	if p.tool != nil {
		// OpenAI merges the role into the first tool-call fragment, which
		// carries the id and name with empty arguments.
		add(chunk(p, deltaJSON{
			Role:    "assistant",
			Content: jsonNull,
			ToolCalls: []toolCallDelta{{
				ID:       p.tool.id,
				Type:     "function",
				Function: functionDelta{Name: p.tool.name},
			}},
			Refusal: jsonNull,
		}, ""), int64(p.tool.nameTokens))
		for _, frag := range p.tool.args {
			if content == p.cut {
				return evs
			}
			add(chunk(p, deltaJSON{ToolCalls: []toolCallDelta{{Function: functionDelta{Arguments: frag}}}}, ""), 1)
			content++
		}
	} else {
		add(chunk(p, deltaJSON{Role: "assistant", Content: mustJSON(""), Refusal: jsonNull}, ""), 0)
		for _, tok := range p.tokens {
			if content == p.cut {
				return evs
			}
			add(chunk(p, deltaJSON{Content: mustJSON(tok)}, ""), 1)
			content++
		}
	}
	if p.cut >= 0 {
		return evs
	}
	add(chunk(p, deltaJSON{}, p.finish), 0).Finish = true
	if p.includeUsage {
		u := p.usage()
		ev := add(usageChunk(p), 0)
		ev.UsageOnly, ev.Usage = true, &u
	}
	add(doneData, 0).Done = true
	return evs
}

func frame(data []byte) []byte {
	out := make([]byte, 0, len(data)+8)
	out = append(out, "data: "...)
	out = append(out, data...)
	return append(out, "\n\n"...)
}

// deliver hands the plan's events to sink, pacing them like a model would.
// The usage it returns is exact when the answer completed and an estimate
// of what was delivered otherwise.
func (p *Provider) deliver(ctx context.Context, req *providers.Request, pl *plan, sink providers.Sink) (providers.Usage, error) {
	var delivered int64
	for i, ev := range pl.events() {
		wait, limit := p.delay, req.Timeouts.Idle
		if i == 0 {
			wait, limit = p.firstDelay, req.Timeouts.FirstToken
		}
		if err := pause(ctx, wait, limit); err != nil {
			return pl.partialUsage(delivered), err
		}
		err := sink.Event(ev)
		if errors.Is(err, providers.ErrStop) {
			return pl.partialUsage(delivered + ev.Tokens), nil
		}
		if err != nil {
			return pl.partialUsage(delivered), fmt.Errorf("mock: delivering event: %w", err)
		}
		delivered += ev.Tokens
	}
	if pl.cut >= 0 {
		return pl.partialUsage(delivered), fmt.Errorf("mock: model %q breaks the stream after %d tokens: %w",
			req.Model, pl.cut, providers.ErrStreamBroken)
	}
	return pl.usage(), nil
}

// pause waits d, or returns early with an error when ctx ends. When the
// wait would exceed limit (a first-token, idle or header timeout), it
// waits only limit and reports ErrTimeout, as a real slow upstream would
// trip the same deadline.
func pause(ctx context.Context, d, limit time.Duration) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mock: %w", err)
	}
	if d <= 0 {
		return nil
	}
	timedOut := limit > 0 && d > limit
	if timedOut {
		d = limit
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("mock: %w", ctx.Err())
	case <-t.C:
	}
	if timedOut {
		return fmt.Errorf("mock: no event within %s: %w", limit, providers.ErrTimeout)
	}
	return nil
}
