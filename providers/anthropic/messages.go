package anthropic

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"unicode"

	"github.com/tidwall/gjson"
)

// conversation is the translated message list.
type conversation struct {
	system []block
	turns  []turn
	// trimmed is the whitespace cut from the end of a final assistant
	// prefill.
	trimmed string
	// prefill: the conversation ends with an assistant turn to continue.
	prefill bool
	// toolLoop: the conversation ends with tool results answering an
	// assistant turn's tool calls.
	toolLoop bool
}

// convertMessages maps OpenAI messages onto Anthropic's system blocks and
// strictly alternating user/assistant turns: system and developer
// messages go to system, tool results become tool_result blocks of a user
// turn, and consecutive turns of one role are merged (the API rejects two
// in a row). Reasoning the client sends back is dropped: Anthropic only
// accepts it with the signature OpenAI's shape has no place for.
func convertMessages(msgs gjson.Result) (*conversation, error) {
	c := &conversation{}
	var err error
	msgs.ForEach(func(_, m gjson.Result) bool {
		role := m.Get("role").Str
		content := m.Get("content")
		cc := m.Get("cache_control")
		switch role {
		case "system", "developer":
			c.system = append(c.system, textBlocks(content, cc)...)
		case "user":
			var bs []block
			if bs, err = contentBlocks(content, cc); err == nil {
				c.add("user", bs)
			}
		case "assistant":
			var bs []block
			if bs, err = contentBlocks(content, cc); err == nil {
				c.add("assistant", append(bs, toolUses(m.Get("tool_calls"))...))
			}
		case "tool":
			var inner []block
			if inner, err = contentBlocks(content, gjson.Result{}); err == nil {
				tr := block{Type: "tool_result", ToolUseID: m.Get("tool_call_id").Str}
				if content.Type == gjson.String {
					if content.Str != "" {
						tr.Content = content.Str
					}
				} else if len(inner) > 0 {
					tr.Content = inner
				}
				c.add("user", []block{tr})
			}
		default:
			err = localError(fmt.Sprintf("messages: role %q is not supported by anthropic", role))
		}
		return err == nil
	})
	if err != nil {
		return nil, err
	}
	c.finishPrefill()
	if n := len(c.turns); n > 0 && c.turns[n-1].Role == "user" && c.turns[n-1].Content[0].Type == "tool_result" {
		c.toolLoop = true
	}
	return c, nil
}

// add appends blocks as a turn of role, merging into the previous turn
// when it has the same role. Empty messages are dropped: the API rejects
// empty content.
func (c *conversation) add(role string, bs []block) {
	if len(bs) == 0 {
		return
	}
	if n := len(c.turns); n > 0 && c.turns[n-1].Role == role {
		c.turns[n-1].Content = append(c.turns[n-1].Content, bs...)
		return
	}
	c.turns = append(c.turns, turn{Role: role, Content: bs})
}

// finishPrefill trims the trailing whitespace the API rejects in a final
// assistant turn, remembering what was cut.
func (c *conversation) finishPrefill() {
	n := len(c.turns)
	if n == 0 || c.turns[n-1].Role != "assistant" {
		return
	}
	t := &c.turns[n-1]
	last := &t.Content[len(t.Content)-1]
	if last.Type == "text" {
		kept := strings.TrimRightFunc(last.Text, unicode.IsSpace)
		c.trimmed = last.Text[len(kept):]
		last.Text = kept
		if kept == "" {
			t.Content = t.Content[:len(t.Content)-1]
		}
	}
	if len(t.Content) == 0 {
		c.turns = c.turns[:n-1]
		return
	}
	c.prefill = true
}

// textBlocks collects the text of a system or developer message; images
// and files have no place in Anthropic's system prompt.
func textBlocks(content, cc gjson.Result) []block {
	if content.Type == gjson.String {
		if content.Str == "" {
			return nil
		}
		return []block{{Type: "text", Text: content.Str, CacheControl: rawObject(cc)}}
	}
	var out []block
	content.ForEach(func(_, p gjson.Result) bool {
		if p.Get("type").Str == "text" {
			if t := p.Get("text").Str; t != "" {
				out = append(out, block{Type: "text", Text: t, CacheControl: rawObject(p.Get("cache_control"))})
			}
		}
		return true
	})
	return out
}

