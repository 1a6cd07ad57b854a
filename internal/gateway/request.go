package gateway

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/llmgate/llmgate/internal/tokens"
)

// endpoint is a proxied OpenAI operation.
type endpoint int

const (
	epChat endpoint = iota
	epEmbeddings
	// epResponses is OpenAI's Responses API, epMessages Anthropic's
	// Messages API and epCountTokens its token counter: client protocols
	// that are translated to chat for most providers (see protocol).
	epResponses
	epMessages
	epCountTokens
)

// rowName is the endpoint as the usage row records it: the client
// protocol the request arrived on.
func (e endpoint) rowName() string {
	switch e {
	case epEmbeddings:
		return "embeddings"
	case epResponses:
		return "responses"
	case epMessages:
		return "messages"
	case epCountTokens:
		return "messages.count_tokens"
	}
	return "chat.completions"
}

// extension is the request's "llmgate" object.
type extension struct {
	Fallbacks []fallbackRef
	Provider  string
	Tier      string
	Optimize  string
	Session   string
	present   bool
}

type fallbackRef struct {
	Provider string
	Model    string
}

// peeked is what the gateway reads from a request body; the body itself
// is never decoded.
type peeked struct {
	model        string
	stream       bool
	includeUsage bool
	ext          extension
	// maxOut is max_completion_tokens, else max_tokens (0 when unset).
	maxOut int64
	// est is the estimated prompt tokens, computed once (promptTokens).
	est    int64
	estSet bool
	// body is the client body with the llmgate extension removed; the
	// model field is rewritten per target when it differs.
	body []byte
}

// requestError is a client error found while reading the request.
type requestError struct {
	status int
	code   string
	msg    string
	param  string
}

func (e *requestError) Error() string { return e.msg }

var errTooLarge = errors.New("request body too large")

// readBody reads at most max bytes; more is a 413, detected as soon as the
// excess arrives (or up front from Content-Length).
func readBody(r *http.Request, max int64) ([]byte, error) {
	if r.ContentLength > max {
		return nil, errTooLarge
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, errTooLarge
	}
	return b, nil
}

// peek validates the body and extracts what routing needs.
func peek(body []byte, ep endpoint) (*peeked, *requestError) {
	if len(body) == 0 || !gjson.ValidBytes(body) {
		return nil, &requestError{http.StatusBadRequest, "invalid_json", "the request body is not valid JSON", ""}
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return nil, &requestError{http.StatusBadRequest, "invalid_json", "the request body must be a JSON object", ""}
	}
	res := gjson.GetManyBytes(body, "model", "stream", "stream_options.include_usage", "llmgate", "max_completion_tokens", "max_tokens")
	m := res[0]
	if !m.Exists() || m.Type == gjson.Null || (m.Type == gjson.String && m.Str == "") {
		return nil, &requestError{http.StatusBadRequest, "missing_model", "the request has no 'model': name a model, provider/model, or a route such as 'auto'", "model"}
	}
	if m.Type != gjson.String {
		return nil, &requestError{http.StatusBadRequest, "invalid_value", "'model' must be a string", "model"}
	}
	p := &peeked{model: m.Str, body: body, maxOut: res[4].Int()}
	if !res[4].Exists() {
		p.maxOut = res[5].Int()
	}
	if ep == epChat {
		p.stream = res[1].Bool()
		p.includeUsage = res[2].Bool()
	}
	if ep == epResponses {
		p.maxOut = gjson.GetBytes(body, "max_output_tokens").Int()
	}
	if ext := res[3]; ext.Exists() {
		if err := parseExtension(ext, &p.ext); err != nil {
			return nil, err
		}
		b, err := sjson.DeleteBytes(body, "llmgate")
		if err != nil {
			return nil, &requestError{http.StatusBadRequest, "invalid_json", "could not remove the llmgate extension: " + err.Error(), "llmgate"}
		}
		p.body = b
	}
	return p, nil
}

func extErr(format string, args ...any) *requestError {
	return &requestError{http.StatusBadRequest, "invalid_llmgate_field", fmt.Sprintf(format, args...), "llmgate"}
}

var (
	tiers     = map[string]bool{"simple": true, "medium": true, "complex": true}
	optimizes = map[string]bool{"cost": true, "latency": true, "quality": true}
)

func parseExtension(ext gjson.Result, out *extension) *requestError {
	if !ext.IsObject() {
		return extErr("'llmgate' must be an object")
	}
	out.present = true
	var bad *requestError
	str := func(k string, v gjson.Result) (string, bool) {
		if v.Type != gjson.String {
			bad = extErr("llmgate.%s must be a string", k)
			return "", false
		}
		return v.Str, true
	}
	ext.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "provider":
			out.Provider, _ = str(k.Str, v)
		case "session":
			out.Session, _ = str(k.Str, v)
		case "tier":
			if s, ok := str(k.Str, v); ok {
				if !tiers[s] {
					bad = extErr("llmgate.tier %q is not one of simple, medium, complex", s)
				}
				out.Tier = s
			}
		case "optimize":
			if s, ok := str(k.Str, v); ok {
				if !optimizes[s] {
					bad = extErr("llmgate.optimize %q is not one of cost, latency, quality", s)
				}
				out.Optimize = s
			}
		case "fallbacks":
			if !v.IsArray() {
				bad = extErr("llmgate.fallbacks must be an array of models or {\"provider\",\"model\"} objects")
				return false
			}
			v.ForEach(func(i, f gjson.Result) bool {
				switch {
				case f.Type == gjson.String && f.Str != "":
					out.Fallbacks = append(out.Fallbacks, fallbackRef{Model: f.Str})
				case f.IsObject() && f.Get("model").Type == gjson.String && f.Get("model").Str != "":
					pv := f.Get("provider")
					if pv.Exists() && pv.Type != gjson.String {
						bad = extErr("llmgate.fallbacks[%d].provider must be a string", i.Int())
						return false
					}
					out.Fallbacks = append(out.Fallbacks, fallbackRef{Provider: pv.Str, Model: f.Get("model").Str})
				default:
					bad = extErr("llmgate.fallbacks[%d] must be a model name or an object with a 'model'", i.Int())
					return false
				}
				return true
			})
		default:
			bad = extErr("unknown field llmgate.%s (known: fallbacks, provider, tier, optimize, session)", k.Str)
		}
		return bad == nil
	})
	return bad
}

// bodyFor returns the body to send to a target: the model field is
// rewritten only when the upstream name differs from the client's.
func (p *peeked) bodyFor(model string) []byte {
	return withModel(p.body, p.model, model)
}

// withModel returns body, whose model is have, with the model set to
// want; the body is copied only when they differ.
func withModel(body []byte, have, want string) []byte {
	if want == have {
		return body
	}
	b, err := sjson.SetBytes(body, "model", want)
	if err != nil {
		return body
	}
	return b
}

func itoa(n int) string { return strconv.Itoa(n) }

// maxOutput is the output budget the request asks for (0 when unset).
func (p *peeked) maxOutput() int64 { return p.maxOut }

// promptTokens is the estimated prompt size, scanned once per request and
// shared by the rate limits, the budgets and the cancel path.
func (p *peeked) promptTokens() int64 {
	if !p.estSet {
		p.est, p.estSet = tokens.EstimatePrompt(p.body), true
	}
	return p.est
}
