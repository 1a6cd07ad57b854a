package gemini

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/providers"
)

// maxBatch is batchEmbedContents' limit on requests per call; longer
// OpenAI inputs are sent in several calls.
const maxBatch = 100

type embedBatch struct {
	Requests []embedRequest `json:"requests"`
}

type embedRequest struct {
	Model                string  `json:"model"`
	Content              content `json:"content"`
	OutputDimensionality *int64  `json:"outputDimensionality,omitempty"`
}

// embeddings serves POST /v1/embeddings through batchEmbedContents.
func (p *Provider) embeddings(ctx context.Context, wd *providers.Watchdog, req *providers.Request) (*providers.Response, error) {
	if !gjson.ValidBytes(req.Body) {
		return nil, badRequest("We could not parse the JSON body of your request.", "")
	}
	root := gjson.ParseBytes(req.Body)
	inputs, err := embeddingInputs(root.Get("input"))
	if err != nil {
		return nil, err
	}
	var dims *int64
	if d := root.Get("dimensions"); d.Exists() && d.Type != gjson.Null {
		if d.Type != gjson.Number || d.Int() < 1 {
			return nil, badRequest("'dimensions' must be a positive integer.", "dimensions")
		}
		n := d.Int()
		dims = &n
	}
	b64 := false
	switch f := root.Get("encoding_format").String(); f {
	case "", "float":
	case "base64":
		b64 = true
	default:
		return nil, badRequest("'encoding_format' must be \"float\" or \"base64\".", "encoding_format")
	}

	model := modelID(req.Model)
	out := []byte(`{"object":"list","data":[`)
	var chars int
	for start := 0; start < len(inputs); start += maxBatch {
		batch := embedBatch{}
		for _, in := range inputs[start:min(start+maxBatch, len(inputs))] {
			chars += utf8.RuneCountInString(in)
			batch.Requests = append(batch.Requests, embedRequest{
				Model:                "models/" + model,
				Content:              content{Parts: []part{{Text: in}}},
				OutputDimensionality: dims,
			})
		}
		native, err := marshal(batch)
		if err != nil {
			return nil, err
		}
		body, err := p.post(ctx, wd, p.methodURL(model, "batchEmbedContents"), native)
		if err != nil {
			return nil, err
		}
		if !gjson.ValidBytes(body) {
			return nil, fmt.Errorf("%w: answer is not JSON", providers.ErrBadResponse)
		}
		embs := gjson.GetBytes(body, "embeddings").Array()
		if len(embs) != len(batch.Requests) {
			return nil, fmt.Errorf("%w: %d embeddings for %d inputs", providers.ErrBadResponse, len(embs), len(batch.Requests))
		}
		for i, e := range embs {
			vals := e.Get("values")
			if !vals.IsArray() {
				return nil, fmt.Errorf("%w: embedding %d has no values", providers.ErrBadResponse, start+i)
			}
			if start+i > 0 {
				out = append(out, ',')
			}
			out = append(out, `{"object":"embedding","index":`...)
			out = strconv.AppendInt(out, int64(start+i), 10)
			out = append(out, `,"embedding":`...)
			out = appendVector(out, vals, b64)
			out = append(out, '}')
		}
	}
	// Gemini reports no token counts for embeddings. The usage is an
	// estimate, ceil(characters/4) over all inputs (about four characters
	// per token in English), flagged Estimated so the record says so.
	tokens := int64((chars + 3) / 4)
	model64, _ := marshal(req.Model)
	out = append(out, `],"model":`...)
	out = append(out, model64...)
	out = append(out, `,"usage":{"prompt_tokens":`...)
	out = strconv.AppendInt(out, tokens, 10)
	out = append(out, `,"total_tokens":`...)
	out = strconv.AppendInt(out, tokens, 10)
	out = append(out, "}}"...)
	return &providers.Response{Body: out, Usage: providers.Usage{PromptTokens: tokens, Estimated: true}}, nil
}

// embeddingInputs accepts a string or a non-empty array of strings.
// Token-id arrays have no Gemini equivalent (its tokenizer differs).
func embeddingInputs(in gjson.Result) ([]string, error) {
	invalid := badRequest("'input' must be a non-empty string or array of strings; token arrays are not supported by Gemini.", "input")
	switch {
	case in.Type == gjson.String:
		return []string{in.Str}, nil
	case in.IsArray():
		items := in.Array()
		if len(items) == 0 {
			return nil, invalid
		}
		out := make([]string, len(items))
		for i, it := range items {
			if it.Type != gjson.String {
				return nil, invalid
			}
			out[i] = it.Str
		}
		return out, nil
	}
	return nil, invalid
}

// appendVector writes the upstream's numbers as received, or as base64 of
// little-endian float32s (what OpenAI's encoding_format=base64 returns).
func appendVector(out []byte, vals gjson.Result, b64 bool) []byte {
	if !b64 {
		// Gemini pretty-prints its answers; the vector goes out compact.
		var buf bytes.Buffer
		if json.Compact(&buf, []byte(vals.Raw)) != nil {
			return append(out, vals.Raw...)
		}
		return append(out, buf.Bytes()...)
	}
	arr := vals.Array()
	raw := make([]byte, 4*len(arr))
	for i, v := range arr {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(float32(v.Float())))
	}
	out = append(out, '"')
	out = base64.StdEncoding.AppendEncode(out, raw)
	return append(out, '"')
}
