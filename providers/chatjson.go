package providers

// The OpenAI chat.completion shapes that translating providers (Gemini,
// Bedrock) render their upstream's answers as, kept once here so every
// translator emits the same fields the same way.

// ChatCompletion is a chat.completion object.
type ChatCompletion struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"`
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []ChatChoice `json:"choices"`
	Usage   ChatUsage    `json:"usage"`
}

// ChatChoice is one choice of a chat.completion.
type ChatChoice struct {
	Index        int         `json:"index"`
	Message      ChatMessage `json:"message"`
	Logprobs     *struct{}   `json:"logprobs"`
	FinishReason string      `json:"finish_reason"`
}

// ChatMessage is an assistant message; reasoning goes to
// reasoning_content, the field OpenAI-compatible clients read.
type ChatMessage struct {
	Role             string         `json:"role"`
	Content          *string        `json:"content"`
	Refusal          *string        `json:"refusal"`
	ToolCalls        []ChatToolCall `json:"tool_calls,omitempty"`
	ReasoningContent string         `json:"reasoning_content,omitempty"`
}

// ChatToolCall is a tool call, whole in a message or a fragment in a
// stream delta (where Index is set and the other fields may be empty).
type ChatToolCall struct {
	Index    *int             `json:"index,omitempty"`
	ID       string           `json:"id,omitempty"`
	Type     string           `json:"type,omitempty"`
	Function ChatFunctionCall `json:"function"`
}

// ChatFunctionCall is a tool call's function and JSON arguments.
type ChatFunctionCall struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

// ChatUsage is an OpenAI usage object.
type ChatUsage struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	TotalTokens         int64 `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens     int64 `json:"cached_tokens"`
		CacheWriteTokens int64 `json:"cache_write_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
}

// NewChatUsage renders u as an OpenAI usage object.
func NewChatUsage(u Usage) ChatUsage {
	var j ChatUsage
	j.PromptTokens, j.CompletionTokens = u.PromptTokens, u.CompletionTokens
	j.TotalTokens = u.PromptTokens + u.CompletionTokens
	j.PromptTokensDetails.CachedTokens = u.CachedTokens
	j.PromptTokensDetails.CacheWriteTokens = u.CacheWriteTokens
	j.CompletionTokensDetails.ReasoningTokens = u.ReasoningTokens
	return j
}
