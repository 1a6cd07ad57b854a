package gateway

import (
	"context"
	"errors"
	"net/http"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/llmgate/llmgate/internal/tokens"
	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/router"
)

// attemptFailure is one failed attempt, or a target that could not be
// tried, kept for the final error message.
type attemptFailure struct {
	account, model string
	status         int
	err            error
}

var (
	errBusy        = errors.New("account at max_concurrency")
	errBreakerOpen = errors.New("circuit breaker open")
)

// slot is one target of the plan and its retry state in this request.
type slot struct {
	t       router.Target
	tries   int
	readyAt time.Time
	done    bool
	skipped error // why the target was passed over without an attempt
}

// run tries the plan until one attempt answers. Targets are preferred in
// plan order; a target that failed waits out its backoff (or the
// upstream's Retry-After) while the others are tried, so a 429 moves to
// the next account at once and a failing account is not hammered. A
// failure before the first byte reached the client is invisible to it;
// after that the stream is ended explicitly (see relay.end).
func (x *exchange) run(targets []router.Target) {
	pol := x.g.cfg.Retry
	health := x.g.cfg.Router.Health()
	ctx := x.r.Context()
	deadline := x.start.Add(pol.Deadline)
	slots := make([]*slot, len(targets))
	for i, t := range targets {
		slots[i] = &slot{t: t}
	}
	var (
		failures []attemptFailure
		rl       *relay
		// final is the last upstream answer the client could be shown
		// as is (context too long, the account's key refused) if nothing
		// else works.
		final       *providers.StatusError
		finalTarget router.Target
	)
	if x.req.stream {
		rl = newRelay(x)
	}
	for attempts := 0; attempts < pol.MaxAttempts && x.g.now().Before(deadline); {
		s, wait := x.next(slots, health)
		if s == nil {
			if wait <= 0 || x.g.now().Add(wait).After(deadline) {
				break
			}
			if !sleepCtx(ctx, wait) {
				x.cancelled()
				return
			}
			continue
		}
		attempts++
		s.tries++
		t, acct := s.t, s.t.Account
		x.target, x.attemptNo = t, len(x.row.Attempts)+1
		preq := &providers.Request{Endpoint: x.ep.provider(), Model: t.Model, Body: x.req.bodyFor(t.Model), Stream: x.req.stream}
		began := x.g.now()
		var err error
		if rl != nil {
			rl.reset()
			var u providers.Usage
			u, err = acct.Provider.Stream(ctx, preq, rl)
			x.usage = u
		} else {
			var resp *providers.Response
			resp, err = acct.Provider.Do(ctx, preq)
			if err == nil {
				acct.Release()
				took := x.g.now().Sub(began)
				report(health, t, router.Outcome{Latency: took})
				x.addAttempt(t, http.StatusOK, "", took)
				x.usage = resp.Usage
				x.respondJSON(resp.Body)
				return
			}
		}
		acct.Release()
		took := x.g.now().Sub(began)
		status, errText := attemptStatus(err, rl), ""
		if err != nil {
			errText = redactString(err.Error(), acct.Key)
		}
		x.addAttempt(t, status, errText, took)
		if rl != nil && (err == nil || rl.committed) {
			latency := took
			if x.ttft > 0 {
				latency = x.ttft
			}
			switch {
			case err == nil:
				report(health, t, router.Outcome{Latency: latency})
			case ctx.Err() == nil && !errors.Is(err, errClientGone):
				report(health, t, router.Outcome{Failure: true, Error: errText})
			default:
				release(health, t)
			}
			rl.end(err)
			return
		}
		if ctx.Err() != nil {
			release(health, t)
			x.cancelled()
			return
		}
		f := pol.Classify(err)
		if f.Health {
			report(health, t, router.Outcome{Failure: true, AccountWide: f.AccountWide, Cooldown: f.Wait, Error: errText})
		} else {
			release(health, t)
		}
		var se *providers.StatusError
		errors.As(err, &se)
		switch f.Class {
		case router.Final:
			if se != nil {
				x.passthrough(t, se)
				return
			}
			s.done = true
		case router.SkipModel:
			final, finalTarget = se, t
			x.skipModel(slots, t.Model)
		case router.MoveOnAccount:
			final, finalTarget = se, t
			for _, o := range slots {
				if o.t.Account == acct {
					o.done = true
				}
			}
		case router.MoveOn:
			s.done = true
		case router.Retry:
			if s.tries >= pol.Attempts {
				s.done = true
			} else {
				wait := pol.Backoff(s.tries + 1)
				if f.Wait > 0 {
					wait = f.Wait
				}
				s.readyAt = x.g.now().Add(wait)
			}
		}
		failures = append(failures, attemptFailure{acct.Name, t.Model, status, err})
		if c := x.g.log.Check(zapcore.DebugLevel, "upstream attempt failed"); c != nil {
			c.Write(zapString("request_id", x.id), zapString("provider", acct.Name), zapString("model", t.Model), zapString("error", errText))
		}
	}
	if final != nil && onlyFinal(failures) {
		x.passthrough(finalTarget, final)
		return
	}
	for _, s := range slots {
		if s.tries == 0 && s.skipped != nil {
			failures = append(failures, attemptFailure{s.t.Account.Name, s.t.Model, 0, s.skipped})
		}
	}
	x.allFailed(failures)
}

