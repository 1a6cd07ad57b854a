package mock

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/providers/providertest"
	"github.com/tidwall/gjson"
)

func TestStreamShape(t *testing.T) {
	withUsage := usageBody
	without := `{"model":"mock-mini","stream":true,"messages":[{"role":"user","content":"Tell me about gateways."}]}`
	for _, tc := range []struct {
		name         string
		body         string
		includeUsage bool
	}{
		{"include_usage", withUsage, true},
		{"no usage", without, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newMock(t, nil)
			rec, u := streamOK(t, p, chatReq("mock-mini", tc.body))
			evs := rec.Events
			for i, ev := range evs {
				if want := append(append([]byte("data: "), ev.Data...), "\n\n"...); !bytes.Equal(ev.Raw, want) {
					t.Fatalf("event %d Raw = %q", i, ev.Raw)
				}
			}
			last := evs[len(evs)-1]
			if !last.Done || string(last.Data) != "[DONE]" {
				t.Fatalf("last event = %q", last.Raw)
			}
			role := gjson.GetBytes(evs[0].Data, "choices.0.delta").Raw
			if role != `{"role":"assistant","content":"","refusal":null}` {
				t.Errorf("role delta = %s", role)
			}
			finishAt := len(evs) - 2
			if tc.includeUsage {
				finishAt = len(evs) - 3
				uc := evs[len(evs)-2]
				if !uc.UsageOnly || uc.Usage == nil || *uc.Usage != u || uc.Tokens != 0 {
					t.Errorf("usage event = %+v, want usage %+v", uc, u)
				}
				d := gjson.ParseBytes(uc.Data)
				if d.Get("choices").Raw != "[]" || d.Get("usage.total_tokens").Int() != u.PromptTokens+u.CompletionTokens {
					t.Errorf("usage chunk = %s", uc.Data)
				}
				if providers.ParseOpenAIUsage(d.Get("usage")) != u {
					t.Errorf("usage chunk %s != returned %+v", d.Get("usage").Raw, u)
				}
			}
			fin := evs[finishAt]
			if !fin.Finish || gjson.GetBytes(fin.Data, "choices.0.delta").Raw != "{}" ||
				gjson.GetBytes(fin.Data, "choices.0.finish_reason").Str != "stop" {
				t.Errorf("finish event = %s", fin.Data)
			}
			for i, ev := range evs[:finishAt+1] {
				usage := gjson.GetBytes(ev.Data, "usage")
				if tc.includeUsage && usage.Raw != "null" {
					t.Errorf("event %d usage = %q, want null", i, usage.Raw)
				}
				if !tc.includeUsage && usage.Exists() {
					t.Errorf("event %d carries usage without include_usage", i)
				}
				if ev.Usage != nil || ev.UsageOnly || ev.Done || ev.Finish != (i == finishAt) {
					t.Errorf("event %d flags = %+v", i, ev)
				}
				if gjson.GetBytes(ev.Data, "object").Str != "chat.completion.chunk" {
					t.Errorf("event %d object wrong", i)
				}
			}
			_, chunks := streamed(evs)
			if int64(chunks) != u.CompletionTokens || u.Estimated {
				t.Errorf("chunks %d, usage %+v", chunks, u)
			}
		})
	}
}

func TestStreamSinkErrors(t *testing.T) {
	gone := errors.New("client gone")
	for _, tc := range []struct {
		name    string
		err     error
		after   int
		wantErr error
	}{
		{"ErrStop mid-stream", providers.ErrStop, 3, nil},
		{"ErrStop on first", providers.ErrStop, 1, nil},
		{"client gone", gone, 4, gone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newMock(t, nil)
			rec := &providertest.Sink{Err: tc.err, FailAfter: tc.after}
			u, err := p.Stream(context.Background(), chatReq("mock-mini", usageBody), rec)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if len(rec.Events) != tc.after {
				t.Errorf("events after stop = %d, want %d", len(rec.Events), tc.after)
			}
			// ErrStop accepts the event it answers; any other error means
			// that event never reached the client.
			want := sumTokens(rec.Events)
			if tc.wantErr != nil {
				want -= rec.Events[len(rec.Events)-1].Tokens
			}
			if !u.Estimated || u.CompletionTokens != want {
				t.Errorf("usage = %+v, want %d estimated tokens", u, want)
			}
		})
	}
}

