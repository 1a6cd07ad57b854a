package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// newTestShared builds a Shared over a fresh file. The writer never
// flushes on its own during a test, so rows reach the table only through
// the shutdown drain the tests are about.
func newTestShared(t *testing.T) (*Shared, string) {
	t.Helper()
	s, path := openTest(t)
	w := NewWriter(s, WriterOptions{BatchSize: 100000, Interval: time.Hour}, t.Logf)
	sh := NewShared(s, w)
	t.Cleanup(func() {
		// Leave nothing running if a test failed midway.
		sh.Destruct()
		w.Close()
	})
	return sh, path
}

func isClosed(sh *Shared) bool {
	select {
	case <-sh.Closed():
		return true
	default:
		return false
	}
}

func TestSharedDestructWithOpenLease(t *testing.T) {
	sh, path := newTestShared(t)
	if !sh.Acquire() {
		t.Fatal("Acquire on a fresh handle = false")
	}

	// Destruct runs under Caddy's config lock: it must return at once
	// even though a long stream still holds a lease.
	returned := make(chan error, 1)
	go func() { returned <- sh.Destruct() }()
	select {
	case err := <-returned:
		if err != nil {
			t.Fatalf("Destruct: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Destruct blocked on an open lease")
	}
	if isClosed(sh) {
		t.Fatal("store closed while a lease was open")
	}
	if sh.Acquire() {
		t.Error("Acquire after Destruct = true; new requests must get 503")
	}

	// The stream that held the lease finishes and records its row.
	const rows = 100
	for i := range rows {
		if err := sh.Writer.Enqueue(Row{ID: fmt.Sprint("r", i)}); err != nil {
			t.Fatalf("Enqueue while holding a lease: %v", err)
		}
	}
	sh.Release()
	if !isClosed(sh) {
		t.Fatal("last Release after Destruct did not close the store")
	}
	if err := sh.Err(); err != nil {
		t.Errorf("Err after close: %v", err)
	}
	if _, err := sh.Store.LookupKey(context.Background(), "h"); !errors.Is(err, ErrClosed) {
		t.Errorf("store after final Release: err = %v, want ErrClosed", err)
	}
	if n := countRows(t, path); n != rows {
		t.Errorf("rows in table = %d, want %d", n, rows)
	}
}

func TestSharedDestructWithoutLeaseClosesSynchronously(t *testing.T) {
	sh, path := newTestShared(t)
	if !sh.Acquire() {
		t.Fatal("Acquire = false")
	}
	for i := range 10 {
		if err := sh.Writer.Enqueue(Row{ID: fmt.Sprint("r", i)}); err != nil {
			t.Fatal(err)
		}
	}
	sh.Release()
	if isClosed(sh) {
		t.Fatal("Release before Destruct closed the store")
	}

	if err := sh.Destruct(); err != nil {
		t.Fatalf("Destruct: %v", err)
	}
	// The process may exit right after Destruct returns, so the rows
	// must already be on disk.
	if !isClosed(sh) {
		t.Fatal("Destruct with no lease returned before closing")
	}
	if n := countRows(t, path); n != 10 {
		t.Errorf("rows in table = %d, want 10", n)
	}
	if err := sh.Destruct(); err != nil {
		t.Errorf("second Destruct: %v", err)
	}
}

func TestSharedNoLostRowsUnderConcurrency(t *testing.T) {
	sh, path := newTestShared(t)
	var written atomic.Int64
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				if !sh.Acquire() {
					return
				}
				err := sh.Writer.Enqueue(Row{ID: fmt.Sprintf("g%d-%d", g, i)})
				if err != nil {
					t.Errorf("Enqueue under a lease: %v", err)
				} else {
					written.Add(1)
				}
				sh.Release()
			}
		})
	}
	time.Sleep(30 * time.Millisecond)
	if err := sh.Destruct(); err != nil {
		t.Fatalf("Destruct: %v", err)
	}
	wg.Wait()
	select {
	case <-sh.Closed():
	case <-time.After(10 * time.Second):
		t.Fatal("store not closed after every lease was released")
	}
	if n, want := countRows(t, path), int(written.Load()); n != want {
		t.Errorf("rows in table = %d, but %d rows were enqueued under leases", n, want)
	}
}

func TestSharedReleaseWithoutAcquirePanics(t *testing.T) {
	sh, _ := newTestShared(t)
	defer func() {
		if recover() == nil {
			t.Error("unbalanced Release did not panic")
		}
	}()
	sh.Release()
}
