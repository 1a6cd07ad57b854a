package gateway

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/llmgate/llmgate/providers"
	"github.com/llmgate/llmgate/router"
)

// Hedging: when a stream's first attempt has produced no token after the
// policy's Hedge delay, the next target of the plan is started in
// parallel; whichever produces a token first is kept and the other is
// cancelled. Each racer writes into a gate that buffers its events until
// it wins, so the client only ever sees the winner.

// errHedgeLost stops the racer that did not produce the first token.
var errHedgeLost = errors.New("abandoned: a hedged attempt answered first")

// race is shared by the gates of one hedged pair.
type race struct {
	mu     sync.Mutex
	winner *gate
}

// gate is a racer's Sink.
type gate struct {
	rc   *race
	rl   *relay
	x    *exchange
	s    *slot
	no   int // the racer's attempt number
	buf  []providers.Event
	won  chan struct{}
	lost bool
}

func newGate(rc *race, rl *relay, x *exchange, s *slot, no int) *gate {
	return &gate{rc: rc, rl: rl, x: x, s: s, no: no, won: make(chan struct{})}
}

// claims: the first token, a finish, usage or the end of the stream
// decides the race.
func claims(ev *providers.Event) bool {
	return ev.Tokens > 0 || ev.Finish || ev.UsageOnly || ev.Done
}

// Event implements providers.Sink.
func (g *gate) Event(ev *providers.Event) error {
	g.rc.mu.Lock()
	switch {
	case g.rc.winner == g:
		g.rc.mu.Unlock()
		return g.rl.Event(ev)
	case g.rc.winner != nil:
		g.rc.mu.Unlock()
		return errHedgeLost
	case !claims(ev):
		// Copy: the provider reuses its buffers after Event returns.
		c := *ev
		c.Raw, c.Data = append([]byte(nil), ev.Raw...), append([]byte(nil), ev.Data...)
		if ev.Raw == nil {
			c.Raw = nil
		}
		g.buf = append(g.buf, c)
		g.rc.mu.Unlock()
		return nil
	}
	g.rc.winner = g
	g.rc.mu.Unlock()
	// The winner names the response: set before the first byte commits.
	g.x.target, g.x.attemptNo = g.s.t, g.no
	close(g.won)
	for i := range g.buf {
		if err := g.rl.Event(&g.buf[i]); err != nil {
			return err
		}
	}
	g.buf = nil
	return g.rl.Event(ev)
}

// Committed implements providers.Sink: a racer has written nothing until
// it wins.
func (g *gate) Committed() bool {
	g.rc.mu.Lock()
	defer g.rc.mu.Unlock()
	return g.rc.winner == g && g.rl.committed
}

type racer struct {
	s      *slot
	g      *gate
	cancel context.CancelFunc
	began  time.Time
	done   chan raceResult
}

type raceResult struct {
	u   providers.Usage
	err error
}

func (x *exchange) startRacer(ctx context.Context, rc *race, rl *relay, s *slot, req *providers.Request, no int) *racer {
	cctx, cancel := context.WithCancel(ctx)
	r := &racer{s: s, g: newGate(rc, rl, x, s, no), cancel: cancel, began: x.g.now(), done: make(chan raceResult, 1)}
	go func() {
		u, err := s.t.Account.Provider.Stream(cctx, req, r.g)
		r.done <- raceResult{u, err}
	}()
	return r
}

// hedgedStream runs the first attempt of a stream with hedging. It
// returns the slot whose result the caller processes (the winner, or the
// last racer to fail), when it began, and its result. A racer that lost
// or failed first is recorded here.
func (x *exchange) hedgedStream(ctx context.Context, rl *relay, s *slot, req *providers.Request, slots []*slot,
	health *router.Health, attempts *int, failures *[]attemptFailure) (*slot, time.Time, providers.Usage, error) {
	pol := x.g.cfg.Retry
	rc := &race{}
	a := x.startRacer(ctx, rc, rl, s, req, x.attemptNo)
	timer := time.NewTimer(pol.Hedge)
	defer timer.Stop()
	select {
	case res := <-a.done:
		a.cancel()
		return s, a.began, res.u, res.err
	case <-a.g.won:
		res := <-a.done
		a.cancel()
		return s, a.began, res.u, res.err
	case <-timer.C:
	}
	s.running = true
	hs, _ := x.next(slots, health)
	s.running = false
	if hs == nil || *attempts >= pol.MaxAttempts {
		res := <-a.done
		a.cancel()
		return s, a.began, res.u, res.err
	}
	*attempts++
	hs.tries++
	b := x.startRacer(ctx, rc, rl, hs, &providers.Request{Endpoint: req.Endpoint, Model: hs.t.Model,
		Body: x.req.bodyFor(hs.t.Model), Stream: true}, x.attemptNo+1)
	racers := []*racer{a, b}
	for len(racers) > 0 {
		cases := make([]<-chan struct{}, 0, 2)
		for _, r := range racers {
			cases = append(cases, r.g.won)
		}
		var winner *racer
		select {
		case <-cases[0]:
			winner = racers[0]
		case <-pick(cases, 1):
			winner = racers[1]
		case res := <-racers[0].done:
			racers[0].cancel()
			if len(racers) == 1 {
				return racers[0].s, racers[0].began, res.u, res.err
			}
			x.raceFailed(racers[0], res, slots, health, failures)
			racers = racers[1:]
			continue
		case res := <-pickDone(racers, 1):
			racers[1].cancel()
			x.raceFailed(racers[1], res, slots, health, failures)
			racers = racers[:1]
			continue
		}
		for _, r := range racers {
			if r != winner {
				r.cancel()
				res := <-r.done
				x.abandon(r, res, health)
			}
		}
		res := <-winner.done
		winner.cancel()
		return winner.s, winner.began, res.u, res.err
	}
	panic("unreachable: the last racer always returns")
}

// raceFailed records a racer that failed before any token while the other
// is still running; the survivor's result goes to the caller.
func (x *exchange) raceFailed(r *racer, res raceResult, slots []*slot, health *router.Health, failures *[]attemptFailure) {
	t := r.s.t
	t.Account.Release()
	errText := ""
	if res.err != nil {
		errText = redactString(res.err.Error(), t.Account.Key)
	}
	status := attemptStatus(res.err, false)
	x.addAttempt(t, status, errText, x.g.now().Sub(r.began))
	f := x.g.cfg.Retry.Classify(res.err)
	if f.Health {
		report(health, t, router.Outcome{Failure: true, AccountWide: f.AccountWide, Cooldown: f.Wait, Error: errText})
	} else {
		release(health, t)
	}
	if f.Class == router.Final {
		f.Class = router.MoveOn // the other racer may still answer
	}
	x.settle(slots, r.s, f, t)
	*failures = append(*failures, attemptFailure{t.Account.Name, t.Model, status, res.err})
}

// abandon records the racer that lost the hedge: not a failure of its
// account, just an attempt nobody needed.
func (x *exchange) abandon(r *racer, res raceResult, health *router.Health) {
	r.s.t.Account.Release()
	release(health, r.s.t)
	x.addAttempt(r.s.t, 0, errHedgeLost.Error(), x.g.now().Sub(r.began))
}

// pick returns cases[i], or a nil channel (never ready) when absent.
func pick(cases []<-chan struct{}, i int) <-chan struct{} {
	if i < len(cases) {
		return cases[i]
	}
	return nil
}

func pickDone(rs []*racer, i int) <-chan raceResult {
	if i < len(rs) {
		return rs[i].done
	}
	return nil
}
