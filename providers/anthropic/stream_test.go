package anthropic

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/providers/providertest"
)

type toolCall struct{ id, name, args string }

// assembled is a client's view of a translated stream.
type assembled struct {
	id, model        string
	content, reason  string
	tools            []toolCall
	finish           string
	usage            providers.Usage
	chunkUsage       string // the usage object of the usage-only chunk
	sawRole, sawDone bool
}

// assemble checks the chunk protocol event by event and accumulates the
// answer the way a client would.
func assemble(t *testing.T, events []providers.Event) assembled {
	t.Helper()
	var a assembled
	var created int64 = -1
	for i, ev := range events {
		if ev.Malformed {
			continue
		}
		if ev.Done {
			if string(ev.Data) != "[DONE]" || i != len(events)-1 {
				t.Errorf("event %d: [DONE] is %q and not last", i, ev.Data)
			}
			a.sawDone = true
			continue
		}
		if !gjson.ValidBytes(ev.Data) {
			t.Fatalf("event %d: invalid JSON %s", i, ev.Data)
		}
		root := gjson.ParseBytes(ev.Data)
		if root.Get("object").Str != "chat.completion.chunk" {
			t.Errorf("event %d: object %q", i, root.Get("object").Str)
		}
		if i == 0 {
			a.id, a.model, created = root.Get("id").Str, root.Get("model").Str, root.Get("created").Int()
		} else if root.Get("id").Str != a.id || root.Get("model").Str != a.model || root.Get("created").Int() != created {
			t.Errorf("event %d: id/model/created changed: %s", i, ev.Data)
		}
		if ev.UsageOnly {
			if !root.Get("choices").IsArray() || len(root.Get("choices").Array()) != 0 || ev.Usage == nil {
				t.Errorf("event %d: usage-only chunk malformed: %s", i, ev.Data)
			}
			a.chunkUsage = root.Get("usage").Raw
			a.usage = *ev.Usage
			continue
		}
		ch := root.Get("choices.0")
		if ch.Get("index").Int() != 0 || len(root.Get("choices").Array()) != 1 {
			t.Errorf("event %d: choices %s", i, root.Get("choices").Raw)
		}
		d := ch.Get("delta")
		if fr := ch.Get("finish_reason"); fr.Type != gjson.Null {
			if !ev.Finish || d.Raw != "{}" || a.finish != "" {
				t.Errorf("event %d: finish chunk %s (Finish=%v)", i, ev.Data, ev.Finish)
			}
			a.finish = fr.Str
			continue
		}
		if ev.Finish {
			t.Errorf("event %d: Finish set without a finish_reason", i)
		}
		if d.Get("role").Exists() {
			if i != 0 || d.Raw != `{"role":"assistant","content":""}` || ev.Tokens != 0 {
				t.Errorf("event %d: role chunk %s tokens %d", i, d.Raw, ev.Tokens)
			}
			a.sawRole = true
			continue
		}
		if ev.Tokens != 1 {
			t.Errorf("event %d: Tokens = %d for %s", i, ev.Tokens, d.Raw)
		}
		a.content += d.Get("content").Str
		a.reason += d.Get("reasoning_content").Str
		d.Get("tool_calls").ForEach(func(_, tc gjson.Result) bool {
			idx := int(tc.Get("index").Int())
			if tc.Get("id").Exists() {
				if idx != len(a.tools) || tc.Get("type").Str != "function" || tc.Get("function.arguments").Str != "" {
					t.Errorf("event %d: first tool fragment %s", i, tc.Raw)
				}
				a.tools = append(a.tools, toolCall{id: tc.Get("id").Str, name: tc.Get("function.name").Str})
				return true
			}
			if idx >= len(a.tools) || tc.Get("function.name").Exists() {
				t.Errorf("event %d: later tool fragment %s", i, tc.Raw)
				return true
			}
			a.tools[idx].args += tc.Get("function.arguments").Str
			return true
		})
	}
	return a
}

// nativeText concatenates, straight from a fixture's data lines, the
// field of every delta of type typ.
func nativeText(t *testing.T, name, typ, fieldName string) string {
	t.Helper()
	var b strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(providertest.Fixture(t, "anthropic", name)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if d := gjson.Get(line, "delta"); d.Get("type").Str == typ {
			b.WriteString(d.Get(fieldName).Str)
		}
	}
	return b.String()
}

