package bedrock

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/internal/catalog"
	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/providers/providertest"
	"github.com/llmgate/llmgate/router"
)

func doFixture(t *testing.T, name, model string) (*providers.Response, gjson.Result) {
	t.Helper()
	up := jsonUpstream(t, 200, providertest.Fixture(t, "bedrock", name), nil)
	p := newProvider(t, up.URL, "", nil)
	resp, err := p.Do(context.Background(), chatReq(model, `{"messages":[{"role":"user","content":"Hello!"}]}`, false))
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	if !gjson.ValidBytes(resp.Body) {
		t.Fatalf("body is not JSON: %s", resp.Body)
	}
	return resp, gjson.ParseBytes(resp.Body)
}

func TestDoText(t *testing.T) {
	resp, b := doFixture(t, "converse-text.json", novaMicro)
	eq(t, b, "id", `"chatcmpl-req-0001"`)
	eq(t, b, "object", `"chat.completion"`)
	eq(t, b, "created", "1773500966")
	eq(t, b, "model", `"us.amazon.nova-micro-v1:0"`)
	eq(t, b, "choices", `[{"index":0,"message":{"role":"assistant",
		"content":"Hello! How can I assist you today? Whether you have questions, need information, or just want to chat, I'm here to help.",
		"refusal":null},"logprobs":null,"finish_reason":"stop"}]`)
	eq(t, b, "usage", `{"prompt_tokens":7,"completion_tokens":30,"total_tokens":37,
		"prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}`)
	if resp.Usage != (providers.Usage{PromptTokens: 7, CompletionTokens: 30}) {
		t.Fatalf("usage %+v", resp.Usage)
	}
	checkCost(t, novaMicro, resp.Usage)
}

// checkCost prices u through the catalogue and compares it with the
// model's rates applied by hand (uncached input, cache reads, cache
// writes, output), so the usage normalisation is what is under test.
func checkCost(t *testing.T, model string, u providers.Usage) {
	t.Helper()
	m, ok := catalog.Default().Lookup(model)
	if !ok {
		t.Fatalf("%s is not in the catalogue", model)
	}
	got, known := catalog.Default().Cost(model, catalog.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens,
		CachedTokens: u.CachedTokens, CacheWriteTokens: u.CacheWriteTokens, ReasoningTokens: u.ReasoningTokens})
	p := m.Price
	read, write := p.CachedInput, p.CacheWrite
	if read == 0 {
		read = p.Input
	}
	if write == 0 {
		write = p.Input
	}
	uncached := u.PromptTokens - u.CachedTokens - u.CacheWriteTokens
	want := (float64(uncached)*p.Input + float64(u.CachedTokens)*read + float64(u.CacheWriteTokens)*write + float64(u.CompletionTokens)*p.Output) / 1e6
	if !known || want <= 0 || math.Abs(got-want) > 1e-12 {
		t.Fatalf("%s: cost %v (known %v), want %v", model, got, known, want)
	}
}

func TestDoReasoningToolUse(t *testing.T) {
	resp, b := doFixture(t, "converse-reasoning-tool-use.json", "us.anthropic.claude-3-7-sonnet-20250219-v1:0")
	m := b.Get("choices.0.message")
	eq(t, m, "content", `"I'll need to check what country you're from to answer that question."`)
	eq(t, m, "tool_calls", `[{"id":"tooluse_W9DaUFg4Tj2cRPpndqxWSg","type":"function","function":{"name":"get_user_country","arguments":"{}"}}]`)
	if r := m.Get("reasoning_content").Str; !strings.HasPrefix(r, "The user is asking for the largest city") || !strings.HasSuffix(r, "largest city in that country.") {
		t.Fatalf("reasoning_content %q", r)
	}
	eq(t, b, "choices.0.finish_reason", `"tool_calls"`)
	eq(t, b, "usage.prompt_tokens", "397")
	eq(t, b, "usage.completion_tokens", "130")
	eq(t, b, "usage.total_tokens", "527")
	if resp.Usage != (providers.Usage{PromptTokens: 397, CompletionTokens: 130}) {
		t.Fatalf("usage %+v", resp.Usage)
	}
	checkCost(t, "us.anthropic.claude-3-7-sonnet-20250219-v1:0", resp.Usage)
}

// TestDoToolArgumentsAndNullContent: tool input is rendered as compact
// JSON text; an answer without text has content null.
func TestDoToolArgumentsAndNullContent(t *testing.T) {
	body := []byte(`{"output":{"message":{"role":"assistant","content":[
		{"toolUse":{"toolUseId":"t1","name":"w","input":{ "city" : "Paris", "days": [1, 2] }}},
		{"toolUse":{"toolUseId":"t2","name":"x"}}]}},
		"stopReason":"tool_use","usage":{"inputTokens":5,"outputTokens":6,"totalTokens":11}}`)
	resp, err := parseResponse(body, "chatcmpl-x", "m", 1)
	if err != nil {
		t.Fatal(err)
	}
	b := gjson.ParseBytes(resp.Body)
	eq(t, b, "choices.0.message.content", "null")
	eq(t, b, "choices.0.message.tool_calls.0.function.arguments", `"{\"city\":\"Paris\",\"days\":[1,2]}"`)
	eq(t, b, "choices.0.message.tool_calls.1.function.arguments", `"{}"`)
	absent(t, b, "choices.0.message.reasoning_content")
}

