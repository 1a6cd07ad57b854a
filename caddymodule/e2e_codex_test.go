//go:build codex

package caddymodule

// The Codex CLI through the gateway: opt-in, because it needs the
// @openai/codex npm package (a native binary) that CI does not install.
// Run it with
//
//	npm install --prefix /tmp/codex @openai/codex@0.169.0
//	LLMGATE_CODEX=/tmp/codex/node_modules/.bin/codex go test -tags codex -run Codex ./caddymodule/
//
// Behind a build tag rather than a skip, because the suite treats any
// skipped test as a failure.

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// One `codex exec` turn against the mock provider: Codex speaks the
// Responses API (streamed, with its function tools, a namespace of
// sub-agent tools and web_search); the gateway translates it to chat,
// the mock calls a tool, Codex runs it and sends the result back, and
// the mock's answer comes out.
func TestE2ECodexExec(t *testing.T) {
	bin := os.Getenv("LLMGATE_CODEX")
	if bin == "" {
		t.Fatal("set LLMGATE_CODEX to the codex binary (see the comment at the top of this file)")
	}
	startGateway(t)
	home := t.TempDir()
	cfg := `model = "mock-large"
model_provider = "llmgate"

[model_providers.llmgate]
name = "llmgate"
base_url = "` + httpAddr + `/v1"
env_key = "LLMGATE_KEY"
wire_api = "responses"
`
	if err := os.WriteFile(filepath.Join(home, "config.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "exec", "--skip-git-repo-check", "say hello")
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "CODEX_HOME="+home, "LLMGATE_KEY="+e2eKey)
	cmd.Stdin = strings.NewReader("")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("codex exec: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "mock answer from llmgate") {
		t.Fatalf("codex output without the gateway's answer:\n%s", out.String())
	}
	endpointRows(t, "responses", "mock", 2)
}
