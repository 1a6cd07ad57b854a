package bedrock

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/providers/providertest"
)

const streamBody = `{"messages":[{"role":"user","content":"x"}],"stream":true}`

// streamFrom runs Stream against an upstream answering raw.
func streamFrom(t *testing.T, raw []byte, chunked bool, seed uint64, sink *providertest.Sink) (providers.Usage, error) {
	t.Helper()
	up := streamUpstream(t, raw, chunked, seed)
	p := newProvider(t, up.URL, "", nil)
	return p.Stream(context.Background(), chatReq(novaMicro, streamBody, true), sink)
}

// fixtureDeltas concatenates a decoded fixture's text and reasoning deltas.
func fixtureDeltas(t *testing.T, name string) (text, reasoning string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(string(providertest.Fixture(t, "bedrock", name+".decoded.jsonl"))), "\n") {
		p := gjson.Get(line, "payload")
		text += p.Get("delta.text").Str
		reasoning += p.Get("delta.reasoningContent.text").Str
	}
	return text, reasoning
}

func TestStreamFixtures(t *testing.T) {
	type want struct {
		finish string
		tools  []streamedTool
		usage  providers.Usage
		model  string
	}
	cases := map[string]want{
		"converse-stream-text": {finish: "stop", usage: providers.Usage{PromptTokens: 13, CompletionTokens: 82}, model: novaMicro},
		"converse-stream-tool-use": {finish: "tool_calls", usage: providers.Usage{PromptTokens: 471, CompletionTokens: 91}, model: novaMicro,
			tools: []streamedTool{{id: "tooluse_lAG_zP8QRHmSYOwZzzaCqA", name: "get_temperature", args: `{"city":"Paris"}`}}},
		"converse-stream-reasoning": {finish: "stop", usage: providers.Usage{PromptTokens: 36, CompletionTokens: 73}, model: "us.anthropic.claude-sonnet-4-20250514-v1:0"},
	}
	for name, w := range cases {
		t.Run(name, func(t *testing.T) {
			raw := providertest.Fixture(t, "bedrock", name+".eventstream")
			sink := &providertest.Sink{}
			u, err := streamFrom(t, raw, false, 0, sink)
			if err != nil {
				t.Fatalf("Stream: %v", err)
			}
			if u != w.usage {
				t.Fatalf("usage %+v, want %+v", u, w.usage)
			}
			s := summarize(t, sink.Events)
			text, reasoning := fixtureDeltas(t, name)
			if s.content != text || s.reasoning != reasoning {
				t.Fatalf("content %q reasoning %q, want %q / %q", s.content, s.reasoning, text, reasoning)
			}
			if name == "converse-stream-reasoning" && (s.content != "Hello! It's nice to meet you. How can I help you today?" || !strings.HasPrefix(s.reasoning, "The user has greeted me")) {
				t.Fatalf("content %q reasoning %q", s.content, s.reasoning)
			}
			if s.finish != w.finish || !s.done || s.usage == nil || *s.usage != w.usage || s.malformed != 0 {
				t.Fatalf("finish %q done %v usage %v malformed %d", s.finish, s.done, s.usage, s.malformed)
			}
			if len(s.tools) != len(w.tools) {
				t.Fatalf("tools %+v, want %+v", s.tools, w.tools)
			}
			for i := range w.tools {
				if s.tools[i] != w.tools[i] {
					t.Fatalf("tool %d = %+v, want %+v", i, s.tools[i], w.tools[i])
				}
			}
			if len(s.ids) != 1 || !s.ids["chatcmpl-req-stream-1"] {
				t.Fatalf("chunk ids %v", s.ids)
			}
			checkStreamShape(t, sink.Events)
			checkCost(t, w.model, u)

			// Re-chunked at random byte boundaries: the same events.
			for seed := uint64(1); seed <= 5; seed++ {
				again := &providertest.Sink{}
				u2, err := streamFrom(t, raw, true, seed, again)
				if err != nil || u2 != u {
					t.Fatalf("seed %d: %v usage %+v", seed, err, u2)
				}
				if len(again.Events) != len(sink.Events) {
					t.Fatalf("seed %d: %d events, want %d", seed, len(again.Events), len(sink.Events))
				}
				for i := range sink.Events {
					a, b := sink.Events[i], again.Events[i]
					if !bytes.Equal(a.Data, b.Data) || a.Finish != b.Finish || a.Done != b.Done || a.UsageOnly != b.UsageOnly || a.Tokens != b.Tokens {
						t.Fatalf("seed %d event %d: %s vs %s", seed, i, b.Data, a.Data)
					}
				}
			}
		})
	}
}

