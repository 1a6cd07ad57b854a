package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"
)

// dsnParams configure every connection the pool opens. WAL lets the key
// lookups on the request path read while the writer commits; NORMAL
// synchronous is durable across application crashes in WAL mode and only
// risks the last commits on power loss, which usage rows can afford. The
// immediate transaction lock takes the write lock at BEGIN, so concurrent
// writers wait on busy_timeout instead of failing with SQLITE_BUSY when a
// read transaction tries to upgrade.
const dsnParams = "_journal_mode=WAL&_busy_timeout=5000&_synchronous=NORMAL&_foreign_keys=on&_txlock=immediate"

// maxIdleConns keeps enough connections open that concurrent key lookups
// do not reopen the file (and rerun the connection pragmas) per request.
const maxIdleConns = 8

// SQLite is the embedded Store: a single database file in WAL mode.
type SQLite struct {
	db *sql.DB

	// Statements on the hot paths are prepared once. database/sql
	// re-prepares them per pooled connection as needed.
	lookupKey  *sql.Stmt
	insertRow  *sql.Stmt
	getRequest *sql.Stmt

	// mu makes Close wait for calls in flight, so they finish normally or
	// see ErrClosed instead of a "statement is closed" error.
	mu     sync.RWMutex
	closed bool

	// putCount paces the purge of expired stored responses.
	putCount atomic.Int64
}

var _ Store = (*SQLite)(nil)

// OpenSQLite opens (creating if needed) the database at path and brings
// its schema up to date. The parent directory is created with mode 0700
// because the file holds key hashes and usage records.
func OpenSQLite(path string) (*SQLite, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("opening store: resolving path: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("opening store: creating directory: %w", err)
	}
	db, err := sql.Open("sqlite3", dsn(abs))
	if err != nil {
		return nil, fmt.Errorf("opening store: %w", err)
	}
	db.SetMaxIdleConns(maxIdleConns)

	s := &SQLite{db: db}
	if err := s.init(context.Background()); err != nil {
		s.closeStatements()
		db.Close()
		return nil, fmt.Errorf("opening store %s: %w", abs, err)
	}
	return s, nil
}

// dsn builds a SQLite URI for path. The "file:" form is used so that a
// path containing '?' is not cut short by the driver's parameter parsing;
// the characters URIs treat specially are percent-encoded, which SQLite
// decodes again.
func dsn(path string) string {
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(filepath.ToSlash(path))
	return "file:" + esc + "?" + dsnParams
}

func (s *SQLite) init(ctx context.Context) error {
	if err := migrate(ctx, s.db); err != nil {
		return err
	}
	var err error
	// The current secret is keys.hash; a rotated-out secret is found in
	// key_secrets while its grace lasts. Both branches are indexed
	// equality lookups, so authentication stays one cheap query.
	if s.lookupKey, err = s.db.PrepareContext(ctx,
		`SELECT `+keyColumns+` FROM keys WHERE hash = ?
		 UNION ALL
		 SELECT `+qualified("k", keyColumnNames)+`
		   FROM key_secrets s JOIN keys k ON k.id = s.key_id
		  WHERE s.hash = ? AND s.expires_at > ?
		 LIMIT 1`); err != nil {
		return fmt.Errorf("preparing key lookup: %w", err)
	}
	if s.insertRow, err = s.db.PrepareContext(ctx,
		`INSERT INTO requests (`+rowColumns+`) VALUES (`+placeholders(rowColumnCount)+`)
		 ON CONFLICT(id) DO NOTHING`); err != nil {
		return fmt.Errorf("preparing row insert: %w", err)
	}
	if s.getRequest, err = s.db.PrepareContext(ctx,
		`SELECT `+rowColumns+` FROM requests WHERE id = ?`); err != nil {
		return fmt.Errorf("preparing request lookup: %w", err)
	}
	return nil
}

// LookupKey implements Store with one indexed lookup on the current
// secret's hash, falling back to secrets still in their rotation grace.
// Expired grace secrets are not found.
func (s *SQLite) LookupKey(ctx context.Context, hash string) (*Key, error) {
	release, err := s.use()
	if err != nil {
		return nil, err
	}
	defer release()
	k, err := scanKey(s.lookupKey.QueryRowContext(ctx, hash, hash, now().UnixNano()))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("looking up key: %w", err)
	}
	return k, nil
}

