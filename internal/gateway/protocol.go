package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/internal/protocol/messages"
	"github.com/llmgate/llmgate/internal/protocol/responses"
	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/router"
)

// protocol is the state of a request that arrived on the Responses or the
// Messages API. The request is translated to chat once, up front, and
// x.req.body holds the chat body, so routing, limits, budgets and
// accounting see it like any chat request; a target that speaks the
// client's protocol natively gets the client's own body instead, and its
// events pass through untranslated.
type protocol struct {
	// native is the client's body without the llmgate extension.
	native []byte
	// header holds the protocol headers forwarded to native targets.
	header http.Header
	// respID and created identify a translated answer (resp_… / msg_…).
	respID  string
	created int64

	// conv is a Responses request's stored conversation.
	conv *conversation
}

// nativeEndpoint is the provider endpoint that serves ep natively.
func (e endpoint) nativeEndpoint() providers.Endpoint {
	switch e {
	case epResponses:
		return providers.Responses
	case epMessages:
		return providers.Messages
	case epCountTokens:
		return providers.CountTokens
	}
	return ""
}

// forwardedHeaders are the client's protocol headers a native Anthropic
// target needs (Claude Code selects features with anthropic-beta).
var forwardedHeaders = []string{"Anthropic-Version", "Anthropic-Beta"}

func newID(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// peekProtocol reads a Responses or Messages request: the model, the
// stream flag and the llmgate extension from the client's body, then the
// chat translation that every non-native target gets.
func (x *exchange) peekProtocol(body []byte) (*peeked, *requestError) {
	pk, rerr := peek(body, x.ep)
	if rerr != nil {
		return nil, rerr
	}
	pr := &protocol{native: pk.body, created: x.start.Unix(), header: forwarded(x.r.Header)}
	x.proto = pr
	var (
		chat []byte
		err  error
	)
	switch x.ep {
	case epResponses:
		pr.respID = newID("resp_")
		var history [][]byte
		if history, rerr = x.openConversation(pk.body); rerr != nil {
			return nil, rerr
		}
		chat, err = responses.ToChat(pk.body, history)
	case epMessages:
		pr.respID = newID("msg_")
		chat, err = messages.ToChat(pk.body)
	}
	if err != nil {
		return nil, translateError(err)
	}
	stream := gjson.GetBytes(pk.body, "stream").Bool()
	out := &peeked{model: pk.model, ext: pk.ext, body: chat, stream: stream, includeUsage: stream}
	out.maxOut = gjson.GetBytes(chat, "max_completion_tokens").Int()
	return out, nil
}

// translateError turns a translator's refusal into a 400.
func translateError(err error) *requestError {
	var re *responses.RequestError
	if errors.As(err, &re) {
		return &requestError{http.StatusBadRequest, "invalid_value", re.Msg, re.Param}
	}
	var me *messages.RequestError
	if errors.As(err, &me) {
		return &requestError{http.StatusBadRequest, "invalid_value", me.Msg, me.Param}
	}
	return &requestError{http.StatusBadRequest, "invalid_value", err.Error(), ""}
}

// native reports whether target t serves the client's protocol itself.
func (x *exchange) native(t router.Target) bool {
	return x.proto != nil && providers.Speaks(t.Account.Provider, x.ep.nativeEndpoint())
}

// nativeBody is the client's body for a native target, with the model
// rewritten and, for a Responses conversation the target cannot continue
// by id, the stored history inlined.
func (x *exchange) nativeBody(t router.Target) []byte {
	b := x.proto.native
	if x.ep == epResponses {
		b = x.proto.conv.bodyFor(t, b)
	}
	return withModel(b, x.req.model, t.Model)
}

// answer converts a non-streaming upstream answer into the client's
// protocol (a native answer is already in it) and stores a Responses
// answer the client asked to keep.
func (x *exchange) answer(body []byte, native bool) []byte {
	if x.proto == nil {
		return body
	}
	switch x.ep {
	case epResponses:
		if !native {
			body = responses.FromChat(body, x.proto.native, responses.Meta{
				ID: x.proto.respID, CreatedAt: x.proto.created, Model: x.target.Model,
				PreviousResponseID: x.proto.conv.prevID(),
			})
		}
		x.storeResponse(body, native)
	case epMessages:
		if !native {
			body = messages.FromChat(body, messages.Meta{ID: x.proto.respID, Model: x.target.Model})
		}
	}
	return body
}

// streamWriter is where a translated stream's chat frames go: a writer
// that turns them into the client's protocol on the way to w.
func (x *exchange) streamWriter(w io.Writer) io.Writer {
	switch x.ep {
	case epResponses:
		sw := responses.NewStreamWriter(w, x.proto.native, responses.Meta{
			ID: x.proto.respID, CreatedAt: x.proto.created, Model: x.target.Model,
			PreviousResponseID: x.proto.conv.prevID(),
		})
		// Stored before the terminal event leaves, so a follow-up that
		// names this response right away finds it.
		sw.BeforeTerminal = func(resp []byte) { x.storeResponse(resp, false) }
		return sw
	case epMessages:
		return messages.NewStreamWriter(w, messages.Meta{ID: x.proto.respID, Model: x.target.Model, InputTokens: x.req.promptTokens()})
	}
	return w
}

// errorBody renders an error in the shape of the client's protocol.
func (e endpoint) errorBody(status int, typ, code, msg, param string) []byte {
	if e == epMessages || e == epCountTokens {
		return messages.ErrorBody(status, msg)
	}
	return errorBody(typ, code, msg, param)
}

// writeErrorFor answers with an error in ep's shape.
func writeErrorFor(w http.ResponseWriter, ep endpoint, status int, typ, code, msg, param string) {
	writeBody(w, status, ep.errorBody(status, typ, code, msg, param))
}