// contentBlocks maps a message's content (a string or an array of parts)
// to blocks. cc is a message-level cache_control, applied to string
// content.
func contentBlocks(content, cc gjson.Result) ([]block, error) {
	switch {
	case content.Type == gjson.String:
		if content.Str == "" {
			return nil, nil
		}
		return []block{{Type: "text", Text: content.Str, CacheControl: rawObject(cc)}}, nil
	case !content.IsArray():
		return nil, nil // null: an assistant turn with only tool calls
	}
	var (
		out []block
		err error
	)
	content.ForEach(func(_, p gjson.Result) bool {
		var b *block
		if b, err = partBlock(p); err == nil && b != nil {
			b.CacheControl = rawObject(p.Get("cache_control"))
			out = append(out, *b)
		}
		return err == nil
	})
	return out, err
}

// partBlock maps one content part; nil for an empty text part.
func partBlock(p gjson.Result) (*block, error) {
	switch ty := p.Get("type").Str; ty {
	case "text", "refusal":
		t := p.Get(ty).Str
		if t == "" {
			return nil, nil
		}
		return &block{Type: "text", Text: t}, nil
	case "image_url":
		u := p.Get("image_url.url")
		if !u.Exists() {
			u = p.Get("image_url")
		}
		return urlBlock(u.Str)
	case "file":
		f := p.Get("file")
		data := f.Get("file_data").Str
		if data == "" {
			return nil, localError("messages: file parts need file_data; anthropic cannot read OpenAI file ids")
		}
		if !strings.HasPrefix(data, "data:") {
			data = "data:application/pdf;base64," + data // bare base64, as some SDKs send it
		}
		b, err := urlBlock(data)
		if err == nil && b.Type == "document" {
			b.Title = f.Get("filename").Str
		}
		return b, err
	default:
		return nil, localError(fmt.Sprintf("messages: content part type %q is not supported by anthropic", ty))
	}
}

// urlBlock maps an image_url or file_data URL: a data: URI becomes a
// base64 image (or a document for a PDF), an http(s) URL an image the API
// fetches itself.
func urlBlock(u string) (*block, error) {
	if strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") {
		return &block{Type: "image", Source: &source{Type: "url", URL: u}}, nil
	}
	mt, data, ok := parseDataURI(u)
	if !ok {
		return nil, localError("messages: an image or file must be an http(s) URL or a base64 data: URI")
	}
	switch {
	case mt == "application/pdf":
		return &block{Type: "document", Source: &source{Type: "base64", MediaType: mt, Data: data}}, nil
	case strings.HasPrefix(mt, "image/"):
		if mt == "image/jpg" {
			mt = "image/jpeg" // a common misspelling the API rejects
		}
		return &block{Type: "image", Source: &source{Type: "base64", MediaType: mt, Data: data}}, nil
	}
	return nil, localError(fmt.Sprintf("messages: media type %q is not supported by anthropic (images and PDF only)", mt))
}

// parseDataURI splits data:<media type>[;params][;base64],<data> and
// returns the payload base64-encoded (percent-encoded payloads are
// re-encoded).
func parseDataURI(u string) (mediaType, data string, ok bool) {
	rest, found := strings.CutPrefix(u, "data:")
	if !found {
		return "", "", false
	}
	meta, payload, found := strings.Cut(rest, ",")
	if !found {
		return "", "", false
	}
	params := strings.Split(meta, ";")
	mediaType = strings.ToLower(strings.TrimSpace(params[0]))
	if params[len(params)-1] == "base64" {
		return mediaType, payload, true
	}
	raw, err := url.PathUnescape(payload)
	if err != nil {
		return "", "", false
	}
	return mediaType, base64.StdEncoding.EncodeToString([]byte(raw)), true
}

// toolUses maps an assistant's tool_calls. Arguments are parsed as JSON;
// empty or unparseable arguments (a call cut off by max_tokens earlier in
// the conversation) become {} so that the conversation can go on.
func toolUses(calls gjson.Result) []block {
	var out []block
	calls.ForEach(func(_, tc gjson.Result) bool {
		input := json.RawMessage(`{}`)
		if a := strings.TrimSpace(tc.Get("function.arguments").Str); a != "" && gjson.Valid(a) {
			if v := gjson.Parse(a); v.IsObject() {
				input = json.RawMessage(a)
			}
		}
		out = append(out, block{Type: "tool_use", ID: tc.Get("id").Str, Name: tc.Get("function.name").Str, Input: input})
		return true
	})
	return out
}

// rawObject returns r's JSON when it is an object (cache_control), nil
// otherwise.
func rawObject(r gjson.Result) json.RawMessage {
	if r.IsObject() {
		return json.RawMessage(r.Raw)
	}
	return nil
}
