package anthropic

import (
	"net/http"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/providers"
)

// maxErrorBody bounds how much of an upstream error body is kept.
const maxErrorBody = 1 << 20

// statusError reads Anthropic's non-2xx answer,
// {"type":"error","error":{"type","message"},"request_id"}, into a
// StatusError whose Code is the error type (overloaded_error,
// rate_limit_error, …). The status is kept as sent, so the router's
// status-based policy sees 529 for an overloaded upstream, and
// retry-after (sent on 429 and sometimes 529) becomes RetryAfter.
func statusError(resp *http.Response) *providers.StatusError {
	se := providers.NewStatusError(resp)
	if gjson.ValidBytes(se.Body) {
		e := gjson.GetBytes(se.Body, "error")
		if e.IsObject() {
			if t := e.Get("type").Str; t != "" {
				se.Code = t
			}
			if m := e.Get("message"); m.Type == gjson.String {
				se.Message = m.Str
			}
		}
	}
	return se
}

// localError is a request this provider refuses before calling upstream
// (an endpoint Anthropic lacks, a part it cannot take). It is shaped like
// an OpenAI 400 so the client sees the same kind of answer as from any
// upstream.
func localError(msg string) *providers.StatusError {
	var b strings.Builder
	b.WriteString(`{"error":{"message":`)
	b.Write(appendString(nil, msg))
	b.WriteString(`,"type":"invalid_request_error","param":null,"code":null}}`)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return &providers.StatusError{
		Status:  http.StatusBadRequest,
		Header:  h,
		Body:    []byte(b.String()),
		Code:    "invalid_request_error",
		Message: msg,
	}
}