// checkStreamShape: role chunk first; one finish chunk, then the
// usage-only chunk, then [DONE]; one created and model throughout; Tokens
// set exactly on chunks that deliver output.
func checkStreamShape(t *testing.T, evs []providers.Event) {
	t.Helper()
	n := len(evs)
	if n < 4 {
		t.Fatalf("%d events", n)
	}
	first := gjson.ParseBytes(evs[0].Data)
	if first.Get("choices.0.delta").Raw != `{"role":"assistant","content":""}` || first.Get("choices.0.finish_reason").Raw != "null" {
		t.Fatalf("first chunk %s", evs[0].Data)
	}
	if !evs[n-3].Finish || gjson.GetBytes(evs[n-3].Data, "choices.0.delta").Raw != "{}" {
		t.Fatalf("finish chunk %s", evs[n-3].Data)
	}
	if !evs[n-2].UsageOnly || evs[n-2].Usage == nil || !evs[n-1].Done {
		t.Fatalf("tail %s / %s", evs[n-2].Data, evs[n-1].Data)
	}
	u := gjson.GetBytes(evs[n-2].Data, "usage")
	if u.Get("total_tokens").Int() != evs[n-2].Usage.PromptTokens+evs[n-2].Usage.CompletionTokens || !u.Get("prompt_tokens_details.cached_tokens").Exists() {
		t.Fatalf("usage chunk %s", evs[n-2].Data)
	}
	created, model := first.Get("created").Int(), first.Get("model").Str
	for i, ev := range evs[:n-1] {
		r := gjson.ParseBytes(ev.Data)
		if r.Get("created").Int() != created || r.Get("model").Str != model {
			t.Fatalf("event %d: created/model differ: %s", i, ev.Data)
		}
		if i > 0 && i < n-3 {
			d := r.Get("choices.0.delta")
			carries := d.Get("content").Str != "" || d.Get("reasoning_content").Str != "" || d.Get("tool_calls").Exists()
			if carries != (ev.Tokens == 1) || ev.Finish {
				t.Fatalf("event %d Tokens %d Finish %v: %s", i, ev.Tokens, ev.Finish, ev.Data)
			}
		}
	}
}

