// Command load is a small closed-loop HTTP load generator (standard library
// only) for the llmgate benchmarks.
//
// -c workers each send one request at a time, back to back, over one shared
// http.Transport (MaxIdleConnsPerHost = -c, so connections are reused). Every
// latency is recorded; the first -warmup-frac (default 2%) of the requests are
// discarded as warm-up, and -warmup D optionally runs D of unrecorded traffic
// before the measured phase. Latency is the time from sending the request to
// having read the whole body. With -stream, the time to first byte (the first
// body byte, i.e. the first SSE event) is also reported.
//
// Any non-2xx response or transport error counts as an error; the first few
// are printed to stderr. Percentiles are over successful requests; req/s
// counts successful requests only.
//
// Everything is bounded: -d is at most 60s, -n at most 10,000,000, and an -n
// run also stops after 60s.
//
// Examples:
//
//	load -url http://127.0.0.1:9201/v1/chat/completions -body req.json -c 50 -d 8s
//	load -url ... -body stream.json -stream -c 50 -d 5s -json -label baseline
//	load -url ... -body req.json -probe       # one request, print the answer
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	maxDuration = 60 * time.Second
	maxWarmup   = 20 * time.Second
	maxRequests = 10_000_000
	maxConc     = 5000
	maxErrShown = 3
)

type headerFlags []string

func (h *headerFlags) String() string     { return strings.Join(*h, ", ") }
func (h *headerFlags) Set(v string) error { *h = append(*h, v); return nil }

type sample struct {
	seq   int64 // 1-based issue order within the measured phase
	start int64 // ns since the measured phase began
	end   int64 // ns since the measured phase began
	ttfb  int64 // ns, first body byte; 0 if none
	ok    bool
}

type worker struct {
	samples []sample
	status  map[int]int64
	transp  int64 // transport errors
	buf     []byte
	acc     bytes.Buffer
}

type config struct {
	url      string
	method   string
	body     []byte
	header   http.Header
	host     string
	stream   bool
	expect   []byte
	timeout  time.Duration
	client   *http.Client
	errShown atomic.Int64
	errLock  sync.Mutex
}

