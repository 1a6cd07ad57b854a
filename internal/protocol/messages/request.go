package messages

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/tidwall/gjson"
)

// chatRequest is the Chat Completions body ToChat builds. Only what a
// Messages request can express is here; the gateway adds the rest (it
// rewrites model, may adjust stream_options).
type chatRequest struct {
	Model               string          `json:"model"`
	Messages            []chatMessage   `json:"messages"`
	Stream              bool            `json:"stream"`
	StreamOptions       *streamOptions  `json:"stream_options,omitempty"`
	MaxCompletionTokens int64           `json:"max_completion_tokens"`
	Temperature         json.RawMessage `json:"temperature,omitempty"`
	TopP                json.RawMessage `json:"top_p,omitempty"`
	Stop                []string        `json:"stop,omitempty"`
	User                string          `json:"user,omitempty"`
	ReasoningEffort     string          `json:"reasoning_effort,omitempty"`
	Tools               []chatTool      `json:"tools,omitempty"`
	ToolChoice          json.RawMessage `json:"tool_choice,omitempty"`
	ParallelToolCalls   *bool           `json:"parallel_tool_calls,omitempty"`
	ResponseFormat      json.RawMessage `json:"response_format,omitempty"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type chatTool struct {
	Type     string       `json:"type"`
	Function chatFunction `json:"function"`
}

type chatFunction struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters"`
	Strict      bool            `json:"strict,omitempty"`
}

// emptySchema stands in for a tool without input_schema: chat providers
// want parameters to be an object schema.
var emptySchema = json.RawMessage(`{"type":"object","properties":{}}`)

