package bedrock

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/providers/providertest"
)

// sendDo runs a non-streaming call against a Converse upstream replaying
// converse-text.json and returns what the upstream received.
func sendDo(t *testing.T, model, body string) providertest.Received {
	t.Helper()
	up := jsonUpstream(t, 200, providertest.Fixture(t, "bedrock", "converse-text.json"), nil)
	p := newProvider(t, up.URL, "", nil)
	if _, err := p.Do(context.Background(), chatReq(model, body, false)); err != nil {
		t.Fatalf("Do: %v", err)
	}
	return up.Last(t)
}

// native sends body and returns the Converse JSON the upstream got.
func native(t *testing.T, model, body string) gjson.Result {
	t.Helper()
	r := sendDo(t, model, body)
	if !gjson.ValidBytes(r.Body) {
		t.Fatalf("upstream body is not JSON: %s", r.Body)
	}
	return gjson.ParseBytes(r.Body)
}

// eq asserts the JSON at path equals want (compared as JSON values).
func eq(t *testing.T, got gjson.Result, path, want string) {
	t.Helper()
	v := got.Get(path)
	if !v.Exists() {
		t.Fatalf("%s missing in %s", path, got.Raw)
	}
	if !jsonEqual(t, []byte(v.Raw), []byte(want)) {
		t.Fatalf("%s = %s, want %s", path, v.Raw, want)
	}
}

func absent(t *testing.T, got gjson.Result, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if v := got.Get(p); v.Exists() {
			t.Fatalf("%s should be absent, is %s", p, v.Raw)
		}
	}
}

func TestRequestSystem(t *testing.T) {
	n := native(t, novaMicro, `{"model":"x","messages":[
		{"role":"system","content":"You are terse."},
		{"role":"developer","content":[{"type":"text","text":"Answer in French."},{"type":"text","text":""}]},
		{"role":"user","content":"Hi"}]}`)
	eq(t, n, "system", `[{"text":"You are terse."},{"text":"Answer in French."}]`)
	eq(t, n, "messages", `[{"role":"user","content":[{"text":"Hi"}]}]`)
	absent(t, n, "inferenceConfig", "toolConfig", "additionalModelRequestFields")
}

func TestRequestRolesMerged(t *testing.T) {
	n := native(t, novaMicro, `{"messages":[
		{"role":"user","content":"one"},
		{"role":"user","content":[{"type":"text","text":"two"}]},
		{"role":"assistant","content":"three"},
		{"role":"assistant","content":[{"type":"text","text":"four"}]},
		{"role":"user","content":""},
		{"role":"user","content":"five"}]}`)
	eq(t, n, "messages", `[
		{"role":"user","content":[{"text":"one"},{"text":"two"}]},
		{"role":"assistant","content":[{"text":"three"},{"text":"four"}]},
		{"role":"user","content":[{"text":"five"}]}]`)
	absent(t, n, "system")
}

func TestRequestImageDataURI(t *testing.T) {
	n := native(t, novaMicro, `{"messages":[{"role":"user","content":[
		{"type":"text","text":"What is this?"},
		{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo=","detail":"high"}},
		{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,/9j/4AAQ"}},
		{"type":"image_url","image_url":{"url":"data:image/webp;base64,UklGRg=="}},
		{"type":"image_url","image_url":{"url":"data:image/gif;base64,R0lGOD=="}}]}]}`)
	eq(t, n, "messages.0.content", `[
		{"text":"What is this?"},
		{"image":{"format":"png","source":{"bytes":"iVBORw0KGgo="}}},
		{"image":{"format":"jpeg","source":{"bytes":"/9j/4AAQ"}}},
		{"image":{"format":"webp","source":{"bytes":"UklGRg=="}}},
		{"image":{"format":"gif","source":{"bytes":"R0lGOD=="}}}]`)
}

