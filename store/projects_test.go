package store

import (
	"context"
	"errors"
	"math"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// wantInvalid checks that err is ErrInvalid naming field, both in the
// message and in the FieldError.
func wantInvalid(t *testing.T, what string, err error, field string) {
	t.Helper()
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("%s: err = %v, want ErrInvalid", what, err)
		return
	}
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != field {
		t.Errorf("%s: err = %v, want field %q", what, err, field)
	}
	if !strings.HasPrefix(err.Error(), "invalid: "+field+": ") {
		t.Errorf("%s: message %q does not name field %q", what, err, field)
	}
}

var generatedProjectID = regexp.MustCompile(`^prj_[0-9A-Za-z]{16}$`)

func TestProjectCRUD(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	clock := useClock(t, time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC))

	p := &Project{Name: "Search", Limits: Limits{RPM: 600, DailyTokens: 1e6},
		BudgetUSD: 100, BudgetPeriod: PeriodMonth, Metadata: map[string]string{"tier": "gold"}}
	if err := s.CreateProject(ctx, p); err != nil {
		t.Fatalf("CreateProject: %v", err)
	}
	if !generatedProjectID.MatchString(p.ID) || p.Status != ProjectActive || p.PaidPolicy != PaidNone ||
		!p.CreatedAt.Equal(clock.Now()) {
		t.Errorf("defaults written back: %+v", p)
	}
	for _, ref := range []string{p.ID, "Search"} {
		got, err := s.GetProject(ctx, ref)
		if err != nil {
			t.Fatalf("GetProject(%s): %v", ref, err)
		}
		if !reflect.DeepEqual(got, p) {
			t.Errorf("GetProject(%s):\n got %+v\nwant %+v", ref, got, p)
		}
	}
	if _, err := s.GetProject(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetProject(unknown): err = %v, want ErrNotFound", err)
	}

	// A chosen id, and every field set.
	clock.Advance(time.Minute)
	ads := &Project{ID: "ads", Name: "Ads", Status: ProjectPastDue, PaidPolicy: PaidPremium,
		Limits: Limits{1, 2, 3, 4, 5}, BudgetUSD: 5, BudgetPeriod: PeriodDay}
	if err := s.CreateProject(ctx, ads); err != nil {
		t.Fatalf("CreateProject(ads): %v", err)
	}

	// Duplicates: an id or name any project answers to, either way round.
	for _, dup := range []struct {
		p     Project
		field string
	}{
		{Project{ID: "ads", Name: "Other"}, `id "ads"`},
		{Project{Name: "Search"}, `name "Search"`},
		{Project{Name: "ads"}, `name "ads"`},
		{Project{ID: "Search", Name: "Third"}, `id "Search"`},
	} {
		err := s.CreateProject(ctx, &dup.p)
		if !errors.Is(err, ErrExists) || !strings.HasPrefix(err.Error(), dup.field+": already exists") {
			t.Errorf("CreateProject(%+v): err = %v, want ErrExists naming %s", dup.p, err, dup.field)
		}
	}

	// Validation names the field.
	for _, c := range []struct {
		p     Project
		field string
	}{
		{Project{}, "name"},
		{Project{Name: "  "}, "name"},
		{Project{Name: "x\ny"}, "name"},
		{Project{Name: "x", ID: "has space"}, "id"},
		{Project{Name: "x", ID: "a/b"}, "id"},
		{Project{Name: "x", Status: "closed"}, "status"},
		{Project{Name: "x", Status: KeyRevoked}, "status"},
		{Project{Name: "x", PaidPolicy: "some"}, "paid_policy"},
		{Project{Name: "x", BudgetPeriod: "year"}, "budget.period"},
		{Project{Name: "x", BudgetUSD: 10}, "budget.period"},
		{Project{Name: "x", BudgetUSD: -1, BudgetPeriod: PeriodDay}, "budget.usd"},
		{Project{Name: "x", BudgetUSD: math.NaN(), BudgetPeriod: PeriodDay}, "budget.usd"},
		{Project{Name: "x", Limits: Limits{RPM: -1}}, "limits.rpm"},
		{Project{Name: "x", Limits: Limits{DailyTokens: -1}}, "limits.daily_tokens"},
		{Project{Name: "x", CreditUSD: math.Inf(1)}, "credit_usd"},
	} {
		wantInvalid(t, "CreateProject", s.CreateProject(ctx, &c.p), c.field)
	}
	if err := s.CreateProject(ctx, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("CreateProject(nil): err = %v", err)
	}

	list, err := s.ListProjects(ctx)
	if err != nil {
		t.Fatalf("ListProjects: %v", err)
	}
	if len(list) != 2 || list[0].ID != "ads" || list[1].ID != p.ID {
		t.Errorf("ListProjects = %+v, want ads then Search", list)
	}

	// Update every mutable field; credit and creation time are not.
	upd := *p
	upd.ID = "Search" // by name works too
	upd.Name, upd.Status, upd.PaidPolicy = "Search & Rescue", ProjectSuspended, PaidAll
	upd.Limits = Limits{RPM: 1, TPM: 2, Concurrency: 3, DailyRequests: 4, DailyTokens: 5}
	upd.BudgetUSD, upd.BudgetPeriod = 0, ""
	upd.Metadata = nil
	upd.CreditUSD, upd.CreatedAt = 999, time.Time{}
	if err := s.UpdateProject(ctx, &upd); err != nil {
		t.Fatalf("UpdateProject: %v", err)
	}
	if upd.ID != p.ID || upd.CreditUSD != 0 || !upd.CreatedAt.Equal(p.CreatedAt) {
		t.Errorf("UpdateProject wrote back %+v", upd)
	}
	got, err := s.GetProject(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, &upd) {
		t.Errorf("after UpdateProject:\n got %+v\nwant %+v", got, &upd)
	}
	if _, err := s.GetProject(ctx, "Search"); !errors.Is(err, ErrNotFound) {
		t.Errorf("old name after rename: err = %v, want ErrNotFound", err)
	}
	// Keeping one's own name, or taking one's own id as name, is fine.
	same := *got
	same.Name = p.ID
	if err := s.UpdateProject(ctx, &same); err != nil {
		t.Errorf("UpdateProject to own id as name: %v", err)
	}

	bad := *got
	bad.Name = "Ads"
	if err := s.UpdateProject(ctx, &bad); !errors.Is(err, ErrExists) || !strings.HasPrefix(err.Error(), `name "Ads"`) {
		t.Errorf("UpdateProject to a taken name: err = %v", err)
	}
	bad = *got
	bad.Status = ""
	wantInvalid(t, "UpdateProject without status", s.UpdateProject(ctx, &bad), "status")
	bad = *got
	bad.PaidPolicy = ""
	wantInvalid(t, "UpdateProject without paid policy", s.UpdateProject(ctx, &bad), "paid_policy")
	missing := *got
	missing.ID = "nope"
	if err := s.UpdateProject(ctx, &missing); !errors.Is(err, ErrNotFound) {
		t.Errorf("UpdateProject(unknown): err = %v, want ErrNotFound", err)
	}
}

