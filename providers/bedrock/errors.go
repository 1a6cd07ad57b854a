package bedrock

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/providers"
)

// Bedrock answers errors the AWS REST-JSON way: the body is only
// {"message": …} and the error type travels in the x-amzn-ErrorType
// header ("ValidationException:http://internal.amazon.com/…"). Some
// services put the type in the body instead ("__type", possibly with a
// "namespace#" prefix), and a few spell the message "Message".

// typeStatus pins the status of error types that AWS services have been
// known to send with a generic 400, so that the router treats them as the
// transient failures they are.
var typeStatus = map[string]int{
	"ThrottlingException":         http.StatusTooManyRequests,
	"ModelNotReadyException":      http.StatusTooManyRequests,
	"ServiceUnavailableException": http.StatusServiceUnavailable,
}

// statusError reads a non-2xx Bedrock answer. The body is kept as
// received; Code is the AWS error type and Message its message verbatim
// (so context-length wordings such as "Input is too long for requested
// model" reach the router's detection unchanged).
func statusError(resp *http.Response) *providers.StatusError {
	se := providers.NewStatusError(resp)
	code := errorType(resp.Header.Get("X-Amzn-Errortype"))
	if code == "" && gjson.ValidBytes(se.Body) {
		code = errorType(gjson.GetBytes(se.Body, "__type").String())
	}
	se.Code = code
	if gjson.ValidBytes(se.Body) {
		for _, k := range [...]string{"message", "Message"} {
			if m := gjson.GetBytes(se.Body, k); m.Type == gjson.String && m.Str != "" {
				se.Message = m.Str
				break
			}
		}
	}
	if st, ok := typeStatus[code]; ok {
		se.Status = st
	}
	return se
}

// errorType strips the documentation URL after ':' and any namespace
// before '#': "com.amazon.coral#ValidationException:http://…" →
// "ValidationException".
func errorType(v string) string {
	v, _, _ = strings.Cut(v, ":")
	if i := strings.LastIndexByte(v, '#'); i >= 0 {
		v = v[i+1:]
	}
	return strings.TrimSpace(v)
}

// badRequest is a 400 the provider produces itself for a request Bedrock
// cannot express; the body is OpenAI-shaped because it goes to the client
// as is.
func badRequest(code, format string, args ...any) *providers.StatusError {
	msg := fmt.Sprintf(format, args...)
	body := providers.AppendJSONString([]byte(`{"error":{"message":`), msg)
	body = append(body, `,"type":"invalid_request_error","param":null,"code":`...)
	body = providers.AppendJSONString(body, code)
	body = append(body, "}}"...)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return &providers.StatusError{Status: http.StatusBadRequest, Header: h, Body: body, Code: code, Message: msg}
}

// streamException turns an exception (or error) frame into the stream
// error the gateway expects after a partial answer.
func streamException(f *frame) error {
	typ := f.str(":exception-type")
	if typ == "" {
		typ = f.str(":error-code")
	}
	msg := f.str(":error-message")
	if m := gjson.GetBytes(f.Payload, "message"); m.Type == gjson.String {
		msg = m.Str
	} else if m := gjson.GetBytes(f.Payload, "Message"); m.Type == gjson.String {
		msg = m.Str
	}
	if typ == "" {
		typ = "unknown exception"
	}
	if msg == "" {
		return fmt.Errorf("%w: %s", providers.ErrStreamBroken, typ)
	}
	return fmt.Errorf("%w: %s: %s", providers.ErrStreamBroken, typ, msg)
}
