package gemini

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/providers/providertest"
)

// Golden cases: an OpenAI chat body in, the native body the upstream
// receives asserted field by field.
func TestRequestTranslation(t *testing.T) {
	const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
	cases := []struct {
		name  string
		model string
		body  string
		want  map[string]string
	}{
		{"system and developer become systemInstruction", "gemini-2.5-flash",
			`{"model":"m","messages":[{"role":"system","content":"Be brief."},{"role":"developer","content":[{"type":"text","text":"Use metric."}]},{"role":"user","content":"hi"}]}`,
			map[string]string{
				"systemInstruction":      `{"parts":[{"text":"Be brief."},{"text":"Use metric."}]}`,
				"contents":               `[{"role":"user","parts":[{"text":"hi"}]}]`,
				"generationConfig":       "<absent>",
				"tools":                  "<absent>",
				"toolConfig":             "<absent>",
				"systemInstruction.role": "<absent>",
			}},
		{"roles and text parts", "gemini-2.5-flash",
			`{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b <tag> & c"}]},{"role":"assistant","content":"x"},{"role":"assistant","content":[{"type":"refusal","refusal":"no"}]},{"role":"user","content":"y"}]}`,
			map[string]string{
				"contents.#":        `4`,
				"contents.0":        `{"role":"user","parts":[{"text":"a"},{"text":"b <tag> & c"}]}`,
				"contents.1":        `{"role":"model","parts":[{"text":"x"}]}`,
				"contents.2":        `{"role":"model","parts":[{"text":"no"}]}`,
				"contents.3":        `{"role":"user","parts":[{"text":"y"}]}`,
				"systemInstruction": "<absent>",
			}},
		{"image as data URI is inline data", "gemini-2.5-flash",
			`{"messages":[{"role":"user","content":[{"type":"text","text":"what is it?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,` + png + `","detail":"high"}}]}]}`,
			map[string]string{
				"contents.0.parts.0": `{"text":"what is it?"}`,
				"contents.0.parts.1": `{"inlineData":{"mimeType":"image/png","data":"` + png + `"}}`,
			}},
		{"image by URL is file data with a guessed type", "gemini-2.5-flash",
			`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/cat.PNG"}},{"type":"image_url","image_url":"https://example.com/a/b.webp?sig=1"},{"type":"image_url","image_url":{"url":"https://example.com/render"}}]}]}`,
			map[string]string{
				"contents.0.parts.0": `{"fileData":{"mimeType":"image/png","fileUri":"https://example.com/cat.PNG"}}`,
				"contents.0.parts.1": `{"fileData":{"mimeType":"image/webp","fileUri":"https://example.com/a/b.webp?sig=1"}}`,
				"contents.0.parts.2": `{"fileData":{"mimeType":"image/jpeg","fileUri":"https://example.com/render"}}`,
			}},
		{"audio and files", "gemini-2.5-flash",
			`{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}},{"type":"file","file":{"filename":"a.pdf","file_data":"data:application/pdf;base64,JVBERi0="}},{"type":"file","file":{"file_id":"https://generativelanguage.googleapis.com/v1beta/files/abc"}},{"type":"image_url","image_url":{"url":"data:,hello%20world"}}]}]}`,
			map[string]string{
				"contents.0.parts.0": `{"inlineData":{"mimeType":"audio/wav","data":"UklGRg=="}}`,
				"contents.0.parts.1": `{"inlineData":{"mimeType":"application/pdf","data":"JVBERi0="}}`,
				"contents.0.parts.2": `{"fileData":{"mimeType":"application/pdf","fileUri":"https://generativelanguage.googleapis.com/v1beta/files/abc"}}`,
				"contents.0.parts.3": `{"inlineData":{"mimeType":"text/plain","data":"aGVsbG8gd29ybGQ="}}`,
			}},
		{"assistant tool calls and merged tool results", "gemini-2.5-flash",
			`{"messages":[{"role":"user","content":"weather in Paris and Rome?"},
			{"role":"assistant","content":null,"tool_calls":[{"id":"call_abc","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}},{"id":"toolu_2","type":"function","function":{"name":"get_time","arguments":""}}]},
			{"role":"tool","tool_call_id":"call_abc","content":"{\"temp\": 21, \"unit\": \"C\"}"},
			{"role":"tool","tool_call_id":"toolu_2","content":[{"type":"text","text":"12:00"}]},
			{"role":"user","content":"thanks"}]}`,
			map[string]string{
				"contents.#": `4`,
				"contents.1": `{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}},{"functionCall":{"name":"get_time","args":{}}}]}`,
				"contents.2": `{"role":"user","parts":[{"functionResponse":{"name":"get_weather","response":{"temp":21,"unit":"C"}}},{"functionResponse":{"name":"get_time","response":{"result":"12:00"}}}]}`,
				"contents.3": `{"role":"user","parts":[{"text":"thanks"}]}`,
			}},
		{"tool result without its call uses the legacy name, else the id", "gemini-2.5-flash",
			`{"messages":[{"role":"tool","tool_call_id":"x1","name":"lookup","content":"42"},{"role":"user","content":"and?"},{"role":"tool","tool_call_id":"x2","content":"[1,2]"}]}`,
			map[string]string{
				"contents.0.parts.0.functionResponse": `{"name":"lookup","response":{"result":"42"}}`,
				"contents.2.parts.0.functionResponse": `{"name":"x2","response":{"result":"[1,2]"}}`,
			}},
		{"gemini 3 replay without a signature gets the documented placeholder", "gemini-3-flash-preview",
			`{"messages":[{"role":"user","content":"q"},{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}},{"id":"b","type":"function","function":{"name":"g","arguments":"{}"}}]},{"role":"tool","tool_call_id":"a","content":"1"},{"role":"tool","tool_call_id":"b","content":"2"}]}`,
			map[string]string{
				"contents.1.parts.0.thoughtSignature": `"skip_thought_signature_validator"`,
				"contents.1.parts.1.thoughtSignature": "<absent>",
				"contents.2.parts.#":                  `2`,
			}},
		{"tools become function declarations with the JSON schema as is", "gemini-2.5-flash",
			`{"messages":[{"role":"user","content":"q"}],"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather now.","strict":true,"parameters":{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}}},{"type":"function","function":{"name":"ping"}}]}`,
			map[string]string{
				"tools.#":                        `1`,
				"tools.0.functionDeclarations.0": `{"name":"get_weather","description":"Weather now.","parametersJsonSchema":{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}}`,
				"tools.0.functionDeclarations.1": `{"name":"ping"}`,
				"toolConfig":                     "<absent>",
			}},
		{"tool_choice auto", "gemini-2.5-flash", withTools(`"auto"`),
			map[string]string{"toolConfig": `{"functionCallingConfig":{"mode":"AUTO"}}`}},
		{"tool_choice none", "gemini-2.5-flash", withTools(`"none"`),
			map[string]string{"toolConfig": `{"functionCallingConfig":{"mode":"NONE"}}`}},
		{"tool_choice required", "gemini-2.5-flash", withTools(`"required"`),
			map[string]string{"toolConfig": `{"functionCallingConfig":{"mode":"ANY"}}`}},
		{"tool_choice function", "gemini-2.5-flash", withTools(`{"type":"function","function":{"name":"b"}}`),
			map[string]string{"toolConfig": `{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["b"]}}`, "tools.0.functionDeclarations.#": `2`}},
		{"tool_choice allowed_tools", "gemini-2.5-flash", withTools(`{"type":"allowed_tools","allowed_tools":{"mode":"required","tools":[{"type":"function","function":{"name":"b"}}]}}`),
			map[string]string{"toolConfig": `{"functionCallingConfig":{"mode":"ANY"}}`, "tools.0.functionDeclarations.#": `1`, "tools.0.functionDeclarations.0.name": `"b"`}},
		{"generation config", "gemini-2.5-flash",
			`{"messages":[{"role":"user","content":"q"}],"temperature":0.2,"top_p":0.9,"max_completion_tokens":300,"max_tokens":99,"stop":["END","STOP"],"n":2,"seed":7,"presence_penalty":0.5,"frequency_penalty":-0.5,"top_k":40}`,
			map[string]string{"generationConfig": `{"temperature":0.2,"topP":0.9,"topK":40,"maxOutputTokens":300,"stopSequences":["END","STOP"],"candidateCount":2,"seed":7,"presencePenalty":0.5,"frequencyPenalty":-0.5}`}},
		{"legacy max_tokens and a single stop string", "gemini-2.5-flash",
			`{"messages":[{"role":"user","content":"q"}],"max_tokens":99,"stop":"END","temperature":0}`,
			map[string]string{"generationConfig": `{"temperature":0,"maxOutputTokens":99,"stopSequences":["END"]}`}},
		{"reasoning_effort on 2.5 is a budget", "gemini-2.5-flash",
			`{"messages":[{"role":"user","content":"q"}],"reasoning_effort":"medium"}`,
			map[string]string{"generationConfig.thinkingConfig": `{"includeThoughts":true,"thinkingBudget":8192}`}},
		{"reasoning_effort low and minimal on 2.5", "gemini-2.5-flash-lite",
			`{"messages":[{"role":"user","content":"q"}],"reasoning_effort":"low"}`,
			map[string]string{"generationConfig.thinkingConfig": `{"includeThoughts":true,"thinkingBudget":1024}`}},
		{"reasoning_effort high on 2.5", "gemini-2.5-pro",
			`{"messages":[{"role":"user","content":"q"}],"reasoning_effort":"high"}`,
			map[string]string{"generationConfig.thinkingConfig": `{"includeThoughts":true,"thinkingBudget":24576}`}},
		{"reasoning_effort none on 2.5 flash switches thinking off", "gemini-2.5-flash",
			`{"messages":[{"role":"user","content":"q"}],"reasoning_effort":"none"}`,
			map[string]string{"generationConfig.thinkingConfig": `{"thinkingBudget":0}`}},
		{"reasoning_effort none on 2.5 pro is its minimum budget", "gemini-2.5-pro",
			`{"messages":[{"role":"user","content":"q"}],"reasoning_effort":"none"}`,
			map[string]string{"generationConfig.thinkingConfig": `{"thinkingBudget":128}`}},
		{"reasoning_effort on 3 is a level", "gemini-3-pro-preview",
			`{"messages":[{"role":"user","content":"q"}],"reasoning_effort":"medium"}`,
			map[string]string{"generationConfig.thinkingConfig": `{"includeThoughts":true,"thinkingLevel":"high"}`}},
		{"reasoning_effort minimal on 3 is low", "models/gemini-3-flash-preview",
			`{"messages":[{"role":"user","content":"q"}],"reasoning_effort":"minimal"}`,
			map[string]string{"generationConfig.thinkingConfig": `{"includeThoughts":true,"thinkingLevel":"low"}`}},
		{"reasoning_effort none on 3 is the lowest level, without thoughts", "gemini-3-pro-preview",
			`{"messages":[{"role":"user","content":"q"}],"reasoning_effort":"none"}`,
			map[string]string{"generationConfig.thinkingConfig": `{"thinkingLevel":"low"}`}},
		{"unknown reasoning_effort is left to the model", "gemini-2.5-flash",
			`{"messages":[{"role":"user","content":"q"}],"reasoning_effort":"turbo"}`,
			map[string]string{"generationConfig": "<absent>"}},
		{"response_format json_object", "gemini-2.5-flash",
			`{"messages":[{"role":"user","content":"q"}],"response_format":{"type":"json_object"}}`,
			map[string]string{"generationConfig": `{"responseMimeType":"application/json"}`}},
		{"response_format json_schema", "gemini-2.5-flash",
			`{"messages":[{"role":"user","content":"q"}],"response_format":{"type":"json_schema","json_schema":{"name":"city","strict":true,"schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}}}}`,
			map[string]string{"generationConfig": `{"responseMimeType":"application/json","responseJsonSchema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}}`}},
		{"response_format text adds nothing", "gemini-2.5-flash",
			`{"messages":[{"role":"user","content":"q"}],"response_format":{"type":"text"},"stream":true,"stream_options":{"include_usage":true},"user":"u1"}`,
			map[string]string{"generationConfig": "<absent>"}},
	}
	up := providertest.NewUpstream(t, providertest.JSONAnswer(200, providertest.Fixture(t, "gemini", "generate-content-text.json"), jsonUTF8))
	p := newTestProvider(t, up.URL+"/v1beta/", providers.Timeouts{})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := p.Do(context.Background(), chatReq(c.model, false, c.body)); err != nil {
				t.Fatal(err)
			}
			got := up.Last(t)
			if !gjson.ValidBytes(got.Body) {
				t.Fatalf("upstream got invalid JSON: %s", got.Body)
			}
			wantURI := "/v1beta/models/" + strings.TrimPrefix(c.model, "models/") + ":generateContent"
			if got.URI != wantURI {
				t.Errorf("uri %s, want %s", got.URI, wantURI)
			}
			check(t, got.Body, c.want)
		})
	}
}

