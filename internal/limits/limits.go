// Package limits enforces per-key request rate, token rate and
// concurrency. Rates are token buckets (golang.org/x/time/rate) refilled
// continuously with a burst of one minute's worth; concurrency is a
// counter. A request is checked against every limit before any is
// consumed, under one lock per key, so concurrent requests cannot
// overshoot and rejected requests do not count. The Set is meant to
// outlive config reloads (the Caddy module keeps it in a UsagePool); new
// limits are pushed into the live buckets, as caddy-ratelimit does.
package limits

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits are one key's effective limits; 0 means unlimited.
type Limits struct {
	RPM, TPM, Concurrency int64
}

// Merge returns l with its zero fields taken from fallback (a key's own
// limits win over its project's, which win over the configured defaults).
func (l Limits) Merge(fallback Limits) Limits {
	if l.RPM == 0 {
		l.RPM = fallback.RPM
	}
	if l.TPM == 0 {
		l.TPM = fallback.TPM
	}
	if l.Concurrency == 0 {
		l.Concurrency = fallback.Concurrency
	}
	return l
}

// Zero reports whether no limit applies.
func (l Limits) Zero() bool { return l.RPM == 0 && l.TPM == 0 && l.Concurrency == 0 }

// Which names the limit that refused a request.
type Which string

const (
	Requests    Which = "requests"
	Tokens      Which = "tokens"
	Concurrency Which = "concurrency"
)

// State is what the x-ratelimit-* headers report.
type State struct {
	Limits Limits
	// RemainingRequests and RemainingTokens are the whole tokens left in
	// the buckets after this request.
	RemainingRequests, RemainingTokens int64
	// ResetRequests and ResetTokens are how long until the buckets are
	// full again.
	ResetRequests, ResetTokens time.Duration
}

// Denied describes a refusal.
type Denied struct {
	Which      Which
	RetryAfter time.Duration
	State      State
	// TooLarge: the request alone needs more tokens than the bucket holds.
	TooLarge bool
}

type bucket struct {
	mu       sync.Mutex
	lim      Limits
	rpm, tpm *rate.Limiter
	inflight int64
}

// Set holds the buckets of every key.
type Set struct {
	mu sync.Mutex
	m  map[string]*bucket
}

// NewSet returns an empty set.
func NewSet() *Set { return &Set{m: map[string]*bucket{}} }

func perMinute(n int64) (rate.Limit, int) {
	return rate.Limit(float64(n) / 60), int(min(n, math.MaxInt32))
}

func (s *Set) bucket(key string) *bucket {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.m[key]
	if b == nil {
		b = &bucket{}
		s.m[key] = b
	}
	return b
}

// configure pushes new limits into the live limiters or creates them.
// What the key has used carries over: a key that spent 3 of rpm 3 and is
// raised to rpm 1000 has 997 left at once (and one lowered below its use
// waits for the refill). Called with b.mu held.
func (b *bucket) configure(l Limits, now time.Time) {
	if b.lim == l && (l.RPM == 0) == (b.rpm == nil) && (l.TPM == 0) == (b.tpm == nil) {
		return
	}
	set := func(lm **rate.Limiter, n int64) {
		if n == 0 {
			*lm = nil
			return
		}
		r, burst := perMinute(n)
		if *lm == nil {
			*lm = rate.NewLimiter(r, burst) // starts full
			return
		}
		used := float64((*lm).Burst()) - (*lm).TokensAt(now)
		*lm = filled(r, burst, float64(burst)-used, now)
	}
	set(&b.rpm, l.RPM)
	set(&b.tpm, l.TPM)
	b.lim = l
}

// filled builds a limiter holding the given tokens at now (negative:
// in debt). x/time/rate cannot set a fill directly, so a fresh (full)
// limiter is drawn down to it.
func filled(r rate.Limit, burst int, tokens float64, now time.Time) *rate.Limiter {
	nl := rate.NewLimiter(r, burst)
	take := int(math.Round(float64(burst) - tokens))
	for take > 0 {
		n := min(take, burst)
		nl.ReserveN(now, n)
		take -= n
	}
	return nl
}

// Ticket is an admitted request; Done must be called once it ends.
type Ticket struct {
	b     *bucket
	est   int64
	once  sync.Once
	State State
}

// Admit checks the key's limits for a request estimated at est tokens and,
// if all pass, takes one request, est tokens and a concurrency slot.
func (s *Set) Admit(key string, l Limits, est int64, now time.Time) (*Ticket, *Denied) {
	if l.Zero() {
		return &Ticket{}, nil
	}
	b := s.bucket(key)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.configure(l, now)
	if l.Concurrency > 0 && b.inflight >= l.Concurrency {
		return nil, &Denied{Which: Concurrency, RetryAfter: time.Second, State: b.state(now)}
	}
	if b.rpm != nil && b.rpm.TokensAt(now) < 1 {
		return nil, &Denied{Which: Requests, RetryAfter: wait(b.rpm, 1, now), State: b.state(now)}
	}
	if b.tpm != nil {
		if est > int64(b.tpm.Burst()) {
			return nil, &Denied{Which: Tokens, TooLarge: true, State: b.state(now)}
		}
		if b.tpm.TokensAt(now) < float64(est) {
			return nil, &Denied{Which: Tokens, RetryAfter: wait(b.tpm, float64(est), now), State: b.state(now)}
		}
	}
	if b.rpm != nil {
		b.rpm.AllowN(now, 1)
	}
	if b.tpm != nil && est > 0 {
		b.tpm.AllowN(now, int(est))
	}
	b.inflight++
	return &Ticket{b: b, est: est, State: b.state(now)}, nil
}

// Done ends the request: it frees the concurrency slot and reconciles the
// token bucket with the real usage (more tokens than estimated are taken,
// possibly into debt; fewer are given back).
func (t *Ticket) Done(actual int64, now time.Time) {
	if t == nil || t.b == nil {
		return
	}
	t.once.Do(func() {
		b := t.b
		b.mu.Lock()
		defer b.mu.Unlock()
		b.inflight--
		if b.tpm == nil || actual == t.est {
			return
		}
		diff := actual - t.est
		if diff > 0 {
			// Debt: a reservation past the bucket's content is kept (not
			// waited on), so the next requests wait for it to refill.
			for diff > 0 {
				n := min(diff, int64(b.tpm.Burst()))
				b.tpm.ReserveN(now, int(n))
				diff -= n
			}
			return
		}
		// Over-estimated: give the difference back, up to the burst.
		have := b.tpm.TokensAt(now)
		target := math.Min(have+float64(-diff), float64(b.tpm.Burst()))
		if target > have {
			b.tpm = filled(b.tpm.Limit(), b.tpm.Burst(), target, now)
		}
	})
}

// wait is how long until n tokens are available.
func wait(l *rate.Limiter, n float64, now time.Time) time.Duration {
	missing := n - l.TokensAt(now)
	if missing <= 0 || l.Limit() <= 0 {
		return 0
	}
	return time.Duration(missing / float64(l.Limit()) * float64(time.Second))
}

func (b *bucket) state(now time.Time) State {
	st := State{Limits: b.lim}
	if b.rpm != nil {
		tok := b.rpm.TokensAt(now)
		st.RemainingRequests = int64(math.Max(0, math.Floor(tok)))
		st.ResetRequests = wait(b.rpm, float64(b.rpm.Burst()), now)
	}
	if b.tpm != nil {
		tok := b.tpm.TokensAt(now)
		st.RemainingTokens = int64(math.Max(0, math.Floor(tok)))
		st.ResetTokens = wait(b.tpm, float64(b.tpm.Burst()), now)
	}
	return st
}