func main() {
	var (
		url        = flag.String("url", "", "target URL (required)")
		conc       = flag.Int("c", 10, "concurrency (number of closed-loop workers)")
		nReq       = flag.Int("n", 0, "total requests in the measured phase (0 = use -d)")
		dur        = flag.Duration("d", 0, "duration of the measured phase (max 60s; default 10s if -n is 0)")
		warmup     = flag.Duration("warmup", 0, "unrecorded warm-up phase run before the measured phase (max 20s)")
		warmFrac   = flag.Float64("warmup-frac", 0.02, "fraction of the measured phase's first requests discarded as warm-up")
		bodyFile   = flag.String("body", "", "file with the request body (implies POST)")
		method     = flag.String("method", "", "HTTP method (default POST with -body, GET otherwise)")
		stream     = flag.Bool("stream", false, "streaming responses: also report time to first body byte")
		expect     = flag.String("expect", "", "a successful body must contain this string (else counted as an error)")
		timeout    = flag.Duration("timeout", 30*time.Second, "per-request timeout")
		jsonOut    = flag.Bool("json", false, "print one JSON line instead of text")
		label      = flag.String("label", "", "label copied into the output (e.g. baseline)")
		probe      = flag.Bool("probe", false, "send a single request, print status and body, exit 1 unless 2xx (and -expect matches)")
		headerList headerFlags
	)
	flag.Var(&headerList, "header", `request header "Name: value" (repeatable)`)
	flag.Parse()

	fail := func(format string, a ...any) {
		fmt.Fprintf(os.Stderr, "load: "+format+"\n", a...)
		os.Exit(2)
	}
	if *url == "" {
		fail("-url is required")
	}
	if *conc < 1 || *conc > maxConc {
		fail("-c must be in 1..%d", maxConc)
	}
	if *nReq < 0 || *nReq > maxRequests {
		fail("-n must be in 0..%d", maxRequests)
	}
	if *dur < 0 || *dur > maxDuration {
		fail("-d must be in 0..%s", maxDuration)
	}
	if *warmup < 0 || *warmup > maxWarmup {
		fail("-warmup must be in 0..%s", maxWarmup)
	}
	if *warmFrac < 0 || *warmFrac >= 0.5 {
		fail("-warmup-frac must be in [0, 0.5)")
	}
	if *nReq == 0 && *dur == 0 {
		*dur = 10 * time.Second
	}

	cfg := &config{url: *url, stream: *stream, timeout: *timeout, header: http.Header{}}
	if *expect != "" {
		cfg.expect = []byte(*expect)
	}
	if *bodyFile != "" {
		b, err := os.ReadFile(*bodyFile)
		if err != nil {
			fail("%v", err)
		}
		cfg.body = b
		cfg.method = http.MethodPost
		cfg.header.Set("Content-Type", "application/json")
	} else {
		cfg.method = http.MethodGet
	}
	if *method != "" {
		cfg.method = strings.ToUpper(*method)
	}
	for _, h := range headerList {
		name, value, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(name) == "" {
			fail("bad -header %q, want \"Name: value\"", h)
		}
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if strings.EqualFold(name, "Host") {
			cfg.host = value
			continue
		}
		cfg.header.Set(name, value)
	}

	tr := &http.Transport{
		Proxy:                 nil, // loopback benchmarks: never via a proxy
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          2 * *conc,
		MaxIdleConnsPerHost:   *conc,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
		ResponseHeaderTimeout: *timeout,
	}
	cfg.client = &http.Client{Transport: tr, Timeout: *timeout}

	if *probe {
		os.Exit(doProbe(cfg))
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// Warm-up phase: same workers, nothing recorded.
	var warmSent int64
	if *warmup > 0 {
		wctx, cancel := context.WithTimeout(ctx, *warmup)
		_, warmSent = run(wctx, cfg, *conc, 0, time.Now(), false)
		cancel()
	}
	if ctx.Err() != nil {
		fail("interrupted")
	}

	// Measured phase.
	limit := maxDuration
	if *dur > 0 {
		limit = *dur
	}
	mctx, cancel := context.WithTimeout(ctx, limit)
	t0 := time.Now()
	workers, sent := run(mctx, cfg, *conc, int64(*nReq), t0, true)
	cancel()
	wall := time.Since(t0)
	interrupted := ctx.Err() != nil

	rep := summarize(workers, *warmFrac, wall)
	rep.SentTotal = warmSent + sent
	rep.Label = *label
	rep.URL = *url
	rep.Concurrency = *conc
	rep.Stream = *stream
	rep.GOMAXPROCS = runtime.GOMAXPROCS(0)
	rep.WarmupPhaseS = warmup.Seconds()
	rep.Interrupted = interrupted
	if *nReq > 0 && rep.Sent < int64(*nReq) && !interrupted {
		rep.TimeCapped = true
	}

	if *jsonOut {
		b, _ := json.Marshal(rep)
		fmt.Println(string(b))
	} else {
		printText(rep)
	}
	if interrupted {
		os.Exit(130)
	}
}

// run drives conc closed-loop workers until ctx is done or, if n > 0, n
// requests have been issued. In-flight requests are allowed to finish (bounded
// by the per-request timeout).
func run(ctx context.Context, cfg *config, conc int, n int64, t0 time.Time, record bool) ([]*worker, int64) {
	var seq atomic.Int64
	workers := make([]*worker, conc)
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{status: map[int]int64{}, buf: make([]byte, 32<<10)}
		if record {
			w.samples = make([]sample, 0, 4096)
		}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				s := seq.Add(1)
				if n > 0 && s > n {
					return
				}
				start := time.Now()
				ok, ttfb := w.do(cfg)
				if record {
					end := time.Now()
					var tf int64
					if !ttfb.IsZero() {
						tf = int64(ttfb.Sub(start))
					}
					w.samples = append(w.samples, sample{
						seq: s, start: int64(start.Sub(t0)), end: int64(end.Sub(t0)), ttfb: tf, ok: ok,
					})
				}
			}
		}()
	}
	wg.Wait()
	// count what was actually sent (seq also counts the final, unsent attempts)
	var sent int64
	for _, w := range workers {
		for _, c := range w.status {
			sent += c
		}
		sent += w.transp
	}
	return workers, sent
}

