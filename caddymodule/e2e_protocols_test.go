package caddymodule

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

// chatOnly is an OpenAI-compatible upstream that serves only
// /v1/chat/completions, deterministically: with a tool result in the
// conversation it answers "The weather is <result>."; with tools offered
// it calls get_weather for Paris; otherwise it echoes the last user text.
type chatOnly struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
}

func newChatOnly(t *testing.T) *chatOnly {
	c := &chatOnly{}
	c.Server = httptest.NewServer(http.HandlerFunc(c.serve))
	t.Cleanup(c.Close)
	return c
}

func (c *chatOnly) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/chat/completions" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"error":{"message":"not found","type":"invalid_request_error"}}`)
		return
	}
	body, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.bodies = append(c.bodies, body)
	c.mu.Unlock()
	var text, toolResult, lastUser string
	msgs := gjson.GetBytes(body, "messages").Array()
	for _, m := range msgs {
		content := m.Get("content")
		s := content.Str
		if content.IsArray() {
			for _, p := range content.Array() {
				s += p.Get("text").Str
			}
		}
		switch m.Get("role").Str {
		case "tool":
			toolResult = s
		case "user":
			lastUser, toolResult = s, ""
		}
	}
	call := false
	switch {
	case toolResult != "":
		text = "The weather is " + toolResult + "."
	case gjson.GetBytes(body, "tools").IsArray():
		call = true
	default:
		text = fmt.Sprintf("Hello! You said: %s (%d messages)", lastUser, len(msgs))
	}
	model := gjson.GetBytes(body, "model").Str
	usage := `{"prompt_tokens":20,"completion_tokens":7,"total_tokens":27}`
	finish := "stop"
	if call {
		finish = "tool_calls"
	}
	if !gjson.GetBytes(body, "stream").Bool() {
		msg := `{"role":"assistant","content":` + jsonStr(text) + `}`
		if call {
			msg = `{"role":"assistant","content":null,"tool_calls":[{"id":"call_w1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]}`
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":%q,"choices":[{"index":0,"message":%s,"finish_reason":%q}],"usage":%s}`, model, msg, finish, usage)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	f := w.(http.Flusher)
	send := func(delta, fr string, u string) {
		frs := "null"
		if fr != "" {
			frs = `"` + fr + `"`
		}
		choices := `[{"index":0,"delta":` + delta + `,"finish_reason":` + frs + `}]`
		if u != "" {
			choices = "[]"
		}
		ev := fmt.Sprintf(`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":%q,"choices":%s`, model, choices)
		if u != "" {
			ev += `,"usage":` + u
		}
		fmt.Fprintf(w, "data: %s}\n\n", ev)
		f.Flush()
	}
	send(`{"role":"assistant","content":""}`, "", "")
	if call {
		send(`{"tool_calls":[{"index":0,"id":"call_w2","type":"function","function":{"name":"get_weather","arguments":""}}]}`, "", "")
		send(`{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}`, "", "")
		send(`{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}`, "", "")
	} else {
		for _, word := range strings.SplitAfter(text, " ") {
			send(`{"content":`+jsonStr(word)+`}`, "", "")
		}
	}
	send(`{}`, finish, "")
	if gjson.GetBytes(body, "stream_options.include_usage").Bool() {
		send("", "", usage)
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	f.Flush()
}

func jsonStr(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// node runs one of the SDK scripts in testdata/node against the gateway.
// A machine without node or the npm packages fails the test (CI installs
// both; see .ci/run), rather than skipping it.
func node(t *testing.T, script, model string) string {
	t.Helper()
	bin, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed; the SDK tests need it (.ci/run installs it): %v", err)
	}
	dir, _ := filepath.Abs(filepath.Join("testdata", "node"))
	if _, err := os.Stat(filepath.Join(dir, "node_modules")); err != nil {
		t.Fatalf("the SDK packages are not installed: run 'npm ci --prefix %s' (.ci/run does)", dir)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LLMGATE_URL="+httpAddr, "LLMGATE_KEY="+e2eKey, "LLMGATE_MODEL="+model)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\nstdout: %s\nstderr: %s", script, err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

func protocolsConfig(up *upstream, chat *chatOnly) string {
	return config(up, `provider chatonly {
			type openai
			base_url `+chat.URL+`/v1
			api_key sk-chatonly-secret-0001
			models tool-model
		}`)
}

// The official openai npm package drives /v1/responses against a
// chat-only upstream: text, a function tool round trip through
// previous_response_id (streamed and not), retrieve and delete.
func TestE2EResponsesNodeSDK(t *testing.T) {
	tester, up := startGateway(t)
	chat := newChatOnly(t)
	tester.InitServer(protocolsConfig(up, chat), "caddyfile")
	out := node(t, "responses.mjs", "tool-model")
	if !strings.Contains(out, "sunny, 21C") {
		t.Fatalf("output %s", out)
	}
	// The follow-up reached the upstream with the whole conversation:
	// the question, the assistant's tool call and the tool's result.
	chat.mu.Lock()
	defer chat.mu.Unlock()
	found := false
	for _, b := range chat.bodies {
		msgs := gjson.GetBytes(b, "messages")
		if strings.Contains(msgs.Raw, "sunny, 21C") {
			found = true
			if !strings.Contains(msgs.Raw, "weather in Paris") || !strings.Contains(msgs.Raw, `"tool_calls"`) {
				t.Fatalf("follow-up without its history: %s", msgs.Raw)
			}
		}
	}
	if !found {
		t.Fatal("the tool result never reached the upstream")
	}
	endpointRows(t, "responses", "chatonly", 5)
}

// The official @anthropic-ai/sdk drives /v1/messages against an
// OpenAI-type upstream: text, a tool round trip (streamed and not),
// count_tokens and an Anthropic-shaped authentication error.
func TestE2EMessagesNodeSDK(t *testing.T) {
	tester, up := startGateway(t)
	chat := newChatOnly(t)
	tester.InitServer(protocolsConfig(up, chat), "caddyfile")
	out := node(t, "messages.mjs", "tool-model")
	if !strings.Contains(out, "rainy, 12C") {
		t.Fatalf("output %s", out)
	}
	endpointRows(t, "messages", "chatonly", 5)
}

// endpointRows polls until at least min rows of endpoint answered by
// provider are ok, and returns the count.
func endpointRows(t *testing.T, endpoint, provider string, min int) int {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+e2eDB+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var n int
		err = db.QueryRow(`SELECT count(*) FROM requests WHERE endpoint = ? AND provider = ? AND status = 'ok' AND completion_tokens > 0 AND cost_usd >= 0`, endpoint, provider).Scan(&n)
		if err == nil && n >= min {
			return n
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d ok %s rows from %s, want at least %d (%v)", n, endpoint, provider, min, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