// TestStreamSDKAccumulator: openai-go's accumulator reassembles the
// streamed tool calls, for the recorded stream and a synthetic one with
// two tool calls split into several fragments.
func TestStreamSDKAccumulator(t *testing.T) {
	twoTools := bytes.Join([][]byte{
		eventFrame("messageStart", `{"role":"assistant","p":"ab"}`),
		eventFrame("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"Checking both."}}`),
		eventFrame("contentBlockStop", `{"contentBlockIndex":0}`),
		eventFrame("contentBlockStart", `{"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"tooluse_A","name":"get_weather"}}}`),
		eventFrame("contentBlockDelta", `{"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"city\":"}}}`),
		eventFrame("contentBlockDelta", `{"contentBlockIndex":1,"delta":{"toolUse":{"input":"\"Paris\"}"}}}`),
		eventFrame("contentBlockStop", `{"contentBlockIndex":1}`),
		eventFrame("contentBlockStart", `{"contentBlockIndex":2,"start":{"toolUse":{"toolUseId":"tooluse_B","name":"get_time"}}}`),
		eventFrame("contentBlockDelta", `{"contentBlockIndex":2,"delta":{"toolUse":{"input":"{\"tz\":\"CET\"}"}}}`),
		eventFrame("contentBlockStop", `{"contentBlockIndex":2}`),
		eventFrame("messageStop", `{"stopReason":"tool_use"}`),
		eventFrame("metadata", `{"usage":{"inputTokens":20,"outputTokens":30,"totalTokens":50},"metrics":{"latencyMs":1}}`),
	}, nil)
	cases := []struct {
		name  string
		raw   []byte
		calls [][3]string
		text  string
	}{
		{"recorded", providertest.Fixture(t, "bedrock", "converse-stream-tool-use.eventstream"), [][3]string{{"tooluse_lAG_zP8QRHmSYOwZzzaCqA", "get_temperature", `{"city":"Paris"}`}}, ""},
		{"two tools", twoTools, [][3]string{{"tooluse_A", "get_weather", `{"city":"Paris"}`}, {"tooluse_B", "get_time", `{"tz":"CET"}`}}, "Checking both."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sink := &providertest.Sink{}
			if _, err := streamFrom(t, c.raw, true, 7, sink); err != nil {
				t.Fatal(err)
			}
			acc := openai.ChatCompletionAccumulator{}
			for _, ev := range sink.Events {
				if ev.Done {
					continue
				}
				var chunk openai.ChatCompletionChunk
				if err := json.Unmarshal(ev.Data, &chunk); err != nil {
					t.Fatalf("SDK cannot parse %s: %v", ev.Data, err)
				}
				if !acc.AddChunk(chunk) {
					t.Fatalf("accumulator rejected %s", ev.Data)
				}
			}
			if len(acc.Choices) != 1 {
				t.Fatalf("%d choices", len(acc.Choices))
			}
			got := acc.Choices[0].Message.ToolCalls
			if len(got) != len(c.calls) {
				t.Fatalf("tool calls %+v", got)
			}
			for i, w := range c.calls {
				if got[i].ID != w[0] || got[i].Function.Name != w[1] || got[i].Function.Arguments != w[2] || got[i].Type != "function" {
					t.Fatalf("call %d = %+v, want %v", i, got[i], w)
				}
			}
			if c.text != "" && acc.Choices[0].Message.Content != c.text {
				t.Fatalf("content %q", acc.Choices[0].Message.Content)
			}
			if acc.Choices[0].FinishReason != "tool_calls" || acc.Usage.TotalTokens == 0 {
				t.Fatalf("finish %q usage %+v", acc.Choices[0].FinishReason, acc.Usage)
			}
		})
	}
}

func frames(fs ...[]byte) []byte { return bytes.Join(fs, nil) }

