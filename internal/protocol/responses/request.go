package responses

import (
	"encoding/json"
	"strconv"

	"github.com/llmgate/llmgate/providers"
	"github.com/tidwall/gjson"
)

// chatRequest is the Chat Completions body ToChat emits. Raw fields are
// copied from the Responses request byte for byte (a number stays the number
// the client sent); empty ones are left out so the upstream applies its own
// defaults.
type chatRequest struct {
	Model               json.RawMessage `json:"model,omitempty"`
	Messages            []chatMessage   `json:"messages"`
	Stream              json.RawMessage `json:"stream,omitempty"`
	StreamOptions       json.RawMessage `json:"stream_options,omitempty"`
	Tools               []chatTool      `json:"tools,omitempty"`
	ToolChoice          json.RawMessage `json:"tool_choice,omitempty"`
	ParallelToolCalls   json.RawMessage `json:"parallel_tool_calls,omitempty"`
	ResponseFormat      json.RawMessage `json:"response_format,omitempty"`
	ReasoningEffort     json.RawMessage `json:"reasoning_effort,omitempty"`
	Verbosity           json.RawMessage `json:"verbosity,omitempty"`
	MaxCompletionTokens json.RawMessage `json:"max_completion_tokens,omitempty"`
	Temperature         json.RawMessage `json:"temperature,omitempty"`
	TopP                json.RawMessage `json:"top_p,omitempty"`
	Logprobs            bool            `json:"logprobs,omitempty"`
	TopLogprobs         json.RawMessage `json:"top_logprobs,omitempty"`
	User                json.RawMessage `json:"user,omitempty"`
	SafetyIdentifier    json.RawMessage `json:"safety_identifier,omitempty"`
	PromptCacheKey      json.RawMessage `json:"prompt_cache_key,omitempty"`
	ServiceTier         json.RawMessage `json:"service_tier,omitempty"`
}

// raw returns the raw JSON of v, or nil when v is absent or null, so that a
// client's explicit null means "default" exactly like an absent field.
func raw(v gjson.Result) json.RawMessage {
	if !v.Exists() || v.Type == gjson.Null {
		return nil
	}
	return json.RawMessage(v.Raw)
}

