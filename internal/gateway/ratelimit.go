package gateway

import (
	"net/http"
	"strconv"
	"time"

	"github.com/llmgate/llmgate/internal/limits"
)

// admit applies the key's rpm, tpm and concurrency limits before any
// provider sees the request. The prompt's tokens are estimated now and
// reconciled with the real usage when the request ends (record). Every
// answer carries the x-ratelimit-* headers, so the OpenAI SDKs' own
// retry logic works; a refusal is a 429 with Retry-After in whole
// seconds, rounded up.
func (x *exchange) admit() bool {
	set := x.g.cfg.Limits
	if set == nil {
		return true
	}
	lim := x.g.limitsFor(x.principal)
	if lim.Zero() {
		return true
	}
	est := x.req.promptTokens()
	ticket, denied := set.Admit(x.principal.KeyID, lim, est, x.g.now())
	if denied == nil {
		x.ticket = ticket
		setRateHeaders(x.w.Header(), ticket.State)
		return true
	}
	h := x.w.Header()
	setRateHeaders(h, denied.State)
	var msg string
	switch {
	case denied.TooLarge:
		msg = "this request's prompt (about " + strconv.FormatInt(est, 10) + " tokens) is larger than the key's tokens-per-minute limit (" +
			strconv.FormatInt(lim.TPM, 10) + "); shorten it or raise the limit"
	case denied.Which == limits.Concurrency:
		msg = "this key already has " + strconv.FormatInt(lim.Concurrency, 10) + " requests in flight (its concurrency limit); retry when one finishes"
	case denied.Which == limits.Tokens:
		msg = "rate limit reached for this key: " + strconv.FormatInt(lim.TPM, 10) + " tokens per minute; retry after the Retry-After delay"
	default:
		msg = "rate limit reached for this key: " + strconv.FormatInt(lim.RPM, 10) + " requests per minute; retry after the Retry-After delay"
	}
	if !denied.TooLarge {
		h.Set("Retry-After", strconv.FormatInt(max(1, int64((denied.RetryAfter+time.Second-1)/time.Second)), 10))
	}
	x.fail(http.StatusTooManyRequests, errRateLimit, "rate_limit_exceeded", msg, "")
	return false
}

func setRateHeaders(h http.Header, st limits.State) {
	if st.Limits.RPM > 0 {
		h.Set("x-ratelimit-limit-requests", strconv.FormatInt(st.Limits.RPM, 10))
		h.Set("x-ratelimit-remaining-requests", strconv.FormatInt(st.RemainingRequests, 10))
		h.Set("x-ratelimit-reset-requests", resetString(st.ResetRequests))
	}
	if st.Limits.TPM > 0 {
		h.Set("x-ratelimit-limit-tokens", strconv.FormatInt(st.Limits.TPM, 10))
		h.Set("x-ratelimit-remaining-tokens", strconv.FormatInt(st.RemainingTokens, 10))
		h.Set("x-ratelimit-reset-tokens", resetString(st.ResetTokens))
	}
}

// resetString renders a reset delay the way OpenAI does ("1s", "6m0s",
// "120ms").
func resetString(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}
