package gemini

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tidwall/gjson"
)

type tool struct {
	FunctionDeclarations []functionDecl `json:"functionDeclarations"`
}

// functionDecl uses parametersJsonSchema, which takes a JSON Schema as
// clients write it (additionalProperties, $defs, …), instead of the
// OpenAPI-subset "parameters" that rejects those keys.
type functionDecl struct {
	Name                 string          `json:"name"`
	Description          string          `json:"description,omitempty"`
	ParametersJSONSchema json.RawMessage `json:"parametersJsonSchema,omitempty"`
}

type toolConfig struct {
	FunctionCallingConfig functionCallingConfig `json:"functionCallingConfig"`
}

type functionCallingConfig struct {
	Mode                 string   `json:"mode"`
	AllowedFunctionNames []string `json:"allowedFunctionNames,omitempty"`
}

type generationConfig struct {
	Temperature        *float64        `json:"temperature,omitempty"`
	TopP               *float64        `json:"topP,omitempty"`
	TopK               *int64          `json:"topK,omitempty"`
	MaxOutputTokens    *int64          `json:"maxOutputTokens,omitempty"`
	StopSequences      []string        `json:"stopSequences,omitempty"`
	CandidateCount     *int64          `json:"candidateCount,omitempty"`
	Seed               *int64          `json:"seed,omitempty"`
	PresencePenalty    *float64        `json:"presencePenalty,omitempty"`
	FrequencyPenalty   *float64        `json:"frequencyPenalty,omitempty"`
	ResponseMimeType   string          `json:"responseMimeType,omitempty"`
	ResponseJSONSchema json.RawMessage `json:"responseJsonSchema,omitempty"`
	ThinkingConfig     *thinkingConfig `json:"thinkingConfig,omitempty"`
}

type thinkingConfig struct {
	IncludeThoughts bool   `json:"includeThoughts,omitempty"`
	ThinkingBudget  *int64 `json:"thinkingBudget,omitempty"`
	ThinkingLevel   string `json:"thinkingLevel,omitempty"`
}

// isGemini3 reports a Gemini 3 family model, which thinks in levels and
// requires thought signatures on replayed function calls.
func isGemini3(model string) bool {
	return strings.Contains(strings.ToLower(model), "gemini-3")
}

// applyOptions maps the OpenAI request options onto tools, toolConfig and
// generationConfig.
func applyOptions(out *genRequest, root gjson.Result, model string) error {
	decls, err := declarations(root.Get("tools"))
	if err != nil {
		return err
	}
	if tc := root.Get("tool_choice"); tc.Exists() && tc.Type != gjson.Null {
		cfg, allowed, err := toolChoice(tc)
		if err != nil {
			return err
		}
		out.ToolConfig = cfg
		if allowed != nil {
			decls = filterDecls(decls, allowed)
		}
	}
	if len(decls) > 0 {
		out.Tools = []tool{{FunctionDeclarations: decls}}
	}
	gc, err := genConfig(root, model)
	if err != nil {
		return err
	}
	if b, _ := json.Marshal(gc); string(b) != "{}" {
		out.GenerationConfig = &gc
	}
	return nil
}

func declarations(tools gjson.Result) ([]functionDecl, error) {
	var out []functionDecl
	for i, t := range tools.Array() {
		if typ := t.Get("type").String(); typ != "" && typ != "function" {
			// Custom and built-in OpenAI tools have no Gemini equivalent.
			return nil, badRequest(fmt.Sprintf("Tool type %q is not supported by Gemini.", typ), fmt.Sprintf("tools[%d].type", i))
		}
		fn := t.Get("function")
		d := functionDecl{Name: fn.Get("name").String(), Description: fn.Get("description").String()}
		if d.Name == "" {
			return nil, badRequest("A function tool needs a name.", fmt.Sprintf("tools[%d].function.name", i))
		}
		if p := fn.Get("parameters"); p.IsObject() {
			d.ParametersJSONSchema = json.RawMessage(p.Raw)
		}
		out = append(out, d)
	}
	return out, nil
}

