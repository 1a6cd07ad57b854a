package anthropic

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/llmgate/llmgate/providers"
)

func messagesReq(stream bool, body string, h http.Header) *providers.Request {
	return &providers.Request{Endpoint: providers.Messages, Model: "claude-sonnet-4-5", Body: []byte(body), Stream: stream, Header: h}
}

// Recorded Messages streams pass through byte for byte, with the usage of
// message_start and message_delta merged and message_stop terminal; the
// client's body goes upstream unchanged.
func TestMessagesStreamPassthrough(t *testing.T) {
	for _, name := range []string{"messages-stream-text-tool-use", "messages-stream-parallel-tool-use",
		"messages-stream-thinking", "messages-stream-thinking-server-tool"} {
		for _, small := range []bool{false, true} {
			content := fixture(t, ""+name+".sse")
			reqBody := string(fixture(t, ""+name+".request.json"))
			up := newUpstream(t, replay(content, small))
			p := newTestProvider(t, up.URL, providers.Timeouts{}, nil, nil)
			sink := &recSink{}
			u, err := p.Stream(context.Background(), messagesReq(true, reqBody, nil), sink)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			var got []byte
			for _, ev := range sink.events {
				got = append(got, ev.Raw...)
			}
			if !bytes.Equal(got, content) {
				t.Fatalf("%s (small=%v): bytes differ from the recording", name, small)
			}
			if last := sink.events[len(sink.events)-1]; !last.Done || last.Name != "message_stop" {
				t.Fatalf("%s: last event %q done=%v", name, last.Name, last.Done)
			}
			if u.PromptTokens == 0 || u.CompletionTokens == 0 || u.Estimated {
				t.Fatalf("%s: usage %+v", name, u)
			}
			body, _, path := up.last(t)
			if path != "/messages" || string(body) != reqBody {
				t.Fatalf("%s: upstream got %s %s", name, path, body)
			}
		}
	}
}

// An overloaded error before any output fails invisibly as a 529.
func TestMessagesStreamOverloaded(t *testing.T) {
	up := newUpstream(t, replay(fixture(t, "messages-stream-error-overloaded.sse"), false))
	p := newTestProvider(t, up.URL, providers.Timeouts{}, nil, nil)
	sink := &recSink{}
	_, err := p.Stream(context.Background(), messagesReq(true, `{"model":"m","max_tokens":10,"messages":[]}`, nil), sink)
	var se *providers.StatusError
	if !errors.As(err, &se) || se.Status != 529 {
		t.Fatalf("err = %v", err)
	}
	if len(sink.events) != 0 {
		t.Fatalf("%d events reached the sink", len(sink.events))
	}
}

// The client's anthropic-version wins; its betas join the account's own.
func TestMessagesForwardedHeaders(t *testing.T) {
	body := fixture(t, "messages-text-tool-use.json")
	up := newUpstream(t, jsonAnswer(200, body, nil))
	p := newTestProvider(t, up.URL, providers.Timeouts{}, map[string]string{"beta": "acct-beta"}, nil)
	h := http.Header{"Anthropic-Version": {"2023-06-01"}, "Anthropic-Beta": {"client-beta"}}
	resp, err := p.Do(context.Background(), messagesReq(false, `{"model":"m","max_tokens":10,"messages":[]}`, h))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(resp.Body, body) || resp.Usage.PromptTokens == 0 {
		t.Fatalf("usage %+v", resp.Usage)
	}
	_, got, _ := up.last(t)
	if got.Get("Anthropic-Beta") != "client-beta,acct-beta" || got.Get("X-Api-Key") != testKey {
		t.Fatalf("headers %v", got)
	}
}

func TestCountTokensPassthrough(t *testing.T) {
	up := newUpstream(t, jsonAnswer(200, []byte(`{"input_tokens":42}`), nil))
	p := newTestProvider(t, up.URL, providers.Timeouts{}, nil, nil)
	req := &providers.Request{Endpoint: providers.CountTokens, Model: "m", Body: []byte(`{"model":"m","messages":[]}`)}
	resp, err := p.Do(context.Background(), req)
	if err != nil || string(resp.Body) != `{"input_tokens":42}` {
		t.Fatalf("%v %s", err, resp.Body)
	}
	if _, _, path := up.last(t); path != "/messages/count_tokens" {
		t.Fatalf("path %q", path)
	}
}
