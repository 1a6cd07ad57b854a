package mock

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// The structs below pin OpenAI's field order and its null-versus-absent
// choices (refusal:null, logprobs:null, annotations:[]) so clients and the
// gateway's parsers see the exact shape a real upstream sends.

const (
	// created is a fixed timestamp (2026-01-01T00:00:00Z): a clock would
	// make answers differ between identical requests.
	created     = 1767225600
	fingerprint = "fp_llmgate_mock"
	serviceTier = "default"
)

type usageJSON struct {
	PromptTokens            int64             `json:"prompt_tokens"`
	CompletionTokens        int64             `json:"completion_tokens"`
	TotalTokens             int64             `json:"total_tokens"`
	PromptTokensDetails     promptDetails     `json:"prompt_tokens_details"`
	CompletionTokensDetails completionDetails `json:"completion_tokens_details"`
}

type promptDetails struct {
	CachedTokens int64 `json:"cached_tokens"`
	AudioTokens  int64 `json:"audio_tokens"`
}

type completionDetails struct {
	ReasoningTokens          int64 `json:"reasoning_tokens"`
	AudioTokens              int64 `json:"audio_tokens"`
	AcceptedPredictionTokens int64 `json:"accepted_prediction_tokens"`
	RejectedPredictionTokens int64 `json:"rejected_prediction_tokens"`
}

type completionJSON struct {
	ID                string             `json:"id"`
	Object            string             `json:"object"`
	Created           int64              `json:"created"`
	Model             string             `json:"model"`
	Choices           []completionChoice `json:"choices"`
	Usage             usageJSON          `json:"usage"`
	ServiceTier       string             `json:"service_tier"`
	SystemFingerprint string             `json:"system_fingerprint"`
}

type completionChoice struct {
	Index        int         `json:"index"`
	Message      messageJSON `json:"message"`
	Logprobs     any         `json:"logprobs"`
	FinishReason string      `json:"finish_reason"`
}

type messageJSON struct {
	Role        string         `json:"role"`
	Content     *string        `json:"content"`
	ToolCalls   []toolCallJSON `json:"tool_calls,omitempty"`
	Refusal     *string        `json:"refusal"`
	Annotations []any          `json:"annotations"`
}

type toolCallJSON struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function functionJSON `json:"function"`
}

type functionJSON struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

type chunkJSON struct {
	ID                string        `json:"id"`
	Object            string        `json:"object"`
	Created           int64         `json:"created"`
	Model             string        `json:"model"`
	ServiceTier       string        `json:"service_tier"`
	SystemFingerprint string        `json:"system_fingerprint"`
	Choices           []chunkChoice `json:"choices"`
	// Usage is absent unless the client asked for usage; then it is null
	// on every chunk but the last, as OpenAI sends it.
	Usage json.RawMessage `json:"usage,omitempty"`
}

type chunkChoice struct {
	Index        int       `json:"index"`
	Delta        deltaJSON `json:"delta"`
	Logprobs     any       `json:"logprobs"`
	FinishReason *string   `json:"finish_reason"`
}

// deltaJSON uses raw fields because OpenAI's deltas mix absent, null and
// empty-string values for the same key across chunks.
type deltaJSON struct {
	Role      string          `json:"role,omitempty"`
	Content   json.RawMessage `json:"content,omitempty"`
	ToolCalls []toolCallDelta `json:"tool_calls,omitempty"`
	Refusal   json.RawMessage `json:"refusal,omitempty"`
}

type toolCallDelta struct {
	Index    int           `json:"index"`
	ID       string        `json:"id,omitempty"`
	Type     string        `json:"type,omitempty"`
	Function functionDelta `json:"function"`
}

type functionDelta struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

var jsonNull = json.RawMessage("null")

func usageOf(p *plan) usageJSON {
	c := p.completionTokens()
	return usageJSON{PromptTokens: p.prompt, CompletionTokens: c, TotalTokens: p.prompt + c}
}

// completionBody renders the plan as a chat.completion object.
func completionBody(p *plan) []byte {
	msg := messageJSON{Role: "assistant", Annotations: []any{}}
	if p.tool != nil {
		msg.ToolCalls = []toolCallJSON{{
			ID:   p.tool.id,
			Type: "function",
			Function: functionJSON{
				Name:      p.tool.name,
				Arguments: joined(p.tool.args),
			},
		}}
	} else {
		text := joined(p.tokens)
		msg.Content = &text
	}
	return mustJSON(completionJSON{
		ID:                p.id,
		Object:            "chat.completion",
		Created:           created,
		Model:             p.model,
		Choices:           []completionChoice{{Message: msg, FinishReason: p.finish}},
		Usage:             usageOf(p),
		ServiceTier:       serviceTier,
		SystemFingerprint: fingerprint,
	})
}

// chunk renders one chat.completion.chunk carrying delta and, when finish
// is non-empty, the finish reason.
func chunk(p *plan, delta deltaJSON, finish string) []byte {
	c := p.chunkHead()
	ch := chunkChoice{Delta: delta}
	if finish != "" {
		ch.FinishReason = &finish
	}
	c.Choices = []chunkChoice{ch}
	return mustJSON(c)
}

// usageChunk renders the trailing choices:[] chunk that carries usage.
func usageChunk(p *plan) []byte {
	c := p.chunkHead()
	c.Choices = []chunkChoice{}
	c.Usage = mustJSON(usageOf(p))
	return mustJSON(c)
}

func (p *plan) chunkHead() chunkJSON {
	c := chunkJSON{
		ID:                p.id,
		Object:            "chat.completion.chunk",
		Created:           created,
		Model:             p.model,
		ServiceTier:       serviceTier,
		SystemFingerprint: fingerprint,
	}
	if p.includeUsage {
		c.Usage = jsonNull
	}
	return c
}

func joined(toks []string) string {
	var b bytes.Buffer
	for _, t := range toks {
		b.WriteString(t)
	}
	return b.String()
}

// mustJSON encodes without HTML escaping, as OpenAI does. The values are
// this package's own fixed structs and Go strings, which always encode, so
// a failure is a bug here and panics rather than reaching a client.
func mustJSON(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("mock: encoding %T: %v", v, err))
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