// TestRequestRefused: what Converse cannot express is a 400 produced
// before anything is sent, with an OpenAI-shaped body and a clear message.
func TestRequestRefused(t *testing.T) {
	cases := map[string]struct{ body, want string }{
		"image URL":        {`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]}`, "does not accept image URLs"},
		"image not base64": {`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png,abc"}}]}]}`, "base64"},
		"image type":       {`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/tiff;base64,AAAA"}}]}]}`, "image/tiff"},
		"audio part":       {`{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}]}]}`, "input_audio"},
		"bad arguments":    {`{"messages":[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{oops"}}]}]}`, "not valid JSON"},
		"n > 1":            {`{"n":2,"messages":[{"role":"user","content":"x"}]}`, "n > 1"},
		"role":             {`{"messages":[{"role":"function","content":"x"}]}`, "unsupported message role"},
		"not JSON":         {`{"messages":`, "not valid JSON"},
		"custom tool":      {`{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"custom","custom":{"name":"x"}}]}`, "tool type"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			up := jsonUpstream(t, 200, providertest.Fixture(t, "bedrock", "converse-text.json"), nil)
			p := newProvider(t, up.URL, "", nil)
			for _, stream := range []bool{false, true} {
				var err error
				if stream {
					_, err = p.Stream(context.Background(), chatReq(novaMicro, c.body, true), &providertest.Sink{})
				} else {
					_, err = p.Do(context.Background(), chatReq(novaMicro, c.body, false))
				}
				var se *providers.StatusError
				if !errors.As(err, &se) || se.Status != http.StatusBadRequest {
					t.Fatalf("err = %v, want a 400 StatusError", err)
				}
				if !strings.Contains(se.Message, c.want) || !strings.Contains(string(se.Body), c.want) {
					t.Fatalf("message %q / body %s, want it to mention %q", se.Message, se.Body, c.want)
				}
				if gjson.GetBytes(se.Body, "error.type").Str != "invalid_request_error" || se.Header.Get("Content-Type") != "application/json" {
					t.Fatalf("body %s header %v", se.Body, se.Header)
				}
			}
			if n := up.Count(); n != 0 {
				t.Fatalf("upstream was called %d times", n)
			}
		})
	}
}

func TestRequestToolCalls(t *testing.T) {
	n := native(t, novaMicro, `{"messages":[
		{"role":"user","content":"Weather in Paris and Rome?"},
		{"role":"assistant","content":"Let me look.","tool_calls":[
			{"id":"tooluse_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}},
			{"id":"tooluse_2","type":"function","function":{"name":"get_time","arguments":""}}]}]}`)
	eq(t, n, "messages.1", `{"role":"assistant","content":[
		{"text":"Let me look."},
		{"toolUse":{"toolUseId":"tooluse_1","name":"get_weather","input":{"city":"Paris"}}},
		{"toolUse":{"toolUseId":"tooluse_2","name":"get_time","input":{}}}]}`)
}

func TestRequestToolResultsMerged(t *testing.T) {
	n := native(t, novaMicro, `{"messages":[
		{"role":"user","content":"Weather in Paris and Rome?"},
		{"role":"assistant","content":null,"tool_calls":[
			{"id":"t1","type":"function","function":{"name":"w","arguments":"{\"city\":\"Paris\"}"}},
			{"id":"t2","type":"function","function":{"name":"w","arguments":"{\"city\":\"Rome\"}"}}]},
		{"role":"tool","tool_call_id":"t1","content":"{\"temp\": 21}"},
		{"role":"tool","tool_call_id":"t2","content":[{"type":"text","text":"sunny"},{"type":"text","text":"25C"}]},
		{"role":"user","content":"Thanks, and tomorrow?"}],
		"tools":[{"type":"function","function":{"name":"w","parameters":{"type":"object"}}}]}`)
	if got := len(n.Get("messages").Array()); got != 3 {
		t.Fatalf("%d turns, want 3: %s", got, n.Get("messages").Raw)
	}
	eq(t, n, "messages.1.content", `[
		{"toolUse":{"toolUseId":"t1","name":"w","input":{"city":"Paris"}}},
		{"toolUse":{"toolUseId":"t2","name":"w","input":{"city":"Rome"}}}]`)
	eq(t, n, "messages.2", `{"role":"user","content":[
		{"toolResult":{"toolUseId":"t1","content":[{"json":{"temp":21}}]}},
		{"toolResult":{"toolUseId":"t2","content":[{"text":"sunny"},{"text":"25C"}]}},
		{"text":"Thanks, and tomorrow?"}]}`)
	absent(t, n, "messages.2.content.0.toolResult.status")

	// Plain text, JSON that is not an object, and an empty output.
	n = native(t, novaMicro, `{"messages":[{"role":"user","content":"x"},
		{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}}]},
		{"role":"tool","tool_call_id":"a","content":"plain words"},
		{"role":"tool","tool_call_id":"b","content":"[1,2]"},
		{"role":"tool","tool_call_id":"c","content":""}]}`)
	eq(t, n, "messages.2.content", `[
		{"toolResult":{"toolUseId":"a","content":[{"text":"plain words"}]}},
		{"toolResult":{"toolUseId":"b","content":[{"text":"[1,2]"}]}},
		{"toolResult":{"toolUseId":"c","content":[{"text":""}]}}]`)
}

