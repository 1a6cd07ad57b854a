package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/providers/providertest"
)

const testKey = "AIza-secret-test-key-123"

// fixedNow pins "created" so whole chunks can be compared.
var fixedNow = time.Unix(1750000000, 0)

// jsonUTF8 is the Content-Type Gemini answers JSON with.
var jsonUTF8 = map[string]string{"Content-Type": "application/json; charset=UTF-8"}

// newTestProvider builds a Gemini account on baseURL with the test key, a
// user-project header and the fixed clock.
func newTestProvider(t testing.TB, baseURL string, to providers.Timeouts) *Provider {
	t.Helper()
	p := providertest.New(t, providers.Config{Type: "gemini", BaseURL: baseURL, APIKey: testKey, Timeouts: to,
		Headers: map[string]string{"X-Goog-User-Project": "proj-1"}}).(*Provider)
	p.now = func() time.Time { return fixedNow }
	return p
}

func chatReq(model string, stream bool, body string) *providers.Request {
	return &providers.Request{Endpoint: providers.Chat, Model: model, Body: []byte(body), Stream: stream}
}

// check asserts gjson paths of a JSON document against expected compact
// JSON values; "<absent>" asserts the path does not exist.
func check(t testing.TB, doc []byte, want map[string]string) {
	t.Helper()
	for path, exp := range want {
		got := gjson.GetBytes(doc, path)
		if exp == "<absent>" {
			if got.Exists() {
				t.Errorf("%s: want absent, got %s", path, got.Raw)
			}
			continue
		}
		if !got.Exists() {
			t.Errorf("%s: missing, want %s", path, exp)
			continue
		}
		if g := compact(got.Raw); g != compact(exp) {
			t.Errorf("%s:\n got  %s\n want %s", path, g, compact(exp))
		}
	}
}

func compact(s string) string {
	var b bytes.Buffer
	if err := jsonCompact(&b, []byte(s)); err != nil {
		return s
	}
	return b.String()
}

func runStream(t testing.TB, p *Provider, model, body string) (*providertest.Sink, providers.Usage, error) {
	t.Helper()
	sink := &providertest.Sink{}
	u, err := p.Stream(context.Background(), chatReq(model, true, body), sink)
	return sink, u, err
}

func jsonCompact(dst *bytes.Buffer, src []byte) error { return json.Compact(dst, src) }
