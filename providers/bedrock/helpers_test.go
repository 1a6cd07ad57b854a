package bedrock

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"maps"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/providers/providertest"
)

const (
	testAKID   = "AKIDEXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	testKey    = "bedrock-api-key-secret-123"
	novaMicro  = "us.amazon.nova-micro-v1:0"
)

// fixedNow is the signing clock of the tests.
var fixedNow = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// jsonUpstream answers every request with status and body, stamped with
// a request id as Bedrock does.
func jsonUpstream(t testing.TB, status int, body []byte, hdr map[string]string) *providertest.Upstream {
	h := map[string]string{"X-Amzn-Requestid": "req-0001"}
	maps.Copy(h, hdr)
	return providertest.NewUpstream(t, providertest.JSONAnswer(status, body, h))
}

// streamUpstream answers with an event-stream body, whole or, when
// chunked is set, in small pieces drawn from seed.
func streamUpstream(t testing.TB, body []byte, chunked bool, seed uint64) *providertest.Upstream {
	return providertest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
		w.Header().Set("X-Amzn-Requestid", "req-stream-1")
		w.WriteHeader(http.StatusOK)
		if !chunked {
			_, _ = w.Write(body)
			return
		}
		providertest.WritePieces(w, body, seed)
	})
}

// newProvider builds a provider pointed at base with static IAM keys and
// the fixed clock; opts are extra options.
func newProvider(t testing.TB, base string, apiKey string, opts map[string]string) *Provider {
	t.Helper()
	o := map[string]string{}
	if apiKey == "" {
		o["access_key_id"], o["secret_access_key"] = testAKID, testSecret
	}
	for k, v := range opts {
		o[k] = v
	}
	bp := providertest.New(t, providers.Config{Name: "br", Type: "bedrock", BaseURL: base, APIKey: apiKey, Options: o}).(*Provider)
	bp.now = func() time.Time { return fixedNow }
	return bp
}

func chatReq(model, body string, stream bool) *providers.Request {
	return &providers.Request{Endpoint: providers.Chat, Model: model, Body: []byte(body), Stream: stream}
}

// summary reassembles a translated stream.
type summary struct {
	content, reasoning string
	tools              []streamedTool
	finish             string
	usage              *providers.Usage
	done               bool
	malformed          int
	ids                map[string]bool
	tokens             int64
}

type streamedTool struct{ id, name, args string }

func summarize(t testing.TB, evs []providers.Event) summary {
	t.Helper()
	s := summary{ids: map[string]bool{}}
	for i, ev := range evs {
		if ev.Malformed {
			s.malformed++
			continue
		}
		if ev.Done {
			if string(ev.Data) != "[DONE]" || i != len(evs)-1 {
				t.Fatalf("[DONE] event %d/%d: %q", i, len(evs), ev.Data)
			}
			s.done = true
			continue
		}
		if !gjson.ValidBytes(ev.Data) {
			t.Fatalf("event %d is not JSON: %s", i, ev.Data)
		}
		if ev.Raw != nil {
			t.Fatalf("event %d has Raw set", i)
		}
		root := gjson.ParseBytes(ev.Data)
		s.ids[root.Get("id").Str] = true
		if root.Get("object").Str != "chat.completion.chunk" {
			t.Fatalf("event %d object %q", i, root.Get("object").Str)
		}
		s.tokens += ev.Tokens
		if ev.UsageOnly {
			if len(root.Get("choices").Array()) != 0 || ev.Usage == nil {
				t.Fatalf("usage-only event %d: %s", i, ev.Data)
			}
			u := *ev.Usage
			s.usage = &u
			continue
		}
		ch := root.Get("choices.0")
		d := ch.Get("delta")
		s.content += d.Get("content").Str
		s.reasoning += d.Get("reasoning_content").Str
		d.Get("tool_calls").ForEach(func(_, tc gjson.Result) bool {
			idx := int(tc.Get("index").Int())
			for len(s.tools) <= idx {
				s.tools = append(s.tools, streamedTool{})
			}
			if id := tc.Get("id").Str; id != "" {
				s.tools[idx].id = id
				s.tools[idx].name = tc.Get("function.name").Str
			}
			s.tools[idx].args += tc.Get("function.arguments").Str
			return true
		})
		if fr := ch.Get("finish_reason"); fr.Type == gjson.String {
			if !ev.Finish {
				t.Fatalf("event %d has finish_reason but Finish unset", i)
			}
			s.finish = fr.Str
		}
	}
	return s
}

