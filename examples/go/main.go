// Command llmgate-example talks to an llmgate gateway with the official
// OpenAI Go SDK (github.com/openai/openai-go/v3): chat, streaming chat, a
// tool-call round trip, embeddings, the model list and a bad-key error. It
// checks the gateway's own `llmgate` object and X-Llmgate-* headers on the
// way, and exits non-zero when anything is missing or wrong.
//
//	go run .    # LLMGATE_BASE_URL, LLMGATE_API_KEY, LLMGATE_MODEL, LLMGATE_EMBED_MODEL
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/respjson"
)

// llmgateInfo is the `llmgate` object the gateway adds to every response
// (top level for JSON bodies, on the last chunk for streams).
type llmgateInfo struct {
	RequestID string  `json:"request_id"`
	Provider  string  `json:"provider"`
	Model     string  `json:"model"`
	Tier      string  `json:"tier,omitempty"`
	Attempts  int     `json:"attempts"`
	CostUSD   float64 `json:"cost_usd"`
	SavedUSD  float64 `json:"saved_usd"`
	LatencyMS int64   `json:"latency_ms"`
}

func (l llmgateInfo) String() string {
	return fmt.Sprintf("request_id=%s provider=%s model=%s attempts=%d cost_usd=%.10f saved_usd=%.10f latency_ms=%d",
		l.RequestID, l.Provider, l.Model, l.Attempts, l.CostUSD, l.SavedUSD, l.LatencyMS)
}

// readLlmgate decodes the `llmgate` field that the SDK keeps among a
// response's unknown ("extra") fields.
func readLlmgate(extra map[string]respjson.Field) (llmgateInfo, error) {
	var info llmgateInfo
	// Extra fields are never "Valid()" (the SDK has no type to check them
	// against), so test for raw JSON instead.
	f, ok := extra["llmgate"]
	if !ok || f.Raw() == "" || f.Raw() == respjson.Null {
		return info, errors.New("response has no llmgate object")
	}
	if err := json.Unmarshal([]byte(f.Raw()), &info); err != nil {
		return info, fmt.Errorf("llmgate object: %w", err)
	}
	if info.RequestID == "" || info.Provider == "" || info.Model == "" || info.Attempts < 1 {
		return info, fmt.Errorf("llmgate object is incomplete: %s", f.Raw())
	}
	return info, nil
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

var (
	baseURL    = env("LLMGATE_BASE_URL", "http://localhost:8080/v1")
	apiKey     = env("LLMGATE_API_KEY", "lg_demo0000000000000000000000000000000")
	model      = env("LLMGATE_MODEL", "mock-mini")
	embedModel = env("LLMGATE_EMBED_MODEL", "mock-embed")
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// The gateway is OpenAI-compatible: only the base URL and key change.
	client := openai.NewClient(option.WithBaseURL(baseURL), option.WithAPIKey(apiKey))

	steps := []struct {
		name string
		fn   func(context.Context, openai.Client) error
	}{
		{"chat", chat},
		{"stream", stream},
		{"tools", tools},
		{"embeddings", embeddings},
		{"models", models},
		{"bad key", badKey},
	}
	for _, s := range steps {
		fmt.Printf("== %s\n", s.name)
		if err := s.fn(ctx, client); err != nil {
			// openai.Error's own text is only the HTTP status; add the
			// gateway's error code and message, which say what to fix.
			var apiErr *openai.Error
			if errors.As(err, &apiErr) {
				err = fmt.Errorf("%d %s: %s", apiErr.StatusCode, apiErr.Code, apiErr.Message)
			}
			fmt.Fprintf(os.Stderr, "FAIL %s: %v\n", s.name, err)
			os.Exit(1)
		}
	}
	fmt.Println("OK: all examples passed")
}

// chat: one non-streaming completion; read the llmgate object from the body
// and the X-Llmgate-* headers from the raw HTTP response.
func chat(ctx context.Context, client openai.Client) error {
	var httpResp *http.Response
	resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:    openai.ChatModel(model),
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello in five words.")},
	}, option.WithResponseInto(&httpResp))
	if err != nil {
		return err
	}
	if len(resp.Choices) == 0 || resp.Choices[0].Message.Content == "" {
		return errors.New("empty answer")
	}
	fmt.Println("answer:  ", resp.Choices[0].Message.Content)
	fmt.Printf("usage:    prompt=%d completion=%d\n", resp.Usage.PromptTokens, resp.Usage.CompletionTokens)

	info, err := readLlmgate(resp.JSON.ExtraFields)
	if err != nil {
		return err
	}
	fmt.Println("llmgate: ", info)

	h := httpResp.Header
	fmt.Printf("headers:  X-Llmgate-Request-Id=%s X-Llmgate-Provider=%s X-Llmgate-Model=%s X-Llmgate-Attempts=%s\n",
		h.Get("X-Llmgate-Request-Id"), h.Get("X-Llmgate-Provider"), h.Get("X-Llmgate-Model"), h.Get("X-Llmgate-Attempts"))
	if h.Get("X-Llmgate-Request-Id") != info.RequestID {
		return fmt.Errorf("X-Llmgate-Request-Id %q differs from llmgate.request_id %q", h.Get("X-Llmgate-Request-Id"), info.RequestID)
	}
	return nil
}

