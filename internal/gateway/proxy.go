package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/llmgate/llmgate/internal/limits"
	"github.com/llmgate/llmgate/internal/protocol/messages"
	"github.com/llmgate/llmgate/internal/spend"
	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/router"
	"github.com/llmgate/llmgate/store"
)

// exchange is one client request on its way through the gateway.
type exchange struct {
	g         *Gateway
	w         http.ResponseWriter
	r         *http.Request
	id        string
	start     time.Time
	principal *Principal
	ep        endpoint
	req       *peeked
	row       store.Row
	usage     providers.Usage
	target    router.Target // the target that answered (or failed last)
	answered  bool
	attemptNo int // 1-based number of the running attempt
	ticket    *limits.Ticket
	route     *router.Decision // set when the model was a route
	hold      *spend.Hold
	ttft      time.Duration
	proto     *protocol // set for the Responses and Messages APIs
}

func (g *Gateway) newRequestID(w http.ResponseWriter) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	id := "req_" + hex.EncodeToString(b[:])
	w.Header().Set("X-Llmgate-Request-Id", id)
	return id
}

// open starts the exchange of a POST endpoint: the request id, the
// method, the gateway key and the store lease. When it returns nil the
// answer was already written; otherwise the caller defers done, which
// records the row and then gives the lease back.
func (g *Gateway) open(w http.ResponseWriter, r *http.Request, ep endpoint) (x *exchange, done func()) {
	start := g.now()
	id := g.newRequestID(w)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeErrorFor(w, ep, http.StatusMethodNotAllowed, errInvalidRequest, "method_not_allowed", "use POST for "+r.URL.Path, "")
		return nil, nil
	}
	p, aerr := g.authenticate(r.Context(), r)
	if aerr != nil {
		writeErrorFor(w, ep, aerr.status, aerr.typ, aerr.code, aerr.message, "")
		return nil, nil
	}
	// The lease keeps the pooled store open until this request's row is
	// written, even if a reload or shutdown drops the config meanwhile.
	st := g.cfg.Store
	if st != nil && !st.Acquire() {
		writeErrorFor(w, ep, http.StatusServiceUnavailable, errUpstream, "shutting_down", "the gateway is shutting down; retry", "")
		return nil, nil
	}
	x = &exchange{g: g, w: w, r: r, id: id, start: start, principal: p, ep: ep}
	x.row = store.Row{ID: id, Time: start, KeyID: p.KeyID, KeyName: p.Name, Project: p.Project, Endpoint: ep.rowName()}
	return x, func() {
		x.record()
		if st != nil {
			st.Release()
		}
	}
}

// serveProxy handles POST /v1/chat/completions, /v1/embeddings,
// /v1/responses and /v1/messages.
func (g *Gateway) serveProxy(w http.ResponseWriter, r *http.Request, ep endpoint) {
	x, done := g.open(w, r, ep)
	if x == nil {
		return
	}
	defer done()

	body, err := readBody(r, g.cfg.MaxBody)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			// Without this, net/http reads (up to 256KB of) the rest of an
			// HTTP/1 body before it sends the 413, so a client still
			// uploading would wait for its own upload.
			if r.ProtoMajor == 1 {
				w.Header().Set("Connection", "close")
			}
			x.fail(http.StatusRequestEntityTooLarge, errInvalidRequest, "request_too_large",
				fmt.Sprintf("the request body is larger than this gateway's max_body (%d bytes)", g.cfg.MaxBody), "")
			return
		}
		x.fail(http.StatusBadRequest, errInvalidRequest, "invalid_body", "could not read the request body: "+err.Error(), "")
		return
	}
	var (
		pk   *peeked
		rerr *requestError
	)
	if ep == epResponses || ep == epMessages {
		pk, rerr = x.peekProtocol(body)
	} else {
		pk, rerr = peek(body, ep)
	}
	if rerr != nil {
		x.fail(rerr.status, errInvalidRequest, rerr.code, rerr.msg, rerr.param)
		return
	}
	x.req = pk
	x.row.RequestedModel = pk.model
	x.row.Stream = pk.stream
	// Plan first: a request refused for its model (403, 404) must not use
	// up the key's rate limit; then rates, then quotas and budgets.
	targets, ok := x.plan()
	if !ok || !x.admit() || !x.reserve(targets) {
		return
	}
	x.run(targets)
}

// fail answers with an error and records it on the row.
func (x *exchange) fail(status int, typ, code, msg, param string) {
	x.row.Status = "error"
	x.row.HTTPStatus = status
	x.row.ErrorCode = code
	x.row.ErrorMessage = msg
	writeErrorFor(x.w, x.ep, status, typ, code, msg, param)
}

