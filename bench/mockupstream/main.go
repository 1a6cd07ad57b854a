// Command mockupstream is a minimal, fast OpenAI-compatible upstream used by
// the llmgate benchmarks. It answers POST /v1/chat/completions with a fixed,
// realistic chat.completion (usage: 14 prompt / 30 completion tokens) or, when
// the request body contains "stream":true, with an SSE stream in OpenAI's exact
// chunk shape:
//
//	one role chunk (delta {"role":"assistant","content":""}),
//	-chunks content chunks (one token each),
//	one finish chunk (delta {}, finish_reason "stop"),
//	one usage chunk (choices [] + usage) if stream_options.include_usage is true,
//	data: [DONE]
//
// flushing after every event. All responses are pre-rendered at start-up so
// the mock costs as little CPU as possible; it is a reference, not a subject.
// It also answers GET /v1/models and GET /healthz.
//
// Usage: mockupstream [-addr 127.0.0.1:9100] [-chunks 30] [-chunk-delay 0]
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"
)

const (
	completionID = "chatcmpl-BkLMgAteBench0000000000000001"
	model        = "gpt-4o-mini-2024-07-18"
	fingerprint  = "fp_34a54ae93c"
	created      = 1750000000
)

// completionBody is a compact, realistic non-streaming answer (~630 bytes).
var completionBody = []byte(`{"id":"` + completionID + `","object":"chat.completion","created":` + strconv.Itoa(created) +
	`,"model":"` + model + `","choices":[{"index":0,"message":{"role":"assistant","content":` +
	`"Caddy is an extensible Go web server with automatic HTTPS.",` +
	`"refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],` +
	`"usage":{"prompt_tokens":14,"completion_tokens":30,"total_tokens":44,` +
	`"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},` +
	`"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},` +
	`"system_fingerprint":"` + fingerprint + `"}` + "\n")

var modelsBody = []byte(`{"object":"list","data":[{"id":"gpt-4o-mini","object":"model","created":1721172741,"owned_by":"system"},` +
	`{"id":"gpt-4o-mini-2024-07-18","object":"model","created":1721172717,"owned_by":"system"}]}` + "\n")

// words cycled through by the content chunks.
var words = []string{"Caddy", " is", " an", " extensible", " web", " server", " written", " in", " Go", "."}

// stream holds the pre-rendered SSE events.
type stream struct {
	role    []byte   // first event
	content [][]byte // one event per content chunk
	finish  []byte   // finish_reason "stop"
	usage   []byte   // choices [] + usage (only with include_usage)
	// the same, with "usage":null on every chunk (what OpenAI sends when
	// include_usage is true)
	roleU    []byte
	contentU [][]byte
	finishU  []byte
}

var done = []byte("data: [DONE]\n\n")

func chunk(delta, finish string, withNullUsage bool) []byte {
	head := `{"id":"` + completionID + `","object":"chat.completion.chunk","created":` + strconv.Itoa(created) +
		`,"model":"` + model + `","service_tier":"default","system_fingerprint":"` + fingerprint + `",` +
		`"choices":[{"index":0,"delta":` + delta + `,"logprobs":null,"finish_reason":` + finish + `}]`
	if withNullUsage {
		head += `,"usage":null`
	}
	return []byte("data: " + head + "}\n\n")
}

