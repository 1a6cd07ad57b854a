package router

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/llmgate/llmgate/providers"
)

// RetryPolicy decides which failures are retried and how long to wait.
// Zero fields take the defaults (see WithDefaults).
type RetryPolicy struct {
	// Attempts is the number of tries on one target, the first included.
	// Default 2.
	Attempts int
	// MaxAttempts bounds the tries of one request across all targets.
	// Default 8.
	MaxAttempts int
	// BackoffMin and BackoffMax bound the exponential backoff between
	// tries on the same target. Defaults 200ms and 5s.
	BackoffMin, BackoffMax time.Duration
	// Deadline bounds the whole request: no attempt starts, and no wait
	// runs, past it. Default 2m.
	Deadline time.Duration
	// Statuses are the upstream statuses that are retried. Default 408,
	// 409, 429, 500, 502, 503, 504, 529.
	Statuses map[int]bool
	// Hedge, when positive, starts the next target of a stream's plan in
	// parallel if the first attempt has produced no token after this
	// long; the first to produce a token is kept. Default 0 (off): it can
	// double the upstream cost of slow requests.
	Hedge time.Duration
	// Network retries connection failures and resets before headers.
	// Timeout moves a timed-out request on to the next target (never to
	// the same silent one). Both default to true when Statuses is unset.
	Network, Timeout bool
}

// DefaultRetryStatuses are retried unless the policy says otherwise.
var DefaultRetryStatuses = []int{408, 409, 429, 500, 502, 503, 504, 529}

// WithDefaults fills the zero fields.
func (p RetryPolicy) WithDefaults() RetryPolicy {
	if p.Attempts <= 0 {
		p.Attempts = 2
	}
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 8
	}
	if p.BackoffMin <= 0 {
		p.BackoffMin = 200 * time.Millisecond
	}
	if p.BackoffMax < p.BackoffMin {
		p.BackoffMax = max(5*time.Second, p.BackoffMin)
	}
	if p.Deadline <= 0 {
		p.Deadline = 2 * time.Minute
	}
	if p.Statuses == nil {
		p.Statuses = map[int]bool{}
		for _, s := range DefaultRetryStatuses {
			p.Statuses[s] = true
		}
		p.Network, p.Timeout = true, true
	}
	return p
}

// Backoff is the wait before try number `try` (2 for the first retry) on
// the same target: exponential with equal jitter, so concurrent clients
// spread out but every wait is at least half the nominal one.
func (p RetryPolicy) Backoff(try int) time.Duration {
	d := p.BackoffMin
	for i := 2; i < try && d < p.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, p.BackoffMax)
	return d/2 + rand.N(d/2+1)
}

// Class is how a failed attempt is handled.
type Class int

const (
	// Retry: the target may be tried again after a wait, and other
	// targets may be tried meanwhile (429, 5xx, network errors).
	Retry Class = iota
	// MoveOn: do not try this target again in this request, try the next
	// (timeouts: a silent upstream is not asked again).
	MoveOn
	// SkipModel: no target with this model can succeed; try the next
	// model whose context window fits (context_length_exceeded).
	SkipModel
	// MoveOnAccount: the account itself is unusable (its key was refused);
	// other accounts may serve the request.
	MoveOnAccount
	// Final: the answer is the client's to see (400, 404, 422,
	// content-policy rejections, and anything the policy does not retry).
	Final
)

// Failure describes a failed attempt for the scheduler and the health
// registry.
type Failure struct {
	Class Class
	// Wait is the upstream's Retry-After, if any.
	Wait time.Duration
	// AccountWide: the failure concerns every model of the account.
	AccountWide bool
	// Health: the failure counts against the account's health (client
	// errors and cancellations do not).
	Health bool
}

// Classify maps an attempt's error to its handling.
func (p RetryPolicy) Classify(err error) Failure {
	var se *providers.StatusError
	switch {
	case errors.As(err, &se):
		f := Failure{Wait: se.RetryAfter}
		switch {
		case IsContextLength(se):
			f.Class = SkipModel
		case IsContentPolicy(se):
			f.Class = Final
		case se.Status == http.StatusUnauthorized || se.Status == http.StatusForbidden:
			// The account's own key was refused: nothing the client can
			// fix, and another account may well work.
			f.Class, f.AccountWide, f.Health = MoveOnAccount, true, true
		case se.Status == http.StatusTooManyRequests && isQuotaStop(se):
			// A billing stop on this account: retrying it is pointless.
			f.Class, f.AccountWide, f.Health = MoveOnAccount, true, true
		case p.Statuses[se.Status]:
			f.Class, f.Health = Retry, true
		default:
			f.Class = Final
		}
		return f
	case errors.Is(err, providers.ErrTimeout):
		if p.Timeout {
			return Failure{Class: MoveOn, Health: true}
		}
		return Failure{Class: Final, Health: true}
	case errors.Is(err, providers.ErrNetwork), errors.Is(err, providers.ErrStreamBroken), errors.Is(err, providers.ErrBadResponse):
		f := Failure{Class: Retry, Health: true, AccountWide: isRefused(err)}
		if !p.Network {
			f.Class = Final
		}
		return f
	}
	return Failure{Class: Final}
}

// IsContextLength recognises "prompt too long" rejections across
// providers' wordings.
func IsContextLength(se *providers.StatusError) bool {
	if se.Status != http.StatusBadRequest && se.Status != http.StatusRequestEntityTooLarge && se.Status != 422 {
		return false
	}
	if se.Code == "context_length_exceeded" || se.Code == "string_above_max_length" {
		return true
	}
	m := strings.ToLower(se.Message)
	for _, s := range []string{"context length", "context_length", "context window", "maximum context", "maximum prompt length", "exceeds the maximum number of tokens", "prompt is too long", "too many tokens", "too many input tokens", "input is too long"} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// IsContentPolicy recognises content-policy rejections.
func IsContentPolicy(se *providers.StatusError) bool {
	if se.Code == "content_policy_violation" || se.Code == "content_filter" || se.Code == "moderation_blocked" {
		return true
	}
	m := strings.ToLower(se.Message)
	return strings.Contains(m, "content management policy") || strings.Contains(m, "content policy") || strings.Contains(m, "safety system")
}

func isQuotaStop(se *providers.StatusError) bool {
	return se.Code == "insufficient_quota" || strings.Contains(strings.ToLower(se.Message), "exceeded your current quota")
}

func isRefused(err error) bool {
	s := err.Error()
	return strings.Contains(s, "connection refused") || strings.Contains(s, "no such host")
}