func withTools(choice string) string {
	return `{"messages":[{"role":"user","content":"q"}],"tools":[{"type":"function","function":{"name":"a","parameters":{"type":"object"}}},{"type":"function","function":{"name":"b"}}],"tool_choice":` + choice + `}`
}

// The request goes to the escaped model path with the key in
// x-goog-api-key (never in the URL) and the account's extra headers.
func TestRequestURLAndHeaders(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.JSONAnswer(200, providertest.Fixture(t, "gemini", "generate-content-text.json"), jsonUTF8))
	p := newTestProvider(t, up.URL, providers.Timeouts{})
	body := `{"messages":[{"role":"user","content":"q"}]}`
	if _, err := p.Do(context.Background(), chatReq("tuned model/../x?y", false, body)); err != nil {
		t.Fatal(err)
	}
	got := up.Last(t)
	if got.URI != "/models/tuned%20model%2F..%2Fx%3Fy:generateContent" {
		t.Errorf("uri %s", got.URI)
	}
	if got.Header.Get("X-Goog-Api-Key") != testKey || got.Header.Get("Authorization") != "" ||
		got.Header.Get("Content-Type") != "application/json" || got.Header.Get("Accept") != "application/json" ||
		got.Header.Get("X-Goog-User-Project") != "proj-1" || strings.Contains(got.URI, testKey) {
		t.Errorf("headers %v", got.Header)
	}
}

