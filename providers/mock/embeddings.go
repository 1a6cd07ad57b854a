package mock

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/llmgate/llmgate/providers"
	"github.com/tidwall/gjson"
)

const (
	defaultDimensions = 256
	// maxDimensions matches OpenAI's largest embedding model and keeps a
	// hostile request from asking for a gigantic vector.
	maxDimensions = 3072
)

// doEmbeddings answers an embeddings call with deterministic unit vectors:
// equal texts embed equally, so caches and similarity demos behave.
func doEmbeddings(req *providers.Request) (*providers.Response, error) {
	if !gjson.ValidBytes(req.Body) {
		return nil, badRequest("We could not parse the JSON body of your request.", "")
	}
	root := gjson.ParseBytes(req.Body)
	inputs, tokens, err := embeddingInputs(root.Get("input"))
	if err != nil {
		return nil, err
	}
	dims := defaultDimensions
	if d := root.Get("dimensions"); d.Exists() {
		if d.Int() < 1 || d.Int() > maxDimensions {
			return nil, badRequest("'dimensions' must be between 1 and "+strconv.Itoa(maxDimensions)+".", "dimensions")
		}
		dims = int(d.Int())
	}
	b64 := false
	switch f := root.Get("encoding_format").String(); f {
	case "", "float":
	case "base64":
		b64 = true
	default:
		return nil, badRequest("'encoding_format' must be \"float\" or \"base64\".", "encoding_format")
	}

	out := []byte(`{"object":"list","data":[`)
	for i, in := range inputs {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, `{"object":"embedding","index":`...)
		out = strconv.AppendInt(out, int64(i), 10)
		out = append(out, `,"embedding":`...)
		out = appendVector(out, embed(in, dims), b64)
		out = append(out, '}')
	}
	out = append(out, `],"model":`...)
	out = append(out, mustJSON(req.Model)...)
	out = append(out, `,"usage":{"prompt_tokens":`...)
	out = strconv.AppendInt(out, tokens, 10)
	out = append(out, `,"total_tokens":`...)
	out = strconv.AppendInt(out, tokens, 10)
	out = append(out, "}}"...)
	return &providers.Response{Body: out, Usage: providers.Usage{PromptTokens: tokens}}, nil
}

// embeddingInputs lists the texts to embed and their token estimate. It
// accepts OpenAI's four input forms: a string, an array of strings, an
// array of token ids and an array of such arrays; token arrays are
// embedded by their JSON text and cost one token per id.
func embeddingInputs(in gjson.Result) ([]string, int64, error) {
	invalid := badRequest("'input' must be a non-empty string or array of strings or token arrays.", "input")
	var items []gjson.Result
	switch {
	case in.Type == gjson.String:
		items = []gjson.Result{in}
	case in.IsArray() && len(in.Array()) > 0 && in.Array()[0].Type == gjson.Number:
		items = []gjson.Result{in}
	case in.IsArray():
		items = in.Array()
	}
	if len(items) == 0 {
		return nil, 0, invalid
	}
	var texts []string
	var tokens int64
	for _, it := range items {
		switch {
		case it.Type == gjson.String && it.Str != "":
			texts = append(texts, it.Str)
			tokens += int64((utf8.RuneCountInString(it.Str) + 3) / 4)
		case it.IsArray() && len(it.Array()) > 0:
			texts = append(texts, it.Raw)
			tokens += int64(len(it.Array()))
		default:
			return nil, 0, invalid
		}
	}
	return texts, tokens, nil
}

// embed derives a unit vector from text: SHA-256 in counter mode seeded by
// the text's hash yields the components, so a smaller dimension is the
// renormalised prefix of a larger one, as with OpenAI's shortened
// embeddings.
func embed(text string, dims int) []float32 {
	seed := sha256.Sum256([]byte(text))
	raw := make([]float64, dims)
	var block [36]byte
	copy(block[:], seed[:])
	var norm float64
	for i := 0; i < dims; i += 8 {
		binary.LittleEndian.PutUint32(block[32:], uint32(i/8))
		sum := sha256.Sum256(block[:])
		for j := 0; j < 8 && i+j < dims; j++ {
			u := binary.LittleEndian.Uint32(sum[4*j:])
			v := float64(u)/float64(math.MaxUint32)*2 - 1
			raw[i+j] = v
			norm += v * v
		}
	}
	norm = math.Sqrt(norm)
	vec := make([]float32, dims)
	for i, v := range raw {
		if norm > 0 {
			vec[i] = float32(v / norm)
		}
	}
	return vec
}

// appendVector writes vec as a JSON float array, or as OpenAI's base64
// string of little-endian float32s.
func appendVector(out []byte, vec []float32, b64 bool) []byte {
	if b64 {
		buf := make([]byte, 4*len(vec))
		for i, v := range vec {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
		out = append(out, '"')
		out = base64.StdEncoding.AppendEncode(out, buf)
		return append(out, '"')
	}
	out = append(out, '[')
	for i, v := range vec {
		if i > 0 {
			out = append(out, ',')
		}
		out = strconv.AppendFloat(out, float64(v), 'g', -1, 32)
	}
	return append(out, ']')
}
