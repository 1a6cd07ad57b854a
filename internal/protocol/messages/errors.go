package messages

import (
	"bytes"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// maxErrorMessage bounds a message taken from a plain-text upstream body
// (an HTML error page from a proxy, say).
const maxErrorMessage = 1000

// ErrorBody renders {"type":"error","error":{"type":…,"message":msg}}, the
// error type chosen by status as Anthropic documents it
// (https://platform.claude.com/docs/en/api/errors). The SDKs pick their
// exception class from the status; Claude Code also reads the type (it
// retries overloaded_error, for one).
func ErrorBody(status int, msg string) []byte {
	b := append([]byte(nil), `{"type":"error","error":{"type":`...)
	b = appendString(b, errorType(status))
	b = append(b, `,"message":`...)
	b = appendString(b, msg)
	return append(b, "}}"...)
}

func errorType(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "invalid_request_error"
	case http.StatusUnauthorized:
		return "authentication_error"
	case http.StatusPaymentRequired:
		return "billing_error"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusNotFound:
		return "not_found_error"
	case http.StatusConflict:
		return "conflict_error"
	case http.StatusRequestEntityTooLarge:
		return "request_too_large"
	case http.StatusTooManyRequests:
		return "rate_limit_error"
	case http.StatusRequestTimeout, http.StatusGatewayTimeout:
		return "timeout_error"
	case http.StatusServiceUnavailable, 529:
		return "overloaded_error"
	}
	if status >= 400 && status < 500 {
		return "invalid_request_error"
	}
	return "api_error"
}

// ConvertError turns an upstream error body of any shape into
// ErrorBody(status, message): OpenAI's {"error":{message,type,code}},
// Gemini's {"error":{code,message,status}}, Bedrock's {"message"}, a
// {"error":"…"} or {"detail":"…"} from smaller servers, or plain text. A
// body already in Anthropic's shape is returned unchanged.
func ConvertError(status int, body []byte) []byte {
	t := bytes.TrimSpace(body)
	var msg string
	if gjson.ValidBytes(t) {
		r := gjson.ParseBytes(t)
		if r.Get("type").Str == "error" && r.Get("error.type").Type == gjson.String {
			return body
		}
		for _, path := range [...]string{"error.message", "error", "message", "detail", "error.status"} {
			if v := r.Get(path); v.Type == gjson.String && v.Str != "" {
				msg = v.Str
				break
			}
		}
	} else {
		msg = truncate(string(t), maxErrorMessage)
	}
	if msg == "" {
		msg = strings.ToLower(http.StatusText(status))
		if msg == "" {
			msg = "upstream error"
		}
	}
	return ErrorBody(status, msg)
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
