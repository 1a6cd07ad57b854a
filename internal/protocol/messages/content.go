package messages

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// chatMessage is one chat message. Content is a string, a []chatPart, or
// nil (null: an assistant turn with only tool calls).
type chatMessage struct {
	Role       string         `json:"role"`
	Content    any            `json:"content"`
	ToolCalls  []chatToolCall `json:"tool_calls,omitempty"`
	ToolCallID string         `json:"tool_call_id,omitempty"`
}

type chatPart struct {
	Type     string    `json:"type"`
	Text     string    `json:"text,omitempty"`
	ImageURL *imageURL `json:"image_url,omitempty"`
	File     *chatFile `json:"file,omitempty"`
}

type imageURL struct {
	URL string `json:"url"`
}

type chatFile struct {
	FileData string `json:"file_data"`
	Filename string `json:"filename,omitempty"`
}

type chatToolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function chatCallFunc `json:"function"`
}

type chatCallFunc struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// systemMessages maps the top-level system prompt (a string or text
// blocks) to one leading system message. Blocks are joined with blank
// lines; their cache_control has no chat equivalent.
func systemMessages(sys gjson.Result) ([]chatMessage, error) {
	var text string
	switch {
	case !sys.Exists() || sys.Type == gjson.Null:
		return nil, nil
	case sys.Type == gjson.String:
		text = sys.Str
	case sys.IsArray():
		var parts []string
		for _, b := range sys.Array() {
			if b.Get("type").Str == "text" && b.Get("text").Str != "" {
				parts = append(parts, b.Get("text").Str)
			}
		}
		text = strings.Join(parts, "\n\n")
	default:
		return nil, invalid("system", "must be a string or an array of text blocks")
	}
	if text == "" {
		return nil, nil
	}
	return []chatMessage{{Role: "system", Content: text}}, nil
}

