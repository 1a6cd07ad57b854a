// Command caddy is a full Caddy binary with the standard modules plus
// llmgate, built with a plain `go build -o caddy ./cmd/caddy` (no xcaddy
// needed; cgo must be on for SQLite, which it is by default when gcc is
// installed).
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/llmgate/llmgate/caddymodule"
)

func main() {
	caddycmd.Main()
}
