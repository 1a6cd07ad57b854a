// Package bedrock is the provider for Amazon Bedrock's Converse API. It
// translates OpenAI chat requests into Converse (POST
// /model/{modelId}/converse and /converse-stream) and the answers back,
// including the binary event-stream framing of ConverseStream.
//
// Credentials are either a Bedrock API key (api_key, sent as a Bearer
// token) or static IAM keys (options access_key_id, secret_access_key and
// optionally session_token) signed with SigV4. Only the SDK's signer is
// used: the full AWS credential chain (profiles, SSO, IMDS) would pull in
// half the SDK for a gateway that is configured explicitly anyway.
package bedrock

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/llmgate/llmgate/providers"
)

const (
	defaultRegion = "us-east-1"
	// signingName is SigV4's service name for bedrock-runtime.
	signingName = "bedrock"
)

func init() {
	providers.Register(providers.Type{
		Name:   "bedrock",
		Family: "bedrock",
		// The endpoint depends on the region option; New builds it.
		DefaultBaseURL: "",
		// IAM keys arrive as options, so an empty api_key is normal.
		KeyOptional: true,
		New:         New,
	})
}

// options are the settings the type understands; anything else is a typo
// worth failing on rather than silently running unsigned.
var options = map[string]bool{"region": true, "access_key_id": true, "secret_access_key": true, "session_token": true}

// Provider is one Bedrock account (one region, one set of credentials).
type Provider struct {
	base    *url.URL
	region  string
	apiKey  string          // Bedrock API key; when set, no SigV4
	creds   aws.Credentials // static IAM keys for SigV4
	signer  *v4.Signer
	headers http.Header
	client  *http.Client
	timeout providers.Timeouts
	// now is the signing and "created" clock (fixed in tests).
	now func() time.Time
}

// New builds a Bedrock account. It returns an error wrapping
// providers.ErrNoCredentials when neither an API key nor a complete pair
// of access keys is configured, so the gateway skips the account with a
// warning instead of failing every request with 403.
func New(cfg providers.Config) (providers.Provider, error) {
	var unknown []string
	for k := range cfg.Options {
		if !options[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("bedrock: unknown option(s) %s (known: region, access_key_id, secret_access_key, session_token)", strings.Join(unknown, ", "))
	}
	region := strings.TrimSpace(cfg.Options["region"])
	if region == "" {
		region = defaultRegion
	}
	if !validRegion(region) {
		return nil, fmt.Errorf("bedrock: region %q is not a valid AWS region name", region)
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = "https://bedrock-runtime." + region + ".amazonaws.com"
	}
	bu, err := url.Parse(base)
	if err != nil || (bu.Scheme != "http" && bu.Scheme != "https") || bu.Host == "" {
		return nil, fmt.Errorf("bedrock: base_url %q: must be an http:// or https:// URL", base)
	}
	p := &Provider{base: bu, region: region, apiKey: cfg.APIKey, now: time.Now}
	if p.apiKey == "" {
		id, secret := cfg.Options["access_key_id"], cfg.Options["secret_access_key"]
		switch {
		case id == "" && secret == "":
			return nil, fmt.Errorf("bedrock: %w (set api_key to a Bedrock API key, or options access_key_id and secret_access_key)", providers.ErrNoCredentials)
		case id == "" || secret == "":
			return nil, fmt.Errorf("bedrock: %w (access_key_id and secret_access_key must both be set)", providers.ErrNoCredentials)
		}
		p.creds = aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: cfg.Options["session_token"], Source: "llmgate static options"}
		p.signer = v4.NewSigner()
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	for k, v := range cfg.Headers {
		h.Set(k, v)
	}
	p.headers = h
	p.timeout = cfg.Timeouts.WithDefaults()
	p.client = &http.Client{Transport: providers.NewTransport(p.timeout)}
	return p, nil
}

func validRegion(r string) bool {
	for _, c := range r {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Capabilities: Converse carries tools, images, Claude's thinking and an
// assistant prefill; it has no JSON-schema output mode and this type
// serves no embeddings.
func (p *Provider) Capabilities() providers.Capabilities {
	return providers.Capabilities{Tools: true, Vision: true, Reasoning: true, AssistantPrefix: true}
}

// prepare checks the endpoint and translates the body.
func (p *Provider) prepare(req *providers.Request) ([]byte, error) {
	if req.Endpoint != providers.Chat {
		return nil, badRequest("unsupported_endpoint", "the bedrock provider serves chat completions only, not %s", req.Endpoint)
	}
	if req.Model == "" {
		return nil, badRequest("invalid_request", "a model id is required")
	}
	return buildRequest(req.Model, req.Body)
}

// escapeSegment percent-encodes everything but RFC 3986's unreserved
// characters, so a model id, inference profile or ARN (with ':' and '/')
// is one path segment: "us.amazon.nova-micro-v1:0" →
// "us.amazon.nova-micro-v1%3A0", as the AWS SDKs send it.
func escapeSegment(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0xf])
	}
	return b.String()
}

// endpoint is the URL of op for model. Path and RawPath are both set so
// Go sends the encoded form, and the signer (which takes the escaped path
// and escapes it once more, as SigV4 requires for every service but S3)
// signs exactly what goes on the wire.
func (p *Provider) endpoint(model, op string) *url.URL {
	u := *p.base
	u.Path = p.base.Path + "/model/" + model + "/" + op
	u.RawPath = p.base.EscapedPath() + "/model/" + escapeSegment(model) + "/" + op
	u.RawQuery, u.Fragment = "", ""
	return &u
}

// send posts body to op and returns the response once headers arrived,
// or a classified error; a non-2xx answer becomes *StatusError.
func (p *Provider) send(ctx context.Context, wd *providers.Watchdog, model, op string, body []byte) (*http.Response, error) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("building upstream request: %w", err)
	}
	hr.URL = p.endpoint(model, op)
	hr.Host = hr.URL.Host
	hr.Header = p.headers.Clone()
	if op == "converse-stream" {
		hr.Header.Set("Accept", "application/vnd.amazon.eventstream")
	} else {
		hr.Header.Set("Accept", "application/json")
	}
	if p.apiKey != "" {
		hr.Header.Set("Authorization", "Bearer "+p.apiKey)
	} else {
		sum := sha256.Sum256(body)
		if err := p.signer.SignHTTP(ctx, p.creds, hr, hex.EncodeToString(sum[:]), signingName, p.region, p.now()); err != nil {
			return nil, fmt.Errorf("signing upstream request: %w", err)
		}
	}
	return providers.Send(ctx, p.client, wd, hr, p.timeout.Headers, statusError)
}

// Do performs a non-streaming Converse call.
func (p *Provider) Do(ctx context.Context, req *providers.Request) (*providers.Response, error) {
	body, err := p.prepare(req)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout.Total)
	defer cancel()
	ctx, wd := providers.NewWatchdog(ctx)
	defer wd.Stop()
	resp, err := p.send(ctx, wd, req.Model, "converse", body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := providers.ReadBody(ctx, wd, resp.Body, p.timeout.Idle)
	if err != nil {
		return nil, err
	}
	return parseResponse(b, completionID(resp.Header.Get("X-Amzn-Requestid")), req.Model, p.now().Unix())
}
