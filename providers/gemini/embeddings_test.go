package gemini

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/providers/providertest"
)

func embReq(model, body string) *providers.Request {
	return &providers.Request{Endpoint: providers.Embeddings, Model: model, Body: []byte(body)}
}

func TestEmbeddings(t *testing.T) {
	up := providertest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{\n  \"embeddings\": [\n    {\n      \"values\": [\n        0.25,\n        -1.5e-3,\n        3\n      ]\n    }\n  ]\n}\n"))
	})
	p := newTestProvider(t, up.URL+"/v1beta", providers.Timeouts{})
	resp, err := p.Do(context.Background(), embReq("models/gemini-embedding-001", `{"model":"x","input":"héllo wörld!","dimensions":3}`))
	if err != nil {
		t.Fatal(err)
	}
	got := up.Last(t)
	if got.URI != "/v1beta/models/gemini-embedding-001:batchEmbedContents" || got.Header.Get("X-Goog-Api-Key") != testKey {
		t.Errorf("sent to %s with %v", got.URI, got.Header)
	}
	check(t, got.Body, map[string]string{
		"requests": `[{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"héllo wörld!"}]},"outputDimensionality":3}]`,
	})
	// 12 characters → ceil(12/4) = 3 estimated tokens.
	if string(resp.Body) != `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.25,-1.5e-3,3]}],"model":"models/gemini-embedding-001","usage":{"prompt_tokens":3,"total_tokens":3}}` {
		t.Errorf("body %s", resp.Body)
	}
	if resp.Usage != (providers.Usage{PromptTokens: 3, Estimated: true}) {
		t.Errorf("usage %+v", resp.Usage)
	}
}

// More inputs than one batch holds go in several calls, indexes running
// on; base64 output is little-endian float32 as OpenAI returns it.
func TestEmbeddingsBatchesAndBase64(t *testing.T) {
	seen := 0
	up := providertest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		var b strings.Builder
		b.WriteString(`{"embeddings":[`)
		n := min(maxBatch, 150-seen)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			k := seen + i
			fmt.Fprintf(&b, `{"values":[%d,%d.5]}`, k, k)
		}
		seen += n
		b.WriteString(`]}`)
		_, _ = w.Write([]byte(b.String()))
	})
	p := newTestProvider(t, up.URL, providers.Timeouts{})
	inputs := make([]string, 150)
	for i := range inputs {
		inputs[i] = fmt.Sprintf(`"t%03d"`, i) // 4 characters each
	}
	resp, err := p.Do(context.Background(), embReq("text-embedding-004", `{"input":[`+strings.Join(inputs, ",")+`],"encoding_format":"base64"}`))
	if err != nil {
		t.Fatal(err)
	}
	reqs := up.All()
	if len(reqs) != 2 || gjson.GetBytes(reqs[0].Body, "requests.#").Int() != 100 || gjson.GetBytes(reqs[1].Body, "requests.#").Int() != 50 ||
		gjson.GetBytes(reqs[1].Body, "requests.0.content.parts.0.text").String() != "t100" || gjson.GetBytes(reqs[0].Body, "requests.0.outputDimensionality").Exists() {
		t.Fatalf("%d upstream calls", len(reqs))
	}
	data := gjson.GetBytes(resp.Body, "data").Array()
	if len(data) != 150 {
		t.Fatalf("%d embeddings", len(data))
	}
	for i, d := range data {
		raw, err := base64.StdEncoding.DecodeString(d.Get("embedding").String())
		if err != nil || len(raw) != 8 || d.Get("index").Int() != int64(i) {
			t.Fatalf("embedding %d: %s", i, d.Raw)
		}
		a := math.Float32frombits(binary.LittleEndian.Uint32(raw))
		b := math.Float32frombits(binary.LittleEndian.Uint32(raw[4:]))
		if a != float32(i) || b != float32(i)+0.5 {
			t.Errorf("embedding %d = %v, %v", i, a, b)
		}
	}
	if resp.Usage.PromptTokens != 150 || gjson.GetBytes(resp.Body, "usage.total_tokens").Int() != 150 {
		t.Errorf("usage %+v", resp.Usage)
	}
}

func TestEmbeddingsBadInput(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.JSONAnswer(200, []byte(`{"embeddings":[]}`), jsonUTF8))
	p := newTestProvider(t, up.URL, providers.Timeouts{})
	for name, body := range map[string]string{
		"not json":        `{"input":`,
		"no input":        `{"model":"m"}`,
		"empty array":     `{"input":[]}`,
		"token ids":       `{"input":[1,2,3]}`,
		"token arrays":    `{"input":[[1,2],[3]]}`,
		"zero dimensions": `{"input":"x","dimensions":0}`,
		"bad format":      `{"input":"x","encoding_format":"int8"}`,
	} {
		_, err := p.Do(context.Background(), embReq("gemini-embedding-001", body))
		var se *providers.StatusError
		if !errors.As(err, &se) || se.Status != 400 {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if len(up.All()) != 0 {
		t.Error("the upstream was called")
	}
	if _, err := p.Stream(context.Background(), embReq("gemini-embedding-001", `{"input":"x"}`), &providertest.Sink{}); err == nil {
		t.Error("embeddings were streamed")
	}
	// A short answer is the upstream's fault.
	if _, err := p.Do(context.Background(), embReq("gemini-embedding-001", `{"input":"x"}`)); !errors.Is(err, providers.ErrBadResponse) {
		t.Errorf("short answer: err = %v", err)
	}
}