// ErrStop after the finish chunk leaves a complete answer: its usage is
// exact, not estimated.
func TestStreamStopAfterFinish(t *testing.T) {
	p := newMock(t, nil)
	full, want := streamOK(t, p, chatReq("mock-mini", usageBody))
	rec := &providertest.Sink{Err: providers.ErrStop, FailAfter: len(full.Events) - 2}
	u, err := p.Stream(context.Background(), chatReq("mock-mini", usageBody), rec)
	if err != nil || u != want {
		t.Fatalf("usage %+v err %v, want %+v", u, err, want)
	}
}

func TestStreamCancel(t *testing.T) {
	p := newMock(t, map[string]string{"delay": "20ms"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := &providertest.Sink{OnEvent: func(n int) {
		if n == 2 {
			cancel()
		}
	}}
	start := time.Now()
	u, err := p.Stream(ctx, chatReq("mock-mini", usageBody), rec)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("cancel took %s", el)
	}
	if len(rec.Events) != 2 || !u.Estimated || u.CompletionTokens != 1 {
		t.Errorf("events %d usage %+v", len(rec.Events), u)
	}

	// Cancelled while waiting for a long delay: returns without waiting.
	slow := newMock(t, map[string]string{"first_token_delay": "1h"})
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	rec = &providertest.Sink{}
	if _, err := slow.Stream(ctx2, chatReq("mock-mini", usageBody), rec); !errors.Is(err, context.DeadlineExceeded) || rec.Committed() {
		t.Fatalf("err = %v, committed %v", err, rec.Committed())
	}
	if _, err := slow.Do(ctx2, chatReq("mock-mini", usageBody)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Do err = %v", err)
	}
}

func TestStreamPacing(t *testing.T) {
	p := newMock(t, map[string]string{"first_token_delay": "40ms", "delay": "5ms"})
	var stamps []time.Time
	rec := &providertest.Sink{OnEvent: func(int) { stamps = append(stamps, time.Now()) }}
	start := time.Now()
	if _, err := p.Stream(context.Background(), chatReq("mock-mini", `{"messages":[{"role":"user","content":"echo a b c"}]}`), rec); err != nil {
		t.Fatal(err)
	}
	if first := stamps[0].Sub(start); first < 40*time.Millisecond {
		t.Errorf("first event after %s, want >= 40ms", first)
	}
	for i := 1; i < len(stamps); i++ {
		if gap := stamps[i].Sub(stamps[i-1]); gap < 5*time.Millisecond {
			t.Errorf("gap %d = %s, want >= 5ms", i, gap)
		}
	}
}

func TestStreamTimeouts(t *testing.T) {
	cases := []struct {
		name     string
		opts     map[string]string
		timeouts providers.Timeouts
		events   int
	}{
		{"first token", map[string]string{"first_token_delay": "1h"}, providers.Timeouts{FirstToken: 10 * time.Millisecond}, 0},
		{"idle", map[string]string{"delay": "1h"}, providers.Timeouts{Idle: 10 * time.Millisecond}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newMock(t, tc.opts)
			req := chatReq("mock-mini", usageBody)
			req.Timeouts = tc.timeouts
			rec := &providertest.Sink{}
			_, err := p.Stream(context.Background(), req, rec)
			if !errors.Is(err, providers.ErrTimeout) || len(rec.Events) != tc.events {
				t.Fatalf("err = %v, events %d", err, len(rec.Events))
			}
		})
	}
	p := newMock(t, map[string]string{"first_token_delay": "1h"})
	req := chatReq("mock-mini", usageBody)
	req.Timeouts.Headers = 10 * time.Millisecond
	if _, err := p.Do(context.Background(), req); !errors.Is(err, providers.ErrTimeout) {
		t.Fatalf("Do err = %v", err)
	}
}
