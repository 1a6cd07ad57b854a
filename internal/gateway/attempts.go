package gateway

import (
	"context"
	"errors"
	"net/http"
	"time"

	"go.uber.org/zap/zapcore"

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
	running bool  // an attempt on it is in flight (hedging)
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
		nr       *nativeRelay // streams passed through in the client's protocol
		// final is the last upstream answer the client could be shown
		// as is (context too long, the account's key refused) if nothing
		// else works.
		final       *providers.StatusError
		finalTarget router.Target
		// midErr is what broke a stream that could not be carried over.
		midErr error
	)
	if x.req.stream {
		rl = newRelay(x)
		if x.proto != nil {
			nr = newNativeRelay(x)
		}
	}
	committed := func() bool { return (rl != nil && rl.committed) || (nr != nil && nr.committed) }
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
		native := x.native(t)
		ep := x.ep.provider()
		body := x.req.bodyFor(t.Model)
		var header http.Header
		if native {
			ep, body, header = x.ep.nativeEndpoint(), x.nativeBody(t), x.proto.header
		}
		if rl != nil && rl.cont != nil {
			prefix := !rl.noPrefix && rl.cont.canPrefix() && x.acceptsPrefix(t)
			rl.cont.restart(prefix)
			if prefix {
				body = rl.cont.prefixBody(body)
			}
		}
		preq := &providers.Request{Endpoint: ep, Model: t.Model, Body: body, Stream: x.req.stream, Header: header}
		began := x.g.now()
		var err error
		if rl != nil && native {
			if !nr.committed {
				nr.reset()
			}
			x.usage, err = acct.Provider.Stream(ctx, preq, nr)
		} else if rl != nil {
			if !rl.committed {
				rl.reset()
			}
			var u providers.Usage
			// Hedging races two streams into the chat relay; a client
			// protocol's stream may pass through natively instead, so it
			// is not hedged.
			if pol.Hedge > 0 && !rl.committed && x.proto == nil {
				// Race the next target if this one is slow to its first
				// token; the slot returned is the one whose result counts.
				s, began, u, err = x.hedgedStream(ctx, rl, s, preq, slots, health, &attempts, &failures)
				t, acct = s.t, s.t.Account
			} else {
				u, err = acct.Provider.Stream(ctx, preq, rl)
			}
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
				x.respondJSON(resp.Body, native)
				return
			}
		}
		acct.Release()
		took := x.g.now().Sub(began)
		status, errText := attemptStatus(err, committed()), ""
		if err != nil {
			errText = redactString(err.Error(), acct.Key)
		}
		x.addAttempt(t, status, errText, took)
		// Only a chat stream is carried over: the next target of a client
		// protocol may speak it natively, which a continuation cannot mix.
		if rl != nil && rl.committed && err != nil && x.proto == nil && x.continuable(rl, err) {
			// The stream broke after the client got its first bytes:
			// carry the answer over to the next attempt of the plan.
			var se *providers.StatusError
			if errors.As(err, &se) && rl.cont != nil && rl.cont.prefix && se.Status >= 400 && se.Status < 500 {
				// The upstream refused the prefix itself: restart this
				// attempt cleanly as a replay, and do not blame it.
				release(health, t)
				rl.noPrefix = true
				s.tries--
				s.readyAt = time.Time{}
				continue
			}
			f := pol.Classify(err)
			if errors.As(err, &se) && f.Class == router.Final {
				f.Class = router.MoveOn // nothing can be passed through any more
			}
			report(health, t, router.Outcome{Failure: true, AccountWide: f.AccountWide, Cooldown: f.Wait, Error: errText})
			x.settle(slots, s, f, t)
			if rl.carryOver() {
				midErr = err
				failures = append(failures, attemptFailure{acct.Name, t.Model, status, err})
				continue
			}
		}
		if rl != nil && (err == nil || committed()) {
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
			if native {
				nr.end(err)
			} else {
				rl.end(err)
			}
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
		case router.SkipModel, router.MoveOnAccount:
			final, finalTarget = se, t
		}
		x.settle(slots, s, f, t)
		failures = append(failures, attemptFailure{acct.Name, t.Model, status, err})
		if c := x.g.log.Check(zapcore.DebugLevel, "upstream attempt failed"); c != nil {
			c.Write(zapString("request_id", x.id), zapString("provider", acct.Name), zapString("model", t.Model), zapString("error", errText))
		}
	}
	if rl != nil && rl.committed {
		// Nowhere left to carry the stream: end it with an explicit error.
		rl.end(midErr)
		return
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

// settle updates the plan after a failed attempt on slot s.
func (x *exchange) settle(slots []*slot, s *slot, f router.Failure, t router.Target) {
	switch f.Class {
	case router.Final, router.MoveOn:
		s.done = true
	case router.SkipModel:
		x.skipModel(slots, t.Model)
	case router.MoveOnAccount:
		for _, o := range slots {
			if o.t.Account == t.Account {
				o.done = true
			}
		}
	case router.Retry:
		pol := x.g.cfg.Retry
		if s.tries >= pol.Attempts {
			s.done = true
			return
		}
		wait := pol.Backoff(s.tries + 1)
		if f.Wait > 0 {
			wait = f.Wait
		}
		s.readyAt = x.g.now().Add(wait)
	}
}

// continuable reports whether a stream that failed after its first byte
// may be carried over: the client is still there, the answer was not
// already complete, and the failure was not a divergence of a replay.
func (x *exchange) continuable(rl *relay, err error) bool {
	if x.r.Context().Err() != nil || errors.Is(err, errClientGone) || errors.Is(err, errDiverged) || rl.werr != nil {
		return false
	}
	return !rl.finished || errors.Is(err, providers.ErrStreamBroken)
}

// acceptsPrefix: the provider type continues an assistant prefix, and
// the catalogue does not say the model refuses one (newer Claude models
// dropped prefill; a model the catalogue does not know gets the benefit
// of the doubt, and a refusal restarts as a replay anyway).
func (x *exchange) acceptsPrefix(t router.Target) bool {
	c, ok := t.Account.Provider.(providers.Capable)
	if !ok || !c.Capabilities().AssistantPrefix {
		return false
	}
	if m, known := x.g.cfg.Catalog.Lookup(t.Model); known {
		return m.Has("prefix")
	}
	return true
}

// next returns the first target in plan order that may be tried now,
// taking its concurrency slot (and its breaker's probe slot when the
// breaker is recovering). With none ready it returns how long until the
// earliest backed-off target is, or 0 when nothing is left.
func (x *exchange) next(slots []*slot, h *router.Health) (*slot, time.Duration) {
	now := x.g.now()
	var earliest time.Time
	for _, s := range slots {
		if s.done || s.running {
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
	need := x.req.promptTokens() + x.req.maxOutput()
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

func attemptStatus(err error, committed bool) int {
	var se *providers.StatusError
	switch {
	case errors.As(err, &se):
		return se.Status
	case err == nil || committed:
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
