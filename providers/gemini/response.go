package gemini

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/providers"
)

// The OpenAI output shapes, shared by the translating providers.
type (
	completion = providers.ChatCompletion
	choice     = providers.ChatChoice
	message    = providers.ChatMessage
	toolCall   = providers.ChatToolCall
	fnCall     = providers.ChatFunctionCall
	usageJSON  = providers.ChatUsage
)

func toUsageJSON(u providers.Usage) usageJSON { return providers.NewChatUsage(u) }

// parseUsage normalises usageMetadata. Thoughts are billed as output, so
// they join the completion count (and are its reasoning subset); tool-use
// prompt tokens (server-side tool results fed back) are prompt input;
// cached content is a subset of the prompt count already.
func parseUsage(m gjson.Result) providers.Usage {
	var u providers.Usage
	var candidates, thoughts int64
	m.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "promptTokenCount", "toolUsePromptTokenCount":
			u.PromptTokens += v.Int()
		case "candidatesTokenCount":
			candidates = v.Int()
		case "thoughtsTokenCount":
			thoughts = v.Int()
		case "cachedContentTokenCount":
			u.CachedTokens = v.Int()
		}
		return true
	})
	u.CompletionTokens = candidates + thoughts
	u.ReasoningTokens = thoughts
	return u
}

// finishReason maps a Gemini finishReason. Function calls still finish
// with STOP, so calls turn "stop" into "tool_calls"; a call cut by the
// token limit stays "length".
func finishReason(reason string, calls bool) string {
	fr := "stop"
	switch reason {
	case "MAX_TOKENS":
		fr = "length"
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "OTHER", "LANGUAGE",
		"IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION", "IMAGE_OTHER":
		fr = "content_filter"
	}
	if fr == "stop" && calls {
		return "tool_calls"
	}
	return fr
}

// header is what every answer and chunk of one response shares.
type header struct {
	id      string
	model   string
	created int64
	respID  string // the upstream responseId, seed of tool-call ids
}

// newHeader reads responseId and modelVersion from a response (or the
// first chunk of a stream). modelVersion can come back as "models/…".
func newHeader(root gjson.Result, reqModel string, now time.Time) header {
	h := header{created: now.Unix(), model: modelID(root.Get("modelVersion").String())}
	if h.model == "" {
		h.model = modelID(reqModel)
	}
	h.respID = root.Get("responseId").String()
	if h.respID == "" {
		var b [12]byte
		_, _ = rand.Read(b[:])
		h.respID = hex.EncodeToString(b[:])
	}
	h.id = "chatcmpl-" + h.respID
	return h
}

// partKind classifies one part of a candidate's content.
type partKind int

const (
	partSkip partKind = iota
	partText
	partThought
	partCall
)

// readPart returns what a part contributes: text, thought text, or a
// function call as (name, compact JSON arguments, thoughtSignature).
func readPart(p gjson.Result) (kind partKind, text, name, args, sig string) {
	var thought bool
	var fc gjson.Result
	p.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "text":
			text = v.String()
		case "thought":
			thought = v.Bool()
		case "functionCall":
			fc = v
		case "thoughtSignature":
			sig = v.String()
		}
		return true
	})
	switch {
	case fc.IsObject():
		name = fc.Get("name").String()
		args = "{}"
		if a := fc.Get("args"); a.IsObject() {
			var buf bytes.Buffer
			if json.Compact(&buf, []byte(a.Raw)) == nil {
				args = buf.String()
			}
		}
		return partCall, "", name, args, sig
	case text == "":
		return partSkip, "", "", "", ""
	case thought:
		return partThought, text, "", "", ""
	}
	return partText, text, "", "", ""
}

// translateResponse turns a GenerateContentResponse into a chat.completion.
func translateResponse(body []byte, reqModel string, now time.Time) (*providers.Response, error) {
	if !gjson.ValidBytes(body) {
		return nil, fmt.Errorf("%w: answer is not JSON", providers.ErrBadResponse)
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return nil, fmt.Errorf("%w: answer is not a JSON object", providers.ErrBadResponse)
	}
	if e := root.Get("error"); e.IsObject() {
		return nil, fmt.Errorf("%w: upstream error in a 200 answer: %s", providers.ErrBadResponse, e.Get("message").String())
	}
	h := newHeader(root, reqModel, now)
	usage := parseUsage(root.Get("usageMetadata"))
	out := completion{ID: h.id, Object: "chat.completion", Created: h.created, Model: h.model, Usage: toUsageJSON(usage)}
	for n, c := range root.Get("candidates").Array() {
		idx := n
		if i := c.Get("index"); i.Exists() {
			idx = int(i.Int())
		}
		var text, reasoning strings.Builder
		var calls []toolCall
		for _, p := range c.Get("content.parts").Array() {
			kind, t, name, args, sig := readPart(p)
			switch kind {
			case partText:
				text.WriteString(t)
			case partThought:
				reasoning.WriteString(t)
			case partCall:
				calls = append(calls, toolCall{
					ID:       encodeCallID(h.respID, idx, len(calls), name, sig),
					Type:     "function",
					Function: fnCall{Name: name, Arguments: args},
				})
			}
		}
		msg := message{Role: "assistant", ToolCalls: calls, ReasoningContent: reasoning.String()}
		if text.Len() > 0 || len(calls) == 0 {
			s := text.String()
			msg.Content = &s
		}
		out.Choices = append(out.Choices, choice{Index: idx, Message: msg, FinishReason: finishReason(c.Get("finishReason").String(), len(calls) > 0)})
	}
	if len(out.Choices) == 0 {
		// No candidates: the prompt itself was blocked (promptFeedback.
		// blockReason), or nothing was generated at all.
		fr := "stop"
		if root.Get("promptFeedback.blockReason").String() != "" {
			fr = "content_filter"
		}
		empty := ""
		out.Choices = []choice{{Message: message{Role: "assistant", Content: &empty}, FinishReason: fr}}
	}
	b, err := marshal(out)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", providers.ErrBadResponse, err)
	}
	return &providers.Response{Body: b, Usage: usage}, nil
}
