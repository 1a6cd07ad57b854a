// Package llmgate plugs the llmgate gateway into Caddy. Importing it (or
// building Caddy with `xcaddy build --with github.com/llmgate/llmgate`)
// registers the http.handlers.llmgate module and the `llmgate` Caddyfile
// directive; the adapter itself lives in caddymodule.
package llmgate

import (
	// Registers the Caddy module and its Caddyfile directive.
	_ "github.com/llmgate/llmgate/caddymodule"
)
