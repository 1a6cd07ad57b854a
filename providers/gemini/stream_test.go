package gemini

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/providers/providertest"
)

const askBody = `{"messages":[{"role":"user","content":"q"}],"stream":true}`

type wantCall struct{ name, args, sig string }

// streamCases are the recorded streams and what each must turn into.
var streamCases = []struct {
	file, model, id, upModel string
	content, reasoning       string
	calls                    []wantCall
	finish                   string
	usage                    providers.Usage
	priced                   bool
}{
	{
		file: "stream-text-usage.sse", model: "gemini-2.5-flash", id: "chatcmpl-ru1garvBEoOiqtsP2fznmQw", upModel: "gemini-2.5-flash",
		content: countTo30(), finish: "stop",
		// Cumulative usageMetadata: the last chunk's, not a sum.
		usage:  providers.Usage{PromptTokens: 18, CompletionTokens: 115, ReasoningTokens: 35},
		priced: true,
	},
	{
		file: "stream-function-call.sse", model: "gemini-2.0-flash", id: "chatcmpl-1lpeaMTxIpW1nvgP-O3vwQY", upModel: "gemini-2.0-flash",
		calls:  []wantCall{{"get_capital", `{"country":"France"}`, ""}},
		finish: "tool_calls",
		usage:  providers.Usage{PromptTokens: 52, CompletionTokens: 5},
	},
	{
		file: "stream-function-call-thought-signature.sse", model: "gemini-3-pro-preview", id: "chatcmpl-QUVVadTSNJ6_qtsPvN7J8Q0", upModel: "gemini-3-pro-preview",
		calls:  []wantCall{{"get_country", `{}`, "EpwICpkIAXLI2nxlU6gsWZaZ"}}, // signature prefix
		finish: "tool_calls",
		usage:  providers.Usage{PromptTokens: 29, CompletionTokens: 212, ReasoningTokens: 202},
	},
}

func countTo30() string {
	var b strings.Builder
	for i := 1; i <= 30; i++ {
		if i > 1 {
			b.WriteByte('\n')
		}
		fmt.Fprint(&b, i)
	}
	return b.String()
}

