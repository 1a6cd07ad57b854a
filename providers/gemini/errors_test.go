package gemini

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/providers/providertest"
)

// Non-2xx answers become *StatusError before anything reaches the sink,
// with Gemini's status string as the code and RetryInfo as the wait.
func TestStatusErrors(t *testing.T) {
	quota := string(providertest.Fixture(t, "gemini", "error-429-resource-exhausted.json"))
	cases := []struct {
		name       string
		status     int
		hdr        map[string]string
		body       string
		code, msg  string
		retryAfter time.Duration
	}{
		{"429 RetryInfo", 429, nil, quota, "RESOURCE_EXHAUSTED", "You exceeded your current quota, please check your plan.", 34400 * time.Millisecond},
		{"Retry-After wins", 429, map[string]string{"Retry-After": "2"}, quota, "RESOURCE_EXHAUSTED", "You exceeded your current quota, please check your plan.", 2 * time.Second},
		{"array-wrapped 400", 400, nil, `[{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID"}]}}]`, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", 0},
		{"503 with a fractional delay", 503, nil, `{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1.5s"}]}}`, "UNAVAILABLE", "The model is overloaded. Please try again later.", 1500 * time.Millisecond},
		{"404 without details", 404, nil, `{"error":{"code":404,"message":"models/nope is not found for API version v1beta","status":"NOT_FOUND"}}`, "NOT_FOUND", "models/nope is not found for API version v1beta", 0},
		{"plain text", 502, nil, "Bad Gateway", "", "Bad Gateway", 0},
	}
	for _, c := range cases {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", c.name, stream), func(t *testing.T) {
				up := providertest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
					for k, v := range c.hdr {
						w.Header().Set(k, v)
					}
					w.WriteHeader(c.status)
					_, _ = w.Write([]byte(c.body))
				})
				p := newTestProvider(t, up.URL, providers.Timeouts{})
				sink := &providertest.Sink{}
				var err error
				body := `{"messages":[{"role":"user","content":"q"}]}`
				if stream {
					_, err = p.Stream(context.Background(), chatReq("gemini-2.5-flash", true, body), sink)
				} else {
					_, err = p.Do(context.Background(), chatReq("gemini-2.5-flash", false, body))
				}
				var se *providers.StatusError
				if !errors.As(err, &se) {
					t.Fatalf("err = %v, want *StatusError", err)
				}
				if se.Status != c.status || se.Code != c.code || se.Message != c.msg || string(se.Body) != c.body || se.RetryAfter != c.retryAfter {
					t.Errorf("StatusError status=%d code=%q msg=%q retry=%v", se.Status, se.Code, se.Message, se.RetryAfter)
				}
				if len(sink.Events) != 0 {
					t.Error("events reached the sink")
				}
			})
		}
	}
}

func TestProtoDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"30s": 30 * time.Second, "1.5s": 1500 * time.Millisecond, "0.000001s": time.Microsecond,
		"0s": 0, "-3s": 0, "30": 0, "": 0, "xs": 0, "1e99s": 0,
	} {
		if got := protoDuration(in); got != want {
			t.Errorf("protoDuration(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestCallIDs(t *testing.T) {
	sig := strings.Repeat("EpwICpkIAXLI2nx+/=", 80)
	id := encodeCallID("resp", 0, 0, "get_country", sig)
	if !strings.HasPrefix(id, "call_") || strings.ContainsAny(id, "+/=") {
		t.Errorf("id %q is not a URL-safe call_ id", id)
	}
	if n, s, ok := decodeCallID(id); !ok || n != "get_country" || s != sig {
		t.Errorf("round trip: %q %q %v", n, s, ok)
	}
	if encodeCallID("resp", 0, 0, "f", "") == encodeCallID("resp", 0, 1, "f", "") ||
		encodeCallID("resp", 0, 0, "f", "") == encodeCallID("resp2", 0, 0, "f", "") ||
		encodeCallID("resp", 0, 0, "f", "") != encodeCallID("resp", 0, 0, "f", "") {
		t.Error("ids must be unique per call and stable per response")
	}
	for _, foreign := range []string{"", "call_", "call_abc", "toolu_01A", "call_e30", "call_bnVsbA", "call_!!"} {
		if _, _, ok := decodeCallID(foreign); ok {
			t.Errorf("%q decoded as ours", foreign)
		}
	}
}

func TestRegistered(t *testing.T) {
	tp, ok := providers.Lookup("gemini")
	if !ok || tp.Family != "gemini" || tp.DefaultBaseURL != "https://generativelanguage.googleapis.com/v1beta" || tp.KeyOptional {
		t.Fatalf("type %+v", tp)
	}
	pv, err := tp.New(providers.Config{APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	p := pv.(*Provider)
	if got := p.methodURL("models/gemini-2.5-flash", "generateContent"); got != "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent" {
		t.Errorf("url %s", got)
	}
	want := providers.Capabilities{Tools: true, Vision: true, JSONSchema: true, Reasoning: true, Embeddings: true}
	if p.Capabilities() != want {
		t.Errorf("capabilities %+v", p.Capabilities())
	}
	if _, err := tp.New(providers.Config{BaseURL: "generativelanguage.googleapis.com"}); err == nil {
		t.Error("a base URL without scheme was accepted")
	}
	if _, err := p.Do(context.Background(), &providers.Request{Endpoint: "responses", Body: []byte(`{}`)}); err == nil {
		t.Error("an unknown endpoint was served")
	}
}
