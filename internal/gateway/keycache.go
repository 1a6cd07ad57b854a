package gateway

import (
	"sync"
	"time"

	"github.com/llmgate/llmgate/internal/limits"
)

// Stored keys are cached so that the request path does not query SQLite
// on every call and, more importantly, so that a database that is briefly
// locked or unavailable does not turn valid keys into 401s: a lookup that
// fails serves the last known answer. Changes made through the admin API
// invalidate the cache at once (revocation is immediate); a change made
// to the database by other means is seen within keyTTL.
const (
	keyTTL = 5 * time.Second
	// keyStale bounds how long a cached key keeps working while the
	// database cannot be read.
	keyStale = time.Hour
)

type keyEntry struct {
	p       *Principal
	authErr *authError // a cached refusal (unknown, revoked, expired key…)
	at      time.Time
}

type keyCache struct {
	mu sync.Mutex
	m  map[string]keyEntry // by secret hash (hex)
}

func (c *keyCache) get(hash string, now time.Time) (keyEntry, bool, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[hash]
	if !ok {
		return e, false, false
	}
	return e, now.Sub(e.at) < keyTTL, now.Sub(e.at) < keyStale
}

func (c *keyCache) put(hash string, e keyEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]keyEntry{}
	}
	if len(c.m) > 100000 {
		c.m = map[string]keyEntry{} // bounded: a flood of unknown keys cannot grow it forever
	}
	c.m[hash] = e
}

// InvalidateKeys drops every cached stored key; the admin API calls it
// after any change to keys or projects.
func (g *Gateway) InvalidateKeys() {
	g.keyCache.mu.Lock()
	g.keyCache.m = nil
	g.keyCache.mu.Unlock()
}

// Limits of a principal: its own, then its project's, then the
// configured defaults.
func (g *Gateway) limitsFor(p *Principal) limits.Limits {
	return p.Limits.Merge(p.ProjectLimits).Merge(g.cfg.DefaultLimits)
}
