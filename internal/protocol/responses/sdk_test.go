package responses

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
)

// sdkServer answers POST /v1/responses the way the gateway will: the
// request through ToChat (which must accept what the SDK sends), then the
// recorded chat answer through FromChat or StreamWriter.
func sdkServer(t *testing.T, chatJSON, chatSSE []byte) *openai.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if _, err := ToChat(body, nil); err != nil {
			t.Errorf("ToChat rejected the SDK's request: %v\n%s", err, body)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		m := Meta{ID: "resp_sdk", CreatedAt: 1, Model: "gpt-4o"}
		if strings.Contains(string(body), `"stream":true`) {
			w.Header().Set("Content-Type", "text/event-stream")
			if _, err := NewStreamWriter(w, body, m).Write(chatSSE); err != nil {
				t.Error(err)
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(FromChat(chatJSON, body, m))
	}))
	t.Cleanup(srv.Close)
	c := openai.NewClient(option.WithBaseURL(srv.URL+"/v1"), option.WithAPIKey("test"), option.WithMaxRetries(0))
	return &c
}

var sdkParams = responses.ResponseNewParams{
	Model:        "gpt-4o",
	Instructions: openai.String("be brief"),
	Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
		responses.ResponseInputItemParamOfMessage("What's the weather?", responses.EasyInputMessageRoleUser),
	}},
	Tools: []responses.ToolUnionParam{{OfFunction: &responses.FunctionToolParam{
		Name:       "get_weather",
		Parameters: map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}},
		Strict:     openai.Bool(false),
	}}},
}

// The official Go SDK reads the non-streaming response.
func TestSDKResponse(t *testing.T) {
	c := sdkServer(t, fixture(t, "chat-completion-text.json"), nil)
	resp, err := c.Responses.New(context.Background(), sdkParams)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ID != "resp_sdk" || resp.Status != "completed" || !strings.HasPrefix(resp.OutputText(), "I'm unable to provide real-time weather") {
		t.Errorf("id %q status %q text %q", resp.ID, resp.Status, resp.OutputText())
	}
	if resp.Usage.InputTokens != 14 || resp.Usage.OutputTokens != 37 {
		t.Errorf("usage %+v", resp.Usage)
	}
	if len(resp.Tools) != 1 || resp.Tools[0].Name != "get_weather" {
		t.Errorf("tools %+v", resp.Tools)
	}
}

// The official Go SDK reads the stream: deltas, the function call, the
// completed response; and an in-stream failure surfaces as its error.
func TestSDKStream(t *testing.T) {
	t.Run("function call", func(t *testing.T) {
		c := sdkServer(t, nil, fixture(t, "chat-stream-tool-call-usage.sse"))
		stream := c.Responses.NewStreaming(context.Background(), sdkParams)
		var args string
		var done responses.Response
		for stream.Next() {
			switch ev := stream.Current().AsAny().(type) {
			case responses.ResponseFunctionCallArgumentsDeltaEvent:
				args += ev.Delta
			case responses.ResponseCompletedEvent:
				done = ev.Response
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if args != `{"city":"New York City"}` || len(done.Output) != 1 {
			t.Fatalf("args %q, output %d items", args, len(done.Output))
		}
		call := done.Output[0].AsFunctionCall()
		if call.Name != "get_weather" || call.Arguments != args || call.CallID == "" {
			t.Errorf("call %+v", call)
		}
	})
	t.Run("failure", func(t *testing.T) {
		chat := frames(`{"choices":[{"index":0,"delta":{"content":"Hel"}}]}`,
			`{"error":{"message":"upstream went away","type":"upstream_error","code":"stream_interrupted"}}`, "[DONE]")
		c := sdkServer(t, nil, chat)
		stream := c.Responses.NewStreaming(context.Background(), sdkParams)
		var text string
		for stream.Next() {
			text += stream.Current().Delta
		}
		if err := stream.Err(); err == nil || !strings.Contains(err.Error(), "upstream went away") {
			t.Errorf("err = %v, want the upstream's message", err)
		}
		if text != "Hel" {
			t.Errorf("text before the failure = %q", text)
		}
	})
}
