package bedrock

import (
	"encoding/json"
	"strings"

	"github.com/tidwall/gjson"
)

// The Converse request, built with typed structs: the client body is only
// peeked (gjson), and the native body is small enough that marshalling
// of a struct is both clear and cheap.
type converseRequest struct {
	Messages                     []message        `json:"messages"`
	System                       []textBlock      `json:"system,omitempty"`
	InferenceConfig              *inferenceConfig `json:"inferenceConfig,omitempty"`
	ToolConfig                   *toolConfig      `json:"toolConfig,omitempty"`
	AdditionalModelRequestFields *additional      `json:"additionalModelRequestFields,omitempty"`
}

type message struct {
	Role    string  `json:"role"`
	Content []block `json:"content"`
}

type textBlock struct {
	Text string `json:"text"`
}

// block is one content block; exactly one field is set.
type block struct {
	Text       string      `json:"text,omitempty"`
	Image      *imageBlock `json:"image,omitempty"`
	ToolUse    *toolUse    `json:"toolUse,omitempty"`
	ToolResult *toolResult `json:"toolResult,omitempty"`
}

type imageBlock struct {
	Format string      `json:"format"`
	Source imageSource `json:"source"`
}

// imageSource.Bytes is base64 text: Converse's JSON protocol carries blob
// fields base64-encoded, so a data URI's payload goes through untouched.
type imageSource struct {
	Bytes string `json:"bytes"`
}

