// Package azure is the Azure OpenAI provider type. Azure speaks OpenAI's
// wire format, so requests and answers pass through byte for byte (content
// filter results included); what differs is the URL and the auth header:
//
//   - deployment URLs (the classic form):
//     {base_url}/openai/deployments/{deployment}/chat/completions?api-version=…
//     where the deployment is the requested model name, unless the
//     account sets `option deployment <name>` to send every model to one
//     deployment;
//   - the v1 form (base_url ending in /openai/v1): {base_url}/chat/completions,
//     with the deployment as the body's model and no api-version.
//
// Auth is the `api-key` header; `option auth bearer` sends the key as an
// Entra ID bearer token instead. Azure's first stream chunk has
// `choices: []` and `prompt_filter_results`; it is passed through like any
// other chunk (it carries no usage, so it is never taken for the usage
// chunk).
package azure

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/providers/openai"
)

// DefaultAPIVersion is the GA api-version used for deployment URLs when
// the account sets none.
const DefaultAPIVersion = "2024-10-21"

func init() {
	providers.Register(providers.Type{Name: "azure", Family: "azure", New: New})
}

// New builds an Azure OpenAI account.
func New(cfg providers.Config) (providers.Provider, error) {
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		return nil, fmt.Errorf("azure: base_url is required (https://<resource>.openai.azure.com, or …/openai/v1 for the v1 API)")
	}
	cfg.BaseURL = base
	version := cfg.Options["api_version"]
	if version == "" {
		version = DefaultAPIVersion
	}
	fixed := cfg.Options["deployment"]
	v1 := strings.HasSuffix(base, "/openai/v1")
	o := openai.Options{
		Auth: func(h http.Header, key string) { h.Set("api-key", key) },
		// The v1 API serves /responses beside /chat/completions; the
		// deployment URLs need a preview api-version for it, so those
		// accounts get Responses requests translated to chat instead.
		Responses: v1,
	}
	if strings.EqualFold(cfg.Options["auth"], "bearer") {
		o.Auth = func(h http.Header, key string) { h.Set("Authorization", "Bearer "+key) }
	}
	if !v1 {
		o.URL = func(ep providers.Endpoint, model string) string {
			dep := model
			if fixed != "" {
				dep = fixed
			}
			return base + "/openai/deployments/" + url.PathEscape(dep) + "/" + string(ep) + "?api-version=" + url.QueryEscape(version)
		}
	}
	return openai.NewWith(cfg, o)
}