// ledgerSum reads what the ledger says a project's balance is.
func ledgerSum(t *testing.T, s *SQLite, id string) (sum float64, entries int) {
	t.Helper()
	if err := s.db.QueryRow(`SELECT coalesce(sum(amount_usd), 0), count(*) FROM credit_ledger WHERE project_id = ?`,
		id).Scan(&sum, &entries); err != nil {
		t.Fatal(err)
	}
	return sum, entries
}

func TestCreditLedger(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()

	p := &Project{ID: "acme", Name: "Acme", CreditUSD: 10}
	if err := s.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	if sum, n := ledgerSum(t, s, "acme"); sum != 10 || n != 1 {
		t.Errorf("opening balance: ledger sum %v over %d entries, want 10 over 1", sum, n)
	}

	balance := 10.0
	for _, amt := range []float64{5.5, -2.25, -20, 0.125} {
		balance += amt
		got, err := s.AddCredit(ctx, "acme", amt, "test")
		if err != nil {
			t.Fatalf("AddCredit(%v): %v", amt, err)
		}
		if got != balance {
			t.Errorf("AddCredit(%v) = %v, want %v", amt, got, balance)
		}
	}
	// By name, too.
	if got, err := s.AddCredit(ctx, "Acme", 1, "by name"); err != nil || got != balance+1 {
		t.Errorf("AddCredit by name = %v, %v; want %v", got, err, balance+1)
	}
	balance++
	stored, err := s.GetProject(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	sum, n := ledgerSum(t, s, "acme")
	if stored.CreditUSD != balance || sum != balance || n != 6 {
		t.Errorf("balance %v, ledger sum %v over %d entries; want %v over 6", stored.CreditUSD, sum, n, balance)
	}
	var note string
	if err := s.db.QueryRow(`SELECT note FROM credit_ledger WHERE project_id = 'acme' ORDER BY id DESC LIMIT 1`).Scan(&note); err != nil || note != "by name" {
		t.Errorf("last ledger note = %q, %v", note, err)
	}

	if _, err := s.AddCredit(ctx, "nope", 1, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("AddCredit(unknown): err = %v, want ErrNotFound", err)
	}
	for _, amt := range []float64{0, math.NaN(), math.Inf(-1)} {
		_, err := s.AddCredit(ctx, "acme", amt, "")
		wantInvalid(t, "AddCredit", err, "amount_usd")
	}

	// Concurrent top-ups and charges all land, in the balance and the
	// ledger alike.
	if err := s.CreateProject(ctx, &Project{ID: "busy", Name: "Busy"}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			amt := 0.25
			if i%2 == 1 {
				amt = -0.125
			}
			if _, err := s.AddCredit(ctx, "busy", amt, ""); err != nil {
				t.Errorf("concurrent AddCredit: %v", err)
			}
		}()
	}
	wg.Wait()
	busy, err := s.GetProject(ctx, "busy")
	if err != nil {
		t.Fatal(err)
	}
	sum, n = ledgerSum(t, s, "busy")
	if want := 20*0.25 - 20*0.125; busy.CreditUSD != want || sum != want || n != 40 {
		t.Errorf("after concurrent credits: balance %v, ledger %v over %d; want %v over 40", busy.CreditUSD, sum, n, want)
	}
}
