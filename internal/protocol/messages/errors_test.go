package messages

import (
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

func TestErrorBody(t *testing.T) {
	recorded := gjson.ParseBytes(fixture(t, "anthropic/error-529-overloaded.json"))
	tests := []struct {
		status int
		want   string
	}{
		{400, "invalid_request_error"},
		{401, "authentication_error"},
		{402, "billing_error"},
		{403, "permission_error"},
		{404, "not_found_error"},
		{409, "conflict_error"},
		{413, "request_too_large"},
		{422, "invalid_request_error"},
		{429, "rate_limit_error"},
		{500, "api_error"},
		{502, "api_error"},
		{503, "overloaded_error"},
		{504, "timeout_error"},
		{529, "overloaded_error"},
	}
	for _, tt := range tests {
		b := ErrorBody(tt.status, `bad "thing"`)
		r := gjson.ParseBytes(b)
		if !gjson.ValidBytes(b) || r.Get("type").Str != "error" || r.Get("error.type").Str != tt.want || r.Get("error.message").Str != `bad "thing"` {
			t.Errorf("ErrorBody(%d) = %s, want type %s", tt.status, b, tt.want)
		}
		assertShape(t, "error body", r, recorded)
	}
}

func TestConvertError(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     []byte
		wantType string
		wantMsg  string
	}{
		{"openai", 400, fixture(t, "openai/error-400-unsupported-value.json"), "invalid_request_error",
			gjson.GetBytes(fixture(t, "openai/error-400-unsupported-value.json"), "error.message").Str},
		{"gemini", 429, fixture(t, "gemini/error-429-resource-exhausted.json"), "rate_limit_error",
			gjson.GetBytes(fixture(t, "gemini/error-429-resource-exhausted.json"), "error.message").Str},
		{"bedrock", 400, fixture(t, "bedrock/error-400-invalid-model.json"), "invalid_request_error",
			gjson.GetBytes(fixture(t, "bedrock/error-400-invalid-model.json"), "message").Str},
		{"groq", 400, fixture(t, "openai-compatible/groq-error-400-tool-use-failed.json"), "invalid_request_error",
			gjson.GetBytes(fixture(t, "openai-compatible/groq-error-400-tool-use-failed.json"), "error.message").Str},
		{"error string", 401, []byte(`{"error":"invalid api key"}`), "authentication_error", "invalid api key"},
		{"detail", 422, []byte(`{"detail":"model not loaded"}`), "invalid_request_error", "model not loaded"},
		{"plain text", 502, []byte("<html>502 Bad Gateway</html>\n"), "api_error", "<html>502 Bad Gateway</html>"},
		{"empty", 503, nil, "overloaded_error", "service unavailable"},
		{"long text is cut", 500, []byte(strings.Repeat("é", 800)), "api_error", strings.Repeat("é", 500) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.wantMsg == "" {
				t.Fatal("fixture has no message")
			}
			r := gjson.ParseBytes(ConvertError(tt.status, tt.body))
			if r.Get("type").Str != "error" || r.Get("error.type").Str != tt.wantType || r.Get("error.message").Str != tt.wantMsg {
				t.Errorf("got %s; want type %s message %q", r.Raw, tt.wantType, tt.wantMsg)
			}
		})
	}
	for _, f := range []string{"anthropic/error-529-overloaded.json", "anthropic/error-400-invalid-request.json"} {
		body := fixture(t, f)
		if got := ConvertError(400, body); string(got) != string(body) {
			t.Errorf("%s: an Anthropic error was changed: %s", f, got)
		}
	}
}
