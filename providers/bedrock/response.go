package bedrock

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/providers"
)

// The OpenAI output shapes, shared by the translating providers.
type (
	completion   = providers.ChatCompletion
	choice       = providers.ChatChoice
	outMessage   = providers.ChatMessage
	toolCall     = providers.ChatToolCall
	functionCall = providers.ChatFunctionCall
	usageJSON    = providers.ChatUsage
)

func toUsageJSON(u providers.Usage) usageJSON { return providers.NewChatUsage(u) }

// parseUsage normalises Converse usage to OpenAI's meaning: inputTokens
// excludes the cache, so the prompt is input + cache reads + cache
// writes, and both cache counts are subsets of it. (Some recorders also
// carry the older *InputTokenCount spellings; either is accepted.)
func parseUsage(u gjson.Result) providers.Usage {
	var read, write, in, out int64
	u.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "inputTokens":
			in = v.Int()
		case "outputTokens":
			out = v.Int()
		case "cacheReadInputTokens", "cacheReadInputTokenCount":
			read = max(read, v.Int())
		case "cacheWriteInputTokens", "cacheWriteInputTokenCount":
			write = max(write, v.Int())
		}
		return true
	})
	return providers.Usage{PromptTokens: in + read + write, CompletionTokens: out, CachedTokens: read, CacheWriteTokens: write}
}

// finishReason maps Converse's stopReason.
func finishReason(stop string) string {
	switch stop {
	case "tool_use":
		return "tool_calls"
	case "max_tokens", "model_context_window_exceeded":
		return "length"
	case "guardrail_intervened", "content_filtered":
		return "content_filter"
	default: // end_turn, stop_sequence, and anything new
		return "stop"
	}
}

// parseResponse renders a Converse answer as a chat.completion: text
// blocks are concatenated into content, toolUse blocks become tool calls,
// reasoning text goes to reasoning_content.
func parseResponse(body []byte, id, model string, created int64) (*providers.Response, error) {
	if !gjson.ValidBytes(body) {
		return nil, fmt.Errorf("%w: answer is not JSON", providers.ErrBadResponse)
	}
	root := gjson.ParseBytes(body)
	msg := root.Get("output.message")
	if !msg.Exists() {
		return nil, fmt.Errorf("%w: answer has no output.message: %.200s", providers.ErrBadResponse, body)
	}
	var (
		text, reasoning bytes.Buffer
		hasText         bool
		calls           []toolCall
	)
	msg.Get("content").ForEach(func(_, b gjson.Result) bool {
		if t := b.Get("text"); t.Type == gjson.String {
			text.WriteString(t.Str)
			hasText = true
		}
		if tu := b.Get("toolUse"); tu.IsObject() {
			calls = append(calls, toolCall{
				ID:       tu.Get("toolUseId").Str,
				Type:     "function",
				Function: functionCall{Name: tu.Get("name").Str, Arguments: compactJSON(tu.Get("input"))},
			})
		}
		if r := b.Get("reasoningContent.reasoningText.text"); r.Type == gjson.String {
			reasoning.WriteString(r.Str)
		}
		return true
	})
	usage := parseUsage(root.Get("usage"))
	out := completion{
		ID: id, Object: "chat.completion", Created: created, Model: model,
		Choices: []choice{{
			Message: outMessage{
				Role: "assistant", ToolCalls: calls, ReasoningContent: reasoning.String(),
			},
			FinishReason: finishReason(root.Get("stopReason").Str),
		}},
		Usage: toUsageJSON(usage),
	}
	if hasText {
		s := text.String()
		out.Choices[0].Message.Content = &s
	}
	b, err := marshal(&out)
	if err != nil {
		return nil, err
	}
	return &providers.Response{Body: b, Usage: usage}, nil
}

// compactJSON renders a tool input as the compact JSON string OpenAI
// clients parse; a missing input is {}.
func compactJSON(v gjson.Result) string {
	if !v.Exists() || v.Type == gjson.Null {
		return "{}"
	}
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(v.Raw)); err != nil {
		return v.Raw
	}
	return b.String()
}

// marshal encodes without HTML escaping, so "<" in an answer stays "<".
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// completionID builds the chatcmpl- id from Bedrock's request id (Converse
// answers carry no id of their own), or a random one when it is missing.
func completionID(requestID string) string {
	if requestID == "" {
		var b [12]byte
		_, _ = rand.Read(b[:])
		requestID = hex.EncodeToString(b[:])
	}
	return "chatcmpl-" + requestID
}
