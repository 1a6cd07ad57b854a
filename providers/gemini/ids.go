package gemini

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
)

// Tool-call ids.
//
// Gemini function calls have no id, yet OpenAI clients need one per call
// and send it back twice: on the assistant message's tool_calls and on
// each tool result. Keeping a table would make the gateway stateful (and
// wrong after a restart or on another replica), so the id itself carries
// the state:
//
//		call_<base64url, unpadded, of {"n":<function name>,"s":<thoughtSignature>,"k":<nonce>}>
//
//	  - "n" names the functionResponse of a tool result whose assistant
//	    message is no longer in the conversation (trimmed histories).
//	  - "s" is the thoughtSignature Gemini 3 attached to the functionCall
//	    part; it must go back on that part next turn or the upstream answers
//	    400 "Function call is missing a thought_signature". Omitted when none.
//	  - "k" makes ids unique when one answer calls the same function twice
//	    (Gemini 2.x parallel calls carry no signature). It is derived from
//	    the response id and the call's position, so a replayed stream yields
//	    the same ids.
//
// Ids are long when a signature rides along (about 2 KB for Gemini 3 Pro);
// that is the price of statelessness. Ids that do not decode (made by
// another provider) are used as plain ids: the name then comes from the
// assistant message that carried the call.
const idPrefix = "call_"

type idPayload struct {
	Name      string `json:"n"`
	Signature string `json:"s,omitempty"`
	Nonce     string `json:"k,omitempty"`
}

// encodeCallID builds the id of the call at position (cand, idx) of the
// response respID.
func encodeCallID(respID string, cand, idx int, name, signature string) string {
	h := sha256.Sum256([]byte(respID + "/" + strconv.Itoa(cand) + "/" + strconv.Itoa(idx)))
	b, _ := json.Marshal(idPayload{Name: name, Signature: signature, Nonce: base64.RawURLEncoding.EncodeToString(h[:6])})
	return idPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// decodeCallID recovers the name and signature from an id this provider
// made; ok is false for any other id.
func decodeCallID(id string) (name, signature string, ok bool) {
	enc, found := strings.CutPrefix(id, idPrefix)
	if !found || enc == "" {
		return "", "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return "", "", false
	}
	var p idPayload
	if json.Unmarshal(raw, &p) != nil || p.Name == "" {
		return "", "", false
	}
	return p.Name, p.Signature, true
}
