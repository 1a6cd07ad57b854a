package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// migration is one schema step. Its version is its position in migrations
// plus one; PRAGMA user_version records the last version applied.
type migration struct {
	name string
	sql  string
}

// migrations are applied in order, each in its own transaction together
// with the user_version bump, so a crash mid-migration leaves the previous
// version intact. Never edit or reorder a released entry: databases in the
// field have already applied it. Append new steps instead.
var migrations = []migration{
	{
		name: "requests table",
		sql: `
CREATE TABLE requests (
	id                 TEXT PRIMARY KEY,
	time               INTEGER NOT NULL,
	key_id             TEXT NOT NULL DEFAULT '',
	key_name           TEXT NOT NULL DEFAULT '',
	project            TEXT NOT NULL DEFAULT '',
	endpoint           TEXT NOT NULL DEFAULT '',
	requested_model    TEXT NOT NULL DEFAULT '',
	route              TEXT NOT NULL DEFAULT '',
	provider           TEXT NOT NULL DEFAULT '',
	provider_type      TEXT NOT NULL DEFAULT '',
	model              TEXT NOT NULL DEFAULT '',
	tier               TEXT NOT NULL DEFAULT '',
	route_score        REAL NOT NULL DEFAULT 0,
	route_reason       TEXT NOT NULL DEFAULT '',
	status             TEXT NOT NULL DEFAULT '',
	http_status        INTEGER NOT NULL DEFAULT 0,
	error_code         TEXT NOT NULL DEFAULT '',
	error_message      TEXT NOT NULL DEFAULT '',
	attempts           TEXT NOT NULL DEFAULT '[]',
	stream             INTEGER NOT NULL DEFAULT 0,
	prompt_tokens      INTEGER NOT NULL DEFAULT 0,
	completion_tokens  INTEGER NOT NULL DEFAULT 0,
	cached_tokens      INTEGER NOT NULL DEFAULT 0,
	cache_write_tokens INTEGER NOT NULL DEFAULT 0,
	reasoning_tokens   INTEGER NOT NULL DEFAULT 0,
	usage_estimated    INTEGER NOT NULL DEFAULT 0,
	cost_usd           REAL NOT NULL DEFAULT 0,
	saved_usd          REAL NOT NULL DEFAULT 0,
	price_unknown      INTEGER NOT NULL DEFAULT 0,
	latency_ms         REAL NOT NULL DEFAULT 0,
	ttft_ms            REAL NOT NULL DEFAULT 0,
	client_cancelled   INTEGER NOT NULL DEFAULT 0
);
-- Usage queries are time ranges, optionally per key or per model; the
-- composite indexes serve both the equality and the range.
CREATE INDEX requests_time ON requests (time);
CREATE INDEX requests_key_id ON requests (key_id, time);
CREATE INDEX requests_model ON requests (model, time);
`,
	},
	{
		name: "keys table",
		sql: `
CREATE TABLE keys (
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL DEFAULT '',
	project     TEXT NOT NULL DEFAULT '',
	owner       TEXT NOT NULL DEFAULT '',
	prefix      TEXT NOT NULL DEFAULT '',
	hash        TEXT NOT NULL,
	models      TEXT NOT NULL DEFAULT '[]',
	rpm         INTEGER NOT NULL DEFAULT 0,
	tpm         INTEGER NOT NULL DEFAULT 0,
	concurrency INTEGER NOT NULL DEFAULT 0,
	status      TEXT NOT NULL DEFAULT 'active',
	expires_at  INTEGER NOT NULL DEFAULT 0,
	created_at  INTEGER NOT NULL DEFAULT 0,
	metadata    TEXT NOT NULL DEFAULT '{}'
);
-- Authentication looks keys up by hash on every request.
CREATE UNIQUE INDEX keys_hash ON keys (hash);
`,
	},
	{
		name: "projects and credit ledger",
		sql: `
-- A project is a team or customer. Its limits are the defaults for its
-- keys; credit_usd is the balance, kept equal to the sum of its ledger by
-- updating both in one transaction.
CREATE TABLE projects (
	id             TEXT PRIMARY KEY,
	name           TEXT NOT NULL,
	status         TEXT NOT NULL DEFAULT 'active',
	credit_usd     REAL NOT NULL DEFAULT 0,
	rpm            INTEGER NOT NULL DEFAULT 0,
	tpm            INTEGER NOT NULL DEFAULT 0,
	concurrency    INTEGER NOT NULL DEFAULT 0,
	daily_requests INTEGER NOT NULL DEFAULT 0,
	daily_tokens   INTEGER NOT NULL DEFAULT 0,
	budget_usd     REAL NOT NULL DEFAULT 0,
	budget_period  TEXT NOT NULL DEFAULT '',
	paid_policy    TEXT NOT NULL DEFAULT 'none',
	metadata       TEXT NOT NULL DEFAULT '{}',
	created_at     INTEGER NOT NULL DEFAULT 0
);
-- Projects are addressed by id or by name, so names are unique too.
CREATE UNIQUE INDEX projects_name ON projects (name);

-- Every change to a balance, positive for a top-up and negative for a
-- charge; the audit trail behind projects.credit_usd.
CREATE TABLE credit_ledger (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	project_id TEXT NOT NULL REFERENCES projects (id),
	amount_usd REAL NOT NULL,
	note       TEXT NOT NULL DEFAULT '',
	time       INTEGER NOT NULL
);
CREATE INDEX credit_ledger_project ON credit_ledger (project_id, time);
`,
	},
	{
		name: "key secrets, quotas and budgets",
		sql: `
ALTER TABLE keys ADD COLUMN daily_requests INTEGER NOT NULL DEFAULT 0;
ALTER TABLE keys ADD COLUMN daily_tokens   INTEGER NOT NULL DEFAULT 0;
ALTER TABLE keys ADD COLUMN budget_usd     REAL NOT NULL DEFAULT 0;
ALTER TABLE keys ADD COLUMN budget_period  TEXT NOT NULL DEFAULT '';
ALTER TABLE keys ADD COLUMN updated_at     INTEGER NOT NULL DEFAULT 0;

-- Every secret a key has: the current one (expires_at 0, mirroring
-- keys.hash) and those replaced by a rotation, which keep working until
-- expires_at. Holding them all here makes the primary key refuse a hash
-- that any key, current or in grace, already answers to.
CREATE TABLE key_secrets (
	hash       TEXT PRIMARY KEY,
	key_id     TEXT NOT NULL REFERENCES keys (id) ON DELETE CASCADE,
	prefix     TEXT NOT NULL DEFAULT '',
	expires_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX key_secrets_key ON key_secrets (key_id);
INSERT INTO key_secrets (hash, key_id, prefix, expires_at)
	SELECT hash, id, prefix, 0 FROM keys;

-- The admin API lists a project's keys, newest first.
CREATE INDEX keys_project ON keys (project, created_at);
`,
	},
	{
		name: "request indexes for reporting",
		sql: `
-- Usage summaries, the request log and the counters rebuilt on start
-- filter by project or provider over a time range.
CREATE INDEX requests_project ON requests (project, time);
CREATE INDEX requests_provider ON requests (provider, time);
`,
	},
	{
		name: "stored responses",
		sql: `
-- The Responses API's stored responses: each turn's own input items and
-- the full response object, per key, so previous_response_id can rebuild
-- a conversation for any provider. native marks a response the upstream
-- account stored itself (a passthrough with store on), which can then be
-- continued there by id.
CREATE TABLE responses (
	id          TEXT PRIMARY KEY,
	key_id      TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	expires_at  INTEGER NOT NULL,
	previous_id TEXT NOT NULL DEFAULT '',
	provider    TEXT NOT NULL DEFAULT '',
	native      INTEGER NOT NULL DEFAULT 0,
	input       TEXT NOT NULL DEFAULT '[]',
	response    TEXT NOT NULL
);
CREATE INDEX responses_key ON responses (key_id, created_at);
CREATE INDEX responses_expires ON responses (expires_at);
`,
	},
}

