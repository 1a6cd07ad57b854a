package responses

import (
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// chatMessage is one Chat Completions message. Content is a string, a
// []chatPart, or nil (an assistant message that only calls tools).
type chatMessage struct {
	Role       string         `json:"role"`
	Content    any            `json:"content,omitempty"`
	ToolCalls  []chatToolCall `json:"tool_calls,omitempty"`
	ToolCallID string         `json:"tool_call_id,omitempty"`
}

type chatToolCall struct {
	ID       string           `json:"id"`
	Type     string           `json:"type"`
	Function chatFunctionCall `json:"function"`
}

type chatFunctionCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// chatPart is one chat content part: text, image_url, file or input_audio.
type chatPart struct {
	Type       string     `json:"type"`
	Text       *string    `json:"text,omitempty"`
	ImageURL   *chatImage `json:"image_url,omitempty"`
	File       *chatFile  `json:"file,omitempty"`
	InputAudio *chatAudio `json:"input_audio,omitempty"`
}

type chatImage struct {
	URL    string `json:"url"`
	Detail string `json:"detail,omitempty"`
}

type chatFile struct {
	FileData string `json:"file_data,omitempty"`
	FileID   string `json:"file_id,omitempty"`
	Filename string `json:"filename,omitempty"`
}

type chatAudio struct {
	Data   string `json:"data"`
	Format string `json:"format"`
}

// builtinItems are output items of OpenAI-hosted tools. They only make sense
// to a model running behind the Responses API, so they are refused with a
// message that names the real cause.
var builtinItems = map[string]bool{
	"web_search_call": true, "file_search_call": true, "computer_call": true,
	"computer_call_output": true, "code_interpreter_call": true, "image_generation_call": true,
	"local_shell_call": true, "local_shell_call_output": true, "shell_call": true,
	"shell_call_output": true, "apply_patch_call": true, "apply_patch_call_output": true,
	"mcp_list_tools": true, "mcp_approval_request": true, "mcp_approval_response": true,
	"mcp_call": true, "custom_tool_call": true, "custom_tool_call_output": true,
	"tool_search_call": true, "tool_search_output": true, "compaction": true,
}

// converter accumulates chat messages from Responses items, in order.
type converter struct {
	msgs []chatMessage
	// media holds images and files returned by tool calls. Chat tool messages
	// carry text only, and a run of tool messages must not be interrupted, so
	// the media go in one user message right after the run.
	media []chatPart
}

// item appends the chat form of one Responses input item. param names the
// item in errors.
func (c *converter) item(it gjson.Result, param string) error {
	if !it.IsObject() {
		return reqErr(param, "each input item must be a JSON object")
	}
	typ := it.Get("type").String()
	if typ == "" && it.Get("role").Exists() {
		typ = "message" // EasyInputMessage: {role, content} without a type
	}
	if typ != "function_call_output" {
		c.flushMedia()
	}
	switch {
	case typ == "message":
		return c.message(it, param)
	case typ == "function_call":
		return c.functionCall(it, param)
	case typ == "function_call_output":
		return c.functionOutput(it, param)
	case typ == "reasoning":
		// Reasoning items (and their encrypted_content) belong to the model
		// that produced them; chat has no field to send them back in.
		return nil
	case typ == "item_reference":
		return reqErr(param+".type", "item_reference is not supported when the chosen provider speaks chat completions: send the referenced item itself")
	case builtinItems[typ]:
		return reqErr(param+".type", "input item type "+strconv.Quote(typ)+" belongs to a built-in tool: the chosen provider needs the Responses API for it")
	case typ == "":
		return reqErr(param+".type", "input item has no type")
	default:
		return reqErr(param+".type", "unsupported input item type "+strconv.Quote(typ))
	}
}

// flushMedia emits the pending tool-output media as one user message.
func (c *converter) flushMedia() {
	if len(c.media) == 0 {
		return
	}
	c.msgs = append(c.msgs, chatMessage{Role: "user", Content: c.media})
	c.media = nil
}

func (c *converter) message(it gjson.Result, param string) error {
	role := it.Get("role").String()
	switch role {
	case "user", "assistant":
	case "system", "developer":
		role = "system" // portability: not every chat upstream knows developer
	default:
		return reqErr(param+".role", "unsupported message role "+strconv.Quote(role))
	}
	content := it.Get("content")
	if content.Type == gjson.String {
		c.msgs = append(c.msgs, chatMessage{Role: role, Content: content.Str})
		return nil
	}
	if !content.IsArray() {
		return reqErr(param+".content", "message content must be a string or an array of content parts")
	}
	var parts []chatPart
	var texts []string
	media := false
	var err error
	content.ForEach(func(k, p gjson.Result) bool {
		pp := param + ".content[" + strconv.Itoa(len(parts)) + "]"
		var part chatPart
		part, err = contentPart(p, pp, role)
		if err != nil {
			return false
		}
		parts = append(parts, part)
		if part.Text != nil {
			texts = append(texts, *part.Text)
		} else {
			media = true
		}
		return true
	})
	if err != nil {
		return err
	}
	switch {
	case role == "assistant":
		// output_text parts are pieces of one answer: no separator.
		c.msgs = append(c.msgs, chatMessage{Role: role, Content: strings.Join(texts, "")})
	case role == "system":
		c.msgs = append(c.msgs, chatMessage{Role: role, Content: strings.Join(texts, "\n")})
	case !media && len(texts) == 1:
		c.msgs = append(c.msgs, chatMessage{Role: role, Content: texts[0]})
	default:
		if parts == nil {
			parts = []chatPart{}
		}
		c.msgs = append(c.msgs, chatMessage{Role: role, Content: parts})
	}
	return nil
}

// contentPart translates one Responses content part. Media are accepted in
// user messages only: that is all chat allows.
func contentPart(p gjson.Result, param, role string) (chatPart, error) {
	typ := p.Get("type").String()
	text := func(field string) (chatPart, error) {
		s := p.Get(field).String()
		return chatPart{Type: "text", Text: &s}, nil
	}
	switch typ {
	case "input_text", "output_text":
		return text("text")
	case "refusal":
		return text("refusal")
	case "input_image", "input_file", "input_audio":
		if role != "user" {
			return chatPart{}, reqErr(param+".type", typ+" is only supported in user messages")
		}
		return mediaPart(p, param)
	case "":
		return chatPart{}, reqErr(param+".type", "content part has no type")
	default:
		return chatPart{}, reqErr(param+".type", "unsupported content part type "+strconv.Quote(typ))
	}
}

// mediaPart translates input_image, input_file and input_audio parts.
func mediaPart(p gjson.Result, param string) (chatPart, error) {
	switch p.Get("type").String() {
	case "input_image":
		if u := p.Get("image_url").String(); u != "" {
			return chatPart{Type: "image_url", ImageURL: &chatImage{URL: u, Detail: p.Get("detail").String()}}, nil
		}
		if id := p.Get("file_id").String(); id != "" {
			// chat's image_url needs a URL; a file part is the only chat
			// shape that carries an uploaded file's id.
			return chatPart{Type: "file", File: &chatFile{FileID: id}}, nil
		}
		return chatPart{}, reqErr(param+".image_url", "input_image needs image_url or file_id")
	case "input_file":
		f := chatFile{
			FileData: p.Get("file_data").String(),
			FileID:   p.Get("file_id").String(),
			Filename: p.Get("filename").String(),
		}
		if f.FileData == "" && f.FileID == "" {
			if p.Get("file_url").Exists() {
				return chatPart{}, reqErr(param+".file_url", "input_file.file_url is not supported when the chosen provider speaks chat completions: send file_data or file_id")
			}
			return chatPart{}, reqErr(param, "input_file needs file_data or file_id")
		}
		return chatPart{Type: "file", File: &f}, nil
	default: // input_audio
		a := chatAudio{Data: p.Get("input_audio.data").String(), Format: p.Get("input_audio.format").String()}
		if a.Data == "" {
			return chatPart{}, reqErr(param+".input_audio", "input_audio needs input_audio.data")
		}
		return chatPart{Type: "input_audio", InputAudio: &a}, nil
	}
}

// functionCall merges consecutive calls, and the assistant text right
// before them, into one assistant message: that is how chat models emitted
// them, and several upstreams reject an assistant turn split in two.
func (c *converter) functionCall(it gjson.Result, param string) error {
	call := chatToolCall{
		ID:   it.Get("call_id").String(),
		Type: "function",
		Function: chatFunctionCall{
			Name:      it.Get("name").String(),
			Arguments: it.Get("arguments").String(),
		},
	}
	if call.ID == "" {
		return reqErr(param+".call_id", "function_call needs a call_id")
	}
	if call.Function.Name == "" {
		return reqErr(param+".name", "function_call needs a name")
	}
	if call.Function.Arguments == "" {
		call.Function.Arguments = "{}" // upstreams parse it as JSON
	}
	if n := len(c.msgs); n > 0 && c.msgs[n-1].Role == "assistant" {
		c.msgs[n-1].ToolCalls = append(c.msgs[n-1].ToolCalls, call)
		return nil
	}
	c.msgs = append(c.msgs, chatMessage{Role: "assistant", ToolCalls: []chatToolCall{call}})
	return nil
}

// toolOutputNote stands in for tool output that went to the next message.
const toolOutputNote = "(the tool's image or file output is in the next message)"

func (c *converter) functionOutput(it gjson.Result, param string) error {
	id := it.Get("call_id").String()
	if id == "" {
		return reqErr(param+".call_id", "function_call_output needs a call_id")
	}
	out := it.Get("output")
	if out.Type == gjson.String {
		c.msgs = append(c.msgs, chatMessage{Role: "tool", ToolCallID: id, Content: out.Str})
		return nil
	}
	if !out.IsArray() {
		return reqErr(param+".output", "function_call_output.output must be a string or an array of content parts")
	}
	var texts []string
	var err error
	media := 0
	i := 0
	out.ForEach(func(_, p gjson.Result) bool {
		pp := param + ".output[" + strconv.Itoa(i) + "]"
		i++
		switch typ := p.Get("type").String(); typ {
		case "input_text", "output_text":
			texts = append(texts, p.Get("text").String())
		case "input_image", "input_file":
			var part chatPart
			if part, err = mediaPart(p, pp); err != nil {
				return false
			}
			c.media = append(c.media, part)
			media++
		default:
			err = reqErr(pp+".type", "unsupported function_call_output part type "+strconv.Quote(typ))
			return false
		}
		return true
	})
	if err != nil {
		return err
	}
	text := strings.Join(texts, "\n")
	if media > 0 {
		if text != "" {
			text += "\n"
		}
		text += toolOutputNote
	}
	c.msgs = append(c.msgs, chatMessage{Role: "tool", ToolCallID: id, Content: text})
	return nil
}