var (
	fStart = eventFrame("messageStart", `{"role":"assistant"}`)
	fHello = eventFrame("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"Hello"}}`)
	fStop  = eventFrame("messageStop", `{"stopReason":"end_turn"}`)
	fMeta  = eventFrame("metadata", `{"usage":{"inputTokens":3,"outputTokens":4,"totalTokens":7}}`)
)

// TestStreamExceptions: an exception frame mid-stream ends the call with
// ErrStreamBroken naming the exception, after what was already emitted.
func TestStreamExceptions(t *testing.T) {
	for _, typ := range []string{"internalServerException", "modelStreamErrorException", "validationException", "throttlingException", "serviceUnavailableException"} {
		sink := &providertest.Sink{}
		u, err := streamFrom(t, frames(fStart, fHello, exceptionFrame(typ, "something went wrong"), fStop, fMeta), true, 3, sink)
		if !errors.Is(err, providers.ErrStreamBroken) || !strings.Contains(err.Error(), typ) || !strings.Contains(err.Error(), "something went wrong") {
			t.Fatalf("%s: err = %v", typ, err)
		}
		s := summarize(t, sink.Events)
		if s.content != "Hello" || s.finish != "" || s.done {
			t.Fatalf("%s: emitted %+v", typ, s)
		}
		if !u.Estimated || u.CompletionTokens != 1 {
			t.Fatalf("%s: usage %+v", typ, u)
		}
	}
	// The generic event-stream error message type (headers only).
	errFrame := encodeFrame([]header{strHeader(":message-type", "error"), strHeader(":error-code", "InternalFailure"), strHeader(":error-message", "oops")}, nil)
	_, err := streamFrom(t, frames(fStart, errFrame), false, 0, &providertest.Sink{})
	if !errors.Is(err, providers.ErrStreamBroken) || !strings.Contains(err.Error(), "InternalFailure: oops") {
		t.Fatalf("error frame: %v", err)
	}
}

func TestStreamEnds(t *testing.T) {
	// EOF before messageStop: broken.
	sink := &providertest.Sink{}
	_, err := streamFrom(t, frames(fStart, fHello), false, 0, sink)
	if !errors.Is(err, providers.ErrStreamBroken) {
		t.Fatalf("EOF mid-answer: %v", err)
	}
	// EOF inside a frame: broken.
	_, err = streamFrom(t, frames(fStart, fHello[:len(fHello)-3]), false, 0, &providertest.Sink{})
	if !errors.Is(err, providers.ErrStreamBroken) {
		t.Fatalf("EOF mid-frame: %v", err)
	}
	// messageStop but no metadata: the answer is complete; usage estimated.
	sink = &providertest.Sink{}
	u, err := streamFrom(t, frames(fStart, fHello, fStop), false, 0, sink)
	if err != nil || !u.Estimated || u.CompletionTokens != 1 {
		t.Fatalf("no metadata: %v %+v", err, u)
	}
	if s := summarize(t, sink.Events); s.finish != "stop" || s.done {
		t.Fatalf("no metadata: %+v", s)
	}
	// metadata before messageStop: broken (usage kept).
	u, err = streamFrom(t, frames(fStart, fHello, fMeta), false, 0, &providertest.Sink{})
	if !errors.Is(err, providers.ErrStreamBroken) || u.PromptTokens != 3 {
		t.Fatalf("metadata first: %v %+v", err, u)
	}
	// No messageStart: the role chunk is still emitted first.
	sink = &providertest.Sink{}
	if _, err := streamFrom(t, frames(fHello, fStop, fMeta), false, 0, sink); err != nil {
		t.Fatal(err)
	}
	checkStreamShape(t, sink.Events)
}

// TestStreamMalformed: unparseable payloads are reported Malformed and
// skipped; unknown event and message types are ignored.
func TestStreamMalformed(t *testing.T) {
	raw := frames(fStart,
		eventFrame("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"Hel`),
		eventFrame("someFutureEvent", `{"x":1}`),
		encodeFrame([]header{strHeader(":message-type", "someFutureType")}, []byte(`{}`)),
		eventFrame("contentBlockDelta", `{"contentBlockIndex":5,"delta":{"toolUse":{"input":"{}"}}}`),
		eventFrame("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"somethingNew":{"a":1}}}`),
		eventFrame("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"reasoningContent":{"signature":"c2ln"}}}`),
		eventFrame("contentBlockStart", `{"contentBlockIndex":0,"start":{"image":{}}}`),
		fHello, fStop, fMeta)
	sink := &providertest.Sink{}
	u, err := streamFrom(t, raw, true, 11, sink)
	if err != nil {
		t.Fatal(err)
	}
	s := summarize(t, sink.Events)
	if s.malformed != 2 || s.content != "Hello" || s.finish != "stop" || !s.done || u.CompletionTokens != 4 {
		t.Fatalf("summary %+v usage %+v", s, u)
	}
}

// TestStreamCorruptFixture: a damaged frame in a recorded stream (payload
// byte, or the prelude checksum) ends the call with ErrStreamBroken.
func TestStreamCorruptFixture(t *testing.T) {
	raw := providertest.Fixture(t, "bedrock", "converse-stream-text.eventstream")
	second := 143 // the first frame's total length (decoded.jsonl)
	for name, pos := range map[string]int{"payload": second + 150, "prelude CRC": second + 9} {
		b := bytes.Clone(raw)
		b[pos] ^= 0x01
		sink := &providertest.Sink{}
		_, err := streamFrom(t, b, true, 5, sink)
		if !errors.Is(err, providers.ErrStreamBroken) || !strings.Contains(err.Error(), "checksum") {
			t.Fatalf("%s: err = %v", name, err)
		}
		if len(sink.Events) != 1 {
			t.Fatalf("%s: %d events before the damaged frame, want the role chunk only", name, len(sink.Events))
		}
	}
}

func TestStreamSinkControl(t *testing.T) {
	raw := providertest.Fixture(t, "bedrock", "converse-stream-text.eventstream")
	sink := &providertest.Sink{FailAfter: 3, Err: providers.ErrStop}
	if _, err := streamFrom(t, raw, false, 0, sink); err != nil {
		t.Fatalf("ErrStop: %v", err)
	}
	if len(sink.Events) != 3 {
		t.Fatalf("%d events after ErrStop", len(sink.Events))
	}
	gone := errors.New("client gone")
	sink = &providertest.Sink{FailAfter: 2, Err: gone}
	if _, err := streamFrom(t, raw, false, 0, sink); !errors.Is(err, gone) {
		t.Fatalf("sink error: %v", err)
	}
	// ErrStop on [DONE] itself is a normal end.
	n := 0
	{
		probe := &providertest.Sink{}
		if _, err := streamFrom(t, raw, false, 0, probe); err != nil {
			t.Fatal(err)
		}
		n = len(probe.Events)
	}
	sink = &providertest.Sink{FailAfter: n, Err: providers.ErrStop}
	if u, err := streamFrom(t, raw, false, 0, sink); err != nil || u.Estimated {
		t.Fatalf("ErrStop on [DONE]: %v %+v", err, u)
	}
}

func TestStreamNotEventStream(t *testing.T) {
	up := jsonUpstream(t, 200, []byte(`{"output":{}}`), nil)
	p := newProvider(t, up.URL, "", nil)
	_, err := p.Stream(context.Background(), chatReq(novaMicro, streamBody, true), &providertest.Sink{})
	if !errors.Is(err, providers.ErrBadResponse) {
		t.Fatalf("err = %v", err)
	}
	// An event stream cut before any byte: broken, nothing emitted.
	up = providertest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	})
	p = newProvider(t, up.URL, "", nil)
	sink := &providertest.Sink{}
	if _, err := p.Stream(context.Background(), chatReq(novaMicro, streamBody, true), sink); !errors.Is(err, providers.ErrStreamBroken) || sink.Committed() {
		t.Fatalf("empty stream: %v", err)
	}
}