// encodeFrame builds an event-stream message (the inverse of the decoder,
// written independently from the spec).
func encodeFrame(headers []header, payload []byte) []byte {
	var hb bytes.Buffer
	for _, h := range headers {
		hb.WriteByte(byte(len(h.Name)))
		hb.WriteString(h.Name)
		hb.WriteByte(h.Type)
		if h.Type == typeString || h.Type == typeBytes {
			_ = binary.Write(&hb, binary.BigEndian, uint16(len(h.Value)))
		}
		hb.Write(h.Value)
	}
	total := uint32(12 + hb.Len() + len(payload) + 4)
	var b bytes.Buffer
	_ = binary.Write(&b, binary.BigEndian, total)
	_ = binary.Write(&b, binary.BigEndian, uint32(hb.Len()))
	_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(b.Bytes()[:8]))
	b.Write(hb.Bytes())
	b.Write(payload)
	_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(b.Bytes()))
	return b.Bytes()
}

func strHeader(name, v string) header { return header{Name: name, Type: typeString, Value: []byte(v)} }

// eventFrame builds a Bedrock event frame.
func eventFrame(eventType, payload string) []byte {
	return encodeFrame([]header{
		strHeader(":event-type", eventType),
		strHeader(":content-type", "application/json"),
		strHeader(":message-type", "event"),
	}, []byte(payload))
}

// exceptionFrame builds a Bedrock exception frame.
func exceptionFrame(typ, msg string) []byte {
	return encodeFrame([]header{
		strHeader(":exception-type", typ),
		strHeader(":content-type", "application/json"),
		strHeader(":message-type", "exception"),
	}, []byte(`{"message":`+strconv.Quote(msg)+`}`))
}

// --- an independent SigV4 verifier, written from AWS's documented rules ---

func hmacSHA256(key []byte, s string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return m.Sum(nil)
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// uriEncode encodes every byte but the unreserved ones (and '/' when
// keepSlash), as the canonical request requires.
func uriEncode(s string, keepSlash bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0 || (keepSlash && c == '/') {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// sigV4 computes the signature from the request parts. canonicalURI is
// the path exactly as it went on the wire; it is URI-encoded once more
// (non-S3 services double-encode).
func sigV4(secret, method, wirePath, query string, hdrs map[string]string, signed []string, payloadHash, amzDate, region, service string) (canonical, signature string) {
	var ch strings.Builder
	for _, h := range signed {
		ch.WriteString(h + ":" + strings.Join(strings.Fields(hdrs[h]), " ") + "\n")
	}
	canonical = strings.Join([]string{method, uriEncode(wirePath, true), query, ch.String(), strings.Join(signed, ";"), payloadHash}, "\n")
	scope := amzDate[:8] + "/" + region + "/" + service + "/aws4_request"
	sts := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + sha256Hex([]byte(canonical))
	k := hmacSHA256([]byte("AWS4"+secret), amzDate[:8])
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	k = hmacSHA256(k, "aws4_request")
	return canonical, hex.EncodeToString(hmacSHA256(k, sts))
}

// verifySigV4 checks a received request's Authorization header against
// an independent computation over what actually arrived.
func verifySigV4(t testing.TB, r providertest.Received, region string) (canonical string) {
	t.Helper()
	auth := r.Header.Get("Authorization")
	const alg = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(auth, alg) {
		t.Fatalf("Authorization %q", auth)
	}
	parts := map[string]string{}
	for _, kv := range strings.Split(strings.TrimPrefix(auth, alg), ", ") {
		k, v, _ := strings.Cut(kv, "=")
		parts[k] = v
	}
	amzDate := r.Header.Get("X-Amz-Date")
	wantCred := testAKID + "/" + amzDate[:8] + "/" + region + "/bedrock/aws4_request"
	if parts["Credential"] != wantCred {
		t.Fatalf("Credential %q, want %q", parts["Credential"], wantCred)
	}
	signed := strings.Split(parts["SignedHeaders"], ";")
	if !sort.StringsAreSorted(signed) {
		t.Fatalf("SignedHeaders not sorted: %v", signed)
	}
	hdrs := map[string]string{}
	for _, h := range signed {
		switch h {
		case "host":
			hdrs[h] = r.Host
		case "content-length":
			hdrs[h] = strconv.Itoa(len(r.Body))
		default:
			hdrs[h] = strings.Join(r.Header.Values(h), ",")
		}
	}
	path, query, _ := strings.Cut(r.URI, "?")
	canonical, sig := sigV4(testSecret, r.Method, path, query, hdrs, signed, sha256Hex(r.Body), amzDate, region, "bedrock")
	if parts["Signature"] != sig {
		t.Fatalf("signature %s, independent computation %s\ncanonical request:\n%s", parts["Signature"], sig, canonical)
	}
	return canonical
}
