package router

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/llmgate/llmgate/providers"
)

func className(c Class) string {
	switch c {
	case Retry:
		return "Retry"
	case MoveOn:
		return "MoveOn"
	case SkipModel:
		return "SkipModel"
	case MoveOnAccount:
		return "MoveOnAccount"
	case Final:
		return "Final"
	}
	return fmt.Sprintf("Class(%d)", int(c))
}

func statusErr(status int, code, msg string) *providers.StatusError {
	return &providers.StatusError{Status: status, Header: http.Header{}, Code: code, Message: msg,
		Body: []byte(`{"error":{"message":"` + msg + `","code":"` + code + `"}}`)}
}

func checkFailure(t *testing.T, name string, got, want Failure) {
	t.Helper()
	if got != want {
		t.Errorf("%s: Classify = {%s wait=%v accountWide=%v health=%v}, want {%s wait=%v accountWide=%v health=%v}",
			name, className(got.Class), got.Wait, got.AccountWide, got.Health,
			className(want.Class), want.Wait, want.AccountWide, want.Health)
	}
}

// Every upstream status is classified as the README says.
func TestClassifyStatuses(t *testing.T) {
	p := RetryPolicy{}.WithDefaults()
	for _, s := range []int{408, 409, 429, 500, 502, 503, 504, 529} {
		se := statusErr(s, "", "overloaded")
		se.RetryAfter = 1500 * time.Millisecond
		checkFailure(t, fmt.Sprint(s), p.Classify(se), Failure{Class: Retry, Wait: 1500 * time.Millisecond, Health: true})
		// Wrapped errors are recognised too.
		checkFailure(t, fmt.Sprint(s, " wrapped"), p.Classify(fmt.Errorf("attempt: %w", se)), Failure{Class: Retry, Wait: 1500 * time.Millisecond, Health: true})
	}
	for _, s := range []int{400, 404, 422, 413, 405, 501} {
		checkFailure(t, fmt.Sprint(s), p.Classify(statusErr(s, "invalid_value", "bad request")), Failure{Class: Final})
	}
	for _, s := range []int{401, 403} {
		checkFailure(t, fmt.Sprint(s), p.Classify(statusErr(s, "invalid_api_key", "Incorrect API key provided")),
			Failure{Class: MoveOnAccount, AccountWide: true, Health: true})
	}
	for _, se := range []*providers.StatusError{
		statusErr(429, "insufficient_quota", "You exceeded your current quota, please check your plan and billing details."),
		statusErr(429, "", "You exceeded your current quota, please check your plan and billing details."),
	} {
		checkFailure(t, "429 "+se.Message, p.Classify(se), Failure{Class: MoveOnAccount, AccountWide: true, Health: true})
	}
	// A plain rate limit is retried, not a billing stop.
	checkFailure(t, "429 rate limit", p.Classify(statusErr(429, "rate_limit_exceeded", "Rate limit reached for requests")), Failure{Class: Retry, Health: true})
}

// Context-length rejections skip the model, in each provider's wording.
func TestClassifyContextLength(t *testing.T) {
	p := RetryPolicy{}.WithDefaults()
	for _, se := range []*providers.StatusError{
		statusErr(400, "context_length_exceeded", "Please reduce the length of the messages."),
		statusErr(400, "", "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens."),
		statusErr(400, "", "prompt is too long: 210000 tokens > 200000 maximum"),
		statusErr(400, "invalid_request_error", "The prompt is too long: 200000, model maximum context length: 131072"),
		statusErr(400, "", "Prompt contains 40000 tokens and 0 draft tokens, too large for model with 32768 maximum context length"),
		statusErr(413, "string_above_max_length", "string too long"),
		statusErr(422, "", "Input is too long for requested model."),
	} {
		checkFailure(t, fmt.Sprintf("%d %s %q", se.Status, se.Code, se.Message), p.Classify(se), Failure{Class: SkipModel})
	}
	// The wording on a server error is not a context-length rejection.
	checkFailure(t, "500 with the wording", p.Classify(statusErr(500, "", "maximum context length exceeded while batching")), Failure{Class: Retry, Health: true})
}

// xAI words it "maximum prompt length" (flat {"code","error"} body).
func TestClassifyContextLengthXAI(t *testing.T) {
	p := RetryPolicy{}.WithDefaults()
	se := statusErr(400, "Client specified an invalid argument", "This model's maximum prompt length is 131072 but the request contains 136973 tokens.")
	checkFailure(t, "xai", p.Classify(se), Failure{Class: SkipModel})
	se = statusErr(400, "INVALID_ARGUMENT", "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).")
	checkFailure(t, "gemini", p.Classify(se), Failure{Class: SkipModel})
}