const toolsJSON = `"tools":[
	{"type":"function","function":{"name":"get_capital","description":"Get the capital of a country.","parameters":{"type":"object","properties":{"country":{"type":"string"}},"required":["country"]}}},
	{"type":"function","function":{"name":"ping"}}]`

func TestRequestTools(t *testing.T) {
	n := native(t, novaMicro, `{"messages":[{"role":"user","content":"x"}],`+toolsJSON+`}`)
	eq(t, n, "toolConfig.tools", `[
		{"toolSpec":{"name":"get_capital","description":"Get the capital of a country.","inputSchema":{"json":{"type":"object","properties":{"country":{"type":"string"}},"required":["country"]}}}},
		{"toolSpec":{"name":"ping","inputSchema":{"json":{"type":"object","properties":{}}}}}]`)
	absent(t, n, "toolConfig.toolChoice", "toolConfig.tools.1.toolSpec.description")

	choices := map[string]string{
		`"auto"`:     `{"auto":{}}`,
		`"required"`: `{"any":{}}`,
		`{"type":"function","function":{"name":"get_capital"}}`: `{"tool":{"name":"get_capital"}}`,
	}
	for choice, want := range choices {
		n := native(t, novaMicro, `{"messages":[{"role":"user","content":"x"}],`+toolsJSON+`,"tool_choice":`+choice+`}`)
		eq(t, n, "toolConfig.toolChoice", want)
		if len(n.Get("toolConfig.tools").Array()) != 2 {
			t.Fatalf("tool_choice %s: tools %s", choice, n.Get("toolConfig.tools").Raw)
		}
	}
	n = native(t, novaMicro, `{"messages":[{"role":"user","content":"x"}],`+toolsJSON+`,"tool_choice":"none"}`)
	absent(t, n, "toolConfig")
}

func TestRequestInferenceConfig(t *testing.T) {
	n := native(t, novaMicro, `{"messages":[{"role":"user","content":"x"}],"max_completion_tokens":300,"max_tokens":100,"temperature":0,"top_p":0.9,"stop":["END","STOP"]}`)
	eq(t, n, "inferenceConfig", `{"maxTokens":300,"temperature":0,"topP":0.9,"stopSequences":["END","STOP"]}`)
	n = native(t, novaMicro, `{"messages":[{"role":"user","content":"x"}],"max_tokens":100,"max_completion_tokens":null,"stop":"END"}`)
	eq(t, n, "inferenceConfig", `{"maxTokens":100,"stopSequences":["END"]}`)
}

func TestRequestReasoning(t *testing.T) {
	const claude = "us.anthropic.claude-sonnet-4-6-20260101-v1:0"
	for effort, budget := range map[string]string{"low": "1024", "medium": "2048", "high": "4096"} {
		n := native(t, claude, `{"messages":[{"role":"user","content":"x"}],"reasoning_effort":"`+effort+`","max_completion_tokens":8000}`)
		eq(t, n, "additionalModelRequestFields", `{"thinking":{"type":"enabled","budget_tokens":`+budget+`}}`)
		eq(t, n, "inferenceConfig.maxTokens", "8000")
	}
	// The budget must stay below max tokens: the cap grows by the budget.
	n := native(t, "global.anthropic.claude-opus-4-8-v1:0", `{"messages":[{"role":"user","content":"x"}],"reasoning_effort":"medium","max_tokens":500}`)
	eq(t, n, "additionalModelRequestFields.thinking.budget_tokens", "2048")
	eq(t, n, "inferenceConfig.maxTokens", "2548")
	// Not an Anthropic model: no thinking field.
	n = native(t, novaMicro, `{"messages":[{"role":"user","content":"x"}],"reasoning_effort":"high"}`)
	absent(t, n, "additionalModelRequestFields")
	// "none" turns it off.
	n = native(t, claude, `{"messages":[{"role":"user","content":"x"}],"reasoning_effort":"none"}`)
	absent(t, n, "additionalModelRequestFields")
}