// InsertKey implements Store. A zero CreatedAt is stored as the current
// time and an empty Status as "active"; other fields are stored as given,
// without the validation CreateKey applies, and k itself is not modified.
func (s *SQLite) InsertKey(ctx context.Context, k *Key) error {
	if k == nil || k.ID == "" || k.Hash == "" {
		return errors.New("inserting key: id and hash are required")
	}
	release, err := s.use()
	if err != nil {
		return err
	}
	defer release()
	stored := *k
	if stored.CreatedAt.IsZero() {
		stored.CreatedAt = now()
	}
	if stored.Status == "" {
		stored.Status = KeyActive
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("inserting key %s: beginning transaction: %w", k.ID, err)
	}
	defer tx.Rollback() // no-op after Commit
	if err := insertKey(ctx, tx, &stored); err != nil {
		return fmt.Errorf("inserting key %s: %w", k.ID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("inserting key %s: committing: %w", k.ID, err)
	}
	return nil
}

// insertKey writes k and its current secret in tx. A taken id or hash
// (current or in grace, of any key) is ErrExists.
func insertKey(ctx context.Context, tx *sql.Tx, k *Key) error {
	models, err := marshalJSON(k.Models, len(k.Models) == 0, "[]")
	if err != nil {
		return fmt.Errorf("encoding models: %w", err)
	}
	meta, err := marshalJSON(k.Metadata, len(k.Metadata) == 0, "{}")
	if err != nil {
		return fmt.Errorf("encoding metadata: %w", err)
	}
	_, err = tx.ExecContext(ctx,
		`INSERT INTO keys (`+keyColumns+`) VALUES (`+placeholders(keyColumnCount)+`)`,
		k.ID, k.Name, k.Project, k.Owner, k.Prefix, k.Hash, models,
		k.RPM, k.TPM, k.Concurrency, k.DailyRequests, k.DailyTokens,
		k.BudgetUSD, k.BudgetPeriod, k.Status,
		toNanos(k.ExpiresAt), toNanos(k.CreatedAt), toNanos(k.UpdatedAt), meta)
	if err == nil {
		_, err = tx.ExecContext(ctx,
			`INSERT INTO key_secrets (hash, key_id, prefix, expires_at) VALUES (?, ?, ?, 0)`,
			k.Hash, k.ID, k.Prefix)
	}
	if isUniqueViolation(err) {
		return ErrExists
	}
	return err
}

// WriteRows implements Store: one immediate transaction for the batch.
func (s *SQLite) WriteRows(ctx context.Context, rows []Row) error {
	if len(rows) == 0 {
		return nil
	}
	release, err := s.use()
	if err != nil {
		return err
	}
	defer release()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("writing rows: beginning transaction: %w", err)
	}
	defer tx.Rollback() // no-op after Commit
	stmt := tx.StmtContext(ctx, s.insertRow)
	for i := range rows {
		r := &rows[i]
		attempts, err := marshalJSON(r.Attempts, len(r.Attempts) == 0, "[]")
		if err != nil {
			return fmt.Errorf("writing rows: encoding attempts of %s: %w", r.ID, err)
		}
		if _, err := stmt.ExecContext(ctx,
			r.ID, toNanos(r.Time), r.KeyID, r.KeyName, r.Project, r.Endpoint,
			r.RequestedModel, r.Route, r.Provider, r.ProviderType, r.Model, r.Tier,
			r.RouteScore, r.RouteReason, r.Status, r.HTTPStatus, r.ErrorCode,
			r.ErrorMessage, attempts, r.Stream, r.PromptTokens, r.CompletionTokens,
			r.CachedTokens, r.CacheWriteTokens, r.ReasoningTokens, r.UsageEstimated,
			r.CostUSD, r.SavedUSD, r.PriceUnknown, r.LatencyMS, r.TTFTMS,
			r.ClientCancelled,
		); err != nil {
			return fmt.Errorf("writing rows: inserting %s: %w", r.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("writing rows: committing: %w", err)
	}
	return nil
}

// Request implements Store.
func (s *SQLite) Request(ctx context.Context, id string) (*Row, error) {
	release, err := s.use()
	if err != nil {
		return nil, err
	}
	defer release()
	r, err := scanRow(s.getRequest.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reading request %s: %w", id, err)
	}
	return r, nil
}

// use admits one call: it holds Close off until release is called, and
// fails with ErrClosed once the store is closed.
func (s *SQLite) use() (release func(), err error) {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, ErrClosed
	}
	return s.mu.RUnlock, nil
}

// Close implements Store. It waits for calls in flight and checkpoints
// nothing itself: SQLite checkpoints the WAL when the last connection
// closes.
func (s *SQLite) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.closed = true
	s.closeStatements()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("closing store: %w", err)
	}
	return nil
}