// Content-policy rejections are the client's to see: never retried, never
// failed over, whatever the code or wording.
func TestClassifyContentPolicy(t *testing.T) {
	p := RetryPolicy{}.WithDefaults()
	for _, se := range []*providers.StatusError{
		statusErr(400, "content_policy_violation", "Your request was rejected as a result of our safety system."),
		statusErr(400, "content_filter", "The response was filtered due to the prompt triggering Azure OpenAI's content management policy."),
		statusErr(400, "moderation_blocked", "blocked"),
		statusErr(400, "", "Your request was rejected as a result of our safety system."),
		statusErr(400, "", "This request violates our content policy."),
	} {
		checkFailure(t, fmt.Sprintf("%s %q", se.Code, se.Message), p.Classify(se), Failure{Class: Final})
	}
}

// Timeouts move on, network failures are retried, and a refused
// connection concerns the whole account.
func TestClassifyTransportErrors(t *testing.T) {
	p := RetryPolicy{}.WithDefaults()
	cases := []struct {
		name string
		err  error
		want Failure
	}{
		{"headers timeout", fmt.Errorf("%w: no response headers in time", providers.ErrTimeout), Failure{Class: MoveOn, Health: true}},
		{"first token timeout", fmt.Errorf("%w: no first token in time", providers.ErrTimeout), Failure{Class: MoveOn, Health: true}},
		{"reset", fmt.Errorf("%w: read tcp 127.0.0.1:1->127.0.0.1:2: read: connection reset by peer", providers.ErrNetwork), Failure{Class: Retry, Health: true}},
		{"eof", fmt.Errorf("%w: Post \"http://x\": EOF", providers.ErrNetwork), Failure{Class: Retry, Health: true}},
		{"no such host", fmt.Errorf("%w: dial tcp: lookup api.nowhere: no such host", providers.ErrNetwork), Failure{Class: Retry, Health: true, AccountWide: true}},
		{"stream broken", fmt.Errorf("%w: stream ended before a finish_reason", providers.ErrStreamBroken), Failure{Class: Retry, Health: true}},
		{"bad response", fmt.Errorf("%w: answer is not JSON", providers.ErrBadResponse), Failure{Class: Retry, Health: true}},
		{"client cancelled", context.Canceled, Failure{Class: Final}},
		{"other", errors.New("something else"), Failure{Class: Final}},
	}
	for _, c := range cases {
		checkFailure(t, c.name, p.Classify(c.err), c.want)
	}

	// A real refused connection, classified the way providers do it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, derr := net.Dial("tcp", addr)
	if derr == nil {
		t.Skip("something listens on the closed port")
	}
	cerr := providers.Classify(context.Background(), derr)
	if !errors.Is(cerr, providers.ErrNetwork) {
		t.Fatalf("dial error classified as %v", cerr)
	}
	checkFailure(t, "connection refused", p.Classify(cerr), Failure{Class: Retry, Health: true, AccountWide: true})
}

// A policy with its own statuses retries exactly those; network and
// timeout retries are then off unless asked for.
func TestClassifyCustomStatuses(t *testing.T) {
	p := RetryPolicy{Statuses: map[int]bool{500: true, 418: true}}.WithDefaults()
	checkFailure(t, "500", p.Classify(statusErr(500, "", "x")), Failure{Class: Retry, Health: true})
	checkFailure(t, "418", p.Classify(statusErr(418, "", "x")), Failure{Class: Retry, Health: true})
	for _, s := range []int{429, 502, 503} {
		checkFailure(t, fmt.Sprint(s), p.Classify(statusErr(s, "", "x")), Failure{Class: Final})
	}
	// 401 and billing stops are about the account, whatever the list.
	checkFailure(t, "401", p.Classify(statusErr(401, "", "x")), Failure{Class: MoveOnAccount, AccountWide: true, Health: true})
	checkFailure(t, "quota", p.Classify(statusErr(429, "insufficient_quota", "x")), Failure{Class: MoveOnAccount, AccountWide: true, Health: true})
	checkFailure(t, "network off", p.Classify(fmt.Errorf("%w: reset", providers.ErrNetwork)), Failure{Class: Final, Health: true})
	checkFailure(t, "timeout off", p.Classify(fmt.Errorf("%w: x", providers.ErrTimeout)), Failure{Class: Final, Health: true})

	p = RetryPolicy{Statuses: map[int]bool{503: true}, Network: true, Timeout: true}.WithDefaults()
	checkFailure(t, "network on", p.Classify(fmt.Errorf("%w: reset", providers.ErrNetwork)), Failure{Class: Retry, Health: true})
	checkFailure(t, "timeout on", p.Classify(fmt.Errorf("%w: x", providers.ErrTimeout)), Failure{Class: MoveOn, Health: true})
	checkFailure(t, "500 not listed", p.Classify(statusErr(500, "", "x")), Failure{Class: Final})
}

