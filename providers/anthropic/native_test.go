package anthropic

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/providers/providertest"
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
		for _, seed := range []uint64{0, 11} {
			content := providertest.Fixture(t, "anthropic", ""+name+".sse")
			reqBody := string(providertest.Fixture(t, "anthropic", ""+name+".request.json"))
			up := providertest.NewUpstream(t, providertest.Replay(content, seed))
			p := newTestProvider(t, up.URL, providers.Timeouts{}, nil, nil)
			sink := &providertest.Sink{}
			u, err := p.Stream(context.Background(), messagesReq(true, reqBody, nil), sink)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			var got []byte
			for _, ev := range sink.Events {
				got = append(got, ev.Raw...)
			}
			if !bytes.Equal(got, content) {
				t.Fatalf("%s (seed=%d): bytes differ from the recording", name, seed)
			}
			if last := sink.Events[len(sink.Events)-1]; !last.Done || last.Name != "message_stop" {
				t.Fatalf("%s: last event %q done=%v", name, last.Name, last.Done)
			}
			if u.PromptTokens == 0 || u.CompletionTokens == 0 || u.Estimated {
				t.Fatalf("%s: usage %+v", name, u)
			}
			sent := up.Last(t)
			if sent.Path != "/messages" || string(sent.Body) != reqBody {
				t.Fatalf("%s: upstream got %s %s", name, sent.Path, sent.Body)
			}
		}
	}
}

// An overloaded error before any output fails invisibly as a 529.
func TestMessagesStreamOverloaded(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.Replay(providertest.Fixture(t, "anthropic", "messages-stream-error-overloaded.sse"), 0))
	p := newTestProvider(t, up.URL, providers.Timeouts{}, nil, nil)
	sink := &providertest.Sink{}
	_, err := p.Stream(context.Background(), messagesReq(true, `{"model":"m","max_tokens":10,"messages":[]}`, nil), sink)
	var se *providers.StatusError
	if !errors.As(err, &se) || se.Status != 529 {
		t.Fatalf("err = %v", err)
	}
	if len(sink.Events) != 0 {
		t.Fatalf("%d events reached the sink", len(sink.Events))
	}
}

// The client's anthropic-version wins; its betas join the account's own.
func TestMessagesForwardedHeaders(t *testing.T) {
	body := providertest.Fixture(t, "anthropic", "messages-text-tool-use.json")
	up := providertest.NewUpstream(t, providertest.JSONAnswer(200, body, nil))
	p := newTestProvider(t, up.URL, providers.Timeouts{}, map[string]string{"beta": "acct-beta"}, nil)
	h := http.Header{"Anthropic-Version": {"2023-06-01"}, "Anthropic-Beta": {"client-beta"}}
	resp, err := p.Do(context.Background(), messagesReq(false, `{"model":"m","max_tokens":10,"messages":[]}`, h))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(resp.Body, body) || resp.Usage.PromptTokens == 0 {
		t.Fatalf("usage %+v", resp.Usage)
	}
	got := up.Last(t).Header
	if got.Get("Anthropic-Beta") != "client-beta,acct-beta" || got.Get("X-Api-Key") != testKey {
		t.Fatalf("headers %v", got)
	}
}

func TestCountTokensPassthrough(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.JSONAnswer(200, []byte(`{"input_tokens":42}`), nil))
	p := newTestProvider(t, up.URL, providers.Timeouts{}, nil, nil)
	req := &providers.Request{Endpoint: providers.CountTokens, Model: "m", Body: []byte(`{"model":"m","messages":[]}`)}
	resp, err := p.Do(context.Background(), req)
	if err != nil || string(resp.Body) != `{"input_tokens":42}` {
		t.Fatalf("%v %s", err, resp.Body)
	}
	if path := up.Last(t).Path; path != "/messages/count_tokens" {
		t.Fatalf("path %q", path)
	}
}