func (w *worker) do(cfg *config) (ok bool, ttfb time.Time) {
	var body io.Reader
	if cfg.body != nil {
		body = bytes.NewReader(cfg.body)
	}
	// Requests are deliberately not tied to the phase context: an in-flight
	// request finishes (within -timeout) so that every request sent is counted.
	req, err := http.NewRequest(cfg.method, cfg.url, body)
	if err != nil {
		w.transp++
		cfg.showErr("building request: %v", err)
		return false, ttfb
	}
	req.Header = cfg.header.Clone()
	if cfg.host != "" {
		req.Host = cfg.host
	}
	resp, err := cfg.client.Do(req)
	if err != nil {
		w.transp++
		cfg.showErr("transport error: %v", err)
		return false, ttfb
	}
	w.status[resp.StatusCode]++
	good := resp.StatusCode >= 200 && resp.StatusCode < 300
	keep := !good || cfg.expect != nil
	w.acc.Reset()
	var rerr error
	for {
		n, err := resp.Body.Read(w.buf)
		if n > 0 {
			if ttfb.IsZero() {
				ttfb = time.Now()
			}
			if keep && w.acc.Len() < 1<<20 {
				w.acc.Write(w.buf[:n])
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				rerr = err
			}
			break
		}
	}
	resp.Body.Close()
	switch {
	case !good:
		cfg.showErr("HTTP %d: %s", resp.StatusCode, trunc(w.acc.Bytes(), 500))
		return false, ttfb
	case rerr != nil:
		// counted under its status, but the request failed
		w.status[resp.StatusCode]--
		w.transp++
		cfg.showErr("reading body: %v", rerr)
		return false, ttfb
	case cfg.expect != nil && !bytes.Contains(w.acc.Bytes(), cfg.expect):
		w.status[resp.StatusCode]--
		w.status[-1]++ // "bad body"
		cfg.showErr("HTTP %d but body lacks %q: %s", resp.StatusCode, cfg.expect, trunc(w.acc.Bytes(), 500))
		return false, ttfb
	}
	return true, ttfb
}

func (cfg *config) showErr(format string, a ...any) {
	if cfg.errShown.Add(1) > maxErrShown {
		return
	}
	cfg.errLock.Lock()
	fmt.Fprintf(os.Stderr, "load: "+format+"\n", a...)
	cfg.errLock.Unlock()
}

func trunc(b []byte, n int) string {
	s := strings.TrimSpace(string(b))
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

func doProbe(cfg *config) int {
	var body io.Reader
	if cfg.body != nil {
		body = bytes.NewReader(cfg.body)
	}
	req, err := http.NewRequest(cfg.method, cfg.url, body)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load: probe:", err)
		return 1
	}
	req.Header = cfg.header.Clone()
	if cfg.host != "" {
		req.Host = cfg.host
	}
	start := time.Now()
	resp, err := cfg.client.Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load: probe:", err)
		return 1
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	el := time.Since(start)
	fmt.Printf("HTTP %d %s in %s\n", resp.StatusCode, resp.Header.Get("Content-Type"), el.Round(time.Microsecond))
	fmt.Println(trunc(b, 4000))
	if err != nil {
		fmt.Fprintln(os.Stderr, "load: probe: reading body:", err)
		return 1
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return 1
	}
	if cfg.expect != nil && !bytes.Contains(b, cfg.expect) {
		fmt.Fprintf(os.Stderr, "load: probe: body lacks %q\n", cfg.expect)
		return 1
	}
	return 0
}

type report struct {
	Label        string           `json:"label,omitempty"`
	URL          string           `json:"url"`
	Concurrency  int              `json:"concurrency"`
	Stream       bool             `json:"stream"`
	GOMAXPROCS   int              `json:"gomaxprocs"`
	Sent         int64            `json:"sent"`      // every request sent in the measured phase, warm-up included
	Discarded    int64            `json:"discarded"` // first -warmup-frac of them
	Requests     int64            `json:"requests"`  // recorded: Sent - Discarded
	OK           int64            `json:"ok"`
	Errors       int64            `json:"errors"`
	Status       map[string]int64 `json:"status"` // by HTTP status; "transport", "badbody"
	WarmupPhaseS float64          `json:"warmup_phase_s"`
	WindowS      float64          `json:"window_s"` // measured window (first recorded start .. last end)
	WallS        float64          `json:"wall_s"`
	RPS          float64          `json:"rps"` // OK / window
	P50          float64          `json:"p50_ms"`
	P90          float64          `json:"p90_ms"`
	P99          float64          `json:"p99_ms"`
	Max          float64          `json:"max_ms"`
	Mean         float64          `json:"mean_ms"`
	TTFBP50      float64          `json:"ttfb_p50_ms,omitempty"`
	TTFBP99      float64          `json:"ttfb_p99_ms,omitempty"`
	TimeCapped   bool             `json:"time_capped,omitempty"`
	Interrupted  bool             `json:"interrupted,omitempty"`
	// SentTotal includes the warm-up phase: the number of requests the target
	// received from this run (useful to cross-check server-side logs).
	SentTotal int64 `json:"sent_total"`
}

