// Command caddy is a full Caddy binary with the standard modules plus llmgate,
// built with a plain `go build -o caddy ./cmd/caddy` (no xcaddy needed).
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

func main() {
	caddycmd.Main()
}
