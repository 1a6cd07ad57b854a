package gateway

import (
	"net/http"
	"strconv"

	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/router"
)

// modelsCreated is the "created" timestamp of listed models: the gateway
// does not know when a model was released, and a fixed value keeps the
// listing stable (2026-01-01).
const modelsCreated = 1767225600

// serveModels answers GET /v1/models and GET /v1/models/{id} with the
// models and routes the calling key may use.
func (g *Gateway) serveModels(w http.ResponseWriter, r *http.Request, id string) {
	g.newRequestID(w)
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeError(w, http.StatusMethodNotAllowed, errInvalidRequest, "method_not_allowed", "use GET for "+r.URL.Path, "")
		return
	}
	p, aerr := g.authenticate(r.Context(), r)
	if aerr != nil {
		writeError(w, aerr.status, aerr.typ, aerr.code, aerr.message, "")
		return
	}
	b := make([]byte, 0, 4096)
	n := 0
	for _, m := range g.cfg.Router.Models() {
		if !p.allowsModel(m) {
			continue
		}
		if id != "" && m.ID != id {
			continue
		}
		if id == "" {
			if n == 0 {
				b = append(b, `{"object":"list","data":[`...)
			} else {
				b = append(b, ',')
			}
		}
		n++
		b = append(b, `{"id":`...)
		b = providers.AppendJSONString(b, m.ID)
		b = append(b, `,"object":"model","created":`...)
		b = strconv.AppendInt(b, modelsCreated, 10)
		b = append(b, `,"owned_by":`...)
		b = providers.AppendJSONString(b, m.OwnedBy)
		b = append(b, '}')
	}
	if id != "" {
		if n == 0 {
			writeError(w, http.StatusNotFound, errInvalidRequest, "model_not_found", "the model '"+id+"' does not exist or this key may not use it", "model")
			return
		}
	} else if n == 0 {
		b = append(b, `{"object":"list","data":[]}`...)
	} else {
		b = append(b, "]}"...)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

// allowsModel reports whether the key may use the bare model name through
// at least one account serving it.
func (p *Principal) allowsModel(m router.ModelEntry) bool {
	if m.Route {
		return p.allows(m.ID, "", m.ID)
	}
	for _, a := range m.Accounts {
		if p.allows(m.ID, a, m.ID) {
			return true
		}
	}
	return false
}
