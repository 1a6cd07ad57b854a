package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// maxGrace bounds a rotation's grace period. An old secret that stays
// valid for longer than this is not rotated in any useful sense, and the
// bound keeps now+grace far from int64 overflow.
const maxGrace = 365 * 24 * time.Hour

// CreateKey stores a new key with a fresh secret and returns the secret;
// it is the only time the secret exists outside the caller's hands, since
// the store keeps just its sha256 (Hash) and first 8 characters (Prefix).
// An empty ID is generated ("key_" + 16 base62); an empty Status is
// "active". k.Project, when set, must name an existing project by id or
// name and is stored as its id. The stored ID, Project, Prefix, Hash,
// Status, CreatedAt and UpdatedAt are written back into k.
func (s *SQLite) CreateKey(ctx context.Context, k *Key) (secret string, err error) {
	if k == nil {
		return "", invalid("key", "must not be empty")
	}
	c := *k
	if c.Status == "" {
		c.Status = KeyActive
	}
	switch c.Status {
	case KeyActive, KeySuspended, KeyPastDue:
	default: // a key is not created revoked
		return "", invalid("status", "%q: must be one of active, suspended, past_due", c.Status)
	}
	if c.ID != "" {
		if err := checkID(c.ID); err != nil {
			return "", err
		}
	}
	if err := checkKey(&c); err != nil {
		return "", err
	}
	t := stamp()
	if !c.ExpiresAt.IsZero() && !c.ExpiresAt.After(t) {
		return "", invalid("expires_at", "must be in the future")
	}
	if c.ID == "" {
		if c.ID, err = newID("key_"); err != nil {
			return "", fmt.Errorf("creating key: %w", err)
		}
	}
	if secret, c.Hash, c.Prefix, err = newSecret(); err != nil {
		return "", fmt.Errorf("creating key: %w", err)
	}
	c.CreatedAt, c.UpdatedAt = t, t

	err = s.inTx(ctx, "creating key", func(tx *sql.Tx) (string, error) {
		if c.Project != "" {
			p, err := getProject(ctx, tx, c.Project)
			if errors.Is(err, ErrNotFound) {
				return "", invalid("project", "no such project %q", c.Project)
			}
			if err != nil {
				return "", fmt.Errorf("creating key: %w", err)
			}
			c.Project = p.ID
		}
		if err := insertKey(ctx, tx, &c); err != nil {
			if errors.Is(err, ErrExists) {
				return "", fmt.Errorf("key %q: %w", c.ID, err)
			}
			return "", fmt.Errorf("creating key %s: %w", c.ID, err)
		}
		return "creating key " + c.ID, nil
	})
	if err != nil {
		return "", err
	}
	k.ID, k.Project, k.Prefix, k.Hash = c.ID, c.Project, c.Prefix, c.Hash
	k.Status, k.CreatedAt, k.UpdatedAt = c.Status, c.CreatedAt, c.UpdatedAt
	return secret, nil
}

// checkKey validates the fields CreateKey and UpdateKey share. The status
// is checked by each, since only UpdateKey may set "revoked".
func checkKey(k *Key) error {
	if err := checkName(k.Name, false); err != nil {
		return err
	}
	if err := checkModels(k.Models); err != nil {
		return err
	}
	if err := checkLimits(Limits{k.RPM, k.TPM, k.Concurrency, k.DailyRequests, k.DailyTokens}); err != nil {
		return err
	}
	return checkBudget(k.BudgetUSD, k.BudgetPeriod)
}

// GetKey returns the key with id, in any status.
func (s *SQLite) GetKey(ctx context.Context, id string) (*Key, error) {
	release, err := s.use()
	if err != nil {
		return nil, err
	}
	defer release()
	return getKey(ctx, s.db, id)
}