type toolUse struct {
	ToolUseID string          `json:"toolUseId"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
}

type toolResult struct {
	ToolUseID string              `json:"toolUseId"`
	Content   []toolResultContent `json:"content"`
	Status    string              `json:"status,omitempty"`
}

// toolResultContent is {text} or {json}; Text is a pointer so an empty
// tool output still yields a (valid) empty text block.
type toolResultContent struct {
	Text *string         `json:"text,omitempty"`
	JSON json.RawMessage `json:"json,omitempty"`
}

type inferenceConfig struct {
	MaxTokens     *int64   `json:"maxTokens,omitempty"`
	Temperature   *float64 `json:"temperature,omitempty"`
	TopP          *float64 `json:"topP,omitempty"`
	StopSequences []string `json:"stopSequences,omitempty"`
}

type additional struct {
	Thinking *thinking `json:"thinking,omitempty"`
}

type thinking struct {
	Type         string `json:"type"`
	BudgetTokens int64  `json:"budget_tokens"`
}

// thinkingBudgets maps reasoning_effort to Claude's budget_tokens (the
// LiteLLM convention; 1024 is Claude's minimum budget).
var thinkingBudgets = map[string]int64{
	"minimal": 1024, "low": 1024, "medium": 2048, "high": 4096, "xhigh": 4096, "max": 4096,
}

// buildRequest translates an OpenAI chat body into a Converse body for
// model. Requests Converse cannot express come back as a 400 StatusError.
func buildRequest(model string, body []byte) ([]byte, error) {
	if !gjson.ValidBytes(body) {
		return nil, badRequest("invalid_json", "the request body is not valid JSON")
	}
	root := gjson.ParseBytes(body)
	if n := root.Get("n"); n.Exists() && n.Int() > 1 {
		return nil, badRequest("unsupported_parameter", "Bedrock Converse returns one choice; n > 1 is not supported")
	}
	var cr converseRequest
	if err := cr.addMessages(root.Get("messages")); err != nil {
		return nil, err
	}
	cr.InferenceConfig = buildInference(root)
	tc, err := buildTools(root)
	if err != nil {
		return nil, err
	}
	cr.ToolConfig = tc
	if eff := root.Get("reasoning_effort").Str; eff != "" && strings.Contains(strings.ToLower(model), "anthropic.") {
		if budget, ok := thinkingBudgets[eff]; ok {
			cr.AdditionalModelRequestFields = &additional{Thinking: &thinking{Type: "enabled", BudgetTokens: budget}}
			// Claude requires the budget to stay below max_tokens; keep the
			// room the client asked for the visible answer on top of it.
			if ic := cr.InferenceConfig; ic != nil && ic.MaxTokens != nil && *ic.MaxTokens <= budget {
				*ic.MaxTokens += budget
			}
		}
	}
	return marshal(&cr)
}

// addMessages maps the OpenAI turns. System and developer text becomes
// top-level system blocks; tool results become user turns of toolResult
// blocks; consecutive turns of one role are merged, since Converse
// requires user and assistant to alternate. A trailing assistant turn is
// kept as is: Converse continues it (prefill).
func (cr *converseRequest) addMessages(msgs gjson.Result) error {
	if !msgs.IsArray() {
		return badRequest("invalid_request", "messages must be an array")
	}
	var err error
	msgs.ForEach(func(_, m gjson.Result) bool {
		role := m.Get("role").Str
		switch role {
		case "system", "developer":
			var blocks []block
			if blocks, err = contentBlocks(m.Get("content"), false); err == nil {
				for _, b := range blocks {
					cr.System = append(cr.System, textBlock{Text: b.Text})
				}
			}
		case "user":
			var blocks []block
			if blocks, err = contentBlocks(m.Get("content"), true); err == nil {
				cr.add("user", blocks)
			}
		case "assistant":
			var blocks []block
			if blocks, err = contentBlocks(m.Get("content"), false); err == nil {
				var calls []block
				calls, err = toolUses(m.Get("tool_calls"))
				cr.add("assistant", append(blocks, calls...))
			}
		case "tool":
			cr.add("user", []block{{ToolResult: &toolResult{
				ToolUseID: m.Get("tool_call_id").Str,
				Content:   toolResultContents(m.Get("content")),
			}}})
		default:
			err = badRequest("invalid_request", "unsupported message role %q", role)
		}
		return err == nil
	})
	return err
}

// add appends blocks to the conversation, merging with the previous turn
// when it has the same role; a turn without blocks is dropped, as
// Converse rejects empty content.
func (cr *converseRequest) add(role string, blocks []block) {
	if len(blocks) == 0 {
		return
	}
	if n := len(cr.Messages); n > 0 && cr.Messages[n-1].Role == role {
		cr.Messages[n-1].Content = append(cr.Messages[n-1].Content, blocks...)
		return
	}
	cr.Messages = append(cr.Messages, message{Role: role, Content: blocks})
}

// contentBlocks maps a message's content (a string or an array of parts).
// Empty text is dropped: Converse rejects blank text blocks.
func contentBlocks(c gjson.Result, images bool) ([]block, error) {
	switch {
	case c.Type == gjson.String:
		if c.Str == "" {
			return nil, nil
		}
		return []block{{Text: c.Str}}, nil
	case !c.IsArray():
		return nil, nil
	}
	var (
		out []block
		err error
	)
	c.ForEach(func(_, p gjson.Result) bool {
		switch t := p.Get("type").Str; t {
		case "text", "refusal":
			if s := p.Get(t).Str; s != "" {
				out = append(out, block{Text: s})
			}
		case "image_url":
			if !images {
				err = badRequest("unsupported_content", "Bedrock Converse accepts images only in user messages")
				return false
			}
			u := p.Get("image_url.url")
			if !u.Exists() {
				u = p.Get("image_url")
			}
			var img *imageBlock
			if img, err = imageFromURL(u.Str); err == nil {
				out = append(out, block{Image: img})
			}
		default:
			err = badRequest("unsupported_content", "content part type %q is not supported by Bedrock Converse", t)
		}
		return err == nil
	})
	return out, err
}

// imageFormats maps image media types to Converse's format names.
var imageFormats = map[string]string{
	"image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif", "image/webp": "webp",
}

// imageFromURL accepts only base64 data URIs: Converse has no way to
// fetch a URL, and the gateway does not download on a client's behalf.
func imageFromURL(u string) (*imageBlock, error) {
	rest, ok := strings.CutPrefix(u, "data:")
	if !ok {
		return nil, badRequest("unsupported_content", "Bedrock Converse does not accept image URLs; send the image inline as a base64 data: URI")
	}
	meta, data, ok := strings.Cut(rest, ",")
	mt, params, _ := strings.Cut(meta, ";")
	if !ok || !strings.Contains(";"+params+";", ";base64;") {
		return nil, badRequest("unsupported_content", "image data URIs must be base64-encoded")
	}
	format, ok := imageFormats[strings.ToLower(mt)]
	if !ok {
		return nil, badRequest("unsupported_content", "image type %q is not supported by Bedrock Converse (png, jpeg, gif, webp)", mt)
	}
	if data == "" {
		return nil, badRequest("unsupported_content", "the image data URI is empty")
	}
	return &imageBlock{Format: format, Source: imageSource{Bytes: data}}, nil
}

// buildInference maps the sampling parameters; nil when none is set.
func buildInference(root gjson.Result) *inferenceConfig {
	var ic inferenceConfig
	set := false
	mt := root.Get("max_completion_tokens")
	if !mt.Exists() || mt.Type == gjson.Null {
		mt = root.Get("max_tokens")
	}
	if mt.Type == gjson.Number {
		v := mt.Int()
		ic.MaxTokens, set = &v, true
	}
	if t := root.Get("temperature"); t.Type == gjson.Number {
		v := t.Float()
		ic.Temperature, set = &v, true
	}
	if t := root.Get("top_p"); t.Type == gjson.Number {
		v := t.Float()
		ic.TopP, set = &v, true
	}
	switch s := root.Get("stop"); {
	case s.Type == gjson.String && s.Str != "":
		ic.StopSequences = []string{s.Str}
	case s.IsArray():
		s.ForEach(func(_, v gjson.Result) bool {
			if v.Str != "" {
				ic.StopSequences = append(ic.StopSequences, v.Str)
			}
			return true
		})
	}
	if !set && len(ic.StopSequences) == 0 {
		return nil
	}
	return &ic
}
