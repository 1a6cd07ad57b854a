package responses

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// chatTool is a chat function tool: Responses' flat
// {type,name,description,parameters,strict} nested under "function".
type chatTool struct {
	Type     string       `json:"type"`
	Function chatFunction `json:"function"`
}

type chatFunction struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      json.RawMessage `json:"strict,omitempty"`
}

// chatTools translates the function tools, including those grouped in a
// namespace (Codex sends its sub-agent tools that way), which become
// plain function tools.
//
// Hosted tools run inside OpenAI's Responses service (web search, file
// search, code interpreter, image generation, remote MCP, computer use);
// no chat upstream can run them, so they are left out and the model
// answers without them — agents such as Codex offer web_search by default
// and must keep working on any model. Tools the client executes but whose
// calls chat cannot express (local_shell, custom grammar tools) are
// refused, since the client would wait for calls that never come.
func chatTools(tools gjson.Result) ([]chatTool, error) {
	if !tools.Exists() || tools.Type == gjson.Null {
		return nil, nil
	}
	if !tools.IsArray() {
		return nil, reqErr("tools", "tools must be an array")
	}
	var out []chatTool
	var err error
	add := func(param string, t gjson.Result) bool {
		name := t.Get("name").String()
		if name == "" {
			err = reqErr(param+".name", "function tool needs a name")
			return false
		}
		out = append(out, chatTool{Type: "function", Function: chatFunction{
			Name:        name,
			Description: t.Get("description").String(),
			Parameters:  raw(t.Get("parameters")),
			Strict:      raw(t.Get("strict")),
		}})
		return true
	}
	tools.ForEach(func(i, t gjson.Result) bool {
		param := "tools[" + strconv.Itoa(int(i.Int())) + "]"
		switch typ := t.Get("type").String(); {
		case typ == "function":
			return add(param, t)
		case typ == "namespace":
			ok := true
			t.Get("tools").ForEach(func(j, inner gjson.Result) bool {
				p := param + ".tools[" + strconv.Itoa(int(j.Int())) + "]"
				if inner.Get("type").String() != "function" {
					return true // a hosted tool inside a namespace: left out as below
				}
				ok = add(p, inner)
				return ok
			})
			return ok
		case hostedTool(typ):
			return true
		default:
			err = reqErr(param+".type", "tool type "+strconv.Quote(typ)+" is a built-in Responses API tool: the chosen provider needs the Responses API for it, so only function tools can be used")
			return false
		}
	})
	return out, err
}

// hostedTool reports whether a tool type runs inside OpenAI's service.
func hostedTool(typ string) bool {
	switch typ {
	case "file_search", "code_interpreter", "image_generation", "mcp", "computer_use_preview", "computer_use":
		return true
	}
	return strings.HasPrefix(typ, "web_search")
}

// chatToolChoice translates tool_choice: the three modes are spelled the same,
// a forced function nests its name, allowed_tools nests its mode and list.
func chatToolChoice(tc gjson.Result) (json.RawMessage, error) {
	switch {
	case !tc.Exists() || tc.Type == gjson.Null:
		return nil, nil
	case tc.Type == gjson.String:
		switch tc.Str {
		case "auto", "none", "required":
			return json.RawMessage(tc.Raw), nil
		}
		return nil, reqErr("tool_choice", "unsupported tool_choice "+strconv.Quote(tc.Str))
	case !tc.IsObject():
		return nil, reqErr("tool_choice", "tool_choice must be a string or an object")
	}
	type fn struct {
		Name string `json:"name"`
	}
	type named struct {
		Type     string `json:"type"`
		Function fn     `json:"function"`
	}
	switch typ := tc.Get("type").String(); typ {
	case "function":
		name := tc.Get("name").String()
		if name == "" {
			return nil, reqErr("tool_choice.name", "tool_choice of type function needs a name")
		}
		return json.Marshal(named{Type: "function", Function: fn{Name: name}})
	case "allowed_tools":
		type allowed struct {
			Mode  string  `json:"mode"`
			Tools []named `json:"tools"`
		}
		a := allowed{Mode: tc.Get("mode").String(), Tools: []named{}}
		var err error
		tc.Get("tools").ForEach(func(_, t gjson.Result) bool {
			if t.Get("type").String() != "function" {
				err = reqErr("tool_choice.tools", "allowed_tools may only list function tools when the chosen provider speaks chat completions")
				return false
			}
			a.Tools = append(a.Tools, named{Type: "function", Function: fn{Name: t.Get("name").String()}})
			return true
		})
		if err != nil {
			return nil, err
		}
		return json.Marshal(struct {
			Type         string  `json:"type"`
			AllowedTools allowed `json:"allowed_tools"`
		}{"allowed_tools", a})
	default:
		return nil, reqErr("tool_choice.type", "tool_choice type "+strconv.Quote(typ)+" names a built-in tool: the chosen provider needs the Responses API for it")
	}
}

// chatResponseFormat moves text.format to response_format, where chat nests
// the json_schema fields one level deeper.
func chatResponseFormat(f gjson.Result) (json.RawMessage, error) {
	if !f.Exists() || f.Type == gjson.Null {
		return nil, nil
	}
	switch typ := f.Get("type").String(); typ {
	case "text":
		return nil, nil
	case "json_object":
		return json.RawMessage(`{"type":"json_object"}`), nil
	case "json_schema":
		type schema struct {
			Name        string          `json:"name"`
			Description string          `json:"description,omitempty"`
			Schema      json.RawMessage `json:"schema,omitempty"`
			Strict      json.RawMessage `json:"strict,omitempty"`
		}
		return json.Marshal(struct {
			Type       string `json:"type"`
			JSONSchema schema `json:"json_schema"`
		}{"json_schema", schema{
			Name:        f.Get("name").String(),
			Description: f.Get("description").String(),
			Schema:      raw(f.Get("schema")),
			Strict:      raw(f.Get("strict")),
		}})
	default:
		return nil, reqErr("text.format.type", "unsupported text.format type "+strconv.Quote(typ))
	}
}
