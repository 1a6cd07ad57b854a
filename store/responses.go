package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// StoredResponse is one Responses API turn kept for previous_response_id
// and GET /v1/responses/{id}. Input is the JSON array of the turn's own
// input items (not the history it continued); Response is the full
// response object, output items included.
type StoredResponse struct {
	ID         string
	KeyID      string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	PreviousID string
	// Provider is the account that answered; Native reports that it
	// stored the response itself (so it can be continued there by id).
	Provider string
	Native   bool
	Input    []byte
	Response []byte
}

// PutResponse stores r, replacing an earlier version with the same id and
// key (a retried write). Every Nth write also purges expired responses,
// so retention needs no background job.
func (s *SQLite) PutResponse(ctx context.Context, r *StoredResponse) error {
	release, err := s.use()
	if err != nil {
		return err
	}
	defer release()
	if r.ID == "" || r.KeyID == "" {
		return fmt.Errorf("%w: a stored response needs an id and a key", ErrInvalid)
	}
	input := r.Input
	if len(input) == 0 {
		input = []byte("[]")
	}
	_, err = s.db.ExecContext(ctx,
		`INSERT INTO responses (id, key_id, created_at, expires_at, previous_id, provider, native, input, response)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		 ON CONFLICT(id) DO UPDATE SET expires_at = excluded.expires_at, response = excluded.response,
		   input = excluded.input, provider = excluded.provider, native = excluded.native
		 WHERE responses.key_id = excluded.key_id`,
		r.ID, r.KeyID, toNanos(r.CreatedAt), toNanos(r.ExpiresAt), r.PreviousID, r.Provider, boolInt(r.Native),
		string(input), string(r.Response))
	if err != nil {
		return fmt.Errorf("storing response %s: %w", r.ID, err)
	}
	if s.putCount.Add(1)%purgeEvery == 1 {
		// Off the caller's path: a response is stored while its client
		// waits for the last event.
		go s.purgeResponses()
	}
	return nil
}

// purgeResponses deletes the expired stored responses.
func (s *SQLite) purgeResponses() {
	release, err := s.use()
	if err != nil {
		return
	}
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, _ = s.db.ExecContext(ctx, `DELETE FROM responses WHERE expires_at <= ?`, toNanos(time.Now()))
}

// purgeEvery is how many stored responses pass between purges of the
// expired ones (the first write purges too, so a restart cleans up).
const purgeEvery = 256

// GetResponse returns the response id stored for keyID, or ErrNotFound
// when there is none, it expired, or it belongs to another key (which is
// indistinguishable from not existing, on purpose).
func (s *SQLite) GetResponse(ctx context.Context, keyID, id string) (*StoredResponse, error) {
	release, err := s.use()
	if err != nil {
		return nil, err
	}
	defer release()
	r := &StoredResponse{ID: id, KeyID: keyID}
	var created, expires int64
	var native int
	var input, resp string
	err = s.db.QueryRowContext(ctx,
		`SELECT created_at, expires_at, previous_id, provider, native, input, response
		   FROM responses WHERE id = ? AND key_id = ? AND expires_at > ?`,
		id, keyID, toNanos(time.Now())).Scan(&created, &expires, &r.PreviousID, &r.Provider, &native, &input, &resp)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reading response %s: %w", id, err)
	}
	r.CreatedAt, r.ExpiresAt, r.Native = fromNanos(created), fromNanos(expires), native != 0
	r.Input, r.Response = []byte(input), []byte(resp)
	return r, nil
}

// DeleteResponse removes the response id of keyID; ErrNotFound when the
// key has no such response.
func (s *SQLite) DeleteResponse(ctx context.Context, keyID, id string) error {
	release, err := s.use()
	if err != nil {
		return err
	}
	defer release()
	res, err := s.db.ExecContext(ctx, `DELETE FROM responses WHERE id = ? AND key_id = ? AND expires_at > ?`, id, keyID, toNanos(time.Now()))
	if err != nil {
		return fmt.Errorf("deleting response %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ResponseChain returns the response id of keyID and the ones it
// continues, newest first, following previous_id for at most max turns,
// in one recursive query (a conversation of n turns is one round trip,
// not n). It stops at the first turn that is missing, expired or another
// key's; ErrNotFound when id itself is.
func (s *SQLite) ResponseChain(ctx context.Context, keyID, id string, max int) ([]*StoredResponse, error) {
	release, err := s.use()
	if err != nil {
		return nil, err
	}
	defer release()
	now := toNanos(time.Now())
	rows, err := s.db.QueryContext(ctx, `
WITH RECURSIVE chain(id, created_at, expires_at, previous_id, provider, native, input, response, depth) AS (
	SELECT id, created_at, expires_at, previous_id, provider, native, input, response, 0
	  FROM responses WHERE id = ? AND key_id = ? AND expires_at > ?
	UNION ALL
	SELECT r.id, r.created_at, r.expires_at, r.previous_id, r.provider, r.native, r.input, r.response, c.depth + 1
	  FROM responses r JOIN chain c ON r.id = c.previous_id
	 WHERE r.key_id = ? AND r.expires_at > ? AND c.depth + 1 < ?
)
SELECT id, created_at, expires_at, previous_id, provider, native, input, response FROM chain ORDER BY depth`,
		id, keyID, now, keyID, now, max)
	if err != nil {
		return nil, fmt.Errorf("reading conversation of %s: %w", id, err)
	}
	defer rows.Close()
	var out []*StoredResponse
	for rows.Next() {
		r := &StoredResponse{KeyID: keyID}
		var created, expires int64
		var native int
		var input, resp string
		if err := rows.Scan(&r.ID, &created, &expires, &r.PreviousID, &r.Provider, &native, &input, &resp); err != nil {
			return nil, fmt.Errorf("reading conversation of %s: %w", id, err)
		}
		r.CreatedAt, r.ExpiresAt, r.Native = fromNanos(created), fromNanos(expires), native != 0
		r.Input, r.Response = []byte(input), []byte(resp)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading conversation of %s: %w", id, err)
	}
	if len(out) == 0 {
		return nil, ErrNotFound
	}
	return out, nil
}
