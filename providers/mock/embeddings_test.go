package mock

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/llmgate/llmgate/providers"
	"github.com/tidwall/gjson"
)

func embedReq(body string) *providers.Request {
	return &providers.Request{Endpoint: providers.Embeddings, Model: "mock-embed", Body: []byte(body)}
}

func vectors(t *testing.T, body []byte) [][]float64 {
	t.Helper()
	var out [][]float64
	for _, d := range gjson.GetBytes(body, "data").Array() {
		e := d.Get("embedding")
		var v []float64
		if e.Type == gjson.String {
			raw, err := base64.StdEncoding.DecodeString(e.Str)
			if err != nil || len(raw)%4 != 0 {
				t.Fatalf("base64 embedding: %v", err)
			}
			for i := 0; i < len(raw); i += 4 {
				v = append(v, float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[i:]))))
			}
		} else {
			for _, x := range e.Array() {
				v = append(v, x.Float())
			}
		}
		out = append(out, v)
	}
	return out
}

func TestEmbeddings(t *testing.T) {
	cases := []struct {
		name   string
		body   string
		count  int
		dims   int
		tokens int64
	}{
		{"string", `{"input":"The quick brown fox"}`, 1, 256, 5},
		{"array", `{"input":["a","bb bb","ccc ccc ccc"]}`, 3, 256, 1 + 2 + 3},
		{"dimensions", `{"input":"The quick brown fox","dimensions":64}`, 1, 64, 5},
		{"base64", `{"input":["The quick brown fox","x"],"encoding_format":"base64"}`, 2, 256, 6},
		{"token ids", `{"input":[1,2,3]}`, 1, 256, 3},
		{"token arrays", `{"input":[[1,2],[3]]}`, 2, 256, 3},
	}
	p := newMock(t, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := p.Do(context.Background(), embedReq(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			b := gjson.ParseBytes(resp.Body)
			if b.Get("object").Str != "list" || b.Get("model").Str != "mock-embed" ||
				b.Get("usage.prompt_tokens").Int() != tc.tokens || b.Get("usage.total_tokens").Int() != tc.tokens {
				t.Errorf("body = %.300s", resp.Body)
			}
			if resp.Usage != (providers.Usage{PromptTokens: tc.tokens}) {
				t.Errorf("Usage = %+v", resp.Usage)
			}
			vs := vectors(t, resp.Body)
			if len(vs) != tc.count {
				t.Fatalf("%d vectors, want %d", len(vs), tc.count)
			}
			for i, v := range vs {
				d := b.Get("data").Array()[i]
				if d.Get("object").Str != "embedding" || d.Get("index").Int() != int64(i) {
					t.Errorf("data[%d] header wrong", i)
				}
				if len(v) != tc.dims {
					t.Errorf("vector %d has %d dims, want %d", i, len(v), tc.dims)
				}
				var sq float64
				for _, x := range v {
					sq += x * x
				}
				if math.Abs(sq-1) > 1e-5 {
					t.Errorf("vector %d norm^2 = %v", i, sq)
				}
			}
		})
	}
}

func TestEmbeddingsDeterministic(t *testing.T) {
	p := newMock(t, nil)
	get := func(body string) [][]float64 {
		resp, err := p.Do(context.Background(), embedReq(body))
		if err != nil {
			t.Fatal(err)
		}
		return vectors(t, resp.Body)
	}
	a := get(`{"input":["same","other"]}`)
	b := get(`{"input":"same","encoding_format":"base64"}`)
	for i := range a[0] {
		if float32(a[0][i]) != float32(b[0][i]) {
			t.Fatalf("float and base64 differ at %d", i)
		}
	}
	var dot float64
	for i := range a[0] {
		dot += a[0][i] * a[1][i]
	}
	if dot > 0.5 {
		t.Errorf("different texts too similar: %v", dot)
	}
	// A shortened vector is the renormalised prefix of the full one.
	short := get(`{"input":"same","dimensions":8}`)[0]
	ratio := a[0][0] / short[0]
	for i := range short {
		if math.Abs(a[0][i]/short[i]-ratio) > 1e-4 {
			t.Fatalf("dimension %d not a scaled prefix", i)
		}
	}
}

func TestEmbeddingsBadRequests(t *testing.T) {
	p := newMock(t, nil)
	for _, body := range []string{
		`{}`, `{"input":""}`, `{"input":[]}`, `{"input":["ok",""]}`, `{"input":[{}]}`,
		`{"input":"x","dimensions":0}`, `{"input":"x","dimensions":99999}`,
		`{"input":"x","encoding_format":"hex"}`, `not json`,
	} {
		_, err := p.Do(context.Background(), embedReq(body))
		var se *providers.StatusError
		if !errors.As(err, &se) || se.Status != 400 {
			t.Errorf("%s: err = %v", body, err)
		}
	}
}
