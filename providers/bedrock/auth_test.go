package bedrock

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/providers/providertest"
)

// TestSigV4VerifierKnownVector pins the test's own SigV4 implementation
// to AWS's published "get-vanilla" example, so that the verifier used on
// the provider's requests is itself known to be right. The SDK's signer
// must agree on the same request.
func TestSigV4VerifierKnownVector(t *testing.T) {
	const want = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
	emptyHash := sha256Hex(nil)
	_, sig := sigV4(testSecret, "GET", "/", "", map[string]string{"host": "example.amazonaws.com", "x-amz-date": "20150830T123600Z"},
		[]string{"host", "x-amz-date"}, emptyHash, "20150830T123600Z", "us-east-1", "service")
	if sig != want {
		t.Fatalf("verifier signature %s, AWS published %s", sig, want)
	}
	req, _ := http.NewRequest("GET", "https://example.amazonaws.com/", nil)
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}, req, emptyHash, "service", "us-east-1", time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if got := req.Header.Get("Authorization"); !strings.HasSuffix(got, "Signature="+want) {
		t.Fatalf("SDK signer: %s", got)
	}
}

// TestSigV4Headers: the request that reaches the upstream carries a valid
// SigV4 signature over exactly what arrived (verified independently), the
// documented headers, and the double-encoded canonical URI.
func TestSigV4Headers(t *testing.T) {
	for _, token := range []string{"", "FQoGZXIvYXdzEXAMPLETOKEN"} {
		up := jsonUpstream(t, 200, providertest.Fixture(t, "bedrock", "converse-text.json"), nil)
		opts := map[string]string{"region": "eu-west-3"}
		if token != "" {
			opts["session_token"] = token
		}
		p := newProvider(t, up.URL, "", opts)
		p.headers.Set("X-Custom", "one  two") // extra headers are signed too
		if _, err := p.Do(context.Background(), chatReq(novaMicro, `{"messages":[{"role":"user","content":"Hello!"}]}`, false)); err != nil {
			t.Fatal(err)
		}
		r := up.Last(t)
		auth := r.Header.Get("Authorization")
		if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260314/eu-west-3/bedrock/aws4_request, SignedHeaders=") {
			t.Fatalf("Authorization %q", auth)
		}
		if d := r.Header.Get("X-Amz-Date"); d != "20260314T150926Z" {
			t.Fatalf("X-Amz-Date %q", d)
		}
		if got := r.Header.Get("X-Amz-Security-Token"); got != token {
			t.Fatalf("X-Amz-Security-Token %q, want %q", got, token)
		}
		// The SDK signer does not add x-amz-content-sha256 (only S3 needs
		// it); Bedrock does not ask for it.
		if v := r.Header.Get("X-Amz-Content-Sha256"); v != "" {
			t.Fatalf("unexpected x-amz-content-sha256 %q", v)
		}
		signed := auth[strings.Index(auth, "SignedHeaders=")+len("SignedHeaders="):]
		signed = signed[:strings.Index(signed, ",")]
		want := "accept;content-length;content-type;host;x-amz-date;x-custom"
		if token != "" {
			want = "accept;content-length;content-type;host;x-amz-date;x-amz-security-token;x-custom"
		}
		if signed != want {
			t.Fatalf("SignedHeaders %s, want %s", signed, want)
		}
		if r.URI != "/model/us.amazon.nova-micro-v1%3A0/converse" {
			t.Fatalf("request URI on the wire %s", r.URI)
		}
		canonical := verifySigV4(t, r, "eu-west-3")
		if line := strings.Split(canonical, "\n")[1]; line != "/model/us.amazon.nova-micro-v1%253A0/converse" {
			t.Fatalf("canonical URI %s: the encoded path must be encoded again", line)
		}
	}
}

// TestSigV4Stable: for a fixed clock and body the signature is
// deterministic (no hidden inputs), and it changes with the body.
func TestSigV4Stable(t *testing.T) {
	up := jsonUpstream(t, 200, providertest.Fixture(t, "bedrock", "converse-text.json"), nil)
	p := newProvider(t, up.URL, "", nil)
	body := `{"messages":[{"role":"user","content":"Hello!"}]}`
	var auths []string
	for _, b := range []string{body, body, strings.Replace(body, "Hello", "Hallo", 1)} {
		if _, err := p.Do(context.Background(), chatReq(novaMicro, b, false)); err != nil {
			t.Fatal(err)
		}
		auths = append(auths, up.Last(t).Header.Get("Authorization"))
	}
	if auths[0] != auths[1] || auths[0] == auths[2] {
		t.Fatalf("signatures %q", auths)
	}
}

