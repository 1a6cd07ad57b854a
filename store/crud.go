package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// The helpers here are the skeleton that the key and project calls
// share, so both report failures with the same shape of message and a
// fix to one (say, to how a transaction is admitted) reaches both.

// inTx runs fn in a transaction of its own, admitted through use so that
// Close waits for it, and commits when fn returns nil; otherwise the
// transaction is rolled back and fn's error returned as it is. A failure
// to begin is reported under op ("updating project: beginning
// transaction: ..."), one to commit under the subject fn returns
// ("updating project prj_x: committing: ..."): a call given a name only
// learns the row's id once fn has read it.
func (s *SQLite) inTx(ctx context.Context, op string, fn func(tx *sql.Tx) (subject string, err error)) error {
	release, err := s.use()
	if err != nil {
		return err
	}
	defer release()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: beginning transaction: %w", op, err)
	}
	defer tx.Rollback() // no-op after Commit
	subject, err := fn(tx)
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: committing: %w", subject, err)
	}
	return nil
}

// scanOne scans the one row a lookup of kind by ref answers with. No row
// is ErrNotFound, as "key \"x\": not found", which callers and the admin
// API tell apart from a failure to read.
func scanOne[T any](row *sql.Row, scan func(scanner) (*T, error), kind, ref string) (*T, error) {
	v, err := scan(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%s %q: %w", kind, ref, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s %q: %w", kind, ref, err)
	}
	return v, nil
}

// queryAll runs query and scans every row it returns, reporting any
// failure under op ("listing keys: ..."). The result is never nil, so an
// empty list encodes as [] rather than null.
func queryAll[T any](ctx context.Context, q queryer, op string, scan func(scanner) (*T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		out = append(out, *v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return out, nil
}
