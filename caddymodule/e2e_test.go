package caddymodule

// End-to-end tests: a real Caddy (caddytest, in-process, admin on
// localhost:2999) loads a real Caddyfile, and real clients talk to it. This
// is the only package that uses caddytest, because every caddytest package
// would fight over the admin port. caddytest skips rather than fails when
// it cannot start Caddy; CI treats any skip as a failure.

import (
	"bufio"
	"context"
	"crypto/tls"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
	_ "github.com/mattn/go-sqlite3"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
	"github.com/tidwall/gjson"

	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

const (
	e2eKey   = "lg_e2e0000000000000000000000000000000"
	httpAddr = "http://localhost:18080"
	tlsAddr  = "https://localhost:18443"
)

var (
	e2eDir string
	e2eDB  string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "llmgate-e2e-")
	if err != nil {
		panic(err)
	}
	e2eDir = dir
	e2eDB = filepath.Join(dir, "e2e.db")
	// Keep Caddy's data (internal CA, autosave) out of the user's home.
	os.Setenv("XDG_DATA_HOME", filepath.Join(dir, "data"))
	os.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// upstream is an OpenAI-compatible server whose behaviour is chosen by the
// model name: "spaced" streams 5 events 200 ms apart, "slow" 20 events
// 100 ms apart, "endless" streams until its context ends.
type upstream struct {
	*httptest.Server
	mu        sync.Mutex
	ctxEnded  chan struct{}
	endedOnce sync.Once
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{ctxEnded: make(chan struct{})}
	u.Server = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.Close)
	return u
}

func chunk(model, content string, finish string) string {
	fr := "null"
	delta := fmt.Sprintf(`{"content":%q}`, content)
	if finish != "" {
		fr = `"` + finish + `"`
		delta = "{}"
	}
	return fmt.Sprintf(`data: {"id":"chatcmpl-e2e","object":"chat.completion.chunk","created":1,"model":%q,"choices":[{"index":0,"delta":%s,"logprobs":null,"finish_reason":%s}]}`+"\n\n", model, delta, fr)
}