// FuzzStream feeds arbitrary bytes through the whole translation: never a
// panic, every emitted chunk is valid JSON, and any error is one of the
// stream's documented causes.
func FuzzStream(f *testing.F) {
	for _, name := range streamFixtures {
		f.Add(providertest.Fixture(f, "bedrock", name+".eventstream"))
	}
	f.Add(frames(fStart, fHello, exceptionFrame("throttlingException", "slow"), fStop, fMeta))
	f.Add(frames(fStart, eventFrame("contentBlockStart", `{"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"t","name":"n"}}}`),
		eventFrame("contentBlockDelta", `{"contentBlockIndex":1,"delta":{"toolUse":{"input":"{}"}}}`), fStop, fMeta))
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx, wd := providers.NewWatchdog(context.Background())
		defer wd.Stop()
		sink := &providertest.Sink{}
		s := &streamState{fr: newFrameReader(bytes.NewReader(data)), ch: newChunker("chatcmpl-f", "m", 1), tools: map[int64]int{}, sink: sink, wd: wd}
		_, err := s.run(ctx)
		if err != nil && !errors.Is(err, providers.ErrStreamBroken) {
			t.Fatalf("unexpected error: %v", err)
		}
		for _, ev := range sink.Events {
			if !ev.Malformed && !ev.Done && !json.Valid(ev.Data) {
				t.Fatalf("invalid chunk %q", ev.Data)
			}
		}
	})
}
