package openai

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/providers/sse"
)

var doneData = []byte("[DONE]")

// parseResponse peeks usage out of a non-streaming answer.
func parseResponse(body []byte) (*providers.Response, error) {
	if !gjson.ValidBytes(body) {
		return nil, fmt.Errorf("%w: answer is not JSON", providers.ErrBadResponse)
	}
	u := gjson.GetBytes(body, "usage")
	return &providers.Response{Body: body, Usage: providers.ParseOpenAIUsage(u)}, nil
}

// streamBody prepares the upstream body of a streaming call: the gateway
// always wants usage, so include_usage is switched on unless the upstream
// rejects stream_options altogether (it then reports usage regardless).
func (p *Provider) streamBody(body []byte) []byte {
	so := gjson.GetBytes(body, "stream_options")
	if p.flavor.noStreamOptions {
		if so.Exists() {
			if b, err := sjson.DeleteBytes(body, "stream_options"); err == nil {
				return b
			}
		}
		return body
	}
	if so.Get("include_usage").Bool() {
		return body
	}
	if b, err := sjson.SetBytes(body, "stream_options.include_usage", true); err == nil {
		return b
	}
	return body
}

// Stream performs a streaming call, passing each event through.
func (p *Provider) Stream(ctx context.Context, req *providers.Request, sink providers.Sink) (providers.Usage, error) {
	if req.Endpoint == providers.Responses {
		return p.streamResponses(ctx, req, sink)
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout.Total)
	defer cancel()
	ctx, wd := providers.NewWatchdog(ctx)
	defer wd.Stop()
	resp, err := p.send(ctx, wd, req, p.streamBody(req.Body))
	if err != nil {
		return providers.Usage{}, err
	}
	defer resp.Body.Close()
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" && mt != "" {
		// Some compatible servers ignore "stream" and answer JSON.
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return providers.Usage{}, fmt.Errorf("%w: expected an event stream, got %s: %.200s", providers.ErrBadResponse, mt, body)
	}
	wd.Arm("first token", p.timeout.FirstToken)
	var (
		r        = sse.NewReader(resp.Body)
		usage    providers.Usage
		gotUsage bool
		finished bool
		tokens   int64
		started  bool
		ev       providers.Event
	)
	for {
		e, err := r.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				if finished {
					// No [DONE], but the answer is complete: the gateway
					// finalises it at once.
					return finalUsage(usage, gotUsage, tokens), nil
				}
				return finalUsage(usage, gotUsage, tokens), fmt.Errorf("%w: stream ended before a finish_reason", providers.ErrStreamBroken)
			}
			return finalUsage(usage, gotUsage, tokens), providers.Classify(ctx, err)
		}
		ev = providers.Event{Raw: e.Raw, More: r.EventBuffered()}
		if e.Comment || e.Data == nil {
			ev.Comment = true
			if err := sink.Event(&ev); err != nil {
				return p.stopped(usage, gotUsage, tokens, err)
			}
			continue
		}
		data := bytes.TrimSpace(e.Data)
		if bytes.Equal(data, doneData) {
			ev.Data, ev.Done = data, true
			err := sink.Event(&ev)
			if err != nil && !errors.Is(err, providers.ErrStop) {
				return finalUsage(usage, gotUsage, tokens), err
			}
			return finalUsage(usage, gotUsage, tokens), nil
		}
		if !gjson.ValidBytes(data) {
			// A malformed event is dropped (the sink logs it); the
			// stream goes on.
			ev.Malformed = true
			if err := sink.Event(&ev); err != nil {
				return p.stopped(usage, gotUsage, tokens, err)
			}
			continue
		}
		if !started {
			started = true
		}
		wd.Arm("stream event", p.timeout.Idle)
		// One pass over the top-level keys instead of a lookup per field:
		// this runs for every chunk of every stream.
		var choices, u, upErr gjson.Result
		gjson.ParseBytes(data).ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "choices":
				choices = v
			case "usage":
				if v.IsObject() {
					u = v
				}
			case "error":
				upErr = v
			case "x_groq":
				if !u.Exists() {
					if xu := v.Get("usage"); xu.IsObject() {
						u = xu
					}
				}
			}
			return true
		})
		if u.Exists() {
			usage, gotUsage = providers.ParseOpenAIUsage(u), true
			ev.Usage = &usage
		}
		if upErr.Exists() && upErr.Type != gjson.Null {
			// OpenRouter and others report failures inside a 200 stream.
			msg := upErr.Get("message").String()
			if msg == "" {
				msg = upErr.String()
			}
			return finalUsage(usage, gotUsage, tokens), fmt.Errorf("%w: upstream error in stream: %s", providers.ErrStreamBroken, msg)
		}
		n := 0
		choices.ForEach(func(_, c gjson.Result) bool {
			n++
			c.ForEach(func(k, v gjson.Result) bool {
				switch k.Str {
				case "finish_reason":
					if v.Type != gjson.Null {
						ev.Finish = true
					}
				case "delta":
					if deltaHasContent(v) {
						ev.Tokens++
					}
				}
				return true
			})
			return true
		})
		tokens += ev.Tokens
		ev.UsageOnly = n == 0 && ev.Usage != nil
		if ev.Finish {
			finished = true
		}
		ev.Data = data
		if p.flavor.eosFinish && ev.Finish && bytes.Contains(data, []byte(`"finish_reason":"eos"`)) {
			ev.Data = bytes.ReplaceAll(data, []byte(`"finish_reason":"eos"`), []byte(`"finish_reason":"stop"`))
			ev.Raw = nil
		}
		if err := sink.Event(&ev); err != nil {
			return p.stopped(usage, gotUsage, tokens, err)
		}
	}
}

func (p *Provider) stopped(u providers.Usage, got bool, tokens int64, err error) (providers.Usage, error) {
	if errors.Is(err, providers.ErrStop) {
		return finalUsage(u, got, tokens), nil
	}
	return finalUsage(u, got, tokens), err
}

// finalUsage returns the reported usage, or the running estimate flagged
// as such when the upstream never reported it.
func finalUsage(u providers.Usage, got bool, tokens int64) providers.Usage {
	if got {
		return u
	}
	return providers.Usage{CompletionTokens: tokens, Estimated: true}
}

// deltaHasContent reports whether a chunk's delta carries generated text,
// reasoning, a refusal or tool-call fragments (one pass over its keys).
func deltaHasContent(d gjson.Result) bool {
	has := false
	d.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "content", "reasoning_content", "reasoning", "refusal":
			has = v.Type == gjson.String && v.Str != ""
		case "tool_calls":
			has = v.IsArray()
		}
		return !has
	})
	return has
}
