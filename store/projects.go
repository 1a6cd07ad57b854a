package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Project statuses. They share their spelling with the key statuses
// because the gateway answers both the same way: a suspended or past-due
// project refuses its keys with 402.
const (
	ProjectActive    = "active"
	ProjectSuspended = "suspended"
	ProjectPastDue   = "past_due"
)

// Budget periods for Project.BudgetPeriod and Key.BudgetPeriod. The empty
// period is allowed only without a budget.
const (
	PeriodDay   = "day"
	PeriodWeek  = "week"
	PeriodMonth = "month"
	PeriodTotal = "total"
)

// Paid policies for Project.PaidPolicy: which of a project's requests
// draw on its credit balance.
// The "_except_routes" forms exempt requests to a route (model "auto"):
// those draw on the key's daily quota only, so a team can give everyone
// cheap routed traffic while pinned models are paid for.
const (
	PaidNone                = "none"
	PaidAll                 = "all"
	PaidPremium             = "premium"
	PaidAllExceptRoutes     = "all_except_routes"
	PaidPremiumExceptRoutes = "premium_except_routes"
)

// Limits are rate limits and daily quotas. On a project they are the
// defaults for its keys; 0 means no limit.
type Limits struct {
	RPM           int64 `json:"rpm"`
	TPM           int64 `json:"tpm"`
	Concurrency   int64 `json:"concurrency"`
	DailyRequests int64 `json:"daily_requests"`
	DailyTokens   int64 `json:"daily_tokens"`
}

// Project is a team or customer that keys belong to.
type Project struct {
	ID, Name string
	Status   string // "active", "suspended", "past_due"
	// CreditUSD is the balance: the sum of the project's credit ledger.
	// Only AddCredit changes it (CreateProject records a non-zero opening
	// balance as the first ledger entry).
	CreditUSD    float64
	Limits       Limits
	BudgetUSD    float64 // 0 = no budget
	BudgetPeriod string  // "day", "week", "month", "total", or "" without a budget
	PaidPolicy   string  // "none", "all", "premium": which requests draw on credit
	Metadata     map[string]string
	CreatedAt    time.Time
}

const projectColumns = `id, name, status, credit_usd, rpm, tpm, concurrency,
	daily_requests, daily_tokens, budget_usd, budget_period, paid_policy,
	metadata, created_at`

