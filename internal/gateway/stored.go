package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/llmgate/llmgate/internal/protocol/responses"
	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/router"
	"github.com/llmgate/llmgate/store"
)

// DefaultResponsesRetention is how long stored Responses API responses
// are kept when the configuration says nothing (OpenAI keeps them 30 days).
const DefaultResponsesRetention = 30 * 24 * time.Hour

// maxChain bounds how many stored turns previous_response_id follows.
const maxChain = 10000

// responseStore is the part of a store that keeps Responses API
// responses; the SQLite store implements it.
type responseStore interface {
	PutResponse(ctx context.Context, r *store.StoredResponse) error
	GetResponse(ctx context.Context, keyID, id string) (*store.StoredResponse, error)
	ResponseChain(ctx context.Context, keyID, id string, max int) ([]*store.StoredResponse, error)
	DeleteResponse(ctx context.Context, keyID, id string) error
}

// responses returns the response store, or nil when responses are not
// kept (no store, or retention off).
func (g *Gateway) responses() responseStore {
	if g.cfg.Store == nil || g.cfg.ResponsesRetention < 0 {
		return nil
	}
	rs, _ := g.cfg.Store.Store.(responseStore)
	return rs
}

// conversation is a Responses request's place in a stored conversation.
type conversation struct {
	// prev is the response previous_response_id names, nil when none.
	prev *store.StoredResponse
	// input is this turn's own input items, a JSON array, as stored.
	input []byte
	// keep: the client asked to store this turn (store defaults to true).
	keep bool
	// expanded is the client's body with the history inlined instead of
	// previous_response_id, for targets that cannot continue it by id.
	expanded []byte
}

func (c *conversation) prevID() string {
	if c == nil || c.prev == nil {
		return ""
	}
	return c.prev.ID
}

// bodyFor picks the native body for t: previous_response_id passes
// through only to the account that stored that response itself.
func (c *conversation) bodyFor(t router.Target, native []byte) []byte {
	if c == nil || c.prev == nil || (c.prev.Native && c.prev.Provider == t.Account.Name) {
		return native
	}
	return c.expanded
}

// openConversation reads the turn's input and, with previous_response_id,
// rebuilds the conversation from the key's stored responses: each earlier
// turn's input items then its output items, oldest first.
func (x *exchange) openConversation(body []byte) ([][]byte, *requestError) {
	rs := x.g.responses()
	c := &conversation{keep: rs != nil}
	if v := gjson.GetBytes(body, "store"); v.Exists() && v.Type == gjson.False {
		c.keep = false
	}
	x.proto.conv = c
	prevID := gjson.GetBytes(body, "previous_response_id").Str
	if !c.keep && prevID == "" {
		return nil, nil // nothing to store or rebuild: the input is read once, by ToChat
	}
	items, err := responses.InputItems(body)
	if err != nil {
		return nil, translateError(err)
	}
	c.input = joinItems(items)
	if prevID == "" {
		return nil, nil
	}
	if rs == nil {
		return nil, &requestError{http.StatusBadRequest, "previous_response_not_found",
			"previous_response_id needs stored responses, which this gateway does not keep (it has no store, or responses_retention is off)", "previous_response_id"}
	}
	// Newest first; an older turn that expired ends the chain there.
	chain, err := rs.ResponseChain(x.r.Context(), x.principal.KeyID, prevID, maxChain)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, &requestError{http.StatusBadRequest, "previous_response_not_found",
			fmt.Sprintf("Previous response with id '%s' not found.", prevID), "previous_response_id"}
	case err != nil:
		return nil, &requestError{http.StatusServiceUnavailable, "store_unavailable", "could not read the stored conversation: " + err.Error(), ""}
	}
	c.prev = chain[0]
	var history [][]byte
	for i := len(chain) - 1; i >= 0; i-- {
		gjson.ParseBytes(chain[i].Input).ForEach(func(_, v gjson.Result) bool {
			history = append(history, []byte(v.Raw))
			return true
		})
		history = append(history, responses.OutputItems(chain[i].Response)...)
	}
	exp, err := sjson.DeleteBytes(body, "previous_response_id")
	if err == nil {
		exp, err = sjson.SetRawBytes(exp, "input", joinItems(append(history, items...)))
	}
	if err != nil {
		return nil, &requestError{http.StatusBadRequest, "invalid_json", "could not rebuild the conversation: " + err.Error(), "input"}
	}
	c.expanded = exp
	return history, nil
}

