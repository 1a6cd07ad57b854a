package anthropic

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/providers/providertest"
)

const testKey = "sk-ant-test-key-123"

// newTestProvider builds an Anthropic account on baseURL with the test key.
func newTestProvider(t testing.TB, baseURL string, to providers.Timeouts, opts, hdr map[string]string) providers.Provider {
	t.Helper()
	return providertest.New(t, providers.Config{Type: Name, BaseURL: baseURL, APIKey: testKey, Timeouts: to, Options: opts, Headers: hdr})
}

func chatReq(model string, stream bool, body string) *providers.Request {
	return &providers.Request{Endpoint: providers.Chat, Model: model, Body: []byte(body), Stream: stream}
}

// jsonEqual compares two JSON texts by value.
func jsonEqual(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// field asserts that path in doc holds the JSON value want, or is absent
// when want is "".
func field(t testing.TB, doc []byte, path, want string) {
	t.Helper()
	got := gjson.GetBytes(doc, path)
	if want == "" {
		if got.Exists() {
			t.Errorf("%s = %s, want it absent", path, got.Raw)
		}
		return
	}
	if !got.Exists() {
		t.Errorf("%s absent, want %s", path, want)
		return
	}
	if !jsonEqual(got.Raw, want) {
		t.Errorf("%s = %s, want %s", path, got.Raw, want)
	}
}