func summarize(workers []*worker, frac float64, wall time.Duration) report {
	var all []sample
	rep := report{Status: map[string]int64{}, WallS: wall.Seconds()}
	for _, w := range workers {
		all = append(all, w.samples...)
	}
	rep.Sent = int64(len(all))
	skip := int64(math.Ceil(frac * float64(len(all))))
	rep.Discarded = skip
	var lat, ttfb []int64
	var first, last int64 = math.MaxInt64, 0
	var sum float64
	for _, s := range all {
		if s.seq <= skip {
			continue
		}
		rep.Requests++
		first = min(first, s.start)
		last = max(last, s.end)
		if !s.ok {
			rep.Errors++
			continue
		}
		rep.OK++
		d := s.end - s.start
		lat = append(lat, d)
		sum += float64(d)
		if s.ttfb > 0 {
			ttfb = append(ttfb, s.ttfb)
		}
	}
	// status counts over the whole measured phase (warm-up share included)
	for _, w := range workers {
		for code, c := range w.status {
			if c == 0 {
				continue
			}
			k := fmt.Sprint(code)
			if code == -1 {
				k = "badbody"
			}
			rep.Status[k] += c
		}
		if w.transp > 0 {
			rep.Status["transport"] += w.transp
		}
	}
	if rep.Requests > 0 && last > first {
		rep.WindowS = float64(last-first) / 1e9
		rep.RPS = float64(rep.OK) / rep.WindowS
	}
	slices.Sort(lat)
	slices.Sort(ttfb)
	rep.P50, rep.P90, rep.P99 = pct(lat, 0.50), pct(lat, 0.90), pct(lat, 0.99)
	if len(lat) > 0 {
		rep.Max = ms(lat[len(lat)-1])
		rep.Mean = sum / float64(len(lat)) / 1e6
	}
	if len(ttfb) > 0 {
		rep.TTFBP50, rep.TTFBP99 = pct(ttfb, 0.50), pct(ttfb, 0.99)
	}
	return rep
}

// pct is the nearest-rank percentile of sorted v, in milliseconds.
func pct(v []int64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(v)))) - 1
	i = max(0, min(i, len(v)-1))
	return ms(v[i])
}

func ms(ns int64) float64 { return math.Round(float64(ns)/1e3) / 1e3 }

func printText(r report) {
	lbl := r.URL
	if r.Label != "" {
		lbl = r.Label + " (" + r.URL + ")"
	}
	fmt.Printf("target:      %s\n", lbl)
	fmt.Printf("concurrency: %d   GOMAXPROCS(load): %d   stream: %v\n", r.Concurrency, r.GOMAXPROCS, r.Stream)
	fmt.Printf("requests:    %d recorded (%d discarded as warm-up, %d sent), %d errors\n", r.Requests, r.Discarded, r.Sent, r.Errors)
	codes := make([]string, 0, len(r.Status))
	for k := range r.Status {
		codes = append(codes, k)
	}
	sort.Strings(codes)
	var parts []string
	for _, k := range codes {
		parts = append(parts, fmt.Sprintf("%s=%d", k, r.Status[k]))
	}
	fmt.Printf("status:      %s\n", strings.Join(parts, " "))
	fmt.Printf("window:      %.2fs (wall %.2fs, warm-up phase %.1fs)\n", r.WindowS, r.WallS, r.WarmupPhaseS)
	fmt.Printf("req/s:       %.0f\n", r.RPS)
	fmt.Printf("latency ms:  p50 %.3f  p90 %.3f  p99 %.3f  max %.3f  mean %.3f\n", r.P50, r.P90, r.P99, r.Max, r.Mean)
	if r.Stream {
		fmt.Printf("TTFB ms:     p50 %.3f  p99 %.3f\n", r.TTFBP50, r.TTFBP99)
	}
	if r.TimeCapped {
		fmt.Printf("note:        stopped by the %s time cap before -n was reached\n", maxDuration)
	}
}