type streamCase struct {
	file, model string
	content     string
	reasoning   string
	tools       []toolCall
	finish      string
	usage       providers.Usage
	cost        float64 // 0: the model is not in the catalogue
}

func streamCases(t *testing.T) []streamCase {
	return []streamCase{
		{file: "messages-stream-text-tool-use.sse", model: "claude-3-7-sonnet-20250219",
			content: "I'd be happy to check the weather in San Francisco for you. Let me get that information for you right away.",
			tools:   []toolCall{{"toolu_017QoD96fYwGzCWvLfaPADWg", "get_weather", `{"city": "San Francisco"}`}},
			finish:  "tool_calls", usage: providers.Usage{PromptTokens: 394, CompletionTokens: 79}},
		{file: "messages-stream-parallel-tool-use.sse", model: "claude-haiku-4-5-20251001",
			tools: []toolCall{
				{"toolu_01LtHJmixrs9NcWQkK8hu8hj", "pelican_name_generator", "{}"},
				{"toolu_01N8a4jWyf116qKTMqKKmjyt", "pelican_name_generator", "{}"},
			},
			finish: "tool_calls", usage: providers.Usage{PromptTokens: 542, CompletionTokens: 62},
			cost: (542*1.0 + 62*5.0) / 1e6},
		{file: "messages-stream-thinking.sse", model: "claude-sonnet-4-5-20250929",
			content:   "- Captain\n- Scoop",
			reasoning: nativeText(t, "messages-stream-thinking.sse", "thinking_delta", "thinking"),
			finish:    "stop", usage: providers.Usage{PromptTokens: 46, CompletionTokens: 84},
			cost: (46*3.0 + 84*15.0) / 1e6},
		{file: "messages-stream-thinking-server-tool.sse", model: "claude-sonnet-4-6",
			content:   nativeText(t, "messages-stream-thinking-server-tool.sse", "text_delta", "text"),
			reasoning: "Let me calculate this mathematical expression.",
			finish:    "stop", usage: providers.Usage{PromptTokens: 4714, CompletionTokens: 304},
			cost: (4714*3.0 + 304*15.0) / 1e6},
	}
}

func runStream(t *testing.T, content []byte, seed uint64, model, body string) (*providertest.Sink, providers.Usage, error) {
	t.Helper()
	up := providertest.NewUpstream(t, providertest.Replay(content, seed))
	p := newTestProvider(t, up.URL, providers.Timeouts{}, nil, nil)
	sink := &providertest.Sink{}
	if body == "" {
		body = `{"messages":[{"role":"user","content":"x"}],"stream":true}`
	}
	u, err := p.Stream(context.Background(), chatReq(model, true, body), sink)
	return sink, u, err
}

func TestStreamFixtures(t *testing.T) {
	for _, c := range streamCases(t) {
		t.Run(c.file, func(t *testing.T) {
			sink, u, err := runStream(t, providertest.Fixture(t, "anthropic", c.file), 0, c.model, "")
			if err != nil {
				t.Fatalf("Stream: %v", err)
			}
			a := assemble(t, sink.Events)
			msgID := gjson.Get(firstData(t, c.file), "message.id").Str
			if a.id != "chatcmpl-"+msgID || a.model != c.model {
				t.Errorf("id %q model %q", a.id, a.model)
			}
			if !a.sawRole || !a.sawDone {
				t.Errorf("role chunk %v, [DONE] %v", a.sawRole, a.sawDone)
			}
			if a.content != c.content {
				t.Errorf("content = %q, want %q", a.content, c.content)
			}
			if a.reason != c.reasoning {
				t.Errorf("reasoning = %q, want %q", a.reason, c.reasoning)
			}
			if !slices.Equal(a.tools, c.tools) {
				t.Errorf("tools = %+v, want %+v", a.tools, c.tools)
			}
			if a.finish != c.finish {
				t.Errorf("finish = %q, want %q", a.finish, c.finish)
			}
			if u != c.usage || a.usage != c.usage {
				t.Errorf("usage returned %+v, on the chunk %+v, want %+v", u, a.usage, c.usage)
			}
			wantUsage := fmt.Sprintf(`{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d,"prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}`,
				c.usage.PromptTokens, c.usage.CompletionTokens, c.usage.PromptTokens+c.usage.CompletionTokens)
			if !jsonEqual(a.chunkUsage, wantUsage) {
				t.Errorf("usage chunk %s, want %s", a.chunkUsage, wantUsage)
			}
			if c.cost > 0 {
				checkCost(t, c.model, u, c.cost)
			}
			last := sink.Events[len(sink.Events)-1]
			if last.More {
				t.Error("the last event is marked More")
			}
		})
	}
}

