package gemini

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/providers"
)

// statusError reads a non-2xx answer. Gemini's error shape is
// {"error":{"code":429,"message","status":"RESOURCE_EXHAUSTED","details":[…]}}
// (wrapped in a one-element array by the non-SSE streaming endpoint). The
// canonical status string is the stable code, the numeric code only repeats
// the HTTP status; a google.rpc.RetryInfo detail is the upstream's own
// retry hint and is used when no Retry-After header came with it.
func statusError(resp *http.Response) *providers.StatusError {
	se := providers.NewStatusError(resp)
	root := gjson.ParseBytes(se.Body)
	if root.IsArray() {
		root = root.Get("0")
	}
	e := root.Get("error")
	if !e.IsObject() {
		return se
	}
	if m := e.Get("message"); m.Type == gjson.String && m.Str != "" {
		se.Message = m.Str
	}
	if s := e.Get("status"); s.Type == gjson.String && s.Str != "" {
		se.Code = s.Str
	}
	if se.RetryAfter == 0 {
		se.RetryAfter = retryInfoDelay(e.Get("details"))
	}
	return se
}

// retryInfoDelay finds google.rpc.RetryInfo in an error's details and
// parses its retryDelay, a protobuf Duration in JSON form ("34.4s").
func retryInfoDelay(details gjson.Result) time.Duration {
	var d time.Duration
	details.ForEach(func(_, v gjson.Result) bool {
		if !strings.HasSuffix(v.Get("@type").String(), "google.rpc.RetryInfo") {
			return true
		}
		d = protoDuration(v.Get("retryDelay").String())
		return false
	})
	return d
}

// protoDuration parses "<seconds>s" with an optional fraction; anything
// else (or a negative value) is zero.
func protoDuration(s string) time.Duration {
	num, ok := strings.CutSuffix(strings.TrimSpace(s), "s")
	if !ok {
		return 0
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f <= 0 || f > 1e9 {
		return 0
	}
	return time.Duration(f * float64(time.Second))
}

// badRequest is the answer to a client request that cannot be translated
// (a malformed body, an input form Gemini has no equivalent for). It is a
// 400 in OpenAI's error shape, so the gateway hands it to the client as
// the upstream would have, instead of failing over to other accounts that
// would refuse it the same way.
func badRequest(msg, param string) *providers.StatusError {
	type apiError struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    string  `json:"code"`
	}
	e := apiError{Message: msg, Type: "invalid_request_error", Code: "invalid_request"}
	if param != "" {
		e.Param = &param
	}
	body, _ := json.Marshal(struct {
		Error apiError `json:"error"`
	}{e})
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return &providers.StatusError{Status: http.StatusBadRequest, Header: h, Body: body, Code: e.Code, Message: msg}
}