// plan resolves the requested model, the request's own fallbacks and the
// session into targets the key may use.
func (x *exchange) plan() ([]router.Target, bool) {
	pk, rt := x.req, x.g.cfg.Router
	if route, ok := rt.Route(pk.model); ok && pk.ext.Provider == "" {
		if !x.principal.allows(pk.model, "", pk.model) {
			x.fail(http.StatusForbidden, errPermission, "model_not_allowed", fmt.Sprintf("this key may not use route %q", pk.model), "model")
			return nil, false
		}
		targets, ok := x.planRoute(route)
		if !ok {
			return nil, false
		}
		return x.withFallbacks(x.allowed(pk.model, targets))
	}
	plan, err := rt.Plan(pk.model, pk.ext.Provider)
	switch {
	case errors.Is(err, router.ErrUnknownProvider):
		x.fail(http.StatusBadRequest, errInvalidRequest, "invalid_llmgate_field",
			fmt.Sprintf("llmgate.provider %q names no configured provider", pk.ext.Provider), "llmgate")
		return nil, false
	case err != nil:
		x.fail(http.StatusNotFound, errInvalidRequest, "model_not_found",
			fmt.Sprintf("no provider serves model %q; GET /v1/models lists the models this key may use", pk.model), "model")
		return nil, false
	}
	targets := x.allowed(pk.model, plan.Targets)
	if len(targets) == 0 {
		x.fail(http.StatusForbidden, errPermission, "model_not_allowed",
			fmt.Sprintf("this key may not use model %q", pk.model), "model")
		return nil, false
	}
	if session := x.session(); session != "" && !plan.Pinned && len(targets) > 1 {
		sticky(targets, session)
	}
	return x.withFallbacks(targets)
}

// withFallbacks appends the model's configured chain and the request's
// own fallbacks, each scope-checked by its own name.
func (x *exchange) withFallbacks(targets []router.Target) ([]router.Target, bool) {
	pk, rt := x.req, x.g.cfg.Router
	for _, m := range rt.Fallbacks(pk.model) {
		// Configured chains were checked at load; one naming a model no
		// account serves any more is skipped rather than failing requests.
		if fp, err := rt.Plan(m, ""); err == nil {
			targets = append(targets, x.allowed(m, fp.Targets)...)
		}
	}
	for _, f := range pk.ext.Fallbacks {
		fp, err := rt.Plan(f.Model, f.Provider)
		if err != nil {
			x.fail(http.StatusBadRequest, errInvalidRequest, "invalid_llmgate_field",
				fmt.Sprintf("llmgate.fallbacks: no provider serves %q", f.Model), "llmgate")
			return nil, false
		}
		// A fallback never escapes the key's scope: disallowed ones are
		// dropped, not tried.
		targets = append(targets, x.allowed(f.Model, fp.Targets)...)
	}
	return dedupe(targets), true
}

// allowed keeps the targets the key may use, judged by the name the
// target was reached by (the requested model, or the fallback's own
// name): a fallback never inherits the scope of the model it stands in
// for.
func (x *exchange) allowed(name string, ts []router.Target) []router.Target {
	out := ts[:0:0]
	for _, t := range ts {
		if x.principal.allows(name, t.Account.Name, t.Model) {
			out = append(out, t)
		}
	}
	return out
}

func dedupe(ts []router.Target) []router.Target {
	seen := make(map[string]bool, len(ts))
	out := ts[:0]
	for _, t := range ts {
		k := t.Account.Name + "\x00" + t.Model
		if !seen[k] {
			seen[k] = true
			out = append(out, t)
		}
	}
	return out
}

// sticky orders targets by rendezvous hashing of (session, account), so a
// conversation lands on the same account every time while the set of
// accounts is unchanged, and only the sessions of a removed account move.
func sticky(ts []router.Target, session string) {
	score := func(t router.Target) uint64 {
		h := fnv.New64a()
		h.Write([]byte(session))
		h.Write([]byte{0})
		h.Write([]byte(t.Account.Name))
		return h.Sum64()
	}
	sort.SliceStable(ts, func(i, j int) bool { return score(ts[i]) > score(ts[j]) })
}

func (x *exchange) addAttempt(t router.Target, status int, errText string, d time.Duration) {
	x.row.Attempts = append(x.row.Attempts, store.Attempt{
		Provider: t.Account.Name, Model: t.Model, Status: status, Error: errText, DurationMS: d.Milliseconds(),
	})
}