// Column lists shared by the inserts and selects, in Row and Key field
// order; scanRow and scanKey depend on that order.
const (
	rowColumns = `id, time, key_id, key_name, project, endpoint, requested_model,
	route, provider, provider_type, model, tier, route_score, route_reason,
	status, http_status, error_code, error_message, attempts, stream,
	prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens,
	reasoning_tokens, usage_estimated, cost_usd, saved_usd, price_unknown,
	latency_ms, ttft_ms, client_cancelled`
	rowColumnCount = 32
)

// keyColumnNames is a slice rather than a string so the key lookup can
// qualify each column for its join with key_secrets.
var keyColumnNames = []string{
	"id", "name", "project", "owner", "prefix", "hash", "models", "rpm", "tpm",
	"concurrency", "daily_requests", "daily_tokens", "budget_usd", "budget_period",
	"status", "expires_at", "created_at", "updated_at", "metadata",
}

var (
	keyColumns     = strings.Join(keyColumnNames, ", ")
	keyColumnCount = len(keyColumnNames)
)

// qualified prefixes each column with table, as in "k.id, k.name".
func qualified(table string, columns []string) string {
	q := make([]string, len(columns))
	for i, c := range columns {
		q[i] = table + "." + c
	}
	return strings.Join(q, ", ")
}

// migrate brings db up to the latest schema version. Each step reads
// user_version inside its own immediate transaction, so two processes
// opening the same fresh file cannot both apply a step.
func migrate(ctx context.Context, db *sql.DB) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrating: %w", err)
	}
	defer conn.Close()
	for {
		done, err := migrateStep(ctx, conn)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

// migrateStep applies the next pending migration, reporting done when the
// schema is already current.
func migrateStep(ctx context.Context, conn *sql.Conn) (done bool, err error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migrating: beginning transaction: %w", err)
	}
	defer tx.Rollback() // no-op after Commit

	var version int
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return false, fmt.Errorf("migrating: reading user_version: %w", err)
	}
	switch {
	case version > len(migrations):
		return false, fmt.Errorf("migrating: database is at version %d, this build knows %d: %w",
			version, len(migrations), ErrSchemaTooNew)
	case version == len(migrations):
		return true, nil
	}

	m := migrations[version]
	next := version + 1
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, fmt.Errorf("migrating to version %d (%s): %w", next, m.name, err)
	}
	// PRAGMA does not take bound parameters; next is an int we computed.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, next)); err != nil {
		return false, fmt.Errorf("migrating to version %d (%s): setting user_version: %w", next, m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migrating to version %d (%s): committing: %w", next, m.name, err)
	}
	return false, nil
}
