package mock

import (
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// chatRequest is what the mock reads from a chat body. It peeks with gjson
// instead of unmarshalling because bodies are OpenAI's open-ended shape and
// the mock needs only a handful of fields.
type chatRequest struct {
	promptTokens int64
	// lastRole is the role of the final message; it decides between a
	// tool call, a tool-result summary and a plain answer.
	lastRole string
	// lastUser is the text of the last user message.
	lastUser string
	// prefix is the text of a final assistant message: the answer is
	// continued from it (assistant prefix / prefill), as Mistral's and
	// Anthropic's APIs do.
	prefix string
	// toolResult and toolName describe a final tool message.
	toolResult, toolName string
	// tools holds the function tools offered, in order.
	tools []gjson.Result
	// toolChoice is "auto", "none", "required" or "" when absent;
	// forcedTool names the tool an object-shaped tool_choice picks.
	toolChoice, forcedTool string
	// maxTokens caps the answer; zero means no cap.
	maxTokens    int
	includeUsage bool
	// format is response_format.type; schema its json_schema.schema.
	format string
	schema gjson.Result
}

// parseChat reads a chat/completions body, rejecting what OpenAI would
// reject with a 400 so error paths look the same through the mock.
func parseChat(body []byte) (*chatRequest, error) {
	if !gjson.ValidBytes(body) {
		return nil, badRequest("We could not parse the JSON body of your request.", "")
	}
	root := gjson.ParseBytes(body)
	msgs := root.Get("messages")
	if !msgs.IsArray() || len(msgs.Array()) == 0 {
		return nil, badRequest("'messages' must be a non-empty array.", "messages")
	}
	r := &chatRequest{}
	list := msgs.Array()
	chars := 0
	toolNames := map[string]string{}
	for _, m := range list {
		text := contentText(m.Get("content"))
		chars += utf8.RuneCountInString(text)
		role := m.Get("role").String()
		if role == "user" {
			r.lastUser = text
		}
		for _, tc := range m.Get("tool_calls").Array() {
			toolNames[tc.Get("id").String()] = tc.Get("function.name").String()
		}
	}
	// ceil(chars/4) + 3 per message + 3: OpenAI's per-message framing
	// overhead on top of a four-characters-per-token estimate.
	r.promptTokens = int64((chars+3)/4 + 3*len(list) + 3)

	last := list[len(list)-1]
	r.lastRole = last.Get("role").String()
	if r.lastRole == "assistant" {
		r.prefix = contentText(last.Get("content"))
	}
	if r.lastRole == "tool" {
		r.toolResult = contentText(last.Get("content"))
		r.toolName = toolNames[last.Get("tool_call_id").String()]
	}

	for _, t := range root.Get("tools").Array() {
		if t.Get("function.name").String() != "" {
			r.tools = append(r.tools, t)
		}
	}
	choice := root.Get("tool_choice")
	if choice.IsObject() {
		r.toolChoice = "required"
		r.forcedTool = choice.Get("function.name").String()
	} else {
		r.toolChoice = choice.String()
	}

	for _, key := range []string{"max_completion_tokens", "max_tokens"} {
		if v := root.Get(key); v.Exists() && v.Int() > 0 {
			r.maxTokens = int(v.Int())
			break
		}
	}
	r.includeUsage = root.Get("stream_options.include_usage").Bool()
	r.format = root.Get("response_format.type").String()
	r.schema = root.Get("response_format.json_schema.schema")
	return r, nil
}

// contentText flattens a message content (a string, or an array of parts
// of which only the text-bearing ones count) to plain text.
func contentText(c gjson.Result) string {
	if c.Type == gjson.String {
		return c.String()
	}
	if !c.IsArray() {
		return ""
	}
	var b strings.Builder
	for _, part := range c.Array() {
		if part.Type == gjson.String {
			b.WriteString(part.String())
			continue
		}
		if t := part.Get("text"); t.Exists() {
			b.WriteString(t.String())
		}
	}
	return b.String()
}

// wantsToolCall reports whether OpenAI would answer this request with a
// call: tools are on offer, not disabled, and the user just spoke.
func (r *chatRequest) wantsToolCall() bool {
	return len(r.tools) > 0 && r.toolChoice != "none" && r.lastRole == "user"
}

// chosenTool returns the tool tool_choice names, else the first one.
func (r *chatRequest) chosenTool() gjson.Result {
	for _, t := range r.tools {
		if r.forcedTool != "" && t.Get("function.name").String() == r.forcedTool {
			return t
		}
	}
	return r.tools[0]
}
