package anthropic

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/tidwall/gjson"
)

// defaultMaxTokens is sent when the client set no limit: Anthropic
// requires max_tokens, and 8192 fits every current model's output limit
// while leaving room above the largest thinking budget set here.
const defaultMaxTokens = 8192

// nativeRequest is the Messages API body. Building it from typed structs
// keeps the output well-formed whatever the client sent.
type nativeRequest struct {
	Model         string        `json:"model"`
	MaxTokens     int64         `json:"max_tokens"`
	System        []block       `json:"system,omitempty"`
	Messages      []turn        `json:"messages"`
	Tools         []tool        `json:"tools,omitempty"`
	ToolChoice    *toolChoice   `json:"tool_choice,omitempty"`
	StopSequences []string      `json:"stop_sequences,omitempty"`
	Temperature   *float64      `json:"temperature,omitempty"`
	TopP          *float64      `json:"top_p,omitempty"`
	Metadata      *metadata     `json:"metadata,omitempty"`
	Thinking      *thinking     `json:"thinking,omitempty"`
	OutputConfig  *outputConfig `json:"output_config,omitempty"`
	Stream        bool          `json:"stream,omitempty"`
}

type turn struct {
	Role    string  `json:"role"`
	Content []block `json:"content"`
}

// block is any content block this package sends; unused fields are
// omitted, so one struct covers text, image, document, tool_use and
// tool_result.
type block struct {
	Type         string          `json:"type"`
	Text         string          `json:"text,omitempty"`
	Source       *source         `json:"source,omitempty"`
	Title        string          `json:"title,omitempty"`
	ID           string          `json:"id,omitempty"`
	Name         string          `json:"name,omitempty"`
	Input        json.RawMessage `json:"input,omitempty"`
	ToolUseID    string          `json:"tool_use_id,omitempty"`
	Content      any             `json:"content,omitempty"`
	CacheControl json.RawMessage `json:"cache_control,omitempty"`
}

type source struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
}

type tool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema"`
}

type toolChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name,omitempty"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use,omitempty"`
}

type metadata struct {
	UserID string `json:"user_id"`
}

type thinking struct {
	Type         string `json:"type"`
	BudgetTokens int64  `json:"budget_tokens,omitempty"`
}

type outputConfig struct {
	Effort string        `json:"effort,omitempty"`
	Format *outputFormat `json:"format,omitempty"`
}

type outputFormat struct {
	Type   string          `json:"type"`
	Schema json.RawMessage `json:"schema"`
}

// translated is a native request plus what the answer's translation needs
// to know about it.
type translated struct {
	req nativeRequest
	// trimmed is the trailing whitespace cut from a final assistant
	// prefill: the client has it already, so the continuation must not
	// repeat it.
	trimmed string
}

func (t *translated) marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // prompts full of "<" stay readable in upstream logs
	if err := enc.Encode(&t.req); err != nil {
		return nil, fmt.Errorf("encoding the anthropic request: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// emptySchema stands in for a function declared without parameters:
// Anthropic requires input_schema.
var emptySchema = json.RawMessage(`{"type":"object","properties":{}}`)

// translate builds the native request from the client's OpenAI body.
func translate(model string, body []byte, stream bool) (*translated, error) {
	if !gjson.ValidBytes(body) {
		return nil, localError("the request body is not valid JSON")
	}
	f := gjson.GetManyBytes(body,
		"messages", "tools", "tool_choice", "parallel_tool_calls",
		"max_completion_tokens", "max_tokens", "stop", "temperature",
		"top_p", "user", "safety_identifier", "reasoning_effort", "response_format")
	msgs, tools, choice, parallel := f[0], f[1], f[2], f[3]
	mct, mt, stop, temp := f[4], f[5], f[6], f[7]
	topP, user, safetyID, effort, format := f[8], f[9], f[10], f[11], f[12]

	c, err := convertMessages(msgs)
	if err != nil {
		return nil, err
	}
	t := &translated{trimmed: c.trimmed}
	r := &t.req
	r.Model = model
	r.Stream = stream
	r.System = c.system
	r.Messages = c.turns
	if r.Messages == nil {
		r.Messages = []turn{}
	}

	r.Tools = convertTools(tools)
	if len(r.Tools) > 0 {
		r.ToolChoice = convertToolChoice(choice, parallel)
	}
	forced := r.ToolChoice != nil && (r.ToolChoice.Type == "any" || r.ToolChoice.Type == "tool")

	r.MaxTokens = defaultMaxTokens
	switch {
	case mct.Type == gjson.Number && mct.Int() > 0:
		r.MaxTokens = mct.Int()
	case mt.Type == gjson.Number && mt.Int() > 0:
		r.MaxTokens = mt.Int()
	}

	switch {
	case stop.Type == gjson.String && stop.Str != "":
		r.StopSequences = []string{stop.Str}
	case stop.IsArray():
		for _, s := range stop.Array() {
			if s.Type == gjson.String && s.Str != "" {
				r.StopSequences = append(r.StopSequences, s.Str)
			}
		}
	}

	if temp.Type == gjson.Number {
		v := min(max(temp.Float(), 0), 1) // OpenAI's range is 0–2, Anthropic's 0–1
		r.Temperature = &v
	}
	if topP.Type == gjson.Number {
		v := topP.Float()
		r.TopP = &v
	}

	switch {
	case user.Type == gjson.String && user.Str != "":
		r.Metadata = &metadata{UserID: user.Str}
	case safetyID.Type == gjson.String && safetyID.Str != "":
		r.Metadata = &metadata{UserID: safetyID.Str}
	}

	if effort.Type == gjson.String && effort.Str != "" && effort.Str != "none" {
		// The API rejects thinking with a forced tool, with a prefill, and
		// in a tool loop whose assistant turn lacks its signed thinking
		// block (which clients cannot send back through OpenAI's shape).
		if !forced && !c.prefill && !c.toolLoop {
			if err := applyThinking(r, effort.Str); err != nil {
				return nil, err
			}
		}
	}
	if r.Temperature != nil && r.TopP != nil {
		// Recent models reject both at once ("temperature and top_p cannot
		// both be specified"), and Anthropic advises altering only one.
		r.TopP = nil
	}

	if format.Get("type").Str == "json_schema" {
		if s := format.Get("json_schema.schema"); s.IsObject() {
			if r.OutputConfig == nil {
				r.OutputConfig = &outputConfig{}
			}
			r.OutputConfig.Format = &outputFormat{Type: "json_schema", Schema: json.RawMessage(s.Raw)}
		}
	}
	return t, nil
}

// convertTools maps OpenAI function tools to Anthropic tools; other tool
// types (OpenAI's custom tools) have no equivalent and are left out.
func convertTools(tools gjson.Result) []tool {
	var out []tool
	tools.ForEach(func(_, t gjson.Result) bool {
		if ty := t.Get("type").Str; ty != "" && ty != "function" {
			return true
		}
		fn := t.Get("function")
		name := fn.Get("name").Str
		if name == "" {
			return true
		}
		schema := emptySchema
		if p := fn.Get("parameters"); p.IsObject() {
			schema = json.RawMessage(p.Raw)
		}
		out = append(out, tool{Name: name, Description: fn.Get("description").Str, InputSchema: schema})
		return true
	})
	return out
}

// convertToolChoice maps tool_choice and parallel_tool_calls; with no
// tool_choice, parallel_tool_calls:false still needs an auto choice to
// carry disable_parallel_tool_use.
func convertToolChoice(choice, parallel gjson.Result) *toolChoice {
	var tc *toolChoice
	switch {
	case choice.Type == gjson.String:
		switch choice.Str {
		case "auto":
			tc = &toolChoice{Type: "auto"}
		case "required":
			tc = &toolChoice{Type: "any"}
		case "none":
			tc = &toolChoice{Type: "none"}
		}
	case choice.IsObject():
		if name := choice.Get("function.name").Str; name != "" {
			tc = &toolChoice{Type: "tool", Name: name}
		}
	}
	if parallel.Type == gjson.False {
		if tc == nil {
			tc = &toolChoice{Type: "auto"}
		}
		if tc.Type != "none" {
			tc.DisableParallelToolUse = true
		}
	}
	return tc
}