// Backoff grows exponentially from BackoffMin, is jittered within
// [d/2, d] and capped at BackoffMax.
func TestBackoff(t *testing.T) {
	p := RetryPolicy{BackoffMin: 100 * time.Millisecond, BackoffMax: time.Second}.WithDefaults()
	nominal := map[int]time.Duration{
		2: 100 * time.Millisecond, 3: 200 * time.Millisecond, 4: 400 * time.Millisecond,
		5: 800 * time.Millisecond, 6: time.Second, 7: time.Second, 20: time.Second, 1000: time.Second,
	}
	for try, d := range nominal {
		lo, hi := d, time.Duration(0)
		seen := map[time.Duration]bool{}
		for range 500 {
			b := p.Backoff(try)
			if b < d/2 || b > d {
				t.Fatalf("Backoff(%d) = %v, want within [%v, %v]", try, b, d/2, d)
			}
			lo, hi = min(lo, b), max(hi, b)
			seen[b] = true
		}
		// Jittered: the samples spread over the range.
		if lo > d/2+d/10 || hi < d-d/10 || len(seen) < 100 {
			t.Errorf("Backoff(%d): 500 samples in [%v, %v], %d distinct; want spread over [%v, %v]", try, lo, hi, len(seen), d/2, d)
		}
	}
	// A cap that is not a power-of-two multiple of the minimum.
	p = RetryPolicy{BackoffMin: 300 * time.Millisecond, BackoffMax: time.Second}.WithDefaults()
	for range 200 {
		if b := p.Backoff(4); b < 500*time.Millisecond || b > time.Second {
			t.Fatalf("Backoff(4) with min 300ms max 1s = %v, want within [500ms, 1s]", b)
		}
	}
}

// WithDefaults fills the zero fields and keeps the set ones.
func TestRetryPolicyDefaults(t *testing.T) {
	p := RetryPolicy{}.WithDefaults()
	if p.Attempts != 2 || p.MaxAttempts != 8 || p.BackoffMin != 200*time.Millisecond || p.BackoffMax != 5*time.Second ||
		p.Deadline != 2*time.Minute || !p.Network || !p.Timeout {
		t.Errorf("defaults %+v", p)
	}
	if len(p.Statuses) != len(DefaultRetryStatuses) {
		t.Errorf("default statuses %v", p.Statuses)
	}
	for _, s := range []int{408, 409, 429, 500, 502, 503, 504, 529} {
		if !p.Statuses[s] {
			t.Errorf("%d not retried by default", s)
		}
	}
	// Each policy owns its map.
	p.Statuses[418] = true
	if q := (RetryPolicy{}).WithDefaults(); q.Statuses[418] {
		t.Error("WithDefaults shares the statuses map between policies")
	}

	set := RetryPolicy{Attempts: 3, MaxAttempts: 5, BackoffMin: 10 * time.Millisecond, BackoffMax: 40 * time.Millisecond, Deadline: time.Second}.WithDefaults()
	if set.Attempts != 3 || set.MaxAttempts != 5 || set.BackoffMin != 10*time.Millisecond || set.BackoffMax != 40*time.Millisecond || set.Deadline != time.Second {
		t.Errorf("set values changed: %+v", set)
	}
	// A minimum above the default maximum raises the maximum.
	if q := (RetryPolicy{BackoffMin: 10 * time.Second}).WithDefaults(); q.BackoffMax != 10*time.Second {
		t.Errorf("BackoffMin 10s: BackoffMax %v, want 10s", q.BackoffMax)
	}
	// Idempotent.
	if q := set.WithDefaults(); fmt.Sprint(q) != fmt.Sprint(set) {
		t.Errorf("WithDefaults twice: %+v vs %+v", q, set)
	}
}