// Bodies that cannot be translated are the client's 400, answered without
// calling the upstream.
func TestRequestBadInput(t *testing.T) {
	cases := map[string]string{
		"not json":            `{"messages":`,
		"messages missing":    `{"model":"m"}`,
		"unknown role":        `{"messages":[{"role":"function","content":"x"}]}`,
		"unknown part":        `{"messages":[{"role":"user","content":[{"type":"video_url","video_url":"x"}]}]}`,
		"image without url":   `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]}`,
		"arguments not json":  `{"messages":[{"role":"assistant","tool_calls":[{"id":"1","type":"function","function":{"name":"f","arguments":"{oops"}}]}]}`,
		"arguments an array":  `{"messages":[{"role":"assistant","tool_calls":[{"id":"1","type":"function","function":{"name":"f","arguments":"[1]"}}]}]}`,
		"call without name":   `{"messages":[{"role":"assistant","tool_calls":[{"id":"1","type":"function","function":{"arguments":"{}"}}]}]}`,
		"custom tool":         `{"messages":[{"role":"user","content":"q"}],"tools":[{"type":"custom","custom":{"name":"x"}}]}`,
		"tool without name":   `{"messages":[{"role":"user","content":"q"}],"tools":[{"type":"function","function":{}}]}`,
		"bad tool_choice":     `{"messages":[{"role":"user","content":"q"}],"tool_choice":"sometimes"}`,
		"bad response_format": `{"messages":[{"role":"user","content":"q"}],"response_format":{"type":"yaml"}}`,
	}
	up := providertest.NewUpstream(t, providertest.JSONAnswer(200, providertest.Fixture(t, "gemini", "generate-content-text.json"), jsonUTF8))
	p := newTestProvider(t, up.URL, providers.Timeouts{})
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			for _, stream := range []bool{false, true} {
				var err error
				if stream {
					_, err = p.Stream(context.Background(), chatReq("gemini-2.5-flash", true, body), &providertest.Sink{})
				} else {
					_, err = p.Do(context.Background(), chatReq("gemini-2.5-flash", false, body))
				}
				var se *providers.StatusError
				if !errors.As(err, &se) || se.Status != http.StatusBadRequest || se.Message == "" ||
					gjson.GetBytes(se.Body, "error.type").String() != "invalid_request_error" {
					t.Errorf("stream=%v: err = %v", stream, err)
				}
			}
		})
	}
	if n := len(up.All()); n != 0 {
		t.Errorf("upstream called %d times", n)
	}
}
