package store

import (
	"errors"
	"log"
	"sync"
)

// Shared is a store plus its writer, kept across config generations;
// requests hold leases.
//
// Caddy keeps a Shared in a UsagePool, which counts configs, not
// requests: it calls Destruct when the last config lets go, possibly while
// long streams from that config are still running and have rows to write.
// Leases bridge the gap. Each request takes one with Acquire and ends it
// with Release; Destruct only marks the handle closing, and whoever drops
// the last reference (Destruct itself when nothing is leased, otherwise
// the last Release) drains the writer and closes the store. A row Enqueued
// while holding a lease is therefore always written.
type Shared struct {
	Store  Store
	Writer *Writer

	mu      sync.Mutex
	leases  int
	closing bool

	closed   chan struct{}
	closeErr error // set before closed is closed
}

// NewShared wraps s and w. The Shared owns both from now on: it closes the
// writer and then the store once closing and unleased. w may be nil for a
// read-only handle.
func NewShared(s Store, w *Writer) *Shared {
	return &Shared{Store: s, Writer: w, closed: make(chan struct{})}
}

// Acquire takes a lease for one request. It returns false once the handle
// is closing; the caller must then not use the store and should answer
// 503, since a newer config generation holds its own handle.
func (s *Shared) Acquire() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.leases++
	return true
}

// Release ends a lease taken by a successful Acquire. If the handle is
// closing and this was the last lease, Release drains the writer and
// closes the store before returning; that costs the one request that
// ends last a short wait, and nobody else.
func (s *Shared) Release() {
	s.mu.Lock()
	if s.leases <= 0 {
		s.mu.Unlock()
		panic("store: Release without a matching Acquire")
	}
	s.leases--
	last := s.closing && s.leases == 0
	s.mu.Unlock()
	if last {
		if err := s.shutdown(); err != nil {
			s.logf("store: closing after the last lease: %v", err)
		}
	}
}

// Destruct implements caddy.Destructor. It marks the handle closing and
// never waits for open leases, because Caddy calls it under its config
// lock. With no lease open it closes synchronously, which is quick and
// guarantees queued rows reach the database before the process exits;
// otherwise the last Release closes. Calls after the first return nil.
func (s *Shared) Destruct() error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil
	}
	s.closing = true
	idle := s.leases == 0
	s.mu.Unlock()
	if idle {
		return s.shutdown()
	}
	return nil
}

// Closed returns a channel that is closed once the writer has drained and
// the store is closed.
func (s *Shared) Closed() <-chan struct{} {
	return s.closed
}

// Err returns the error from closing, or nil; it is meaningful only after
// Closed is closed. It exists because the last Release has nobody to
// return an error to.
func (s *Shared) Err() error {
	select {
	case <-s.closed:
		return s.closeErr
	default:
		return nil
	}
}

// shutdown runs exactly once: closing is set once, and afterwards either
// Destruct saw no leases (so no Release can follow, as Acquire refuses) or
// exactly one Release takes the count to zero.
func (s *Shared) shutdown() error {
	var errs []error
	if s.Writer != nil {
		errs = append(errs, s.Writer.Close())
	}
	if s.Store != nil {
		errs = append(errs, s.Store.Close())
	}
	s.closeErr = errors.Join(errs...)
	close(s.closed)
	return s.closeErr
}

func (s *Shared) logf(format string, args ...any) {
	if s.Writer != nil {
		s.Writer.logf(format, args...)
		return
	}
	log.Printf(format, args...)
}
