package gemini

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"strings"

	"github.com/tidwall/gjson"
)

// The native request. Typed structs keep the field names in one place;
// client-supplied JSON (schemas, arguments, tool results) travels as
// json.RawMessage so it is never re-encoded through Go values.
type genRequest struct {
	Contents          []content         `json:"contents"`
	SystemInstruction *content          `json:"systemInstruction,omitempty"`
	Tools             []tool            `json:"tools,omitempty"`
	ToolConfig        *toolConfig       `json:"toolConfig,omitempty"`
	GenerationConfig  *generationConfig `json:"generationConfig,omitempty"`
}

type content struct {
	Role  string `json:"role,omitempty"`
	Parts []part `json:"parts"`
}

type part struct {
	Text             string            `json:"text,omitempty"`
	InlineData       *blob             `json:"inlineData,omitempty"`
	FileData         *fileData         `json:"fileData,omitempty"`
	FunctionCall     *functionCall     `json:"functionCall,omitempty"`
	FunctionResponse *functionResponse `json:"functionResponse,omitempty"`
	ThoughtSignature string            `json:"thoughtSignature,omitempty"`
}

type blob struct {
	MimeType string `json:"mimeType"`
	Data     string `json:"data"`
}

type fileData struct {
	MimeType string `json:"mimeType,omitempty"`
	FileURI  string `json:"fileUri"`
}

type functionCall struct {
	Name string          `json:"name"`
	Args json.RawMessage `json:"args"`
}

type functionResponse struct {
	Name     string          `json:"name"`
	Response json.RawMessage `json:"response"`
}

// skipSignature is Google's documented placeholder for a Gemini 3
// functionCall whose real thoughtSignature is unknown (a history that
// came from another model, or ids a client rewrote). Without it Gemini 3
// rejects the whole request.
const skipSignature = "skip_thought_signature_validator"

// translateChat turns an OpenAI chat body into a generateContent body.
func translateChat(model string, body []byte) ([]byte, error) {
	if !gjson.ValidBytes(body) {
		return nil, badRequest("We could not parse the JSON body of your request.", "")
	}
	root := gjson.ParseBytes(body)
	msgs := root.Get("messages")
	if !msgs.IsArray() {
		return nil, badRequest("'messages' must be an array.", "messages")
	}
	var (
		out      genRequest
		system   []part
		names    = map[string]string{} // tool_call_id → function name
		lastTool bool
		err      error
	)
	gemini3 := isGemini3(model)
	for i, m := range msgs.Array() {
		role := m.Get("role").String()
		param := fmt.Sprintf("messages[%d]", i)
		isTool := false
		switch role {
		case "system", "developer":
			// Gemini has one system instruction: every system message
			// wherever it appears, in order.
			system = append(system, textParts(m.Get("content"))...)
		case "user":
			var parts []part
			if parts, err = userParts(m.Get("content"), param); err != nil {
				return nil, err
			}
			if len(parts) > 0 {
				out.Contents = append(out.Contents, content{Role: "user", Parts: parts})
			}
		case "assistant":
			var parts []part
			if parts, err = assistantParts(m, param, names, gemini3); err != nil {
				return nil, err
			}
			if len(parts) > 0 {
				out.Contents = append(out.Contents, content{Role: "model", Parts: parts})
			}
		case "tool":
			isTool = true
			p := toolResultPart(m, names)
			// Parallel calls are answered by one user turn holding every
			// functionResponse, as Gemini itself would expect.
			if n := len(out.Contents); lastTool && n > 0 {
				out.Contents[n-1].Parts = append(out.Contents[n-1].Parts, p)
			} else {
				out.Contents = append(out.Contents, content{Role: "user", Parts: []part{p}})
			}
		default:
			return nil, badRequest(fmt.Sprintf("Unsupported role %q in %s.", role, param), param+".role")
		}
		lastTool = isTool
	}
	if len(system) > 0 {
		out.SystemInstruction = &content{Parts: system}
	}
	if out.Contents == nil {
		out.Contents = []content{}
	}
	if err := applyOptions(&out, root, model); err != nil {
		return nil, err
	}
	return marshal(out)
}