// toolChoice maps tool_choice onto functionCallingConfig. allowed_tools
// ({"type":"allowed_tools",…}) restricts the declarations sent (returned
// as allowed), since Gemini only restricts names in ANY mode.
func toolChoice(tc gjson.Result) (cfg *toolConfig, allowed map[string]bool, err error) {
	mode := func(m string, names ...string) *toolConfig {
		return &toolConfig{FunctionCallingConfig: functionCallingConfig{Mode: m, AllowedFunctionNames: names}}
	}
	if tc.Type == gjson.String {
		switch tc.Str {
		case "auto":
			return mode("AUTO"), nil, nil
		case "none":
			return mode("NONE"), nil, nil
		case "required":
			return mode("ANY"), nil, nil
		}
		return nil, nil, badRequest(fmt.Sprintf("Invalid tool_choice %q.", tc.Str), "tool_choice")
	}
	switch tc.Get("type").String() {
	case "function":
		name := tc.Get("function.name").String()
		if name == "" {
			return nil, nil, badRequest("tool_choice.function.name is required.", "tool_choice.function.name")
		}
		return mode("ANY", name), nil, nil
	case "allowed_tools":
		at := tc.Get("allowed_tools")
		allowed = map[string]bool{}
		for _, t := range at.Get("tools").Array() {
			allowed[t.Get("function.name").String()] = true
		}
		if at.Get("mode").String() == "required" {
			return mode("ANY"), allowed, nil
		}
		return mode("AUTO"), allowed, nil
	}
	return nil, nil, badRequest("Unsupported tool_choice.", "tool_choice")
}

func filterDecls(decls []functionDecl, allowed map[string]bool) []functionDecl {
	out := decls[:0:0]
	for _, d := range decls {
		if allowed[d.Name] {
			out = append(out, d)
		}
	}
	return out
}

func genConfig(root gjson.Result, model string) (generationConfig, error) {
	var gc generationConfig
	num := func(k string) *float64 {
		if v := root.Get(k); v.Type == gjson.Number {
			f := v.Float()
			return &f
		}
		return nil
	}
	integer := func(k string) *int64 {
		if v := root.Get(k); v.Type == gjson.Number {
			n := v.Int()
			return &n
		}
		return nil
	}
	gc.Temperature = num("temperature")
	gc.TopP = num("top_p")
	gc.TopK = integer("top_k")
	gc.PresencePenalty = num("presence_penalty")
	gc.FrequencyPenalty = num("frequency_penalty")
	gc.Seed = integer("seed")
	gc.CandidateCount = integer("n")
	// One output budget; max_completion_tokens wins over the legacy name.
	if gc.MaxOutputTokens = integer("max_completion_tokens"); gc.MaxOutputTokens == nil {
		gc.MaxOutputTokens = integer("max_tokens")
	}
	switch stop := root.Get("stop"); {
	case stop.Type == gjson.String:
		gc.StopSequences = []string{stop.Str}
	case stop.IsArray():
		for _, s := range stop.Array() {
			gc.StopSequences = append(gc.StopSequences, s.String())
		}
	}
	rf := root.Get("response_format")
	switch rf.Get("type").String() {
	case "json_object":
		gc.ResponseMimeType = "application/json"
	case "json_schema":
		gc.ResponseMimeType = "application/json"
		if s := rf.Get("json_schema.schema"); s.IsObject() {
			gc.ResponseJSONSchema = json.RawMessage(s.Raw)
		}
	case "", "text":
	default:
		return gc, badRequest(fmt.Sprintf("Unsupported response_format type %q.", rf.Get("type").String()), "response_format.type")
	}
	if re := root.Get("reasoning_effort"); re.Type == gjson.String {
		gc.ThinkingConfig = thinking(re.Str, model)
	}
	return gc, nil
}

// budgets are the 2.5 thinking budgets per effort. high stays at 24576,
// the largest budget every 2.5 model (Flash and Flash-Lite included)
// accepts.
var budgets = map[string]int64{"none": 0, "minimal": 512, "low": 1024, "medium": 8192, "high": 24576, "xhigh": 24576, "max": 24576}

// thinking maps reasoning_effort. Gemini 3 thinks in levels (low|high);
// earlier models in token budgets (and Gemini 3 accepts budgets too, so
// unknown families get budgets). Thoughts are requested whenever the
// client asked for reasoning so they stream back as reasoning_content;
// "none" asks for no thinking, so there is nothing to include.
func thinking(effort, model string) *thinkingConfig {
	effort = strings.ToLower(effort)
	budget, known := budgets[effort]
	if !known {
		return nil // let the model use its default rather than guess
	}
	tc := &thinkingConfig{IncludeThoughts: effort != "none"}
	if isGemini3(model) {
		// Gemini 3 Pro cannot switch thinking off; "none" gets the least.
		tc.ThinkingLevel = "high"
		if effort == "none" || effort == "minimal" || effort == "low" {
			tc.ThinkingLevel = "low"
		}
		return tc
	}
	if effort == "none" && strings.Contains(strings.ToLower(model), "2.5-pro") {
		// 2.5 Pro rejects a zero budget ("only works in thinking
		// mode"); 128 is its minimum.
		budget = 128
	}
	tc.ThinkingBudget = &budget
	return tc
}
