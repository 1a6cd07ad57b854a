package caddymodule

import (
	"fmt"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/llmgate/llmgate/internal/limits"
	"github.com/llmgate/llmgate/internal/spend"
	"github.com/llmgate/llmgate/router"
	"github.com/llmgate/llmgate/store"
)

// stores keeps each SQLite database and its batch writer alive across
// config reloads, keyed by the absolute path. A reload provisions the new
// config (taking a reference) before cleaning up the old one (dropping
// its reference), so the count never reaches zero while the path stays
// configured; when it does reach zero, store.Shared.Destruct closes the
// database only after the last request's lease ends.
var stores = caddy.NewUsagePool()

func acquireStore(path string, log *zap.Logger) (*store.Shared, error) {
	v, _, err := stores.LoadOrNew(path, func() (caddy.Destructor, error) {
		db, err := store.OpenSQLite(path)
		if err != nil {
			return nil, err
		}
		logf := func(format string, args ...any) { log.Error(fmt.Sprintf(format, args...)) }
		w := store.NewWriter(db, store.WriterOptions{}, logf)
		return store.NewShared(db, w), nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*store.Shared), nil
}

// healthPool keeps the health registry (error rates, latencies, circuit
// breakers) across reloads, so a reload neither forgets that an account
// is down nor resets one that is recovering. One registry serves every
// llmgate handler; accounts are told apart by their provider name.
var healthPool = caddy.NewUsagePool()

const healthKey = "health"

// pooledHealth adapts router.Health to caddy.Destructor.
type pooledHealth struct{ *router.Health }

func (pooledHealth) Destruct() error { return nil }

func acquireHealth() (*router.Health, error) {
	v, _, err := healthPool.LoadOrNew(healthKey, func() (caddy.Destructor, error) {
		return pooledHealth{router.NewHealth(router.BreakerConfig{})}, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(pooledHealth).Health, nil
}

// limitsPool keeps the rate and concurrency buckets across reloads, so a
// reload neither refills every key's bucket nor forgets its in-flight
// requests; new limits are pushed into the live buckets on their next use.
var limitsPool = caddy.NewUsagePool()

const limitsKey = "limits"

type pooledLimits struct{ *limits.Set }

func (pooledLimits) Destruct() error { return nil }

func acquireLimits() (*limits.Set, error) {
	v, _, err := limitsPool.LoadOrNew(limitsKey, func() (caddy.Destructor, error) {
		return pooledLimits{limits.NewSet()}, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(pooledLimits).Set, nil
}

// meterPool keeps the quota and budget windows (with their in-flight
// reservations) across reloads; on start they are rebuilt from the rows.
var meterPool = caddy.NewUsagePool()

const meterKey = "spend"

type pooledMeter struct{ *spend.Meter }

func (pooledMeter) Destruct() error { return nil }

func acquireMeter() (*spend.Meter, error) {
	v, _, err := meterPool.LoadOrNew(meterKey, func() (caddy.Destructor, error) {
		return pooledMeter{spend.NewMeter(nil)}, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(pooledMeter).Meter, nil
}

// sessionsPool keeps each conversation's routing tier across reloads.
var sessionsPool = caddy.NewUsagePool()

const sessionsKey = "sessions"

type pooledSessions struct{ *router.Sessions }

func (pooledSessions) Destruct() error { return nil }

func acquireSessions() (*router.Sessions, error) {
	v, _, err := sessionsPool.LoadOrNew(sessionsKey, func() (caddy.Destructor, error) {
		return pooledSessions{router.NewSessions()}, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(pooledSessions).Sessions, nil
}