// ToChat translates a Messages request body into a Chat Completions
// request body (keeps "model"; sets "stream" as the request did, with
// "stream_options":{"include_usage":true} when streaming, because the
// usage chunk is what message_delta's counts come from). Fields chat has
// no place for (top_k, cache_control, container, mcp_servers, …) are
// dropped; what cannot be honoured at all (Anthropic server tools, file
// ids) is refused with a *RequestError.
func ToChat(body []byte) ([]byte, error) {
	if !gjson.ValidBytes(body) {
		return nil, invalid("", "request body is not valid JSON")
	}
	r := gjson.ParseBytes(body)
	if !r.IsObject() {
		return nil, invalid("", "request body must be a JSON object")
	}
	var req chatRequest

	model := r.Get("model")
	if model.Type != gjson.String || model.Str == "" {
		return nil, invalid("model", "field required")
	}
	req.Model = model.Str

	mt := r.Get("max_tokens")
	if !mt.Exists() {
		return nil, invalid("max_tokens", "field required")
	}
	if mt.Type != gjson.Number || mt.Int() < 1 || float64(mt.Int()) != mt.Num {
		return nil, invalid("max_tokens", "must be a positive integer")
	}
	req.MaxCompletionTokens = mt.Int()

	if s := r.Get("stream"); s.Type == gjson.True {
		req.Stream = true
		req.StreamOptions = &streamOptions{IncludeUsage: true}
	}

	var err error
	if req.Messages, err = systemMessages(r.Get("system")); err != nil {
		return nil, err
	}
	msgs := r.Get("messages")
	if !msgs.IsArray() {
		return nil, invalid("messages", "field required (an array of messages)")
	}
	if len(msgs.Array()) == 0 {
		return nil, invalid("messages", "at least one message is required")
	}
	if req.Messages, err = convertMessages(req.Messages, msgs); err != nil {
		return nil, err
	}

	for _, f := range [...]struct {
		name string
		dst  *json.RawMessage
	}{{"temperature", &req.Temperature}, {"top_p", &req.TopP}} {
		v := r.Get(f.name)
		switch v.Type {
		case gjson.Null:
		case gjson.Number:
			*f.dst = json.RawMessage(v.Raw)
		default:
			return nil, invalid(f.name, "must be a number")
		}
	}
	if ss := r.Get("stop_sequences"); ss.Exists() && ss.Type != gjson.Null {
		if !ss.IsArray() {
			return nil, invalid("stop_sequences", "must be an array of strings")
		}
		for _, s := range ss.Array() {
			if s.Type != gjson.String {
				return nil, invalid("stop_sequences", "must be an array of strings")
			}
			req.Stop = append(req.Stop, s.Str)
		}
	}
	if u := r.Get("metadata.user_id"); u.Type == gjson.String {
		req.User = u.Str
	}
	req.ReasoningEffort = reasoningEffort(r.Get("thinking"), r.Get("output_config.effort"))
	req.ResponseFormat = responseFormat(r)

	if req.Tools, err = convertTools(r.Get("tools")); err != nil {
		return nil, err
	}
	// Chat providers reject tool_choice without tools ("tool_choice is
	// only allowed when tools are specified"), so it only goes with them.
	if len(req.Tools) > 0 {
		if req.ToolChoice, req.ParallelToolCalls, err = convertToolChoice(r.Get("tool_choice")); err != nil {
			return nil, err
		}
	}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep prompts' <, > and & byte for byte
	if err := enc.Encode(&req); err != nil {
		return nil, fmt.Errorf("messages: encoding chat request: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// reasoningEffort maps extended thinking onto chat's reasoning_effort.
// budget_tokens becomes a level by the thresholds Anthropic's own docs
// use when describing budgets (a few thousand is light, tens of thousands
// is deep); adaptive thinking leaves the depth to the model, which is
// "medium". output_config.effort names a level directly and wins, except
// that xhigh and max become "high", the highest level every reasoning
// model behind a chat API accepts.
func reasoningEffort(thinking, effort gjson.Result) string {
	kind := thinking.Get("type").Str
	if kind == "disabled" {
		return ""
	}
	switch effort.Str {
	case "low", "medium", "high":
		return effort.Str
	case "xhigh", "max":
		return "high"
	}
	switch kind {
	case "enabled":
		switch b := thinking.Get("budget_tokens").Int(); {
		case b < 4096:
			return "low"
		case b < 16384:
			return "medium"
		default:
			return "high"
		}
	case "adaptive":
		return "medium"
	}
	return ""
}

// responseFormat maps structured outputs (output_config.format, or the
// beta's top-level output_format) of type json_schema to chat's
// response_format. strict is left off: Anthropic accepts schemas that
// OpenAI's strict mode rejects (optional properties, no
// additionalProperties:false).
func responseFormat(r gjson.Result) json.RawMessage {
	f := r.Get("output_config.format")
	if !f.IsObject() {
		f = r.Get("output_format")
	}
	schema := f.Get("schema")
	if f.Get("type").Str != "json_schema" || !schema.IsObject() {
		return nil
	}
	b := []byte(`{"type":"json_schema","json_schema":{"name":"output","schema":`)
	b = append(b, schema.Raw...)
	return append(b, "}}"...)
}

// convertTools maps custom tools to chat function tools. Anthropic's
// server tools (web_search_…, code_execution_…, bash_…, text_editor_…,
// computer_…) run inside Anthropic's API: no other provider can execute
// them, so the request is refused rather than silently losing them.
func convertTools(tools gjson.Result) ([]chatTool, error) {
	if !tools.Exists() || tools.Type == gjson.Null {
		return nil, nil
	}
	if !tools.IsArray() {
		return nil, invalid("tools", "must be an array")
	}
	var out []chatTool
	for i, t := range tools.Array() {
		param := "tools." + strconv.Itoa(i)
		if ty := t.Get("type").Str; ty != "" && ty != "custom" {
			return nil, invalid(param+".type", fmt.Sprintf("%q is an Anthropic server tool, which the chosen provider cannot run; only custom tools (name, description, input_schema) can be translated", ty))
		}
		name := t.Get("name")
		if name.Type != gjson.String || name.Str == "" {
			return nil, invalid(param+".name", "field required")
		}
		fn := chatFunction{Name: name.Str, Description: t.Get("description").Str, Parameters: emptySchema}
		if s := t.Get("input_schema"); s.IsObject() {
			fn.Parameters = json.RawMessage(s.Raw)
		}
		fn.Strict = t.Get("strict").Type == gjson.True
		out = append(out, chatTool{Type: "function", Function: fn})
	}
	return out, nil
}

// convertToolChoice maps {type:auto|any|tool|none, name,
// disable_parallel_tool_use} to chat's tool_choice and
// parallel_tool_calls.
func convertToolChoice(tc gjson.Result) (json.RawMessage, *bool, error) {
	if !tc.Exists() || tc.Type == gjson.Null {
		return nil, nil, nil
	}
	if !tc.IsObject() {
		return nil, nil, invalid("tool_choice", "must be an object")
	}
	var choice json.RawMessage
	switch ty := tc.Get("type").Str; ty {
	case "auto":
		choice = json.RawMessage(`"auto"`)
	case "any":
		choice = json.RawMessage(`"required"`)
	case "none":
		choice = json.RawMessage(`"none"`)
	case "tool":
		name := tc.Get("name").Str
		if name == "" {
			return nil, nil, invalid("tool_choice.name", "field required when type is tool")
		}
		b := []byte(`{"type":"function","function":{"name":`)
		b = appendString(b, name)
		choice = json.RawMessage(append(b, "}}"...))
	default:
		return nil, nil, invalid("tool_choice.type", fmt.Sprintf("%q is not one of auto, any, tool, none", ty))
	}
	var parallel *bool
	if tc.Get("disable_parallel_tool_use").Type == gjson.True {
		f := false
		parallel = &f
	}
	return choice, parallel, nil
}
