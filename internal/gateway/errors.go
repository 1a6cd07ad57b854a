package gateway

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"

	"go.uber.org/zap"
)

// OpenAI error types used by the spec's error table.
const (
	errInvalidRequest = "invalid_request_error"
	errAuthentication = "authentication_error"
	errBilling        = "billing_error"
	errPermission     = "permission_error"
	errRateLimit      = "rate_limit_error"
	errUpstream       = "upstream_error"
)

type apiError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    string  `json:"code"`
}

// errorBody renders an OpenAI-shaped error object.
func errorBody(typ, code, msg, param string) []byte {
	e := apiError{Message: msg, Type: typ, Code: code}
	if param != "" {
		e.Param = &param
	}
	b, _ := json.Marshal(struct {
		Error apiError `json:"error"`
	}{e})
	return b
}

// writeError answers with an OpenAI-shaped error.
func writeError(w http.ResponseWriter, status int, typ, code, msg, param string) {
	writeBody(w, status, errorBody(typ, code, msg, param))
}

// writeBody answers with a JSON body.
func writeBody(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// redact replaces every occurrence of secret in b with "***", so an
// upstream that echoes the account key never leaks it to a client.
func redact(b []byte, secret string) []byte {
	if len(secret) < 4 || !bytes.Contains(b, []byte(secret)) {
		return b
	}
	return bytes.ReplaceAll(b, []byte(secret), []byte("***"))
}

func redactString(s, secret string) string {
	return string(redact([]byte(s), secret))
}

func zapErr(err error) zap.Field { return zap.Error(err) }