// ToChat translates a Responses request body into a Chat Completions request body.
// history holds input items (each one JSON object, as stored from earlier turns: the earlier
// requests' input items followed by their output items, oldest first) that go before the request's own input;
// nil when there is no previous_response_id. The result keeps "model" from the request, sets "stream" as the request did
// (and "stream_options":{"include_usage":true} when streaming), and never contains previous_response_id/store/include.
func ToChat(body []byte, history [][]byte) ([]byte, error) {
	if !gjson.ValidBytes(body) {
		return nil, reqErr("", "request body is not valid JSON")
	}
	req := gjson.ParseBytes(body)
	if !req.IsObject() {
		return nil, reqErr("", "request body must be a JSON object")
	}
	// Server-side state the gateway does not keep: refusing is better than
	// answering without the conversation or prompt the client referred to.
	if v := req.Get("conversation"); v.Exists() && v.Type != gjson.Null {
		return nil, reqErr("conversation", "conversation is not supported when the chosen provider speaks chat completions: use previous_response_id or send the full input")
	}
	if v := req.Get("prompt"); v.Exists() && v.Type != gjson.Null {
		return nil, reqErr("prompt", "stored prompt templates need the Responses API, which the chosen provider does not offer: send instructions and input instead")
	}
	input, err := InputItems(body)
	if err != nil {
		return nil, err
	}

	var c converter
	if ins := req.Get("instructions"); ins.Type == gjson.String && ins.Str != "" {
		// developer would be the modern role, but system is the one every
		// chat upstream (and every translator behind the gateway) knows.
		c.msgs = append(c.msgs, chatMessage{Role: "system", Content: ins.Str})
	} else if ins.Exists() && ins.Type != gjson.Null && ins.Type != gjson.String {
		return nil, reqErr("instructions", "instructions must be a string")
	}
	for i, it := range history {
		if err := c.item(gjson.ParseBytes(it), "previous_response_id"); err != nil {
			// The client cannot fix a stored item; point at what brought it in.
			if re, ok := err.(*RequestError); ok {
				re.Param = "previous_response_id"
				re.Msg = "stored item " + strconv.Itoa(i) + " of the previous response: " + re.Msg
			}
			return nil, err
		}
	}
	for i, it := range input {
		if err := c.item(gjson.ParseBytes(it), "input["+strconv.Itoa(i)+"]"); err != nil {
			return nil, err
		}
	}
	c.flushMedia()

	out := chatRequest{
		Model:               raw(req.Get("model")),
		Messages:            c.msgs,
		ParallelToolCalls:   raw(req.Get("parallel_tool_calls")),
		ReasoningEffort:     raw(req.Get("reasoning.effort")),
		Verbosity:           raw(req.Get("text.verbosity")),
		MaxCompletionTokens: raw(req.Get("max_output_tokens")),
		Temperature:         raw(req.Get("temperature")),
		TopP:                raw(req.Get("top_p")),
		User:                raw(req.Get("user")),
		SafetyIdentifier:    raw(req.Get("safety_identifier")),
		PromptCacheKey:      raw(req.Get("prompt_cache_key")),
		ServiceTier:         raw(req.Get("service_tier")),
	}
	if s := req.Get("stream"); s.IsBool() {
		out.Stream = json.RawMessage(strconv.FormatBool(s.Bool()))
		if s.Bool() {
			out.StreamOptions = json.RawMessage(`{"include_usage":true}`)
		}
	}
	// Chat only returns logprobs when asked with logprobs:true, and rejects
	// top_logprobs without it; Responses asks through include or
	// top_logprobs alone.
	if n := req.Get("top_logprobs"); n.Int() > 0 {
		out.Logprobs, out.TopLogprobs = true, json.RawMessage(n.Raw)
	}
	req.Get("include").ForEach(func(_, v gjson.Result) bool {
		if v.Str == "message.output_text.logprobs" {
			out.Logprobs = true
		}
		return true
	})
	if out.Tools, err = chatTools(req.Get("tools")); err != nil {
		return nil, err
	}
	if out.ToolChoice, err = chatToolChoice(req.Get("tool_choice")); err != nil {
		return nil, err
	}
	if out.ResponseFormat, err = chatResponseFormat(req.Get("text.format")); err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// InputItems returns the request's input as a list of item JSON objects (a string input becomes one user message item
// {"type":"message","role":"user","content":[{"type":"input_text","text":…}]}); instructions are NOT included (they do not carry over with previous_response_id, per OpenAI).
func InputItems(body []byte) ([][]byte, error) {
	in := gjson.GetBytes(body, "input")
	switch {
	case !in.Exists() || in.Type == gjson.Null:
		return nil, reqErr("input", "input is required")
	case in.Type == gjson.String:
		if in.Str == "" {
			return nil, reqErr("input", "input must not be empty")
		}
		b := []byte(`{"type":"message","role":"user","content":[{"type":"input_text","text":`)
		b = providers.AppendJSONString(b, in.Str)
		return [][]byte{append(b, "}]}"...)}, nil
	case !in.IsArray():
		return nil, reqErr("input", "input must be a string or an array of items")
	}
	var items [][]byte
	var bad error
	in.ForEach(func(k, v gjson.Result) bool {
		if !v.IsObject() {
			bad = reqErr("input["+strconv.Itoa(len(items))+"]", "each input item must be a JSON object")
			return false
		}
		items = append(items, appendCompact(nil, v.Raw))
		return true
	})
	if bad != nil {
		return nil, bad
	}
	if len(items) == 0 {
		return nil, reqErr("input", "input must not be empty")
	}
	return items, nil
}

// OutputItems returns the "output" array elements of a response object.
func OutputItems(resp []byte) [][]byte {
	var items [][]byte
	gjson.GetBytes(resp, "output").ForEach(func(_, v gjson.Result) bool {
		items = append(items, appendCompact(nil, v.Raw))
		return true
	})
	return items
}