// next returns the first target in plan order that may be tried now,
// taking its concurrency slot (and its breaker's probe slot when the
// breaker is recovering). With none ready it returns how long until the
// earliest backed-off target is, or 0 when nothing is left.
func (x *exchange) next(slots []*slot, h *router.Health) (*slot, time.Duration) {
	now := x.g.now()
	var earliest time.Time
	for _, s := range slots {
		if s.done {
			continue
		}
		if s.readyAt.After(now) {
			if earliest.IsZero() || s.readyAt.Before(earliest) {
				earliest = s.readyAt
			}
			continue
		}
		a := s.t.Account
		if h != nil && !h.Acquire(a.Name, s.t.Model) {
			s.skipped = errBreakerOpen
			continue
		}
		if !a.TryAcquire() {
			if h != nil {
				h.Release(a.Name, s.t.Model)
			}
			s.skipped = errBusy
			continue
		}
		s.skipped = nil
		return s, 0
	}
	if earliest.IsZero() {
		return nil, 0
	}
	return nil, earliest.Sub(now)
}

// skipModel gives up on every target that cannot take the prompt: the
// model that just said it is too long, and any other whose catalogued
// context window is smaller than the prompt plus the requested output.
func (x *exchange) skipModel(slots []*slot, tooSmall string) {
	need := tokens.EstimatePrompt(x.req.body) + x.req.maxOutput()
	for _, s := range slots {
		if s.t.Model == tooSmall {
			s.done = true
			continue
		}
		if m, ok := x.g.cfg.Catalog.Lookup(s.t.Model); ok && m.Context > 0 && m.Context < need {
			s.done = true
		}
	}
}

// onlyFinal reports whether every failure was an answer meant for the
// client (so showing the last one beats a generic 502).
func onlyFinal(fs []attemptFailure) bool {
	for _, f := range fs {
		var se *providers.StatusError
		if !errors.As(f.err, &se) || (se.Status != 400 && se.Status != 401 && se.Status != 403 && se.Status != 413 && se.Status != 422 && se.Status != 429) {
			return false
		}
	}
	return true
}

func attemptStatus(err error, rl *relay) int {
	var se *providers.StatusError
	switch {
	case errors.As(err, &se):
		return se.Status
	case err == nil || (rl != nil && rl.committed):
		return http.StatusOK
	}
	return 0
}

func report(h *router.Health, t router.Target, o router.Outcome) {
	if h != nil {
		h.Report(t.Account.Name, t.Model, o)
	}
}

func release(h *router.Health, t router.Target) {
	if h != nil {
		h.Release(t.Account.Name, t.Model)
	}
}

// sleepCtx waits d, or until ctx ends (false).
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