func buildStream(n int) *stream {
	s := &stream{}
	s.role = chunk(`{"role":"assistant","content":"","refusal":null}`, "null", false)
	s.roleU = chunk(`{"role":"assistant","content":"","refusal":null}`, "null", true)
	for i := 0; i < n; i++ {
		w := strconv.Quote(words[i%len(words)])
		s.content = append(s.content, chunk(`{"content":`+w+`}`, "null", false))
		s.contentU = append(s.contentU, chunk(`{"content":`+w+`}`, "null", true))
	}
	s.finish = chunk(`{}`, `"stop"`, false)
	s.finishU = chunk(`{}`, `"stop"`, true)
	s.usage = []byte(`data: {"id":"` + completionID + `","object":"chat.completion.chunk","created":` + strconv.Itoa(created) +
		`,"model":"` + model + `","service_tier":"default","system_fingerprint":"` + fingerprint + `","choices":[],` +
		`"usage":{"prompt_tokens":14,"completion_tokens":` + strconv.Itoa(n) + `,"total_tokens":` + strconv.Itoa(14+n) +
		`,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},` +
		`"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}` + "\n\n")
	return s
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

type handler struct {
	s          *stream
	chunkDelay time.Duration
}

var (
	streamTrue   = [][]byte{[]byte(`"stream":true`), []byte(`"stream": true`)}
	includeUsage = [][]byte{[]byte(`"include_usage":true`), []byte(`"include_usage": true`)}
)

func containsAny(b []byte, needles [][]byte) bool {
	for _, n := range needles {
		if bytes.Contains(b, n) {
			return true
		}
	}
	return false
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/v1/chat/completions", "/chat/completions":
	case "/v1/models", "/models":
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(modelsBody)))
		w.Write(modelsBody)
		return
	case "/healthz":
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		writeError(w, http.StatusNotFound, "Unknown request URL: "+r.Method+" "+r.URL.Path, "invalid_request_error")
		return
	}
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "method not allowed", "invalid_request_error")
		return
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if _, err := buf.ReadFrom(io.LimitReader(r.Body, 8<<20)); err != nil {
		writeError(w, http.StatusBadRequest, "could not read body: "+err.Error(), "invalid_request_error")
		return
	}
	body := buf.Bytes()
	if len(body) == 0 {
		writeError(w, http.StatusBadRequest, "empty body", "invalid_request_error")
		return
	}

	hdr := w.Header()
	hdr.Set("X-Request-Id", "req_mock")
	hdr.Set("Openai-Processing-Ms", "1")

	if !containsAny(body, streamTrue) {
		hdr.Set("Content-Type", "application/json")
		hdr.Set("Content-Length", strconv.Itoa(len(completionBody)))
		w.Write(completionBody)
		return
	}

	usage := containsAny(body, includeUsage)
	hdr.Set("Content-Type", "text/event-stream; charset=utf-8")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("Connection", "keep-alive")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	ctx := r.Context()
	emit := func(ev []byte, pause bool) bool {
		if pause && h.chunkDelay > 0 {
			t := time.NewTimer(h.chunkDelay)
			select {
			case <-ctx.Done():
				t.Stop()
				return false
			case <-t.C:
			}
		}
		if _, err := w.Write(ev); err != nil {
			return false
		}
		if fl != nil {
			fl.Flush()
		}
		return true
	}
	role, content, finish := h.s.role, h.s.content, h.s.finish
	if usage {
		role, content, finish = h.s.roleU, h.s.contentU, h.s.finishU
	}
	if !emit(role, false) {
		return
	}
	for _, c := range content {
		if !emit(c, true) {
			return
		}
	}
	if !emit(finish, true) {
		return
	}
	if usage && !emit(h.s.usage, false) {
		return
	}
	emit(done, false)
}

func writeError(w http.ResponseWriter, code int, msg, typ string) {
	b := []byte(fmt.Sprintf(`{"error":{"message":%s,"type":%q,"param":null,"code":null}}`+"\n", strconv.Quote(msg), typ))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(code)
	w.Write(b)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:9100", "listen address (loopback)")
	chunks := flag.Int("chunks", 30, "number of content chunks per streamed answer (1..10000)")
	delay := flag.Duration("chunk-delay", 0, "pause before each content/finish chunk of a stream (0..10s)")
	flag.Parse()
	if *chunks < 1 || *chunks > 10000 {
		log.Fatalf("-chunks must be in 1..10000, got %d", *chunks)
	}
	if *delay < 0 || *delay > 10*time.Second {
		log.Fatalf("-chunk-delay must be in 0..10s, got %s", *delay)
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("listen: %v", err)
	}
	srv := &http.Server{
		Handler:           &handler{s: buildStream(*chunks), chunkDelay: *delay},
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          log.New(io.Discard, "", 0), // connection resets under load are expected
	}
	srv.SetKeepAlivesEnabled(true)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Printf("mockupstream listening on http://%s (chunks=%d chunk-delay=%s, completion %d bytes)",
		ln.Addr(), *chunks, *delay, len(completionBody))

	select {
	case <-ctx.Done():
	case err := <-errc:
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Fatalf("serve: %v", err)
		}
		return
	}
	shCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(shCtx); err != nil {
		srv.Close()
	}
}