// setAnswerHeaders names the account and model that answered.
func (x *exchange) setAnswerHeaders() {
	h := x.w.Header()
	h.Set("X-Llmgate-Provider", x.target.Account.Name)
	h.Set("X-Llmgate-Model", x.target.Model)
	h.Set("X-Llmgate-Attempts", strconv.Itoa(x.attemptNo))
}

// respondJSON writes a non-streaming answer, in the client's protocol,
// with the llmgate object attached at the top level.
func (x *exchange) respondJSON(body []byte, native bool) {
	x.answered = true
	out := attachMeta(x.answer(body, native), x.meta(x.usage))
	x.setAnswerHeaders()
	h := x.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(out)))
	x.w.WriteHeader(http.StatusOK)
	_, _ = x.w.Write(out)
	x.row.Status = "ok"
	x.row.HTTPStatus = http.StatusOK
}

// passthrough returns an upstream's non-retryable 4xx as it came, with
// the account's key redacted.
func (x *exchange) passthrough(t router.Target, se *providers.StatusError) {
	body := redact(se.Body, t.Account.Key)
	if (x.ep == epMessages || x.ep == epCountTokens) && !x.native(t) {
		// A translated Messages request gets Anthropic's error shape,
		// whatever the upstream's was.
		body = messages.ConvertError(se.Status, body)
		se.Header = http.Header{"Content-Type": {"application/json"}}
	}
	h := x.w.Header()
	h.Set("X-Llmgate-Provider", t.Account.Name)
	h.Set("X-Llmgate-Model", t.Model)
	h.Set("X-Llmgate-Attempts", strconv.Itoa(len(x.row.Attempts)))
	ct := se.Header.Get("Content-Type")
	if ct == "" {
		ct = "application/json"
	}
	h.Set("Content-Type", ct)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	x.w.WriteHeader(se.Status)
	_, _ = x.w.Write(body)
	x.row.Status = "error"
	x.row.HTTPStatus = se.Status
	x.row.ErrorCode = se.Code
	if x.row.ErrorCode == "" {
		x.row.ErrorCode = "upstream_" + strconv.Itoa(se.Status)
	}
	x.row.ErrorMessage = redactString(se.Message, t.Account.Key)
}

// allFailed answers when no attempt succeeded: 504 when every attempt
// timed out, 503 when every upstream was overloaded or rate limited (with
// the longest Retry-After they asked for), else 502.
func (x *exchange) allFailed(fs []attemptFailure) {
	timeouts, busy := 0, 0
	var retryAfter time.Duration
	parts := make([]string, 0, len(fs))
	for _, f := range fs {
		var se *providers.StatusError
		switch {
		case errors.Is(f.err, providers.ErrTimeout):
			timeouts++
		case errors.Is(f.err, errBusy), errors.Is(f.err, errBreakerOpen):
			busy++
		case errors.As(f.err, &se) && (se.Status == 429 || se.Status == 503 || se.Status == 529):
			busy++
			retryAfter = max(retryAfter, se.RetryAfter)
		}
		what := "no response"
		if f.status != 0 {
			what = strconv.Itoa(f.status) + " " + strings.ToLower(http.StatusText(f.status))
		}
		msg := ""
		if f.err != nil {
			msg = ": " + f.err.Error()
		}
		a, _ := x.g.cfg.Router.Account(f.account)
		key := ""
		if a != nil {
			key = a.Key
		}
		parts = append(parts, redactString(fmt.Sprintf("%s (%s): %s%s", f.account, f.model, what, msg), key))
	}
	msg := fmt.Sprintf("all %d upstream attempts failed: %s", len(fs), strings.Join(parts, "; "))
	status, code := http.StatusBadGateway, "all_upstreams_failed"
	switch {
	case len(fs) > 0 && timeouts == len(fs):
		status, code = http.StatusGatewayTimeout, "upstream_timeout"
	case len(fs) > 0 && busy == len(fs):
		status = http.StatusServiceUnavailable
		if retryAfter > 0 {
			x.w.Header().Set("Retry-After", strconv.FormatInt(int64((retryAfter+time.Second-1)/time.Second), 10))
		}
	}
	x.w.Header().Set("X-Llmgate-Attempts", strconv.Itoa(len(x.row.Attempts)))
	x.fail(status, errUpstream, code, msg, "")
}

// cancelled records a client that went away before an answer.
func (x *exchange) cancelled() {
	x.row.Status = "cancelled"
	x.row.HTTPStatus = 499
	x.row.ClientCancelled = true
}