// convertMessages appends the chat form of each Messages turn to out.
func convertMessages(out []chatMessage, msgs gjson.Result) ([]chatMessage, error) {
	for i, m := range msgs.Array() {
		param := "messages." + strconv.Itoa(i)
		content := m.Get("content")
		if content.Type != gjson.String && !content.IsArray() {
			return nil, invalid(param+".content", "must be a string or an array of content blocks")
		}
		var err error
		switch role := m.Get("role").Str; role {
		case "user":
			out, err = userTurn(out, content, param)
		case "assistant":
			out, err = assistantTurn(out, content, param)
		default:
			return nil, invalid(param+".role", fmt.Sprintf("%q is not one of user, assistant", role))
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// userTurn maps a user turn. Its tool_result blocks become tool messages,
// which chat requires right after the assistant message that made the
// calls, so they go first; the rest of the turn (text, images, documents,
// and any images the tool results carried, since chat tool messages hold
// text only) follows as one user message when there is any.
func userTurn(out []chatMessage, content gjson.Result, param string) ([]chatMessage, error) {
	if content.Type == gjson.String {
		if content.Str == "" {
			return out, nil
		}
		return append(out, chatMessage{Role: "user", Content: content.Str}), nil
	}
	var parts []chatPart
	for j, b := range content.Array() {
		bp := param + ".content." + strconv.Itoa(j)
		if b.Get("type").Str != "tool_result" {
			p, err := blockParts(b, bp)
			if err != nil {
				return nil, err
			}
			parts = append(parts, p...)
			continue
		}
		id := b.Get("tool_use_id").Str
		if id == "" {
			return nil, invalid(bp+".tool_use_id", "field required")
		}
		text, extra, err := toolResult(b, bp)
		if err != nil {
			return nil, err
		}
		out = append(out, chatMessage{Role: "tool", ToolCallID: id, Content: text})
		parts = append(parts, extra...)
	}
	if len(parts) == 0 {
		return out, nil
	}
	if len(parts) == 1 && parts[0].Type == "text" {
		// The plain string form is accepted by every chat server, the
		// array form not by all.
		return append(out, chatMessage{Role: "user", Content: parts[0].Text}), nil
	}
	return append(out, chatMessage{Role: "user", Content: parts}), nil
}

// toolResult flattens a tool_result's content into the tool message's
// text (is_error shows as an "Error: " prefix, chat having no flag for
// it) and the parts that cannot live in a tool message.
func toolResult(b gjson.Result, param string) (string, []chatPart, error) {
	c := b.Get("content")
	var text strings.Builder
	var extra []chatPart
	switch {
	case c.Type == gjson.String:
		text.WriteString(c.Str)
	case c.IsArray():
		for k, cb := range c.Array() {
			if cb.Get("type").Str == "text" {
				if text.Len() > 0 {
					text.WriteString("\n")
				}
				text.WriteString(cb.Get("text").Str)
				continue
			}
			p, err := blockParts(cb, param+".content."+strconv.Itoa(k))
			if err != nil {
				return "", nil, err
			}
			extra = append(extra, p...)
		}
	}
	if b.Get("is_error").Type == gjson.True {
		return "Error: " + text.String(), extra, nil
	}
	return text.String(), extra, nil
}

// assistantTurn maps an assistant turn: text blocks are concatenated
// (Anthropic splits one answer into several text blocks, at citations
// for instance), tool_use blocks become tool_calls. Thinking cannot be
// replayed to another provider (its signature only means something to
// Anthropic), and server tool blocks describe calls no other provider
// made, so both are dropped.
func assistantTurn(out []chatMessage, content gjson.Result, param string) ([]chatMessage, error) {
	if content.Type == gjson.String {
		if content.Str == "" {
			return out, nil
		}
		return append(out, chatMessage{Role: "assistant", Content: content.Str}), nil
	}
	var text strings.Builder
	var calls []chatToolCall
	for j, b := range content.Array() {
		switch b.Get("type").Str {
		case "text":
			text.WriteString(b.Get("text").Str)
		case "tool_use":
			bp := param + ".content." + strconv.Itoa(j)
			name, id := b.Get("name"), b.Get("id")
			if name.Type != gjson.String || name.Str == "" {
				return nil, invalid(bp+".name", "field required")
			}
			if id.Type != gjson.String || id.Str == "" {
				return nil, invalid(bp+".id", "field required")
			}
			args := "{}"
			if in := b.Get("input"); in.IsObject() {
				args = in.Raw
			}
			calls = append(calls, chatToolCall{ID: id.Str, Type: "function", Function: chatCallFunc{Name: name.Str, Arguments: args}})
		}
	}
	if text.Len() == 0 && len(calls) == 0 {
		return out, nil
	}
	msg := chatMessage{Role: "assistant", ToolCalls: calls}
	if text.Len() > 0 {
		msg.Content = text.String()
	}
	return append(out, msg), nil
}

// blockParts maps one user content block to chat parts. Unknown blocks
// and blocks that only mean something inside Anthropic (thinking, server
// tool results, search results' citations) are dropped.
func blockParts(b gjson.Result, param string) ([]chatPart, error) {
	switch b.Get("type").Str {
	case "text":
		if t := b.Get("text").Str; t != "" {
			return []chatPart{{Type: "text", Text: t}}, nil
		}
		return nil, nil
	case "image":
		p, err := imagePart(b.Get("source"), param+".source")
		if err != nil {
			return nil, err
		}
		return []chatPart{p}, nil
	case "document":
		return documentParts(b, param)
	}
	return nil, nil
}

// imagePart maps an image source: base64 becomes a data: URL, a url is
// passed on for the provider to fetch. File ids name Anthropic's Files
// API, which other providers cannot read.
func imagePart(src gjson.Result, param string) (chatPart, error) {
	switch ty := src.Get("type").Str; ty {
	case "base64":
		url := "data:" + src.Get("media_type").Str + ";base64," + src.Get("data").Str
		return chatPart{Type: "image_url", ImageURL: &imageURL{URL: url}}, nil
	case "url":
		return chatPart{Type: "image_url", ImageURL: &imageURL{URL: src.Get("url").Str}}, nil
	case "file":
		return chatPart{}, invalid(param+".type", "file sources refer to Anthropic's Files API, which the chosen provider cannot read; send the data as base64")
	default:
		return chatPart{}, invalid(param+".type", fmt.Sprintf("%q is not a supported image source", ty))
	}
}

// documentParts maps a document: a base64 PDF becomes a chat file part,
// plain text a text part, a content source its text and image parts.
// Chat has no way to pass a PDF by URL or file id, so those are refused.
func documentParts(b gjson.Result, param string) ([]chatPart, error) {
	src := b.Get("source")
	switch ty := src.Get("type").Str; ty {
	case "base64":
		mt := src.Get("media_type").Str
		if mt == "" {
			mt = "application/pdf"
		}
		name := b.Get("title").Str
		if name == "" {
			name = "document.pdf"
		}
		return []chatPart{{Type: "file", File: &chatFile{FileData: "data:" + mt + ";base64," + src.Get("data").Str, Filename: name}}}, nil
	case "text":
		if d := src.Get("data").Str; d != "" {
			return []chatPart{{Type: "text", Text: d}}, nil
		}
		return nil, nil
	case "content":
		c := src.Get("content")
		if c.Type == gjson.String {
			if c.Str == "" {
				return nil, nil
			}
			return []chatPart{{Type: "text", Text: c.Str}}, nil
		}
		var out []chatPart
		for k, cb := range c.Array() {
			p, err := blockParts(cb, param+".source.content."+strconv.Itoa(k))
			if err != nil {
				return nil, err
			}
			out = append(out, p...)
		}
		return out, nil
	case "url", "file":
		return nil, invalid(param+".source.type", fmt.Sprintf("%s document sources cannot be passed to the chosen provider; send the PDF as base64", ty))
	default:
		return nil, invalid(param+".source.type", fmt.Sprintf("%q is not a supported document source", ty))
	}
}
