package providers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"
)

// Default attempt timeouts, used when an account sets none. They are
// generous on purpose: reasoning models can think for minutes before the
// first token, and a gateway that cuts them off is worse than a slow one.
const (
	DefaultConnectTimeout    = 10 * time.Second
	DefaultHeadersTimeout    = 120 * time.Second
	DefaultFirstTokenTimeout = 120 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultTotalTimeout      = 10 * time.Minute
)

// WithDefaults fills zero timeouts with the defaults.
func (t Timeouts) WithDefaults() Timeouts {
	if t.Connect == 0 {
		t.Connect = DefaultConnectTimeout
	}
	if t.Headers == 0 {
		t.Headers = DefaultHeadersTimeout
	}
	if t.FirstToken == 0 {
		t.FirstToken = DefaultFirstTokenTimeout
	}
	if t.Idle == 0 {
		t.Idle = DefaultIdleTimeout
	}
	if t.Total == 0 {
		t.Total = DefaultTotalTimeout
	}
	return t
}

// NewTransport returns the HTTP transport for one account. The idle pool
// is sized for a gateway: the default of two idle connections per host
// would make every concurrent request beyond the second open a new TLS
// connection.
func NewTransport(t Timeouts) *http.Transport {
	t = t.WithDefaults()
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   t.Connect,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          2048,
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   t.Connect,
		ExpectContinueTimeout: time.Second,
	}
}

// Watchdog cancels an attempt's context when a phase deadline (headers,
// first token, idle gap) passes, recording which one as the cause. One
// timer is reused across events, so arming it per event is cheap.
type Watchdog struct {
	mu     sync.Mutex
	timer  *time.Timer
	cancel context.CancelCauseFunc
	phase  string
}

// NewWatchdog derives a context from parent that the watchdog can cancel.
func NewWatchdog(parent context.Context) (context.Context, *Watchdog) {
	ctx, cancel := context.WithCancelCause(parent)
	return ctx, &Watchdog{cancel: cancel}
}

// Arm (re)starts the deadline for the named phase; d <= 0 disarms it.
func (w *Watchdog) Arm(phase string, d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.phase = phase
	if d <= 0 {
		if w.timer != nil {
			w.timer.Stop()
		}
		return
	}
	if w.timer == nil {
		w.timer = time.AfterFunc(d, w.fire)
		return
	}
	w.timer.Reset(d)
}

func (w *Watchdog) fire() {
	w.mu.Lock()
	phase := w.phase
	w.mu.Unlock()
	w.cancel(fmt.Errorf("%w: no %s in time", ErrTimeout, phase))
}

// Stop disarms the watchdog and releases the context.
func (w *Watchdog) Stop() {
	w.mu.Lock()
	if w.timer != nil {
		w.timer.Stop()
	}
	w.mu.Unlock()
	w.cancel(context.Canceled)
}

// Classify turns a transport or read error into one of the sentinel
// causes, keeping the original text. A cancellation by the client stays
// context.Canceled so the gateway records it as such, not as an upstream
// failure.
func Classify(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
		if errors.Is(cause, ErrTimeout) {
			return cause
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("%w: total deadline passed", ErrTimeout)
		}
		return cause
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%w: %v", ErrTimeout, err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrNetwork, err)
}

// maxErrorBody bounds how much of an upstream error body is kept.
const maxErrorBody = 1 << 20

// NewStatusError reads an upstream's non-2xx answer into a StatusError,
// peeking the OpenAI-shaped (or xAI's flat) error fields.
func NewStatusError(resp *http.Response) *StatusError {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	se := &StatusError{Status: resp.StatusCode, Header: resp.Header.Clone(), Body: body}
	if gjson.ValidBytes(body) {
		res := gjson.GetManyBytes(body, "error.message", "error.code", "error.type", "message", "error")
		switch {
		case res[0].Exists():
			se.Message = res[0].String()
			se.Code = res[1].String()
			if se.Code == "" {
				se.Code = res[2].String()
			}
		case res[4].Type == gjson.String:
			se.Message = res[4].String()
		case res[3].Exists():
			se.Message = res[3].String()
		}
	}
	if se.Message == "" {
		se.Message = strings.TrimSpace(string(body[:min(len(body), 200)]))
	}
	se.RetryAfter = RetryAfter(resp.Header, time.Now())
	return se
}

// RetryAfter parses retry-after-ms, then Retry-After as seconds or an HTTP
// date; zero when absent or unparseable.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// MaxBody bounds a non-streaming answer read into memory.
const MaxBody = 64 << 20

// ReadBody reads a non-streaming answer. The answer may take as long as
// generation does, so the idle deadline bounds the gaps between bytes (it
// is re-armed whenever bytes arrive), not the whole read; more than
// MaxBody bytes is a malformed answer.
func ReadBody(ctx context.Context, wd *Watchdog, r io.Reader, idle time.Duration) ([]byte, error) {
	wd.Arm("response body", idle)
	b, err := io.ReadAll(io.LimitReader(&idleReader{r: r, wd: wd, idle: idle}, MaxBody+1))
	if err != nil {
		return nil, Classify(ctx, err)
	}
	if len(b) > MaxBody {
		return nil, fmt.Errorf("%w: body larger than %d bytes", ErrBadResponse, MaxBody)
	}
	return b, nil
}

// idleReader re-arms the idle deadline whenever bytes arrive.
type idleReader struct {
	r    io.Reader
	wd   *Watchdog
	idle time.Duration
}

func (ir *idleReader) Read(b []byte) (int, error) {
	n, err := ir.r.Read(b)
	if n > 0 {
		ir.wd.Arm("response body", ir.idle)
	}
	return n, err
}

// NewPost builds an upstream POST carrying the account's headers and the
// Accept that fits a stream or a JSON answer.
func NewPost(ctx context.Context, url string, body []byte, header http.Header, stream bool) (*http.Request, error) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("building upstream request: %w", err)
	}
	hr.Header = header.Clone()
	if stream {
		hr.Header.Set("Accept", "text/event-stream")
	} else {
		hr.Header.Set("Accept", "application/json")
	}
	return hr, nil
}

// Send performs an upstream request under the header deadline and returns
// the response once its headers arrived. A transport failure becomes a
// classified error; a non-2xx answer becomes a *StatusError read by toErr
// (the provider's native error shape), or NewStatusError when nil.
func Send(ctx context.Context, c *http.Client, wd *Watchdog, hr *http.Request, headers time.Duration, toErr func(*http.Response) *StatusError) (*http.Response, error) {
	wd.Arm("response headers", headers)
	resp, err := c.Do(hr)
	if err != nil {
		return nil, Classify(ctx, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		if toErr == nil {
			toErr = NewStatusError
		}
		se := toErr(resp)
		resp.Body.Close()
		return nil, se
	}
	return resp, nil
}
