package anthropic

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/providers/providertest"
)

// events builds an Anthropic stream body from (type, data) pairs.
func events(pairs ...string) []byte {
	var b bytes.Buffer
	for i := 0; i+1 < len(pairs); i += 2 {
		fmt.Fprintf(&b, "event: %s\ndata: %s\n\n", pairs[i], pairs[i+1])
	}
	return b.Bytes()
}

const (
	evStart  = `{"type":"message_start","message":{"id":"msg_x","model":"claude-haiku-4-5","content":[],"usage":{"input_tokens":7,"cache_read_input_tokens":3,"cache_creation_input_tokens":2,"output_tokens":1}}}`
	evText0  = `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`
	evDeltaA = `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}`
	evDeltaB = `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" there"}}`
	evStop0  = `{"type":"content_block_stop","index":0}`
	evMDelta = `{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":5}}`
	evMStop  = `{"type":"message_stop"}`
)

func TestStreamSynthetic(t *testing.T) {
	cases := []struct {
		name    string
		body    []byte
		content string
		tools   []toolCall
		finish  string
		usage   providers.Usage
		errIs   error
		errMsg  string
		bad     int // malformed events expected
	}{
		{"cache counts and cumulative usage", events("message_start", evStart, "content_block_start", evText0, "content_block_delta", evDeltaA, "content_block_delta", evDeltaB, "content_block_stop", evStop0, "message_delta", evMDelta, "message_stop", evMStop),
			"Hello there", nil, "stop", providers.Usage{PromptTokens: 12, CompletionTokens: 5, CachedTokens: 3, CacheWriteTokens: 2}, nil, "", 0},
		{"unparseable event is dropped, stream goes on", events("message_start", evStart, "content_block_start", evText0, "content_block_delta", evDeltaA, "content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_d`, "content_block_delta", evDeltaB, "message_delta", evMDelta, "message_stop", evMStop),
			"Hello there", nil, "stop", providers.Usage{PromptTokens: 12, CompletionTokens: 5, CachedTokens: 3, CacheWriteTokens: 2}, nil, "", 1},
		{"unknown events and blocks are ignored", events("message_start", evStart,
			"future_event", `{"type":"future_event","x":1}`,
			"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"server_tool_use","id":"srv_1","name":"web_search","input":{}}}`,
			"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"q\":1}"}}`,
			"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"brand_new_delta","x":"y"}}`,
			"content_block_stop", `{"type":"content_block_stop","index":0}`,
			"content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_a","name":"f","input":{}}}`,
			"content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}}`,
			"content_block_delta", `{"type":"content_block_delta","index":9,"delta":{"type":"input_json_delta","partial_json":"leak"}}`,
			"content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"1}"}}`,
			"content_block_stop", `{"type":"content_block_stop","index":1}`,
			"content_block_start", `{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_b","name":"g","input":{"given":true}}}`,
			"content_block_stop", `{"type":"content_block_stop","index":2}`,
			"message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}}`, "message_stop", evMStop),
			"", []toolCall{{"toolu_a", "f", `{"a":1}`}, {"toolu_b", "g", `{"given":true}`}}, "tool_calls", providers.Usage{PromptTokens: 12, CompletionTokens: 9, CachedTokens: 3, CacheWriteTokens: 2}, nil, "", 0},
		{"error event mid-stream", events("message_start", evStart, "content_block_start", evText0, "content_block_delta", evDeltaA, "error", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, "content_block_delta", evDeltaB),
			"Hello", nil, "", providers.Usage{PromptTokens: 12, CompletionTokens: 1, CachedTokens: 3, CacheWriteTokens: 2, Estimated: true}, providers.ErrStreamBroken, "overloaded_error: Overloaded", 0},
		{"EOF before message_stop", events("message_start", evStart, "content_block_start", evText0, "content_block_delta", evDeltaA, "content_block_delta", evDeltaB, "message_delta", evMDelta),
			"Hello there", nil, "stop", providers.Usage{PromptTokens: 12, CompletionTokens: 5, CachedTokens: 3, CacheWriteTokens: 2}, providers.ErrStreamBroken, "message_stop", 0},
		{"cut inside an event", append(events("message_start", evStart, "content_block_start", evText0, "content_block_delta", evDeltaA, "content_block_delta", evDeltaB, "content_block_delta", evDeltaB), []byte("event: content_block_delta\ndata: {\"type\":\"content_blo")...),
			"Hello there there", nil, "", providers.Usage{PromptTokens: 12, CompletionTokens: 3, CachedTokens: 3, CacheWriteTokens: 2, Estimated: true}, providers.ErrStreamBroken, "message_stop", 1},
		{"message_stop without a stop_reason still finishes", events("message_start", evStart, "content_block_delta", evDeltaA, "message_stop", evMStop),
			"Hello", nil, "stop", providers.Usage{PromptTokens: 12, CompletionTokens: 1, CachedTokens: 3, CacheWriteTokens: 2, Estimated: true}, nil, "", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sink, u, err := runStream(t, c.body, 0, "claude-haiku-4-5", "")
			if c.errIs == nil && err != nil || c.errIs != nil && (!errors.Is(err, c.errIs) || !strings.Contains(err.Error(), c.errMsg)) {
				t.Fatalf("err = %v, want %v (%s)", err, c.errIs, c.errMsg)
			}
			a := assemble(t, sink.Events)
			if a.content != c.content || !slices.Equal(a.tools, c.tools) || a.finish != c.finish {
				t.Errorf("content %q tools %+v finish %q", a.content, a.tools, a.finish)
			}
			if u != c.usage {
				t.Errorf("usage = %+v, want %+v", u, c.usage)
			}
			bad := 0
			for _, e := range sink.Events {
				if e.Malformed {
					bad++
				}
			}
			if bad != c.bad {
				t.Errorf("%d malformed events, want %d", bad, c.bad)
			}
			if c.errIs == nil && !a.sawDone {
				t.Error("no [DONE]")
			}
		})
	}
}