func (u *upstream) serve(w http.ResponseWriter, r *http.Request) {
	var body [1 << 16]byte
	n, _ := r.Body.Read(body[:])
	model := gjson.GetBytes(body[:n], "model").Str
	if !gjson.GetBytes(body[:n], "stream").Bool() {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"chatcmpl-e2e","object":"chat.completion","created":1,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":14,"completion_tokens":30,"total_tokens":44}}`, model)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	rc := http.NewResponseController(w)
	events, gap := 5, 200*time.Millisecond
	switch model {
	case "slow":
		events, gap = 20, 100*time.Millisecond
	case "endless":
		events, gap = 1000, 50*time.Millisecond
	}
	for i := 0; i < events; i++ {
		if i > 0 {
			select {
			case <-time.After(gap):
			case <-r.Context().Done():
				u.endedOnce.Do(func() { close(u.ctxEnded) })
				return
			}
		}
		fmt.Fprint(w, chunk(model, fmt.Sprintf("w%d ", i), ""))
		rc.Flush()
	}
	fmt.Fprint(w, chunk(model, "", "stop"))
	fmt.Fprint(w, `data: {"id":"chatcmpl-e2e","object":"chat.completion.chunk","created":1,"model":"`+model+`","choices":[],"usage":{"prompt_tokens":14,"completion_tokens":`+fmt.Sprint(events)+`,"total_tokens":`+fmt.Sprint(14+events)+`}}`+"\n\ndata: [DONE]\n\n")
	rc.Flush()
}

// config renders the test Caddyfile; extra lands inside the llmgate block
// so reloads can change something (an identical config is a no-op).
func config(up *upstream, extra string) string {
	return fmt.Sprintf(`{
	admin localhost:2999
	http_port 18080
	https_port 18443
	skip_install_trust
	grace_period 5s
	storage file_system %[1]s/storage
}

(gw) {
	llmgate {
		store sqlite %[2]s
		provider mock {
			type mock
		}
		provider up {
			type openai
			base_url %[3]s/v1
			api_key sk-upstream-secret-0001
			models spaced slow endless gpt-4o-mini
		}
		key %[4]s {
			name e2e
		}
		%[5]s
	}
}

http://localhost:18080 {
	import gw
}

https://localhost:18443 {
	tls internal
	import gw
}
`, e2eDir, e2eDB, up.URL, e2eKey, extra)
}

var (
	serverOnce sync.Once
	sharedUp   *upstream
)

func startGateway(t *testing.T) (*caddytest.Tester, *upstream) {
	t.Helper()
	tester := caddytest.NewTester(t).WithDefaultOverrides(caddytest.Config{TestRequestTimeout: 30 * time.Second, LoadRequestTimeout: 10 * time.Second})
	serverOnce.Do(func() {
		sharedUp = &upstream{ctxEnded: make(chan struct{})}
		sharedUp.Server = httptest.NewServer(http.HandlerFunc(sharedUp.serve))
	})
	tester.InitServer(config(sharedUp, ""), "caddyfile")
	return tester, sharedUp
}

func sdk(base string) openai.Client {
	return openai.NewClient(option.WithBaseURL(base+"/v1"), option.WithAPIKey(e2eKey), option.WithMaxRetries(0))
}

// rowStatus polls the SQLite file for a request's row (rows are written
// by the batch writer, off the request path).
func rowStatus(t *testing.T, id string) (status string, cost float64, completion int64) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+e2eDB+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		err = db.QueryRow(`SELECT status, cost_usd, completion_tokens FROM requests WHERE id = ?`, id).Scan(&status, &cost, &completion)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no row for %s: %v", id, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestE2EOpenAISDK(t *testing.T) {
	startGateway(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := sdk(httpAddr)

	t.Run("chat", func(t *testing.T) {
		resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model:    "mock-mini",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("echo hello through the gateway")},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Choices[0].Message.Content; got != "hello through the gateway" {
			t.Fatalf("content %q", got)
		}
		meta := gjson.Get(resp.RawJSON(), "llmgate")
		if meta.Get("provider").Str != "mock" || meta.Get("cost_usd").Float() <= 0 || meta.Get("attempts").Int() != 1 {
			t.Fatalf("llmgate object %s", meta.Raw)
		}
		if resp.Usage.TotalTokens == 0 {
			t.Fatal("no usage")
		}
		status, cost, _ := rowStatus(t, meta.Get("request_id").Str)
		if status != "ok" || cost != meta.Get("cost_usd").Float() {
			t.Fatalf("row status %s cost %v, response cost %v", status, cost, meta.Get("cost_usd").Float())
		}
	})

	t.Run("stream", func(t *testing.T) {
		stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
			Model:         "mock-mini",
			Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("echo one two three four")},
			StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
		})
		acc := openai.ChatCompletionAccumulator{}
		var last string
		for stream.Next() {
			acc.AddChunk(stream.Current())
			last = stream.Current().RawJSON()
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if got := acc.Choices[0].Message.Content; got != "one two three four" {
			t.Fatalf("accumulated %q", got)
		}
		if acc.Usage.CompletionTokens == 0 || !gjson.Get(last, "llmgate.request_id").Exists() {
			t.Fatalf("usage %+v, last chunk %s", acc.Usage, last)
		}
	})

	t.Run("tool call round trip", func(t *testing.T) {
		params := openai.ChatCompletionNewParams{
			Model:    "mock-mini",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is the weather in Paris?")},
			Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
				Name: "get_weather",
				Parameters: shared.FunctionParameters{
					"type":       "object",
					"properties": map[string]any{"city": map[string]any{"type": "string"}},
					"required":   []string{"city"},
				},
			})},
		}
		stream := client.Chat.Completions.NewStreaming(ctx, params)
		acc := openai.ChatCompletionAccumulator{}
		for stream.Next() {
			acc.AddChunk(stream.Current())
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		calls := acc.Choices[0].Message.ToolCalls
		if len(calls) != 1 || calls[0].Function.Name != "get_weather" || !gjson.Valid(calls[0].Function.Arguments) || acc.Choices[0].FinishReason != "tool_calls" {
			t.Fatalf("tool calls %+v finish %q", calls, acc.Choices[0].FinishReason)
		}
		params.Messages = append(params.Messages, acc.Choices[0].Message.ToParam(), openai.ToolMessage("sunny, 24C", calls[0].ID))
		resp, err := client.Chat.Completions.New(ctx, params)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(resp.Choices[0].Message.Content, "sunny, 24C") {
			t.Fatalf("answer after tool result: %q", resp.Choices[0].Message.Content)
		}
	})

	t.Run("embeddings and models", func(t *testing.T) {
		emb, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{
			Model: "mock-embed",
			Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"a", "b"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(emb.Data) != 2 || len(emb.Data[0].Embedding) == 0 || emb.Usage.PromptTokens == 0 {
			t.Fatalf("embeddings %+v", emb.Usage)
		}
		page, err := client.Models.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		for _, m := range page.Data {
			ids[m.ID] = true
		}
		if !ids["mock-mini"] || !ids["slow"] {
			t.Fatalf("models %v", ids)
		}
	})

	t.Run("errors", func(t *testing.T) {
		bad := openai.NewClient(option.WithBaseURL(httpAddr+"/v1"), option.WithAPIKey("lg_wrong000000000000000000000000000000"), option.WithMaxRetries(0))
		_, err := bad.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "mock-mini", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Code != "invalid_api_key" {
			t.Fatalf("bad key: %v", err)
		}
		if strings.Contains(err.Error(), "lg_wrong") {
			t.Fatal("the error echoes the key")
		}
		_, err = client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "no-such-model", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "model_not_found" {
			t.Fatalf("unknown model: %v", err)
		}
		// A stream cut after its first byte ends with an error event the
		// SDK raises, never as a clean finish.
		stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "mock-cut-3", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}},
			option.WithJSONSet("model", "mock/mock-cut-3"))
		n := 0
		for stream.Next() {
			n++
		}
		if err := stream.Err(); err == nil || !strings.Contains(err.Error(), "stream_interrupted") || n == 0 {
			t.Fatalf("cut stream: %d chunks, err %v", n, err)
		}
	})
}

