package store

import (
	"sync"
	"testing"
	"time"
)

// testClock stands in for the store's clock. Tests using it must not be
// parallel, since now is package state.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func useClock(t *testing.T, start time.Time) *testClock {
	t.Helper()
	c := &testClock{t: start}
	old := now
	now = c.Now
	t.Cleanup(func() { now = old })
	return c
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