// queryer is what both *sql.DB and *sql.Tx offer, so lookups can run
// inside or outside a transaction.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// CreateProject stores p. An empty ID is generated ("prj_" + 16 base62),
// an empty Status is "active" and an empty PaidPolicy "none"; CreatedAt
// is the current time. The stored ID, Status, PaidPolicy and CreatedAt
// are written back into p. A taken id
// or name is ErrExists, and so is a name equal to another project's id (or
// the reverse), since GetProject accepts either.
func (s *SQLite) CreateProject(ctx context.Context, p *Project) error {
	if p == nil {
		return invalid("project", "must not be empty")
	}
	c := *p
	if c.Status == "" {
		c.Status = ProjectActive
	}
	if c.PaidPolicy == "" {
		c.PaidPolicy = PaidNone
	}
	c.CreatedAt = stamp()
	if c.ID != "" {
		if err := checkID(c.ID); err != nil {
			return err
		}
	}
	if err := checkProject(&c); err != nil {
		return err
	}
	if err := checkAmount("credit_usd", c.CreditUSD); err != nil {
		return err
	}
	if c.ID == "" {
		id, err := newID("prj_")
		if err != nil {
			return fmt.Errorf("creating project: %w", err)
		}
		c.ID = id
	}
	meta, err := marshalJSON(c.Metadata, len(c.Metadata) == 0, "{}")
	if err != nil {
		return fmt.Errorf("creating project: encoding metadata: %w", err)
	}

	err = s.inTx(ctx, "creating project", func(tx *sql.Tx) (string, error) {
		if err := checkProjectNames(ctx, tx, "", c.ID, c.Name); err != nil {
			return "", err
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO projects (`+projectColumns+`) VALUES (`+placeholders(14)+`)`,
			c.ID, c.Name, c.Status, c.CreditUSD, c.Limits.RPM, c.Limits.TPM,
			c.Limits.Concurrency, c.Limits.DailyRequests, c.Limits.DailyTokens,
			c.BudgetUSD, c.BudgetPeriod, c.PaidPolicy, meta, toNanos(c.CreatedAt))
		if isUniqueViolation(err) {
			return "", fmt.Errorf("project %q: %w", c.ID, ErrExists)
		}
		if err != nil {
			return "", fmt.Errorf("creating project %s: %w", c.ID, err)
		}
		if c.CreditUSD != 0 {
			if err := insertLedger(ctx, tx, c.ID, c.CreditUSD, "opening balance"); err != nil {
				return "", fmt.Errorf("creating project %s: %w", c.ID, err)
			}
		}
		return "creating project " + c.ID, nil
	})
	if err != nil {
		return err
	}
	p.ID, p.Status, p.PaidPolicy, p.CreatedAt = c.ID, c.Status, c.PaidPolicy, c.CreatedAt
	return nil
}

// checkProject validates the fields CreateProject and UpdateProject share.
func checkProject(p *Project) error {
	if err := checkName(p.Name, true); err != nil {
		return err
	}
	if err := checkProjectStatus(p.Status); err != nil {
		return err
	}
	if err := checkLimits(p.Limits); err != nil {
		return err
	}
	if err := checkBudget(p.BudgetUSD, p.BudgetPeriod); err != nil {
		return err
	}
	return checkPaidPolicy(p.PaidPolicy)
}

// checkProjectNames refuses an id or name that another project (any but
// self) answers to, as its id or as its name.
func checkProjectNames(ctx context.Context, q queryer, self, id, name string) error {
	var gotID, gotName string
	err := q.QueryRowContext(ctx,
		`SELECT id, name FROM projects
		  WHERE id != ? AND (id IN (?, ?) OR name IN (?, ?)) LIMIT 1`,
		self, id, name, id, name).Scan(&gotID, &gotName)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("checking project names: %w", err)
	case gotID == id:
		return fmt.Errorf("id %q: %w", id, ErrExists)
	case gotName == name:
		return fmt.Errorf("name %q: %w", name, ErrExists)
	case gotID == name:
		return fmt.Errorf("name %q: %w as a project id", name, ErrExists)
	default:
		return fmt.Errorf("id %q: %w as a project name", id, ErrExists)
	}
}

// GetProject returns the project whose id, or else whose name, is ref.
func (s *SQLite) GetProject(ctx context.Context, ref string) (*Project, error) {
	release, err := s.use()
	if err != nil {
		return nil, err
	}
	defer release()
	return getProject(ctx, s.db, ref)
}

func getProject(ctx context.Context, q queryer, ref string) (*Project, error) {
	return scanOne(q.QueryRowContext(ctx,
		`SELECT `+projectColumns+` FROM projects WHERE id = ?
		 UNION ALL
		 SELECT `+projectColumns+` FROM projects WHERE name = ?
		 LIMIT 1`, ref, ref), scanProject, "project", ref)
}

// ListProjects returns every project, ordered by name.
func (s *SQLite) ListProjects(ctx context.Context) ([]Project, error) {
	release, err := s.use()
	if err != nil {
		return nil, err
	}
	defer release()
	return queryAll(ctx, s.db, "listing projects", scanProject,
		`SELECT `+projectColumns+` FROM projects ORDER BY name, id`)
}

// UpdateProject replaces the mutable fields of the project p.ID (or the
// project named p.ID): name, status, limits, budget, paid policy and
// metadata. Status and PaidPolicy are required here, not defaulted, so a
// caller that forgot them cannot reactivate a suspended project or stop
// charging credit by accident. CreditUSD and CreatedAt are not mutable;
// their stored values, and the canonical ID, are written back into p.
func (s *SQLite) UpdateProject(ctx context.Context, p *Project) error {
	if p == nil {
		return invalid("project", "must not be empty")
	}
	if err := checkProject(p); err != nil {
		return err
	}
	meta, err := marshalJSON(p.Metadata, len(p.Metadata) == 0, "{}")
	if err != nil {
		return fmt.Errorf("updating project: encoding metadata: %w", err)
	}

	var cur *Project
	err = s.inTx(ctx, "updating project", func(tx *sql.Tx) (string, error) {
		var err error
		if cur, err = getProject(ctx, tx, p.ID); err != nil {
			return "", err
		}
		if err := checkProjectNames(ctx, tx, cur.ID, cur.ID, p.Name); err != nil {
			return "", err
		}
		_, err = tx.ExecContext(ctx,
			`UPDATE projects SET name = ?, status = ?, rpm = ?, tpm = ?, concurrency = ?,
			        daily_requests = ?, daily_tokens = ?, budget_usd = ?, budget_period = ?,
			        paid_policy = ?, metadata = ?
			  WHERE id = ?`,
			p.Name, p.Status, p.Limits.RPM, p.Limits.TPM, p.Limits.Concurrency,
			p.Limits.DailyRequests, p.Limits.DailyTokens, p.BudgetUSD, p.BudgetPeriod,
			p.PaidPolicy, meta, cur.ID)
		if isUniqueViolation(err) {
			return "", fmt.Errorf("name %q: %w", p.Name, ErrExists)
		}
		if err != nil {
			return "", fmt.Errorf("updating project %s: %w", cur.ID, err)
		}
		return "updating project " + cur.ID, nil
	})
	if err != nil {
		return err
	}
	p.ID, p.CreditUSD, p.CreatedAt = cur.ID, cur.CreditUSD, cur.CreatedAt
	return nil
}

// AddCredit adds usd (negative for a charge) to the project's balance and
// records it in the ledger, in one transaction, and returns the new
// balance. The balance may go negative: whether a project may run on
// credit it does not have is the gateway's policy, not the ledger's.
// projectID may also be the project's name.
func (s *SQLite) AddCredit(ctx context.Context, projectID string, usd float64, note string) (balance float64, err error) {
	if err := checkAmount("amount_usd", usd); err != nil {
		return 0, err
	}
	if usd == 0 {
		return 0, invalid("amount_usd", "must not be zero")
	}
	err = s.inTx(ctx, "adding credit", func(tx *sql.Tx) (string, error) {
		p, err := getProject(ctx, tx, projectID)
		if err != nil {
			return "", err
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE projects SET credit_usd = credit_usd + ? WHERE id = ?`, usd, p.ID); err != nil {
			return "", fmt.Errorf("adding credit to %s: %w", p.ID, err)
		}
		if err := insertLedger(ctx, tx, p.ID, usd, note); err != nil {
			return "", fmt.Errorf("adding credit to %s: %w", p.ID, err)
		}
		if err := tx.QueryRowContext(ctx,
			`SELECT credit_usd FROM projects WHERE id = ?`, p.ID).Scan(&balance); err != nil {
			return "", fmt.Errorf("adding credit to %s: reading balance: %w", p.ID, err)
		}
		return "adding credit to " + p.ID, nil
	})
	if err != nil {
		return 0, err
	}
	return balance, nil
}

func insertLedger(ctx context.Context, tx *sql.Tx, projectID string, usd float64, note string) error {
	_, err := tx.ExecContext(ctx,
		`INSERT INTO credit_ledger (project_id, amount_usd, note, time) VALUES (?, ?, ?, ?)`,
		projectID, usd, note, now().UnixNano())
	if err != nil {
		return fmt.Errorf("recording ledger entry: %w", err)
	}
	return nil
}

func scanProject(sc scanner) (*Project, error) {
	var (
		p       Project
		meta    string
		created int64
	)
	err := sc.Scan(&p.ID, &p.Name, &p.Status, &p.CreditUSD, &p.Limits.RPM, &p.Limits.TPM,
		&p.Limits.Concurrency, &p.Limits.DailyRequests, &p.Limits.DailyTokens,
		&p.BudgetUSD, &p.BudgetPeriod, &p.PaidPolicy, &meta, &created)
	if err != nil {
		return nil, err
	}
	p.CreatedAt = fromNanos(created)
	if err := json.Unmarshal([]byte(meta), &p.Metadata); err != nil {
		return nil, fmt.Errorf("decoding metadata: %w", err)
	}
	if len(p.Metadata) == 0 {
		p.Metadata = nil
	}
	return &p, nil
}