func TestStreamErrorFixture(t *testing.T) {
	sink, _, err := runStream(t, providertest.Fixture(t, "anthropic", "messages-stream-error-overloaded.sse"), 0, "claude-haiku-4-5", "")
	if !errors.Is(err, providers.ErrStreamBroken) || !strings.Contains(err.Error(), "Overloaded") {
		t.Fatalf("err = %v", err)
	}
	if sink.Committed() {
		t.Error("an error before any output committed the client")
	}
}

func TestStreamPrefillContinuation(t *testing.T) {
	body := events("message_start", evStart, "content_block_start", evText0,
		"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\n"}}`,
		"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\nThree"}}`,
		"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\nFour"}}`,
		"message_delta", evMDelta, "message_stop", evMStop)
	sink, _, err := runStream(t, body, 0, "claude-haiku-4-5",
		`{"stream":true,"messages":[{"role":"user","content":"count"},{"role":"assistant","content":"One\nTwo\n\n","prefix":true}]}`)
	if err != nil {
		t.Fatal(err)
	}
	if a := assemble(t, sink.Events); a.content != "Three\nFour" {
		t.Errorf("content = %q: the trimmed whitespace was repeated", a.content)
	}
}

func TestStreamSinkStopAndGone(t *testing.T) {
	content := providertest.Fixture(t, "anthropic", "messages-stream-text-tool-use.sse")
	up := providertest.NewUpstream(t, providertest.Replay(content, 0))
	p := newTestProvider(t, up.URL, providers.Timeouts{}, nil, nil)
	req := chatReq("claude-3-7-sonnet-20250219", true, `{"messages":[{"role":"user","content":"x"}]}`)

	stop := &providertest.Sink{StopOn: func(e *providers.Event) bool { return e.UsageOnly }}
	u, err := p.Stream(context.Background(), req, stop)
	if err != nil || u.PromptTokens != 394 || u.CompletionTokens != 79 || u.Estimated {
		t.Errorf("ErrStop: usage %+v err %v", u, err)
	}
	if stop.Events[len(stop.Events)-1].Done {
		t.Error("kept going after ErrStop")
	}

	gone := &providertest.Sink{FailAfter: 3}
	_, err = p.Stream(context.Background(), req, gone)
	if !errors.Is(err, providertest.ErrGone) || len(gone.Events) != 3 {
		t.Errorf("gone client: err %v after %d events", err, len(gone.Events))
	}
}

func TestStreamTimeouts(t *testing.T) {
	t.Run("first token", func(t *testing.T) {
		var up *providertest.Upstream
		up = providertest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = w.Write(events("message_start", evStart))
			w.(http.Flusher).Flush()
			for {
				select {
				case <-r.Context().Done():
					return
				case <-up.Done():
					return
				case <-time.After(30 * time.Millisecond):
					_, _ = io.WriteString(w, "event: ping\ndata: {\"type\": \"ping\"}\n\n")
					w.(http.Flusher).Flush()
				}
			}
		})
		p := newTestProvider(t, up.URL, providers.Timeouts{FirstToken: 200 * time.Millisecond, Idle: time.Hour}, nil, nil)
		_, err := p.Stream(context.Background(), chatReq("claude-haiku-4-5", true, `{"messages":[{"role":"user","content":"x"}]}`), &providertest.Sink{})
		if !errors.Is(err, providers.ErrTimeout) || !strings.Contains(err.Error(), "first token") {
			t.Errorf("err = %v, want a first token timeout despite pings", err)
		}
	})
	t.Run("idle", func(t *testing.T) {
		up := providertest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = w.Write(events("message_start", evStart, "content_block_start", evText0, "content_block_delta", evDeltaA))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		})
		p := newTestProvider(t, up.URL, providers.Timeouts{FirstToken: time.Hour, Idle: 150 * time.Millisecond}, nil, nil)
		sink := &providertest.Sink{}
		_, err := p.Stream(context.Background(), chatReq("claude-haiku-4-5", true, `{"messages":[{"role":"user","content":"x"}]}`), sink)
		if !errors.Is(err, providers.ErrTimeout) || !strings.Contains(err.Error(), "stream event") {
			t.Errorf("err = %v, want an idle timeout", err)
		}
		if a := assemble(t, sink.Events); a.content != "Hello" {
			t.Errorf("content before the stall = %q", a.content)
		}
	})
}

func TestStreamAnsweredWithJSON(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.JSONAnswer(200, providertest.Fixture(t, "anthropic", "messages-text-tool-use.json"), nil))
	p := newTestProvider(t, up.URL, providers.Timeouts{}, nil, nil)
	_, err := p.Stream(context.Background(), chatReq("claude-haiku-4-5", true, `{"messages":[{"role":"user","content":"x"}]}`), &providertest.Sink{})
	if !errors.Is(err, providers.ErrBadResponse) {
		t.Errorf("err = %v", err)
	}
}