// readEvents reads an SSE body, returning each data payload and when it
// arrived.
func readEvents(t *testing.T, resp *http.Response) (data []string, at []time.Time) {
	t.Helper()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, "data: ") {
			data = append(data, l[6:])
			at = append(at, time.Now())
		}
	}
	return data, at
}

func streamRequest(t *testing.T, client *http.Client, base, model string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/v1/chat/completions", strings.NewReader(`{"model":"`+model+`","stream":true,"messages":[{"role":"user","content":"go"}]}`))
	req.Header.Set("Authorization", "Bearer "+e2eKey)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	return resp
}

// waitReady waits until the site answers: with `tls internal` the
// certificate is issued in the background just after the config loads.
func waitReady(t *testing.T, c *http.Client, base string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := c.Get(base + "/v1/models")
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never became ready: %v", base, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Events spaced 200 ms apart upstream arrive spaced the same way: nothing
// between the upstream and the client buffers, over HTTP/1.1 and over
// HTTPS with HTTP/2.
func TestE2EStreamIsNotBuffered(t *testing.T) {
	startGateway(t)
	cases := []struct {
		name  string
		base  string
		proto int
		c     *http.Client
	}{
		{"http1", httpAddr, 1, &http.Client{Timeout: 20 * time.Second}},
		{"https-h2", tlsAddr, 2, &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, // Caddy's internal CA
			ForceAttemptHTTP2: true,
		}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			waitReady(t, c.c, c.base)
			resp := streamRequest(t, c.c, c.base, "spaced")
			defer resp.Body.Close()
			if resp.ProtoMajor != c.proto {
				t.Fatalf("protocol HTTP/%d, want HTTP/%d", resp.ProtoMajor, c.proto)
			}
			data, at := readEvents(t, resp)
			// 5 content events, the finish chunk (carrying the llmgate
			// object; the usage chunk is hidden), [DONE].
			if len(data) != 7 || data[6] != "[DONE]" || !gjson.Get(data[5], "llmgate").Exists() {
				t.Fatalf("events %q", data)
			}
			for i := 1; i < 5; i++ {
				gap := at[i].Sub(at[i-1])
				if gap < 100*time.Millisecond || gap > 600*time.Millisecond {
					t.Errorf("gap between events %d and %d was %v; upstream spaced them 200ms apart", i-1, i, gap)
				}
			}
		})
	}
}