// marshal encodes without HTML escaping, so "<" in a prompt goes upstream
// as "<" rather than "\u003c".
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, badRequest("The request could not be translated: "+err.Error(), "")
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// textParts returns the text of a string or text-part content; refusals
// (an assistant's earlier refusal) count as text.
func textParts(c gjson.Result) []part {
	var out []part
	add := func(s string) {
		if s != "" {
			out = append(out, part{Text: s})
		}
	}
	switch {
	case c.Type == gjson.String:
		add(c.Str)
	case c.IsArray():
		c.ForEach(func(_, p gjson.Result) bool {
			switch p.Get("type").String() {
			case "text":
				add(p.Get("text").String())
			case "refusal":
				add(p.Get("refusal").String())
			}
			return true
		})
	}
	return out
}

// userParts translates a user message's content: text, images, audio and
// files. An unknown part type is an error rather than silently dropped
// input.
func userParts(c gjson.Result, param string) ([]part, error) {
	if !c.IsArray() {
		return textParts(c), nil
	}
	var out []part
	for j, p := range c.Array() {
		pp := fmt.Sprintf("%s.content[%d]", param, j)
		switch t := p.Get("type").String(); t {
		case "text":
			if s := p.Get("text").String(); s != "" {
				out = append(out, part{Text: s})
			}
		case "image_url":
			u := p.Get("image_url")
			if u.IsObject() {
				u = u.Get("url")
			}
			if u.String() == "" {
				return nil, badRequest("An image_url part needs a url.", pp)
			}
			out = append(out, mediaPart(u.String(), "image/jpeg"))
		case "input_audio":
			a := p.Get("input_audio")
			out = append(out, part{InlineData: &blob{MimeType: "audio/" + a.Get("format").String(), Data: a.Get("data").String()}})
		case "file":
			f := p.Get("file")
			switch {
			case f.Get("file_data").String() != "":
				out = append(out, mediaPart(f.Get("file_data").String(), guessMime(f.Get("filename").String(), "application/pdf")))
			case f.Get("file_id").String() != "":
				// A Files API URI ("https://…/files/abc") uploaded out of band.
				out = append(out, part{FileData: &fileData{MimeType: guessMime(f.Get("filename").String(), "application/pdf"), FileURI: f.Get("file_id").String()}})
			default:
				return nil, badRequest("A file part needs file_data or file_id.", pp)
			}
		default:
			return nil, badRequest(fmt.Sprintf("Content part type %q is not supported by Gemini.", t), pp+".type")
		}
	}
	return out, nil
}

// mediaPart turns a data: URI into inline bytes and anything else into a
// file reference, its MIME type guessed from the path's extension.
func mediaPart(u, fallback string) part {
	if mt, data, ok := parseDataURI(u); ok {
		return part{InlineData: &blob{MimeType: mt, Data: data}}
	}
	p := u
	if pu, err := url.Parse(u); err == nil {
		p = pu.Path
	}
	return part{FileData: &fileData{MimeType: guessMime(p, fallback), FileURI: u}}
}

// parseDataURI splits data:[<mime>][;params][;base64],<payload>, always
// returning base64 data (a percent-encoded payload is re-encoded).
func parseDataURI(u string) (mime, data string, ok bool) {
	rest, found := strings.CutPrefix(u, "data:")
	if !found {
		return "", "", false
	}
	meta, payload, found := strings.Cut(rest, ",")
	if !found {
		return "", "", false
	}
	meta, b64 := strings.CutSuffix(meta, ";base64")
	mime, _, _ = strings.Cut(meta, ";")
	if mime == "" {
		mime = "text/plain"
	}
	if !b64 {
		raw, err := url.PathUnescape(payload)
		if err != nil {
			raw = payload
		}
		payload = base64.StdEncoding.EncodeToString([]byte(raw))
	}
	return mime, payload, true
}