// Every recorded stream, replayed event by event, becomes the OpenAI chunk
// sequence: role, deltas, finish, usage-only, [DONE].
func TestStreamFixtures(t *testing.T) {
	for _, c := range streamCases {
		t.Run(c.file, func(t *testing.T) {
			up := providertest.NewUpstream(t, providertest.Replay(providertest.Fixture(t, "gemini", c.file), 0))
			p := newTestProvider(t, up.URL, providers.Timeouts{})
			sink, u, err := runStream(t, p, c.model, askBody)
			if err != nil {
				t.Fatal(err)
			}
			if got := up.Last(t).URI; got != "/models/"+c.model+":streamGenerateContent?alt=sse" {
				t.Errorf("uri %s", got)
			}
			if h := up.Last(t).Header; h.Get("Accept") != "text/event-stream" || h.Get("X-Goog-Api-Key") != testKey {
				t.Errorf("headers %v", h)
			}
			if u != c.usage {
				t.Errorf("usage %+v, want %+v", u, c.usage)
			}
			evs := sink.Events
			if len(evs) < 5 {
				t.Fatalf("only %d events", len(evs))
			}
			check(t, evs[0].Data, map[string]string{
				"id": `"` + c.id + `"`, "object": `"chat.completion.chunk"`, "created": `1750000000`, "model": `"` + c.upModel + `"`,
				"choices": `[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]`,
			})
			var content, reasoning strings.Builder
			var calls []wantCall
			var ids []string
			n := len(evs)
			for i, ev := range evs[1 : n-3] {
				if ev.Finish || ev.UsageOnly || ev.Done || ev.Malformed || ev.Tokens != 1 {
					t.Errorf("delta event %d flags %+v", i+1, ev)
				}
				check(t, ev.Data, map[string]string{"id": `"` + c.id + `"`, "created": `1750000000`, "model": `"` + c.upModel + `"`, "choices.0.finish_reason": `null`})
				d := gjson.GetBytes(ev.Data, "choices.0.delta")
				content.WriteString(d.Get("content").String())
				reasoning.WriteString(d.Get("reasoning_content").String())
				for _, tc := range d.Get("tool_calls").Array() {
					if tc.Get("index").Int() != int64(len(calls)) || tc.Get("type").String() != "function" {
						t.Errorf("tool fragment %s", tc.Raw)
					}
					name, sig, ok := decodeCallID(tc.Get("id").String())
					if !ok || name != tc.Get("function.name").String() {
						t.Errorf("id %s does not carry the name", tc.Get("id").String())
					}
					ids = append(ids, tc.Get("id").String())
					calls = append(calls, wantCall{name, tc.Get("function.arguments").String(), sig})
				}
			}
			if content.String() != c.content || reasoning.String() != c.reasoning {
				t.Errorf("content %q reasoning %q", content.String(), reasoning.String())
			}
			if len(calls) != len(c.calls) {
				t.Fatalf("calls %+v", calls)
			}
			for i, w := range c.calls {
				if calls[i].name != w.name || calls[i].args != w.args || !strings.HasPrefix(calls[i].sig, w.sig) || (w.sig == "") != (calls[i].sig == "") {
					t.Errorf("call %d = %+v, want %+v", i, calls[i], w)
				}
			}
			fin := evs[n-3]
			if !fin.Finish || fin.Tokens != 0 || fin.Usage != nil {
				t.Errorf("finish event %+v", fin)
			}
			check(t, fin.Data, map[string]string{"id": `"` + c.id + `"`, "choices": `[{"index":0,"delta":{},"logprobs":null,"finish_reason":"` + c.finish + `"}]`})
			us := evs[n-2]
			if !us.UsageOnly || us.Usage == nil || *us.Usage != c.usage || us.Finish {
				t.Errorf("usage event %+v", us)
			}
			check(t, us.Data, map[string]string{
				"id": `"` + c.id + `"`, "choices": `[]`,
				"usage.prompt_tokens":                              fmt.Sprint(c.usage.PromptTokens),
				"usage.completion_tokens":                          fmt.Sprint(c.usage.CompletionTokens),
				"usage.total_tokens":                               fmt.Sprint(c.usage.PromptTokens + c.usage.CompletionTokens),
				"usage.completion_tokens_details.reasoning_tokens": fmt.Sprint(c.usage.ReasoningTokens),
				"usage.prompt_tokens_details.cached_tokens":        `0`,
			})
			if !evs[n-1].Done || string(evs[n-1].Data) != "[DONE]" || evs[n-1].More {
				t.Errorf("last event %+v", evs[n-1])
			}
			if c.priced {
				// 18 in at $0.30/M, 80 candidates + 35 thoughts out at $2.50/M.
				if got, exp := costOf(t, c.model, u), (18*0.3+115*2.5)/1e6; !near(got, exp) {
					t.Errorf("cost %v, want %v", got, exp)
				}
			}
		})
	}
}

// Re-chunked at random byte boundaries (CRLFs split in half included),
// every stream yields the same events.
func TestStreamRechunked(t *testing.T) {
	for _, c := range streamCases {
		t.Run(c.file, func(t *testing.T) {
			content := providertest.Fixture(t, "gemini", c.file)
			up := providertest.NewUpstream(t, providertest.Replay(content, 0))
			whole, _, err := runStream(t, newTestProvider(t, up.URL, providers.Timeouts{}), c.model, askBody)
			if err != nil {
				t.Fatal(err)
			}
			for seed := uint64(1); seed <= 8; seed++ {
				up := providertest.NewUpstream(t, providertest.Replay(content, seed))
				got, u, err := runStream(t, newTestProvider(t, up.URL, providers.Timeouts{}), c.model, askBody)
				if err != nil || u != c.usage {
					t.Fatalf("seed %d: usage %+v err %v", seed, u, err)
				}
				if len(got.Events) != len(whole.Events) {
					t.Fatalf("seed %d: %d events, want %d", seed, len(got.Events), len(whole.Events))
				}
				for i, ev := range got.Events {
					w := whole.Events[i]
					if string(ev.Data) != string(w.Data) || ev.Finish != w.Finish || ev.UsageOnly != w.UsageOnly || ev.Done != w.Done || ev.Tokens != w.Tokens {
						t.Errorf("seed %d event %d:\n got  %s\n want %s", seed, i, ev.Data, w.Data)
					}
				}
			}
		})
	}
}