// A client that goes away mid-stream cancels the upstream request.
func TestE2EClientDisconnectCancelsUpstream(t *testing.T) {
	_, up := startGateway(t)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", httpAddr+"/v1/chat/completions", strings.NewReader(`{"model":"endless","stream":true,"messages":[{"role":"user","content":"go"}]}`))
	req.Header.Set("Authorization", "Bearer "+e2eKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	id := resp.Header.Get("X-Llmgate-Request-Id")
	br := bufio.NewReader(resp.Body)
	for i := 0; i < 3; i++ {
		if _, err := br.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	resp.Body.Close()
	select {
	case <-up.ctxEnded:
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream request was not cancelled after the client left")
	}
	status, _, completion := rowStatus(t, id)
	if status != "cancelled" || completion == 0 {
		t.Fatalf("row status %q completion %d, want cancelled with the tokens seen so far", status, completion)
	}
}

// Streams open across two config reloads, and across the removal of the
// handler, finish intact, and every one of them leaves its row.
func TestE2EReloadUnderLoad(t *testing.T) {
	tester, up := startGateway(t)
	run := func(n int, during func()) []string {
		var wg sync.WaitGroup
		ids := make([]string, n)
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				resp := streamRequest(t, &http.Client{Timeout: 30 * time.Second}, httpAddr, "slow")
				defer resp.Body.Close()
				ids[i] = resp.Header.Get("X-Llmgate-Request-Id")
				data, _ := readEvents(t, resp)
				if len(data) != 22 || data[21] != "[DONE]" || strings.Contains(strings.Join(data, ""), `"error"`) {
					errs <- fmt.Errorf("stream %d not intact: %d events, last %q", i, len(data), data[len(data)-1])
				}
			}(i)
		}
		time.Sleep(300 * time.Millisecond)
		during()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		return ids
	}

	ids := run(8, func() {
		tester.InitServer(config(up, "max_body 20MB"), "caddyfile")
		time.Sleep(300 * time.Millisecond)
		tester.InitServer(config(up, "max_body 30MB"), "caddyfile")
	})
	for _, id := range ids {
		if status, _, _ := rowStatus(t, id); status != "ok" {
			t.Errorf("row %s status %q", id, status)
		}
	}

	// Removing the handler while its streams are open: the store closes
	// only after the last one ends, with every row written.
	ids = run(4, func() {
		tester.InitServer(`{
	admin localhost:2999
	http_port 18080
	https_port 18443
	skip_install_trust
	storage file_system `+e2eDir+`/storage
}
http://localhost:18080 {
	respond "gateway removed"
}`, "caddyfile")
	})
	for _, id := range ids {
		if status, _, _ := rowStatus(t, id); status != "ok" {
			t.Errorf("row %s status %q after the handler was removed", id, status)
		}
	}
}

// GET /llmgate/providers on the admin endpoint shows each account's
// health, and the state survives a reload.
func TestE2EProvidersHealthSurvivesReload(t *testing.T) {
	tester, up := startGateway(t)
	client := sdk(httpAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// mock-fail-503 fails every attempt with 503: the default policy
	// tries it twice, and the client gets a clean 503.
	_, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "mock/mock-fail-503",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 || apiErr.Code != "all_upstreams_failed" {
		t.Fatalf("failing model: %v", err)
	}
	errorsOf := func() int64 {
		resp, err := http.Get("http://localhost:2999/llmgate/providers")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Providers []struct {
				Name        string `json:"name"`
				State       string `json:"state"`
				ModelHealth []struct {
					Model  string `json:"model"`
					Errors int64  `json:"errors"`
				} `json:"model_health"`
			} `json:"providers"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		names := map[string]bool{}
		var n int64
		for _, p := range body.Providers {
			names[p.Name] = true
			for _, m := range p.ModelHealth {
				if p.Name == "mock" && m.Model == "mock-fail-503" {
					n = m.Errors
				}
			}
		}
		if !names["mock"] || !names["up"] {
			t.Fatalf("providers view lists %v", names)
		}
		return n
	}
	before := errorsOf()
	if before < 2 {
		t.Fatalf("mock/mock-fail-503 shows %d errors, want at least 2", before)
	}
	tester.InitServer(config(up, "max_body 11MB"), "caddyfile")
	if after := errorsOf(); after < before {
		t.Fatalf("health was reset by a reload: %d errors before, %d after", before, after)
	}
}