func getKey(ctx context.Context, q queryer, id string) (*Key, error) {
	return scanOne(q.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM keys WHERE id = ?`, id), scanKey, "key", id)
}

// ListKeys returns the keys of project, or all keys when project is "",
// newest first. project may be a project's id or name; a value no project
// answers to is matched as is, so keys inserted with a free-form project
// before projects existed can still be listed.
func (s *SQLite) ListKeys(ctx context.Context, project string) ([]Key, error) {
	release, err := s.use()
	if err != nil {
		return nil, err
	}
	defer release()
	query := `SELECT ` + keyColumns + ` FROM keys ORDER BY created_at DESC, id DESC`
	var args []any
	if project != "" {
		p, err := getProject(ctx, s.db, project)
		switch {
		case err == nil:
			project = p.ID
		case !errors.Is(err, ErrNotFound):
			return nil, fmt.Errorf("listing keys: %w", err)
		}
		query = `SELECT ` + keyColumns + ` FROM keys WHERE project = ? ORDER BY created_at DESC, id DESC`
		args = append(args, project)
	}
	return queryAll(ctx, s.db, "listing keys", scanKey, query, args...)
}

// UpdateKey replaces the mutable fields of key k.ID: name, owner, models,
// limits, quotas, budget, status, expiry and metadata. Status is required;
// an expiry in the past expires the key at once.
// Setting "revoked" revokes as RevokeKey does; a revoked key cannot be
// given another status, because revocation must be final for a leaked
// secret to stay dead. The project, secret and creation time are not
// mutable; their stored values and the new UpdatedAt are written back
// into k.
func (s *SQLite) UpdateKey(ctx context.Context, k *Key) error {
	if k == nil {
		return invalid("key", "must not be empty")
	}
	switch k.Status {
	case KeyActive, KeySuspended, KeyPastDue, KeyRevoked:
	default:
		return invalid("status", "%q: must be one of active, suspended, past_due, revoked", k.Status)
	}
	if err := checkKey(k); err != nil {
		return err
	}
	models, err := marshalJSON(k.Models, len(k.Models) == 0, "[]")
	if err != nil {
		return fmt.Errorf("updating key: encoding models: %w", err)
	}
	meta, err := marshalJSON(k.Metadata, len(k.Metadata) == 0, "{}")
	if err != nil {
		return fmt.Errorf("updating key: encoding metadata: %w", err)
	}

	var (
		cur *Key
		t   time.Time
	)
	err = s.inTx(ctx, "updating key", func(tx *sql.Tx) (string, error) {
		var err error
		if cur, err = getKey(ctx, tx, k.ID); err != nil {
			return "", err
		}
		if cur.Status == KeyRevoked && k.Status != KeyRevoked {
			return "", invalid("status", "key %q is revoked; revocation is final", cur.ID)
		}
		t = stamp()
		if _, err := tx.ExecContext(ctx,
			`UPDATE keys SET name = ?, owner = ?, models = ?, rpm = ?, tpm = ?, concurrency = ?,
			        daily_requests = ?, daily_tokens = ?, budget_usd = ?, budget_period = ?,
			        status = ?, expires_at = ?, metadata = ?, updated_at = ?
			  WHERE id = ?`,
			k.Name, k.Owner, models, k.RPM, k.TPM, k.Concurrency, k.DailyRequests,
			k.DailyTokens, k.BudgetUSD, k.BudgetPeriod, k.Status, toNanos(k.ExpiresAt),
			meta, t.UnixNano(), cur.ID); err != nil {
			return "", fmt.Errorf("updating key %s: %w", cur.ID, err)
		}
		if k.Status == KeyRevoked {
			if err := dropGraceSecrets(ctx, tx, cur.ID); err != nil {
				return "", fmt.Errorf("updating key %s: %w", cur.ID, err)
			}
		}
		return "updating key " + cur.ID, nil
	})
	if err != nil {
		return err
	}
	k.Project, k.Prefix, k.Hash, k.CreatedAt = cur.Project, cur.Prefix, cur.Hash, cur.CreatedAt
	k.UpdatedAt = t
	return nil
}

// RotateKey gives key id a new secret and returns it. The old secret keeps
// authenticating until now+grace, so clients can be moved over without an
// outage; grace 0 invalidates it at once. Secrets from earlier rotations
// keep their own expiry. A revoked key cannot be rotated.
func (s *SQLite) RotateKey(ctx context.Context, id string, grace time.Duration) (secret string, err error) {
	if grace < 0 {
		return "", invalid("grace", "must not be negative")
	}
	if grace > maxGrace {
		return "", invalid("grace", "must be at most %s", maxGrace)
	}
	secret, hash, prefix, err := newSecret()
	if err != nil {
		return "", fmt.Errorf("rotating key %s: %w", id, err)
	}

	op := "rotating key " + id
	err = s.inTx(ctx, op, func(tx *sql.Tx) (string, error) {
		cur, err := getKey(ctx, tx, id)
		if err != nil {
			return "", err
		}
		if cur.Status == KeyRevoked {
			return "", invalid("status", "key %q is revoked", id)
		}
		t := now().UnixNano()
		// The current secret's row goes, and expired grace rows with it;
		// the old secret comes back as a grace row if it is to outlive
		// this call.
		if _, err := tx.ExecContext(ctx,
			`DELETE FROM key_secrets WHERE key_id = ? AND (expires_at = 0 OR expires_at <= ?)`,
			id, t); err != nil {
			return "", fmt.Errorf("rotating key %s: %w", id, err)
		}
		if grace > 0 {
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO key_secrets (hash, key_id, prefix, expires_at) VALUES (?, ?, ?, ?)`,
				cur.Hash, id, cur.Prefix, t+int64(grace)); err != nil {
				return "", fmt.Errorf("rotating key %s: keeping the old secret: %w", id, err)
			}
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO key_secrets (hash, key_id, prefix, expires_at) VALUES (?, ?, ?, 0)`,
			hash, id, prefix)
		if err == nil {
			_, err = tx.ExecContext(ctx,
				`UPDATE keys SET hash = ?, prefix = ?, updated_at = ? WHERE id = ?`, hash, prefix, t, id)
		}
		if isUniqueViolation(err) {
			err = ErrExists
		}
		if err != nil {
			return "", fmt.Errorf("rotating key %s: storing the new secret: %w", id, err)
		}
		return op, nil
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// RevokeKey revokes key id at once, grace secrets included. The current
// secret still finds the key through LookupKey, now with status
// "revoked", so the gateway can say why it refuses; the grace secrets are
// deleted and find nothing. Revoking a revoked key is a no-op.
func (s *SQLite) RevokeKey(ctx context.Context, id string) error {
	op := "revoking key " + id
	return s.inTx(ctx, op, func(tx *sql.Tx) (string, error) {
		if _, err := getKey(ctx, tx, id); err != nil {
			return "", err
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE keys SET status = ?, updated_at = ? WHERE id = ? AND status != ?`,
			KeyRevoked, now().UnixNano(), id, KeyRevoked); err != nil {
			return "", fmt.Errorf("%s: %w", op, err)
		}
		if err := dropGraceSecrets(ctx, tx, id); err != nil {
			return "", fmt.Errorf("%s: %w", op, err)
		}
		return op, nil
	})
}

// dropGraceSecrets deletes every secret of the key but the current one.
func dropGraceSecrets(ctx context.Context, tx *sql.Tx, id string) error {
	if _, err := tx.ExecContext(ctx,
		`DELETE FROM key_secrets WHERE key_id = ? AND expires_at != 0`, id); err != nil {
		return fmt.Errorf("deleting grace secrets: %w", err)
	}
	return nil
}