// mimeByExt is a fixed table rather than mime.TypeByExtension, whose
// answers depend on the host's /etc/mime.types.
var mimeByExt = map[string]string{
	".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".gif": "image/gif",
	".webp": "image/webp", ".heic": "image/heic", ".heif": "image/heif", ".pdf": "application/pdf",
	".wav": "audio/wav", ".mp3": "audio/mp3", ".flac": "audio/flac", ".ogg": "audio/ogg",
	".mp4": "video/mp4", ".webm": "video/webm", ".mov": "video/mov", ".txt": "text/plain",
}

func guessMime(p, fallback string) string {
	if mt, ok := mimeByExt[strings.ToLower(path.Ext(p))]; ok {
		return mt
	}
	return fallback
}

// assistantParts translates an assistant message: its text, then one
// functionCall part per tool call, each carrying the thoughtSignature
// recovered from the call's id.
func assistantParts(m gjson.Result, param string, names map[string]string, gemini3 bool) ([]part, error) {
	out := textParts(m.Get("content"))
	first := true
	for j, tc := range m.Get("tool_calls").Array() {
		id := tc.Get("id").String()
		name := tc.Get("function.name").String()
		dn, sig, ok := decodeCallID(id)
		if name == "" && ok {
			name = dn
		}
		if name == "" {
			return nil, badRequest("A tool call needs a function name.", fmt.Sprintf("%s.tool_calls[%d].function.name", param, j))
		}
		args, err := callArgs(tc.Get("function.arguments"))
		if err != nil {
			return nil, badRequest(err.Error(), fmt.Sprintf("%s.tool_calls[%d].function.arguments", param, j))
		}
		if id != "" {
			names[id] = name
		}
		// Only the first call of a parallel set carries a signature;
		// Gemini 3 insists on one there.
		if first && sig == "" && gemini3 {
			sig = skipSignature
		}
		first = false
		out = append(out, part{FunctionCall: &functionCall{Name: name, Args: args}, ThoughtSignature: sig})
	}
	return out, nil
}

// callArgs parses a tool call's arguments string into the object Gemini
// wants; empty or null arguments are an empty object.
func callArgs(a gjson.Result) (json.RawMessage, error) {
	s := strings.TrimSpace(a.String())
	if a.IsObject() {
		s = a.Raw // a client that sent an object instead of a string
	}
	if s == "" || s == "null" {
		return json.RawMessage("{}"), nil
	}
	if !gjson.Valid(s) || !gjson.Parse(s).IsObject() {
		return nil, fmt.Errorf("tool call arguments must be a JSON object, got %.100q", s)
	}
	return json.RawMessage(s), nil
}

// toolResultPart translates a tool message into a functionResponse. Its
// name comes from the call it answers: the assistant message earlier in
// this conversation, else the id itself, else the legacy "name" field.
func toolResultPart(m gjson.Result, names map[string]string) part {
	id := m.Get("tool_call_id").String()
	name, ok := names[id]
	if !ok {
		if n, _, decoded := decodeCallID(id); decoded {
			name = n
		} else if name = m.Get("name").String(); name == "" {
			name = id
		}
	}
	var text strings.Builder
	for _, p := range textParts(m.Get("content")) {
		text.WriteString(p.Text)
	}
	return part{FunctionResponse: &functionResponse{Name: name, Response: toolResponse(text.String())}}
}

// toolResponse keeps a JSON-object result as the response object and
// wraps anything else, since Gemini's response field is a Struct.
func toolResponse(s string) json.RawMessage {
	t := strings.TrimSpace(s)
	if gjson.Valid(t) && gjson.Parse(t).IsObject() {
		return json.RawMessage(t)
	}
	b, _ := json.Marshal(map[string]string{"result": s})
	return b
}