// The official SDK's accumulator reassembles the streamed answers.
func TestStreamOpenAIAccumulator(t *testing.T) {
	for _, c := range streamCases {
		t.Run(c.file, func(t *testing.T) {
			up := providertest.NewUpstream(t, providertest.Replay(providertest.Fixture(t, "gemini", c.file), 0))
			sink, _, err := runStream(t, newTestProvider(t, up.URL, providers.Timeouts{}), c.model, askBody)
			if err != nil {
				t.Fatal(err)
			}
			acc := accumulate(t, sink)
			if acc.ID != c.id || acc.Model != c.upModel || len(acc.Choices) != 1 {
				t.Fatalf("accumulated %s / %s / %d choices", acc.ID, acc.Model, len(acc.Choices))
			}
			ch := acc.Choices[0]
			if ch.Message.Content != c.content || ch.FinishReason != c.finish {
				t.Errorf("content %q finish %q", ch.Message.Content, ch.FinishReason)
			}
			if len(ch.Message.ToolCalls) != len(c.calls) {
				t.Fatalf("tool calls %+v", ch.Message.ToolCalls)
			}
			for i, w := range c.calls {
				tc := ch.Message.ToolCalls[i]
				name, sig, ok := decodeCallID(tc.ID)
				if tc.Function.Name != w.name || tc.Function.Arguments != w.args || !ok || name != w.name || !strings.HasPrefix(sig, w.sig) {
					t.Errorf("tool call %d: %+v", i, tc)
				}
			}
			if acc.Usage.PromptTokens != c.usage.PromptTokens || acc.Usage.CompletionTokens != c.usage.CompletionTokens ||
				acc.Usage.CompletionTokensDetails.ReasoningTokens != c.usage.ReasoningTokens {
				t.Errorf("usage %+v", acc.Usage)
			}
		})
	}
}

func accumulate(t *testing.T, sink *providertest.Sink) openai.ChatCompletionAccumulator {
	t.Helper()
	var acc openai.ChatCompletionAccumulator
	for _, ev := range sink.Events {
		if ev.Done || ev.Malformed {
			continue
		}
		var ch openai.ChatCompletionChunk
		if err := json.Unmarshal(ev.Data, &ch); err != nil {
			t.Fatalf("chunk %s: %v", ev.Data, err)
		}
		if !acc.AddChunk(ch) {
			t.Fatalf("accumulator rejected %s", ev.Data)
		}
	}
	return acc
}

// The thoughtSignature of a recorded Gemini 3 call rides in the tool-call
// id and lands on the functionCall part of the next request; the tool
// result is named after the call, also when the client trimmed the
// assistant message away.
func TestThoughtSignatureRoundTrip(t *testing.T) {
	rec := providertest.Fixture(t, "gemini", "stream-function-call-thought-signature.sse")
	sig := gjson.Get(strings.TrimPrefix(strings.SplitN(string(rec), "\r\n", 2)[0], "data: "), "candidates.0.content.parts.0.thoughtSignature").String()
	if len(sig) < 100 {
		t.Fatalf("fixture signature %q", sig)
	}
	up := providertest.NewUpstream(t, providertest.Replay(rec, 0))
	sink, _, err := runStream(t, newTestProvider(t, up.URL, providers.Timeouts{}), "gemini-3-pro-preview", askBody)
	if err != nil {
		t.Fatal(err)
	}
	tc := accumulate(t, sink).Choices[0].Message.ToolCalls[0]

	next := providertest.NewUpstream(t, providertest.JSONAnswer(200, providertest.Fixture(t, "gemini", "generate-content-text.json"), jsonUTF8))
	p := newTestProvider(t, next.URL, providers.Timeouts{})
	call, _ := json.Marshal(map[string]any{"id": tc.ID, "type": "function", "function": map[string]string{"name": tc.Function.Name, "arguments": tc.Function.Arguments}})
	full := `{"messages":[{"role":"user","content":"What is the capital of the user country? Call the tool"},
		{"role":"assistant","content":null,"tool_calls":[` + string(call) + `]},
		{"role":"tool","tool_call_id":"` + tc.ID + `","content":"Mexico"}]}`
	if _, err := p.Do(context.Background(), chatReq("gemini-3-pro-preview", false, full)); err != nil {
		t.Fatal(err)
	}
	check(t, next.Last(t).Body, map[string]string{
		"contents.#": `3`,
		"contents.1": `{"role":"model","parts":[{"functionCall":{"name":"get_country","args":{}},"thoughtSignature":"` + sig + `"}]}`,
		"contents.2": `{"role":"user","parts":[{"functionResponse":{"name":"get_country","response":{"result":"Mexico"}}}]}`,
	})

	trimmed := `{"messages":[{"role":"tool","tool_call_id":"` + tc.ID + `","content":"{\"country\":\"Mexico\"}"}]}`
	if _, err := p.Do(context.Background(), chatReq("gemini-3-pro-preview", false, trimmed)); err != nil {
		t.Fatal(err)
	}
	check(t, next.Last(t).Body, map[string]string{
		"contents.0.parts.0.functionResponse": `{"name":"get_country","response":{"country":"Mexico"}}`,
	})
}
