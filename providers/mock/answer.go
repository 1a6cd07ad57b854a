package mock

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/llmgate/llmgate/providers"
)

// plan is one fully decided chat answer. Do renders it as a completion and
// Stream as chunks, so both paths say exactly the same thing.
type plan struct {
	id, model string
	prompt    int64
	// tokens is the text answer, already cut to max_tokens.
	tokens []string
	// tool is set instead of tokens when the answer is a tool call.
	tool         *toolPlan
	finish       string
	includeUsage bool
	// cut is the "-cut-<n>" content-event budget, or -1.
	cut int
}

// toolPlan is a single tool call. Its name costs nameTokens; each argument
// fragment costs one token.
type toolPlan struct {
	id, name   string
	nameTokens int
	args       []string
}

// planChat decides the answer to a chat request.
func planChat(req *providers.Request) (*plan, error) {
	r, err := parseChat(req.Body)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(req.Body)
	pl := &plan{
		id:           "chatcmpl-mock-" + hex.EncodeToString(sum[:])[:24],
		model:        req.Model,
		prompt:       r.promptTokens,
		finish:       "stop",
		includeUsage: r.includeUsage,
		cut:          -1,
	}
	if n, ok := cutAfter(req.Model); ok {
		pl.cut = n
	}
	if r.wantsToolCall() {
		pl.tool = planTool(r, sum)
		pl.finish = "tool_calls"
		if r.maxTokens > 0 {
			budget := max(r.maxTokens-pl.tool.nameTokens, 0)
			if len(pl.tool.args) > budget {
				pl.tool.args = pl.tool.args[:budget]
				pl.finish = "length"
			}
		}
		return pl, nil
	}
	text := answerText(r, req.Model)
	if r.prefix != "" && strings.HasPrefix(text, r.prefix) {
		// Continue after the prefix: only the rest is generated.
		text = text[len(r.prefix):]
	}
	pl.tokens = splitTokens(text)
	if r.maxTokens > 0 && len(pl.tokens) > r.maxTokens {
		pl.tokens = pl.tokens[:r.maxTokens]
		pl.finish = "length"
	}
	return pl, nil
}

// planTool calls the chosen tool with sample arguments for its required
// parameters.
func planTool(r *chatRequest, bodySum [32]byte) *toolPlan {
	t := r.chosenTool()
	name := t.Get("function.name").String()
	idSum := sha256.Sum256(append(bodySum[:], name...))
	args := string(sampleObject(t.Get("function.parameters"), 0))
	return &toolPlan{
		id:         "call_mock_" + hex.EncodeToString(idSum[:])[:24],
		name:       name,
		nameTokens: len(splitTokens(name)),
		args:       splitTokens(args),
	}
}

// completionTokens is the answer's length in the mock's tokens.
func (p *plan) completionTokens() int64 {
	if p.tool != nil {
		return int64(p.tool.nameTokens + len(p.tool.args))
	}
	return int64(len(p.tokens))
}

// usage is the exact accounting of the whole answer.
func (p *plan) usage() providers.Usage {
	return providers.Usage{PromptTokens: p.prompt, CompletionTokens: p.completionTokens()}
}

// partialUsage accounts an answer that stopped after delivered completion
// tokens; it is flagged as estimated unless the answer was complete.
func (p *plan) partialUsage(delivered int64) providers.Usage {
	u := p.usage()
	if delivered < u.CompletionTokens {
		u.CompletionTokens = delivered
		u.Estimated = true
	}
	return u
}