// TestDoCacheUsage: cache reads and writes are added to the prompt (Bedrock's
// inputTokens excludes them) and priced as such.
func TestDoCacheUsage(t *testing.T) {
	body := []byte(`{"output":{"message":{"role":"assistant","content":[{"text":"ok"}]}},"stopReason":"end_turn",
		"usage":{"inputTokens":10,"outputTokens":5,"totalTokens":165,"cacheReadInputTokens":100,"cacheWriteInputTokens":50}}`)
	resp, err := parseResponse(body, "chatcmpl-x", "m", 1)
	if err != nil {
		t.Fatal(err)
	}
	want := providers.Usage{PromptTokens: 160, CompletionTokens: 5, CachedTokens: 100, CacheWriteTokens: 50}
	if resp.Usage != want {
		t.Fatalf("usage %+v, want %+v", resp.Usage, want)
	}
	b := gjson.ParseBytes(resp.Body)
	eq(t, b, "usage", `{"prompt_tokens":160,"completion_tokens":5,"total_tokens":165,
		"prompt_tokens_details":{"cached_tokens":100,"cache_write_tokens":50},"completion_tokens_details":{"reasoning_tokens":0}}`)
	// Anthropic's formula over Bedrock's raw counts: input·in +
	// cacheRead·cr + cacheWrite·cw + output·out.
	checkCost(t, "us.anthropic.claude-haiku-4-5-20251001-v1:0", want)
	m, _ := catalog.Default().Lookup("us.anthropic.claude-haiku-4-5-20251001-v1:0")
	p := m.Price
	raw := (10*p.Input + 100*p.CachedInput + 50*p.CacheWrite + 5*p.Output) / 1e6
	if got, _ := catalog.Default().Cost("us.anthropic.claude-haiku-4-5-20251001-v1:0", catalog.Usage{PromptTokens: 160, CompletionTokens: 5, CachedTokens: 100, CacheWriteTokens: 50}); math.Abs(got-raw) > 1e-12 {
		t.Fatalf("cost %v, raw-count formula %v", got, raw)
	}
}

func TestFinishReasons(t *testing.T) {
	for in, want := range map[string]string{
		"end_turn": "stop", "stop_sequence": "stop", "tool_use": "tool_calls", "max_tokens": "length",
		"guardrail_intervened": "content_filter", "content_filtered": "content_filter",
		"model_context_window_exceeded": "length", "something_new": "stop",
	} {
		if got := finishReason(in); got != want {
			t.Errorf("%s → %s, want %s", in, got, want)
		}
	}
}

func TestDoBadAnswer(t *testing.T) {
	for _, body := range []string{`not json`, `{"stopReason":"end_turn"}`} {
		up := jsonUpstream(t, 200, []byte(body), nil)
		p := newProvider(t, up.URL, "", nil)
		_, err := p.Do(context.Background(), chatReq(novaMicro, `{"messages":[{"role":"user","content":"x"}]}`, false))
		if !errors.Is(err, providers.ErrBadResponse) {
			t.Fatalf("%s: err = %v", body, err)
		}
	}
}