func firstData(t *testing.T, file string) string {
	t.Helper()
	for _, l := range strings.Split(string(providertest.Fixture(t, "anthropic", file)), "\n") {
		if d, ok := strings.CutPrefix(l, "data: "); ok {
			return d
		}
	}
	t.Fatal("no data line")
	return ""
}

// normalised strips what legitimately differs between two runs (created,
// More) so event sequences can be compared.
func normalised(events []providers.Event) []string {
	var out []string
	for _, e := range events {
		d := e.Data
		if gjson.GetBytes(d, "created").Exists() {
			d, _ = sjson.SetBytes(d, "created", 0)
		}
		out = append(out, fmt.Sprintf("%s|fin=%v|uo=%v|done=%v|mal=%v|tok=%d|usage=%v", d, e.Finish, e.UsageOnly, e.Done, e.Malformed, e.Tokens, e.Usage))
		if e.Usage != nil {
			out[len(out)-1] += fmt.Sprintf("%+v", *e.Usage)
		}
	}
	return out
}

func TestStreamRechunked(t *testing.T) {
	files, _ := filepath.Glob(providertest.FixturePath("anthropic", "*.sse"))
	if len(files) < 5 {
		t.Fatalf("found %d stream fixtures", len(files))
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			content := providertest.Fixture(t, "anthropic", name)
			whole, u1, err1 := runStream(t, content, 0, "claude-sonnet-4-6", "")
			small, u2, err2 := runStream(t, content, 11, "claude-sonnet-4-6", "")
			if fmt.Sprint(err1) != fmt.Sprint(err2) || u1 != u2 {
				t.Errorf("errors %v / %v, usage %+v / %+v", err1, err2, u1, u2)
			}
			a, b := normalised(whole.Events), normalised(small.Events)
			if !slices.Equal(a, b) {
				t.Errorf("re-chunked stream differs:\n%s\n---\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
			}
		})
	}
}

// TestOpenAISDKAccumulator feeds the emitted chunks to the official SDK's
// accumulator, as a Go client of the gateway would.
func TestOpenAISDKAccumulator(t *testing.T) {
	for _, c := range streamCases(t) {
		t.Run(c.file, func(t *testing.T) {
			sink, _, err := runStream(t, providertest.Fixture(t, "anthropic", c.file), 11, c.model, "")
			if err != nil {
				t.Fatal(err)
			}
			var acc openai.ChatCompletionAccumulator
			for _, ev := range sink.Events {
				if ev.Done {
					continue
				}
				var chunk openai.ChatCompletionChunk
				if err := json.Unmarshal(ev.Data, &chunk); err != nil {
					t.Fatalf("unmarshal %s: %v", ev.Data, err)
				}
				if !acc.AddChunk(chunk) {
					t.Fatalf("accumulator rejected %s", ev.Data)
				}
			}
			if len(acc.Choices) != 1 {
				t.Fatalf("choices = %d", len(acc.Choices))
			}
			msg := acc.Choices[0].Message
			if msg.Content != c.content || string(acc.Choices[0].FinishReason) != c.finish {
				t.Errorf("content %q finish %q", msg.Content, acc.Choices[0].FinishReason)
			}
			if len(msg.ToolCalls) != len(c.tools) {
				t.Fatalf("tool calls = %d, want %d", len(msg.ToolCalls), len(c.tools))
			}
			for i, tc := range msg.ToolCalls {
				w := c.tools[i]
				if tc.ID != w.id || tc.Function.Name != w.name || tc.Function.Arguments != w.args {
					t.Errorf("tool %d = %s %s %s, want %+v", i, tc.ID, tc.Function.Name, tc.Function.Arguments, w)
				}
				if !json.Valid([]byte(tc.Function.Arguments)) {
					t.Errorf("tool %d arguments are not JSON: %q", i, tc.Function.Arguments)
				}
			}
			if acc.Usage.PromptTokens != c.usage.PromptTokens || acc.Usage.CompletionTokens != c.usage.CompletionTokens {
				t.Errorf("usage %+v", acc.Usage)
			}
		})
	}
}
