package store

import (
	"fmt"
	"math"
	"strings"
	"unicode"
)

// FieldError is the error behind every ErrInvalid the store returns. Its
// message is the one fmt.Errorf("%w: field: reason", ErrInvalid) would
// give, and errors.Is(err, ErrInvalid) holds; the admin API can take the
// field from it with errors.As instead of parsing the message.
type FieldError struct {
	Field  string // as the admin API spells it, e.g. "name", "limits.rpm"
	Reason string
}

func (e *FieldError) Error() string {
	return ErrInvalid.Error() + ": " + e.Field + ": " + e.Reason
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Unwrap() error { return ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// maxIDLen and maxNameLen keep identifiers usable in URLs and tables.
const (
	maxIDLen   = 64
	maxNameLen = 200
)

// checkID accepts a caller-chosen id: it becomes a path segment of the
// admin API, so it is limited to characters that need no escaping.
func checkID(id string) error {
	if id == "" {
		return invalid("id", "must not be empty")
	}
	if len(id) > maxIDLen {
		return invalid("id", "longer than %d characters", maxIDLen)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !isBase62(c) && c != '_' && c != '-' && c != '.' {
			return invalid("id", "%q: only letters, digits, '_', '-' and '.' are allowed", id)
		}
	}
	return nil
}

// checkName accepts a display name; required reports whether it may be
// empty.
func checkName(name string, required bool) error {
	if strings.TrimSpace(name) == "" {
		if required {
			return invalid("name", "must not be empty")
		}
		return nil
	}
	if len(name) > maxNameLen {
		return invalid("name", "longer than %d characters", maxNameLen)
	}
	if strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return invalid("name", "must not contain control characters")
	}
	return nil
}

func checkLimits(l Limits) error {
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"limits.rpm", l.RPM}, {"limits.tpm", l.TPM}, {"limits.concurrency", l.Concurrency},
		{"limits.daily_requests", l.DailyRequests}, {"limits.daily_tokens", l.DailyTokens},
	} {
		if f.v < 0 {
			return invalid(f.name, "must not be negative")
		}
	}
	return nil
}

// checkBudget refuses a budget without a period rather than guessing one:
// a daily and a total budget of the same amount differ by orders of
// magnitude in what they allow.
func checkBudget(usd float64, period string) error {
	if math.IsNaN(usd) || math.IsInf(usd, 0) || usd < 0 {
		return invalid("budget.usd", "must be a non-negative number")
	}
	switch period {
	case PeriodDay, PeriodWeek, PeriodMonth, PeriodTotal:
	case "":
		if usd > 0 {
			return invalid("budget.period", "required with a budget: one of day, week, month, total")
		}
	default:
		return invalid("budget.period", "%q: must be one of day, week, month, total", period)
	}
	return nil
}

func checkProjectStatus(status string) error {
	switch status {
	case ProjectActive, ProjectSuspended, ProjectPastDue:
		return nil
	}
	return invalid("status", "%q: must be one of active, suspended, past_due", status)
}

func checkPaidPolicy(policy string) error {
	switch policy {
	case PaidNone, PaidAll, PaidPremium, PaidAllExceptRoutes, PaidPremiumExceptRoutes:
		return nil
	}
	return invalid("paid_policy", "%q: must be one of none, all, premium, all_except_routes, premium_except_routes", policy)
}

func checkModels(models []string) error {
	for i, m := range models {
		if strings.TrimSpace(m) == "" {
			return invalid("models", "entry %d is empty", i)
		}
	}
	return nil
}

func checkAmount(field string, usd float64) error {
	if math.IsNaN(usd) || math.IsInf(usd, 0) {
		return invalid(field, "must be a finite number")
	}
	return nil
}
