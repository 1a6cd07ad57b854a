package messages

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// words is a stand-in estimator: one token a word.
func words(s string) int64 { return int64(len(strings.Fields(s))) }

func TestCountTokens(t *testing.T) {
	pdf := base64.StdEncoding.EncodeToString([]byte("%PDF-1.4\n1 0 obj <</Type /Pages /Count 2>>\n2 0 obj <</Type /Page>>\n3 0 obj <</Type/Page>>\n%%EOF"))
	tests := []struct {
		name string
		body string
		want int64
	}{
		{"string content and system", `{"model":"m","system":"be very brief","messages":[{"role":"user","content":"two names please"}]}`, 3 + 3},
		{"system blocks", `{"system":[{"type":"text","text":"a b"},{"type":"text","text":"c"}],"messages":[]}`, 3},
		{"images count 1600", `{"messages":[{"role":"user","content":[{"type":"text","text":"what is this"},{"type":"image","source":{"type":"url","url":"https://x"}}]}]}`, 3 + 1600},
		{"tool use and results", `{"messages":[
			{"role":"assistant","content":[{"type":"thinking","thinking":"not counted at all","signature":"s"},{"type":"tool_use","id":"t","name":"get_weather","input":{"city": "San Francisco"}}]},
			{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"sunny and warm"},
				{"type":"tool_result","tool_use_id":"u","content":[{"type":"text","text":"one"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA"}}]}]}]}`,
			1 + 3 + 3 + 1 + 1600},
		{"tools' JSON", `{"messages":[],"tools":[{"name":"f", "description":"does things"}]}`, 3},
		{"pdf pages", `{"messages":[{"role":"user","content":[{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"` + pdf + `"}}]}]}`, 2 * pdfPageTokens},
		{"text document", `{"messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"four words in here"}}]}]}`, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := CountTokens([]byte(tt.body), words)
			if err != nil {
				t.Fatal(err)
			}
			if got := gjson.GetBytes(out, "input_tokens"); got.Int() != tt.want || len(gjson.ParseBytes(out).Map()) != 1 {
				t.Errorf("CountTokens = %s, want input_tokens %d", out, tt.want)
			}
		})
	}
}

func TestCountTokensRecordedRequests(t *testing.T) {
	for _, f := range []string{"messages-text-tool-use.request.json", "messages-stream-thinking-server-tool.request.json"} {
		out, err := CountTokens(requestFixture(t, "anthropic/"+f), words)
		if err != nil || gjson.GetBytes(out, "input_tokens").Int() <= 0 {
			t.Errorf("%s: %s, %v", f, out, err)
		}
	}
}

func TestCountTokensInvalid(t *testing.T) {
	for _, body := range []string{`{`, `{"model":"m"}`, `{"messages":"hi"}`} {
		if _, err := CountTokens([]byte(body), words); !errors.Is(err, ErrInvalid) {
			t.Errorf("CountTokens(%s) error = %v, want ErrInvalid", body, err)
		}
	}
}