// TestModelIDEncoding: base ids, inference profiles and ARNs travel as one
// encoded path segment, on the wire and (encoded again) in the signature.
func TestModelIDEncoding(t *testing.T) {
	cases := map[string]string{
		novaMicro: "/model/us.amazon.nova-micro-v1%3A0/converse-stream",
		"global.anthropic.claude-sonnet-4-6-20260101-v1:0":                                                      "/model/global.anthropic.claude-sonnet-4-6-20260101-v1%3A0/converse-stream",
		"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-6-20260101-v1:0": "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-sonnet-4-6-20260101-v1%3A0/converse-stream",
	}
	raw := providertest.Fixture(t, "bedrock", "converse-stream-text.eventstream")
	for model, want := range cases {
		up := streamUpstream(t, raw, false, 0)
		p := newProvider(t, up.URL, "", nil)
		if _, err := p.Stream(context.Background(), chatReq(model, `{"messages":[{"role":"user","content":"x"}]}`, true), &providertest.Sink{}); err != nil {
			t.Fatal(err)
		}
		r := up.Last(t)
		if r.URI != want {
			t.Fatalf("%s: request URI %s, want %s", model, r.URI, want)
		}
		canonical := verifySigV4(t, r, "us-east-1")
		if got, w := strings.Split(canonical, "\n")[1], strings.ReplaceAll(want, "%", "%25"); got != w {
			t.Fatalf("%s: canonical URI %s, want %s", model, got, w)
		}
		if r.Header.Get("Accept") != "application/vnd.amazon.eventstream" {
			t.Fatalf("Accept %q", r.Header.Get("Accept"))
		}
	}
	// A base URL with a path prefix keeps it.
	up := jsonUpstream(t, 200, providertest.Fixture(t, "bedrock", "converse-text.json"), nil)
	p := newProvider(t, up.URL+"/proxy/bedrock/", "", nil)
	if _, err := p.Do(context.Background(), chatReq(novaMicro, `{"messages":[{"role":"user","content":"x"}]}`, false)); err != nil {
		t.Fatal(err)
	}
	if r := up.Last(t); r.URI != "/proxy/bedrock/model/us.amazon.nova-micro-v1%3A0/converse" {
		t.Fatalf("request URI %s", r.URI)
	}
}

func TestBearerAPIKey(t *testing.T) {
	up := jsonUpstream(t, 200, providertest.Fixture(t, "bedrock", "converse-text.json"), nil)
	p := newProvider(t, up.URL, testKey, map[string]string{"access_key_id": testAKID, "secret_access_key": testSecret})
	if _, err := p.Do(context.Background(), chatReq(novaMicro, `{"messages":[{"role":"user","content":"x"}]}`, false)); err != nil {
		t.Fatal(err)
	}
	r := up.Last(t)
	if got := r.Header.Get("Authorization"); got != "Bearer "+testKey {
		t.Fatalf("Authorization %q", got)
	}
	for _, h := range []string{"X-Amz-Date", "X-Amz-Security-Token"} {
		if v := r.Header.Get(h); v != "" {
			t.Fatalf("%s set with an API key: %q", h, v)
		}
	}
}

func TestNewCredentials(t *testing.T) {
	for name, opts := range map[string]map[string]string{
		"nothing":             {},
		"region only":         {"region": "us-west-2"},
		"access key only":     {"access_key_id": testAKID},
		"secret only":         {"secret_access_key": testSecret},
		"session token alone": {"session_token": "tok"},
	} {
		_, err := New(providers.Config{Name: "br", Type: "bedrock", Options: opts})
		if !errors.Is(err, providers.ErrNoCredentials) {
			t.Fatalf("%s: err = %v, want ErrNoCredentials", name, err)
		}
	}
	for name, opts := range map[string]map[string]string{
		"unknown option": {"access_key_id": testAKID, "secret_access_key": testSecret, "secret_key": "typo"},
		"bad region":     {"access_key_id": testAKID, "secret_access_key": testSecret, "region": "us-east-1.evil.com/"},
	} {
		_, err := New(providers.Config{Name: "br", Type: "bedrock", Options: opts})
		if err == nil || errors.Is(err, providers.ErrNoCredentials) {
			t.Fatalf("%s: err = %v, want a configuration error", name, err)
		}
	}
	if _, err := New(providers.Config{Name: "br", Type: "bedrock", BaseURL: "ftp://x", APIKey: testKey}); err == nil {
		t.Fatal("ftp base_url accepted")
	}
}

func TestRegisteredAndDefaults(t *testing.T) {
	typ, ok := providers.Lookup("bedrock")
	if !ok || typ.Family != "bedrock" || !typ.KeyOptional || typ.DefaultBaseURL != "" {
		t.Fatalf("registered type %+v", typ)
	}
	pv, err := typ.New(providers.Config{Name: "br", Type: "bedrock", APIKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	p := pv.(*Provider)
	if got := p.endpoint(novaMicro, "converse").String(); got != "https://bedrock-runtime.us-east-1.amazonaws.com/model/us.amazon.nova-micro-v1%3A0/converse" {
		t.Fatalf("default endpoint %s", got)
	}
	pv, _ = typ.New(providers.Config{Name: "br", Type: "bedrock", APIKey: testKey, Options: map[string]string{"region": "ap-northeast-1"}})
	if got := pv.(*Provider).endpoint("m", "converse-stream").String(); got != "https://bedrock-runtime.ap-northeast-1.amazonaws.com/model/m/converse-stream" {
		t.Fatalf("regional endpoint %s", got)
	}
	c := p.Capabilities()
	if !c.Tools || !c.Vision || !c.Reasoning || !c.AssistantPrefix || c.JSONSchema || c.Embeddings {
		t.Fatalf("capabilities %+v", c)
	}
}

func TestEmbeddingsRefused(t *testing.T) {
	up := jsonUpstream(t, 200, nil, nil)
	p := newProvider(t, up.URL, "", nil)
	req := &providers.Request{Endpoint: providers.Embeddings, Model: "amazon.titan-embed-text-v2:0", Body: []byte(`{"input":"x"}`)}
	_, err := p.Do(context.Background(), req)
	var se *providers.StatusError
	if !errors.As(err, &se) || se.Status != 400 || !strings.Contains(se.Message, "embeddings") {
		t.Fatalf("err = %v", err)
	}
	if up.Count() != 0 {
		t.Fatal("upstream called")
	}
}