// TestRequestPrefill: a trailing assistant message stays last, so Converse
// continues it; the gateway's "prefix" marker is not sent.
func TestRequestPrefill(t *testing.T) {
	n := native(t, novaMicro, `{"messages":[{"role":"user","content":"Count to five."},{"role":"assistant","content":"One, two,","prefix":true}]}`)
	eq(t, n, "messages", `[{"role":"user","content":[{"text":"Count to five."}]},{"role":"assistant","content":[{"text":"One, two,"}]}]`)
}

// TestRequestMatchesRecordings: the OpenAI requests equivalent to the
// recorded ones translate to the recorded native bodies (the recorder
// always sent empty system/inferenceConfig, which are omitted here), at
// the recorded URI path.
func TestRequestMatchesRecordings(t *testing.T) {
	cases := []struct {
		fixture, model, body string
	}{
		{"converse-text.request.json", novaMicro,
			`{"messages":[{"role":"system","content":"You are a chatbot."},{"role":"user","content":"Hello!"}]}`},
		{"converse-stream-tool-use.request.json", novaMicro,
			`{"top_p":0.5,"messages":[{"role":"system","content":"You are a helpful chatbot."},{"role":"user","content":"What is the temperature of the capital of France?"}],"tools":[
			{"type":"function","function":{"name":"get_capital","description":"Get the capital of a country.","parameters":{"properties":{"country":{"description":"The country name.","title":"Country","type":"string"}},"required":["country"],"type":"object","additionalProperties":false}}},
			{"type":"function","function":{"name":"get_temperature","description":"Get the temperature in a city.","parameters":{"properties":{"city":{"description":"The city name.","title":"City","type":"string"}},"required":["city"],"type":"object","additionalProperties":false}}}]}`},
		{"converse-reasoning-tool-use.request.json", "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
			`{"reasoning_effort":"low","messages":[{"role":"user","content":"What is the largest city in the user country?"}],"tools":[{"type":"function","function":{"name":"get_user_country","parameters":{"additionalProperties":false,"properties":{},"type":"object"}}}]}`},
		{"converse-stream-reasoning.request.json", "us.anthropic.claude-sonnet-4-20250514-v1:0",
			`{"reasoning_effort":"low","messages":[{"role":"user","content":"Hello"}]}`},
		{"converse-stream-text.request.json", novaMicro,
			`{"temperature":0,"messages":[{"role":"system","content":"You are a helpful chatbot."},{"role":"user","content":"What is the capital of France?"}]}`},
	}
	for _, c := range cases {
		t.Run(c.fixture, func(t *testing.T) {
			rec := gjson.ParseBytes(providertest.Fixture(t, "bedrock", c.fixture))
			want := rec.Get("body").Raw
			for _, empty := range []string{"system", "inferenceConfig"} {
				if v := gjson.Get(want, empty); v.Raw == "[]" || v.Raw == "{}" {
					want = deleteKey(t, want, empty)
				}
			}
			stream := strings.HasSuffix(rec.Get("_recorded_request.uri").Str, "/converse-stream")
			var r providertest.Received
			if stream {
				up := streamUpstream(t, providertest.Fixture(t, "bedrock", strings.TrimSuffix(c.fixture, ".request.json")+".eventstream"), false, 0)
				p := newProvider(t, up.URL, "", nil)
				if _, err := p.Stream(context.Background(), chatReq(c.model, c.body, true), &providertest.Sink{}); err != nil {
					t.Fatal(err)
				}
				r = up.Last(t)
			} else {
				r = sendDo(t, c.model, c.body)
			}
			if !jsonEqual(t, r.Body, []byte(want)) {
				t.Fatalf("native body\n%s\nwant\n%s", r.Body, want)
			}
			uri := rec.Get("_recorded_request.uri").Str
			wantPath := uri[strings.Index(uri, "/model/"):]
			if r.URI != wantPath {
				t.Fatalf("request URI %s, recorded %s", r.URI, wantPath)
			}
			verifySigV4(t, r, "us-east-1")
		})
	}
}

func deleteKey(t *testing.T, js, key string) string {
	t.Helper()
	out, err := sjson.Delete(js, key)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