func joinItems(items [][]byte) []byte {
	n := 2
	for _, it := range items {
		n += len(it) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, it...)
	}
	return append(b, ']')
}

// storeResponse keeps a finished Responses answer for previous_response_id
// and GET /v1/responses/{id}. It runs before the answer reaches the
// client, on a context of its own so a client that hangs up at the last
// moment does not lose the turn.
func (x *exchange) storeResponse(obj []byte, native bool) {
	c := x.proto.conv
	rs := x.g.responses()
	if c == nil || !c.keep || rs == nil {
		return
	}
	res := gjson.GetManyBytes(obj, "id", "status")
	if res[0].Str == "" || res[1].Str == "failed" {
		return
	}
	now := x.g.now()
	ret := x.g.cfg.ResponsesRetention
	if ret == 0 {
		ret = DefaultResponsesRetention
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := rs.PutResponse(ctx, &store.StoredResponse{
		ID: res[0].Str, KeyID: x.principal.KeyID, CreatedAt: now, ExpiresAt: now.Add(ret),
		PreviousID: c.prevID(), Provider: x.target.Account.Name, Native: native,
		Input: c.input, Response: obj,
	})
	if err != nil {
		x.g.log.Error("could not store a response; previous_response_id will not find it",
			zapString("request_id", x.id), zapString("response_id", res[0].Str), zapErr(err))
	}
}

// serveStoredResponse answers GET and DELETE /v1/responses/{id} and GET
// /v1/responses/{id}/input_items from the key's own stored responses.
func (g *Gateway) serveStoredResponse(w http.ResponseWriter, r *http.Request, rest string) {
	g.newRequestID(w)
	id, sub, _ := strings.Cut(rest, "/")
	if sub != "" && sub != "input_items" || (sub == "input_items" && r.Method != http.MethodGet) {
		writeError(w, http.StatusNotFound, errInvalidRequest, "unknown_endpoint", "llmgate does not serve "+r.Method+" "+r.URL.Path, "")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodDelete {
		w.Header().Set("Allow", "GET, DELETE")
		writeError(w, http.StatusMethodNotAllowed, errInvalidRequest, "method_not_allowed", "use GET or DELETE for "+r.URL.Path, "")
		return
	}
	p, aerr := g.authenticate(r.Context(), r)
	if aerr != nil {
		writeError(w, aerr.status, aerr.typ, aerr.code, aerr.message, "")
		return
	}
	rs := g.responses()
	if rs == nil {
		writeError(w, http.StatusNotFound, errInvalidRequest, "response_not_found", "this gateway does not store responses (it has no store, or responses_retention is off)", "")
		return
	}
	// responses() is nil without a store, so the store is there.
	st := g.cfg.Store
	if !st.Acquire() {
		writeError(w, http.StatusServiceUnavailable, errUpstream, "shutting_down", "the gateway is shutting down; retry", "")
		return
	}
	defer st.Release()
	notFound := func() {
		writeError(w, http.StatusNotFound, errInvalidRequest, "response_not_found", fmt.Sprintf("No response found with id '%s'.", id), "")
	}
	if r.Method == http.MethodDelete {
		switch err := rs.DeleteResponse(r.Context(), p.KeyID, id); {
		case errors.Is(err, store.ErrNotFound):
			notFound()
		case err != nil:
			writeError(w, http.StatusServiceUnavailable, errUpstream, "store_unavailable", "could not delete the response: "+err.Error(), "")
		default:
			b := providers.AppendJSONString([]byte(`{"id":`), id)
			writeBody(w, http.StatusOK, append(b, `,"object":"response","deleted":true}`...))
		}
		return
	}
	sr, err := rs.GetResponse(r.Context(), p.KeyID, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		notFound()
		return
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, errUpstream, "store_unavailable", "could not read the response: "+err.Error(), "")
		return
	}
	if sub == "" {
		writeBody(w, http.StatusOK, sr.Response)
		return
	}
	// input_items: the turn's own input, newest first as OpenAI lists it.
	var items []string
	gjson.ParseBytes(sr.Input).ForEach(func(_, v gjson.Result) bool {
		items = append(items, v.Raw)
		return true
	})
	b := []byte(`{"object":"list","data":[`)
	for i := len(items) - 1; i >= 0; i-- {
		b = append(b, items[i]...)
		if i > 0 {
			b = append(b, ',')
		}
	}
	b = append(b, `],"has_more":false}`...)
	writeBody(w, http.StatusOK, b)
}