func TestStatusErrors(t *testing.T) {
	cases := []struct {
		name       string
		status     int
		hdr        map[string]string
		body       string
		wantStatus int
		code, msg  string
		retry      time.Duration
		ctxLen     bool
	}{
		{"recorded invalid model", 400, map[string]string{"X-Amzn-ErrorType": "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/"},
			"", 400, "ValidationException", "The provided model identifier is invalid.", 0, false},
		{"throttling", 429, map[string]string{"X-Amzn-ErrorType": "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/", "Retry-After": "3"},
			`{"message":"Too many requests, please wait before trying again."}`, 429, "ThrottlingException", "Too many requests, please wait before trying again.", 3 * time.Second, false},
		{"throttling sent as 400", 400, map[string]string{"X-Amzn-ErrorType": "ThrottlingException"},
			`{"message":"Rate exceeded"}`, 429, "ThrottlingException", "Rate exceeded", 0, false},
		{"model not ready", 429, map[string]string{"X-Amzn-ErrorType": "ModelNotReadyException:http://internal.amazon.com/"},
			`{"message":"Model is not ready for inference."}`, 429, "ModelNotReadyException", "Model is not ready for inference.", 0, false},
		{"service unavailable", 503, map[string]string{"X-Amzn-ErrorType": "ServiceUnavailableException"},
			`{"message":"Service Unavailable"}`, 503, "ServiceUnavailableException", "Service Unavailable", 0, false},
		{"input too long", 400, map[string]string{"X-Amzn-ErrorType": "ValidationException:http://internal.amazon.com/"},
			`{"message":"Input is too long for requested model."}`, 400, "ValidationException", "Input is too long for requested model.", 0, true},
		{"too many input tokens", 400, map[string]string{"X-Amzn-ErrorType": "ValidationException"},
			`{"message":"The model returned the following errors: too many input tokens"}`, 400, "ValidationException", "The model returned the following errors: too many input tokens", 0, false},
		{"type in body, capital Message", 403, nil,
			`{"__type":"com.amazon.coral.service#UnrecognizedClientException","Message":"The security token included in the request is invalid."}`, 403, "UnrecognizedClientException", "The security token included in the request is invalid.", 0, false},
		{"access denied", 403, map[string]string{"X-Amzn-ErrorType": "AccessDeniedException:http://internal.amazon.com/"},
			`{"message":"You don't have access to the model with the specified model ID."}`, 403, "AccessDeniedException", "You don't have access to the model with the specified model ID.", 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := []byte(c.body)
			if body == nil || len(body) == 0 {
				body = providertest.Fixture(t, "bedrock", "error-400-invalid-model.json")
			}
			up := jsonUpstream(t, c.status, body, c.hdr)
			p := newProvider(t, up.URL, "", nil)
			for _, stream := range []bool{false, true} {
				var err error
				req := chatReq(novaMicro, `{"messages":[{"role":"user","content":"x"}]}`, stream)
				if stream {
					sink := &providertest.Sink{}
					_, err = p.Stream(context.Background(), req, sink)
					if sink.Committed() {
						t.Fatal("events emitted before a status error")
					}
				} else {
					_, err = p.Do(context.Background(), req)
				}
				var se *providers.StatusError
				if !errors.As(err, &se) {
					t.Fatalf("err = %v, want StatusError", err)
				}
				if se.Status != c.wantStatus || se.Code != c.code || se.Message != c.msg || se.RetryAfter != c.retry {
					t.Fatalf("got status %d code %q message %q retry %v", se.Status, se.Code, se.Message, se.RetryAfter)
				}
				if string(se.Body) != string(body) {
					t.Fatalf("body %s, want it verbatim", se.Body)
				}
				if se.Header.Get("X-Amzn-Requestid") != "req-0001" {
					t.Fatalf("headers not kept: %v", se.Header)
				}
				// "too many input tokens" is kept verbatim; the router's
				// wording list does not (yet) recognise it.
				if c.ctxLen && !router.IsContextLength(se) {
					t.Fatalf("%q not recognised as a context-length rejection", se.Message)
				}
			}
		})
	}
}

func TestErrorType(t *testing.T) {
	for in, want := range map[string]string{
		"ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/": "ValidationException",
		"com.amazon.coral.service#UnrecognizedClientException":                     "UnrecognizedClientException",
		"ThrottlingException": "ThrottlingException",
		"":                    "",
	} {
		if got := errorType(in); got != want {
			t.Errorf("errorType(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTimeouts(t *testing.T) {
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	up := providertest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/converse-stream") {
			w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
			w.WriteHeader(200)
			_, _ = w.Write(eventFrame("messageStart", `{"role":"assistant"}`))
			if strings.Contains(r.Header.Get("X-Test"), "delta") {
				_, _ = w.Write(fHello)
			}
			w.(http.Flusher).Flush()
		}
		select {
		case <-block:
		case <-r.Context().Done():
		}
	})
	p := newProvider(t, up.URL, "", nil)
	p.timeout.Headers, p.timeout.Idle, p.timeout.FirstToken = 100*time.Millisecond, 100*time.Millisecond, 100*time.Millisecond
	body := `{"messages":[{"role":"user","content":"x"}]}`
	_, err := p.Do(context.Background(), chatReq(novaMicro, body, false))
	if !errors.Is(err, providers.ErrTimeout) || !strings.Contains(err.Error(), "response headers") {
		t.Fatalf("Do: %v", err)
	}
	// messageStart alone: still waiting for the first token.
	sink := &providertest.Sink{}
	_, err = p.Stream(context.Background(), chatReq(novaMicro, body, true), sink)
	if !errors.Is(err, providers.ErrTimeout) || !strings.Contains(err.Error(), "first token") {
		t.Fatalf("Stream: %v", err)
	}
	if len(sink.Events) != 1 {
		t.Fatalf("%d events before the first-token timeout", len(sink.Events))
	}
	// Output started, then silence: the idle deadline.
	p.headers.Set("X-Test", "delta")
	sink = &providertest.Sink{}
	_, err = p.Stream(context.Background(), chatReq(novaMicro, body, true), sink)
	if !errors.Is(err, providers.ErrTimeout) || !strings.Contains(err.Error(), "stream event") {
		t.Fatalf("Stream: %v", err)
	}
	if len(sink.Events) != 2 {
		t.Fatalf("%d events before the idle timeout", len(sink.Events))
	}
	p.headers.Del("X-Test")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	p.timeout.Headers = time.Minute
	if _, err := p.Do(ctx, chatReq(novaMicro, body, false)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Do: %v", err)
	}
}
