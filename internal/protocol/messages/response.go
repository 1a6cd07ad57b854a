package messages

import (
	"bytes"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/providers"
)

func appendString(b []byte, s string) []byte { return providers.AppendJSONString(b, s) }

// FromChat builds an Anthropic message object from a chat.completion
// body. Only the first choice is translated (a Messages request cannot ask
// for more). A top-level "llmgate" object in the chat body is kept as a
// top-level "llmgate" field, which the SDKs ignore and gateway-aware
// clients read.
func FromChat(chat []byte, m Meta) []byte {
	r := gjson.ParseBytes(chat)
	choice := r.Get("choices.0")
	msg := choice.Get("message")
	model := m.Model
	if model == "" {
		model = r.Get("model").Str
	}

	b := make([]byte, 0, len(chat)+256)
	b = append(b, `{"id":`...)
	b = appendString(b, m.messageID())
	b = append(b, `,"type":"message","role":"assistant","model":`...)
	b = appendString(b, model)
	b = append(b, `,"content":[`...)
	n := 0
	sep := func() {
		if n > 0 {
			b = append(b, ',')
		}
		n++
	}
	if t := reasoningText(msg); t != "" {
		// Chat reasoning carries no signature; an empty one is what the
		// SDKs accept, and clients only send it back to this gateway,
		// which drops thinking from history.
		sep()
		b = append(b, `{"type":"thinking","thinking":`...)
		b = appendString(b, t)
		b = append(b, `,"signature":""}`...)
	}
	if t := contentText(msg.Get("content")); t != "" {
		sep()
		b = appendTextBlock(b, t)
	}
	if rf := msg.Get("refusal"); rf.Type == gjson.String && rf.Str != "" {
		// Anthropic has no refusal block: a refusal is text with
		// stop_reason "refusal" (set from finish_reason content_filter).
		sep()
		b = appendTextBlock(b, rf.Str)
	}
	tools := false
	for _, tc := range msg.Get("tool_calls").Array() {
		sep()
		tools = true
		id := tc.Get("id").Str
		if id == "" {
			id = newID("toolu_")
		}
		b = append(b, `{"type":"tool_use","id":`...)
		b = appendString(b, id)
		b = append(b, `,"name":`...)
		b = appendString(b, tc.Get("function.name").Str)
		b = append(b, `,"input":`...)
		b = append(b, toolInput(tc.Get("function.arguments").Str)...)
		b = append(b, '}')
	}
	b = append(b, `],"stop_reason":`...)
	b = appendString(b, stopReason(choice.Get("finish_reason").Str, tools))
	b = append(b, `,"stop_sequence":null,`...)
	u := providers.Usage{PromptTokens: m.InputTokens}
	if ur := r.Get("usage"); ur.IsObject() {
		u = providers.ParseOpenAIUsage(ur)
	}
	b = appendUsage(b, u)
	if lg := r.Get("llmgate"); lg.IsObject() {
		b = append(b, `,"llmgate":`...)
		b = append(b, lg.Raw...)
	}
	return append(b, '}')
}

func appendTextBlock(b []byte, text string) []byte {
	b = append(b, `{"type":"text","text":`...)
	b = appendString(b, text)
	return append(b, '}')
}

// reasoningText is the message's reasoning: reasoning_content (DeepSeek,
// vLLM, the gateway's own translators) or reasoning (OpenRouter, Groq).
func reasoningText(msg gjson.Result) string {
	if t := msg.Get("reasoning_content"); t.Type == gjson.String && t.Str != "" {
		return t.Str
	}
	if t := msg.Get("reasoning"); t.Type == gjson.String {
		return t.Str
	}
	return ""
}

// contentText is the message content: a string, or the text of an array
// of parts, which some compatible servers return.
func contentText(c gjson.Result) string {
	if c.Type == gjson.String {
		return c.Str
	}
	var sb strings.Builder
	for _, p := range c.Array() {
		if p.Get("type").Str == "text" {
			sb.WriteString(p.Get("text").Str)
		}
	}
	return sb.String()
}

// toolInput is the tool call's arguments as Anthropic's input object.
// Arguments that are not a JSON object (cut off by max_tokens, or a model
// that wrote garbage) become {}: input must be an object, and the SDKs
// fail to parse the whole message otherwise.
func toolInput(args string) []byte {
	a := bytes.TrimSpace([]byte(args))
	if len(a) > 0 && a[0] == '{' && gjson.ValidBytes(a) {
		return a
	}
	return []byte("{}")
}
