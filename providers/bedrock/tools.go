package bedrock

import (
	"encoding/json"
	"strings"

	"github.com/tidwall/gjson"
)

// Tool definitions, tool calls and tool results: the OpenAI function-tool
// shapes mapped onto Converse's toolSpec, toolUse and toolResult.

type toolConfig struct {
	Tools      []toolEntry `json:"tools"`
	ToolChoice *toolChoice `json:"toolChoice,omitempty"`
}

type toolEntry struct {
	ToolSpec toolSpec `json:"toolSpec"`
}

type toolSpec struct {
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	InputSchema inputSchema `json:"inputSchema"`
}

type inputSchema struct {
	JSON json.RawMessage `json:"json"`
}

type toolChoice struct {
	Auto *struct{}  `json:"auto,omitempty"`
	Any  *struct{}  `json:"any,omitempty"`
	Tool *namedTool `json:"tool,omitempty"`
}

type namedTool struct {
	Name string `json:"name"`
}

// emptySchema stands in for a function tool without parameters: Converse
// requires an input schema.
var emptySchema = json.RawMessage(`{"type":"object","properties":{}}`)

// toolUses maps an assistant's tool_calls; empty arguments become {}.
func toolUses(calls gjson.Result) ([]block, error) {
	var (
		out []block
		err error
	)
	calls.ForEach(func(_, c gjson.Result) bool {
		args := strings.TrimSpace(c.Get("function.arguments").Str)
		if args == "" {
			args = "{}"
		}
		if !gjson.Valid(args) {
			err = badRequest("invalid_request", "the arguments of tool call %q are not valid JSON", c.Get("id").Str)
			return false
		}
		out = append(out, block{ToolUse: &toolUse{
			ToolUseID: c.Get("id").Str,
			Name:      c.Get("function.name").Str,
			Input:     json.RawMessage(args),
		}})
		return true
	})
	return out, err
}

// toolResultContents maps a tool message's content: a JSON object becomes
// a {json} block (the model sees structure, not an escaped string),
// anything else {text}.
func toolResultContents(c gjson.Result) []toolResultContent {
	var texts []string
	switch {
	case c.Type == gjson.String:
		s := strings.TrimSpace(c.Str)
		if strings.HasPrefix(s, "{") && gjson.Valid(s) {
			return []toolResultContent{{JSON: json.RawMessage(s)}}
		}
		texts = append(texts, c.Str)
	case c.IsArray():
		c.ForEach(func(_, p gjson.Result) bool {
			if p.Get("type").Str == "text" {
				texts = append(texts, p.Get("text").Str)
			}
			return true
		})
	}
	if len(texts) == 0 {
		texts = append(texts, "")
	}
	out := make([]toolResultContent, len(texts))
	for i := range texts {
		out[i].Text = &texts[i]
	}
	return out
}

// buildTools maps tools and tool_choice. tool_choice "none" drops the
// tools altogether: Converse has no way to offer tools but forbid them.
func buildTools(root gjson.Result) (*toolConfig, error) {
	tools := root.Get("tools")
	if !tools.IsArray() || len(tools.Array()) == 0 {
		return nil, nil
	}
	tc := &toolConfig{}
	switch ch := root.Get("tool_choice"); {
	case ch.Str == "none":
		return nil, nil
	case ch.Str == "auto":
		tc.ToolChoice = &toolChoice{Auto: &struct{}{}}
	case ch.Str == "required":
		tc.ToolChoice = &toolChoice{Any: &struct{}{}}
	case ch.IsObject():
		if name := ch.Get("function.name").Str; name != "" {
			tc.ToolChoice = &toolChoice{Tool: &namedTool{Name: name}}
		}
	}
	var err error
	tools.ForEach(func(_, t gjson.Result) bool {
		if typ := t.Get("type").Str; typ != "function" && typ != "" {
			err = badRequest("unsupported_tool", "tool type %q is not supported by Bedrock Converse", typ)
			return false
		}
		fn := t.Get("function")
		schema := emptySchema
		if p := fn.Get("parameters"); p.IsObject() {
			schema = json.RawMessage(p.Raw)
		}
		tc.Tools = append(tc.Tools, toolEntry{ToolSpec: toolSpec{
			Name:        fn.Get("name").Str,
			Description: fn.Get("description").Str,
			InputSchema: inputSchema{JSON: schema},
		}})
		return true
	})
	if err != nil {
		return nil, err
	}
	return tc, nil
}