func (s *SQLite) closeStatements() {
	for _, st := range []*sql.Stmt{s.lookupKey, s.insertRow, s.getRequest} {
		if st != nil {
			st.Close()
		}
	}
}

// scanner is satisfied by *sql.Row and *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

func scanRow(sc scanner) (*Row, error) {
	var (
		r        Row
		t        int64
		attempts string
	)
	err := sc.Scan(
		&r.ID, &t, &r.KeyID, &r.KeyName, &r.Project, &r.Endpoint,
		&r.RequestedModel, &r.Route, &r.Provider, &r.ProviderType, &r.Model, &r.Tier,
		&r.RouteScore, &r.RouteReason, &r.Status, &r.HTTPStatus, &r.ErrorCode,
		&r.ErrorMessage, &attempts, &r.Stream, &r.PromptTokens, &r.CompletionTokens,
		&r.CachedTokens, &r.CacheWriteTokens, &r.ReasoningTokens, &r.UsageEstimated,
		&r.CostUSD, &r.SavedUSD, &r.PriceUnknown, &r.LatencyMS, &r.TTFTMS,
		&r.ClientCancelled,
	)
	if err != nil {
		return nil, err
	}
	r.Time = fromNanos(t)
	if err := json.Unmarshal([]byte(attempts), &r.Attempts); err != nil {
		return nil, fmt.Errorf("decoding attempts: %w", err)
	}
	if len(r.Attempts) == 0 {
		r.Attempts = nil
	}
	return &r, nil
}

func scanKey(sc scanner) (*Key, error) {
	var (
		k                             Key
		models, meta                  string
		expires, createdAt, updatedAt int64
	)
	err := sc.Scan(
		&k.ID, &k.Name, &k.Project, &k.Owner, &k.Prefix, &k.Hash, &models,
		&k.RPM, &k.TPM, &k.Concurrency, &k.DailyRequests, &k.DailyTokens,
		&k.BudgetUSD, &k.BudgetPeriod, &k.Status, &expires, &createdAt, &updatedAt,
		&meta,
	)
	if err != nil {
		return nil, err
	}
	k.ExpiresAt = fromNanos(expires)
	k.CreatedAt = fromNanos(createdAt)
	k.UpdatedAt = fromNanos(updatedAt)
	if err := json.Unmarshal([]byte(models), &k.Models); err != nil {
		return nil, fmt.Errorf("decoding models: %w", err)
	}
	if len(k.Models) == 0 {
		k.Models = nil
	}
	if err := json.Unmarshal([]byte(meta), &k.Metadata); err != nil {
		return nil, fmt.Errorf("decoding metadata: %w", err)
	}
	if len(k.Metadata) == 0 {
		k.Metadata = nil
	}
	return &k, nil
}

// marshalJSON encodes v for a JSON column, writing empty as the literal
// for an empty value so the column is always valid JSON for SQLite's json
// functions.
func marshalJSON(v any, isEmpty bool, empty string) (string, error) {
	if isEmpty {
		return empty, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// toNanos stores a time as UTC unix nanoseconds, with the zero time as 0
// so that "never" and "unset" survive a round trip.
func toNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func isUniqueViolation(err error) bool {
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return false
	}
	return se.ExtendedCode == sqlite3.ErrConstraintUnique ||
		se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey
}