// stream: print deltas as they arrive; with include_usage the llmgate object
// rides on the final usage chunk (choices empty).
func stream(ctx context.Context, client openai.Client) error {
	s := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
		Model:         openai.ChatModel(model),
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Count from one to five.")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	})
	defer s.Close()

	var acc openai.ChatCompletionAccumulator
	var info *llmgateInfo
	fmt.Print("stream:   ")
	for s.Next() {
		chunk := s.Current()
		acc.AddChunk(chunk)
		if len(chunk.Choices) > 0 {
			fmt.Print(chunk.Choices[0].Delta.Content)
		}
		if _, ok := chunk.JSON.ExtraFields["llmgate"]; ok {
			li, err := readLlmgate(chunk.JSON.ExtraFields)
			if err != nil {
				return err
			}
			info = &li
		}
	}
	fmt.Println()
	if err := s.Err(); err != nil {
		return err // includes a gateway "stream_interrupted" error event
	}
	if acc.Usage.TotalTokens == 0 {
		return errors.New("stream ended without a usage chunk")
	}
	if info == nil {
		return errors.New("stream ended without an llmgate object")
	}
	fmt.Printf("usage:    prompt=%d completion=%d\n", acc.Usage.PromptTokens, acc.Usage.CompletionTokens)
	fmt.Println("llmgate: ", *info)
	return nil
}

// tools: the model asks for a tool, we run it and send the result back.
func tools(ctx context.Context, client openai.Client) error {
	params := openai.ChatCompletionNewParams{
		Model:    openai.ChatModel(model),
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is the weather in Paris?")},
		Tools: []openai.ChatCompletionToolUnionParam{
			openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{
				Name:        "get_weather",
				Description: openai.String("Current weather for a city"),
				Parameters: openai.FunctionParameters{
					"type":       "object",
					"properties": map[string]any{"city": map[string]string{"type": "string"}},
					"required":   []string{"city"},
				},
			}),
		},
	}
	first, err := client.Chat.Completions.New(ctx, params)
	if err != nil {
		return err
	}
	if len(first.Choices) == 0 || len(first.Choices[0].Message.ToolCalls) == 0 {
		return errors.New("expected a tool call")
	}
	call := first.Choices[0].Message.ToolCalls[0]
	fmt.Printf("tool call: %s(%s) id=%s\n", call.Function.Name, call.Function.Arguments, call.ID)

	// "Run" the tool, then append the assistant turn and the tool result.
	result := `{"city":"Paris","temp_c":18,"sky":"clear"}`
	params.Messages = append(params.Messages, first.Choices[0].Message.ToParam(), openai.ToolMessage(result, call.ID))
	second, err := client.Chat.Completions.New(ctx, params)
	if err != nil {
		return err
	}
	if len(second.Choices) == 0 || second.Choices[0].Message.Content == "" {
		return errors.New("empty answer after the tool result")
	}
	fmt.Println("answer:  ", second.Choices[0].Message.Content)
	info, err := readLlmgate(second.JSON.ExtraFields)
	if err != nil {
		return err
	}
	fmt.Println("llmgate: ", info)
	return nil
}

func embeddings(ctx context.Context, client openai.Client) error {
	resp, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{
		Model: openai.EmbeddingModel(embedModel),
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"hello", "world"}},
	})
	if err != nil {
		return err
	}
	if len(resp.Data) != 2 || len(resp.Data[0].Embedding) == 0 {
		return fmt.Errorf("want 2 non-empty vectors, got %d", len(resp.Data))
	}
	fmt.Printf("vectors:  %d x %d dims, first values %.4f %.4f\n", len(resp.Data), len(resp.Data[0].Embedding), resp.Data[0].Embedding[0], resp.Data[0].Embedding[1])
	info, err := readLlmgate(resp.JSON.ExtraFields)
	if err != nil {
		return err
	}
	fmt.Println("llmgate: ", info)
	return nil
}

// models: the models and routes this key may use.
func models(ctx context.Context, client openai.Client) error {
	iter := client.Models.ListAutoPaging(ctx)
	found := false
	for iter.Next() {
		m := iter.Current()
		fmt.Printf("model:    %s (owned_by %s)\n", m.ID, m.OwnedBy)
		found = found || m.ID == model
	}
	if err := iter.Err(); err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("%s is not in the model list", model)
	}
	return nil
}

// badKey: an unknown key gets 401 with an OpenAI-shaped error body.
func badKey(ctx context.Context, _ openai.Client) error {
	bad := openai.NewClient(option.WithBaseURL(baseURL), option.WithAPIKey("lg_not_a_real_key_000000000000000000"))
	_, err := bad.Models.List(ctx)
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		return fmt.Errorf("want an API error, got %v", err)
	}
	fmt.Printf("error:    status=%d type=%s code=%s message=%q\n", apiErr.StatusCode, apiErr.Type, apiErr.Code, apiErr.Message)
	if apiErr.StatusCode != http.StatusUnauthorized || apiErr.Code != "invalid_api_key" {
		return fmt.Errorf("want 401 invalid_api_key, got %d %s", apiErr.StatusCode, apiErr.Code)
	}
	return nil
}
