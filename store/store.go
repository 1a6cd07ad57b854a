// Package store persists what the gateway must remember: one usage row per
// client request, the gateway keys clients authenticate with, and the
// projects (teams or customers) those keys belong to, with their credit
// ledger.
//
// Store is the seam; SQLite (cgo, WAL mode) is the embedded implementation
// and other backends implement the same interface. Rows never go to the
// store on the request path: handlers Enqueue them on a Writer, which
// batches them into one transaction each. Key lookups are on the request
// path, so they are a single prepared, indexed query.
//
// Administration is on *SQLite rather than in Store, so other backends
// need not implement it: projects and their credit ledger
// (projects.go), the key lifecycle of create, update, rotate and revoke
// (keys.go), and the reports behind the admin API (usage.go,
// requests.go). Invalid input is ErrInvalid naming the field.
//
// Shared ties a Store and its Writer to a lease count so that a config
// reload can let go of the handle while long streams still hold it.
package store

import (
	"context"
	"errors"
	"time"
)

// Errors returned by the package. Callers compare with errors.Is; the
// store wraps them with context.
var (
	// ErrNotFound means the key or request does not exist.
	ErrNotFound = errors.New("not found")
	// ErrClosed means the store or writer was closed; nothing more can be
	// written through it.
	ErrClosed = errors.New("store closed")
	// ErrExists means an insert collided with an existing key id or hash.
	// Keys are never overwritten silently, since a hash collision would let
	// one secret authenticate as another key.
	ErrExists = errors.New("already exists")
	// ErrSchemaTooNew means the database was migrated by a newer build.
	// Opening it anyway could write rows the newer schema does not expect,
	// so the store refuses rather than guesses.
	ErrSchemaTooNew = errors.New("database schema is newer than this build")
	// ErrInvalid means the caller passed a value the store refuses. It is
	// always wrapped with the offending field, as in
	// "invalid: name: must not be empty", so the admin API can hand the
	// message to the user unchanged; *FieldError carries the field apart.
	ErrInvalid = errors.New("invalid")
)

// now is the store's clock. It is a variable so tests can move time past
// a rotation grace period without sleeping; nothing else assigns it.
var now = time.Now

// stamp is the current time as the store records it: UTC, whole
// nanoseconds, no monotonic reading, so a value written back into a
// caller's struct equals the one read back later.
func stamp() time.Time { return fromNanos(now().UnixNano()) }

// Request statuses recorded in Row.Status.
const (
	StatusOK        = "ok"
	StatusError     = "error"
	StatusCancelled = "cancelled"
	StatusTruncated = "truncated"
)

// Key statuses recorded in Key.Status. Only KeyActive authenticates; the
// others are kept so the gateway can answer with a precise error.
const (
	KeyActive    = "active"
	KeySuspended = "suspended"
	KeyPastDue   = "past_due"
	KeyRevoked   = "revoked"
)

// Attempt is one upstream try within a request.
type Attempt struct {
	Provider   string `json:"provider"` // account name
	Model      string `json:"model"`    // model sent upstream
	Status     int    `json:"status"`   // upstream HTTP status, 0 if none (network error)
	Error      string `json:"error,omitempty"`
	DurationMS int64  `json:"duration_ms"`
}

// Row is one client request.
type Row struct {
	ID               string    // request id, primary key
	Time             time.Time // when the request arrived (stored as unix nanos, UTC)
	KeyID            string
	KeyName          string
	Project          string
	Endpoint         string // "chat.completions", "embeddings", later "responses", "messages"
	RequestedModel   string
	Route            string // route name when the model was a route, else ""
	Provider         string // account that answered (last attempt)
	ProviderType     string
	Model            string // model that ran, as sent upstream
	Tier             string
	RouteScore       float64
	RouteReason      string
	Status           string // "ok", "error", "cancelled", "truncated"
	HTTPStatus       int
	ErrorCode        string
	ErrorMessage     string
	Attempts         []Attempt // stored as JSON text column; len() is the attempt count
	Stream           bool
	PromptTokens     int64
	CompletionTokens int64
	CachedTokens     int64
	CacheWriteTokens int64
	ReasoningTokens  int64
	UsageEstimated   bool
	CostUSD          float64
	SavedUSD         float64
	PriceUnknown     bool    // model not in the price table: cost 0 and flagged
	LatencyMS        float64 // total request latency
	TTFTMS           float64 // time to first token on streams, 0 otherwise
	ClientCancelled  bool
}

// Key is a gateway key kept in the store. Only the hash of the secret is
// stored, so a leaked database does not leak usable keys.
type Key struct {
	ID                    string
	Name                  string
	Project               string
	Owner                 string
	Prefix                string   // first 8 chars of the secret, for display
	Hash                  string   // hex sha256 of the secret
	Models                []string // glob patterns; empty = all (JSON column)
	RPM, TPM, Concurrency int64    // 0 = no limit
	// Quotas per calendar day; 0 = no quota.
	DailyRequests, DailyTokens int64
	// BudgetUSD caps spend per BudgetPeriod ("day", "week", "month",
	// "total"); 0 = no budget.
	BudgetUSD    float64
	BudgetPeriod string
	Status       string    // "active", "suspended", "past_due", "revoked"
	ExpiresAt    time.Time // zero = never
	CreatedAt    time.Time
	// UpdatedAt is when the key was last created, changed, rotated or
	// revoked through the store's key methods; zero for a key written by
	// InsertKey without one and never changed since.
	UpdatedAt time.Time
	Metadata  map[string]string // JSON column
}

// Store is the persistence seam; SQLite is the embedded implementation,
// other backends implement the same. Implementations must be safe for
// concurrent use.
type Store interface {
	// LookupKey returns the key whose secret hashes to hash (hex sha256),
	// or ErrNotFound. The secret may be the key's current one or one
	// replaced by a rotation whose grace has not ended; Key.Hash is always
	// the current one. It returns keys in any status; deciding whether a
	// suspended or expired key may pass is the caller's policy.
	LookupKey(ctx context.Context, hash string) (*Key, error)
	// InsertKey stores a new key, or fails with ErrExists when its id or
	// hash is taken.
	InsertKey(ctx context.Context, k *Key) error
	// WriteRows writes rows in one transaction: all of them or none. It
	// must not retain rows after returning, because the Writer reuses the
	// slice. Writing a row whose id already exists is not an error and
	// leaves the stored row alone, so a retried batch is idempotent.
	WriteRows(ctx context.Context, rows []Row) error
	// Request returns one row by id, or ErrNotFound.
	Request(ctx context.Context, id string) (*Row, error)
	// Close releases the database. Later calls return ErrClosed.
	Close() error
}
