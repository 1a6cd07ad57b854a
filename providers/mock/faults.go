package mock

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/llmgate/llmgate/providers"
)

// Fault injection is driven by the model name rather than by config so one
// mock account can serve healthy and failing models side by side, which is
// what retry and fallback tests need.

// failStatus returns the status asked for by a "-fail-<status>" marker in
// the model name, or 0. Only 4xx and 5xx are honoured: anything else would
// not be an error.
func failStatus(model string) int {
	n, ok := markerNumber(model, "-fail-")
	if !ok || n < 400 || n > 599 {
		return 0
	}
	return n
}

// cutAfter returns n for a "-cut-<n>" marker: the stream breaks after n
// content events.
func cutAfter(model string) (int, bool) {
	return markerNumber(model, "-cut-")
}

// markerNumber parses the decimal number that follows marker in model.
func markerNumber(model, marker string) (int, bool) {
	i := strings.Index(model, marker)
	if i < 0 {
		return 0, false
	}
	rest := model[i+len(marker):]
	end := 0
	for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(rest[:end])
	if err != nil {
		return 0, false
	}
	return n, true
}

// failureKind is the OpenAI error type and code a real upstream would send
// with a status, so the gateway's error mapping sees familiar bodies.
var failureKind = map[int][2]string{
	400: {"invalid_request_error", "invalid_request"},
	401: {"invalid_request_error", "invalid_api_key"},
	403: {"invalid_request_error", "permission_denied"},
	404: {"invalid_request_error", "model_not_found"},
	408: {"invalid_request_error", "timeout"},
	429: {"requests", "rate_limit_exceeded"},
	500: {"server_error", "server_error"},
	502: {"server_error", "bad_gateway"},
	503: {"server_error", "service_unavailable"},
	504: {"server_error", "timeout"},
}

// failure returns the StatusError a "-fail-<status>" model asks for, or nil.
// It returns the error interface (not *StatusError) so a nil result is a
// true nil.
func failure(model string) error {
	status := failStatus(model)
	if status == 0 {
		return nil
	}
	kind, ok := failureKind[status]
	if !ok {
		kind = [2]string{"invalid_request_error", "mock_failure"}
		if status >= 500 {
			kind[0] = "server_error"
		}
	}
	msg := fmt.Sprintf("The mock provider failed this request with status %d because the model name %q asks for it.", status, model)
	e := apiError(status, kind[0], kind[1], msg, "")
	if status == http.StatusTooManyRequests {
		e.RetryAfter = time.Second
		e.Header.Set("Retry-After", "1")
	}
	return e
}

// badRequest is the 400 an OpenAI upstream returns for a malformed body.
func badRequest(msg, param string) *providers.StatusError {
	return apiError(http.StatusBadRequest, "invalid_request_error", "invalid_request", msg, param)
}

// unsupportedEndpoint rejects operations the mock does not serve, the way
// an upstream answers an unknown path.
func unsupportedEndpoint(ep providers.Endpoint) *providers.StatusError {
	msg := fmt.Sprintf("The mock provider does not serve %q.", string(ep))
	if ep == providers.Embeddings {
		msg = "Embeddings cannot be streamed."
		return apiError(http.StatusBadRequest, "invalid_request_error", "invalid_request", msg, "stream")
	}
	return apiError(http.StatusNotFound, "invalid_request_error", "unknown_url", msg, "")
}

// apiError builds a StatusError whose body is OpenAI's error envelope.
func apiError(status int, typ, code, msg, param string) *providers.StatusError {
	body := errorEnvelope{Error: errorJSON{Message: msg, Type: typ, Code: code}}
	if param != "" {
		body.Error.Param = &param
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return &providers.StatusError{
		Status:  status,
		Header:  h,
		Body:    mustJSON(body),
		Code:    code,
		Message: msg,
	}
}

type errorEnvelope struct {
	Error errorJSON `json:"error"`
}

type errorJSON struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    string  `json:"code"`
}
