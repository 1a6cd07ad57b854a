package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingStore counts WriteRows transactions and their sizes.
type countingStore struct {
	Store
	mu       sync.Mutex
	calls    int
	maxBatch int
}

func (c *countingStore) WriteRows(ctx context.Context, rows []Row) error {
	c.mu.Lock()
	c.calls++
	c.maxBatch = max(c.maxBatch, len(rows))
	c.mu.Unlock()
	return c.Store.WriteRows(ctx, rows)
}

// faultyStore fails (or panics) on its first failures calls, then
// delegates.
type faultyStore struct {
	Store
	failures int
	panics   bool
	calls    atomic.Int32
}

func (f *faultyStore) WriteRows(ctx context.Context, rows []Row) error {
	if int(f.calls.Add(1)) <= f.failures {
		if f.panics {
			panic("boom")
		}
		return errors.New("disk on fire")
	}
	return f.Store.WriteRows(ctx, rows)
}

// logRecorder collects logf output for assertions.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (l *logRecorder) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logRecorder) contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

func TestWriterConcurrentEnqueueBatches(t *testing.T) {
	s, path := openTest(t)
	cs := &countingStore{Store: s}
	var logs logRecorder
	w := NewWriter(cs, WriterOptions{}, logs.logf)

	const goroutines, perGoroutine = 20, 500
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perGoroutine {
				if err := w.Enqueue(Row{ID: fmt.Sprintf("g%d-%d", g, i), Status: StatusOK}); err != nil {
					t.Errorf("Enqueue: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := w.Enqueue(Row{ID: "late"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Enqueue after Close: err = %v, want ErrClosed", err)
	}
	s.Close()

	const total = goroutines * perGoroutine
	if n := countRows(t, path); n != total {
		t.Errorf("rows in table = %d, want %d", n, total)
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.maxBatch > DefaultBatchSize {
		t.Errorf("largest batch = %d, over BatchSize %d", cs.maxBatch, DefaultBatchSize)
	}
	// Batching must actually happen: on average well over one row per
	// transaction.
	if cs.calls > total/16 {
		t.Errorf("%d transactions for %d rows; rows are not being batched", cs.calls, total)
	}
	t.Logf("%d rows in %d transactions (largest %d)", total, cs.calls, cs.maxBatch)
	if len(logs.lines) > 0 {
		t.Errorf("unexpected logs: %q", logs.lines)
	}
}

func TestWriterFlushWritesEverythingBefore(t *testing.T) {
	s, _ := openTest(t)
	// Neither size nor time would trigger a write during the test.
	w := NewWriter(s, WriterOptions{BatchSize: 1000, Interval: time.Hour}, t.Logf)
	defer w.Close()
	for i := range 3 {
		if err := w.Enqueue(Row{ID: fmt.Sprint("r", i)}); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	for i := range 3 {
		if _, err := s.Request(context.Background(), fmt.Sprint("r", i)); err != nil {
			t.Errorf("row r%d after Flush: %v", i, err)
		}
	}
}

func TestWriterWritesPartialBatchAfterInterval(t *testing.T) {
	s, _ := openTest(t)
	w := NewWriter(s, WriterOptions{BatchSize: 1000, Interval: 20 * time.Millisecond}, t.Logf)
	defer w.Close()
	if err := w.Enqueue(Row{ID: "lonely"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := s.Request(context.Background(), "lonely")
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("row not written without Flush: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWriterRetriesTransientErrors(t *testing.T) {
	s, _ := openTest(t)
	fs := &faultyStore{Store: s, failures: writeRetries}
	var logs logRecorder
	w := NewWriter(fs, WriterOptions{}, logs.logf)
	if err := w.Enqueue(Row{ID: "r"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := s.Request(context.Background(), "r"); err != nil {
		t.Errorf("row after %d transient failures: %v", writeRetries, err)
	}
	if logs.contains("dropped") {
		t.Errorf("batch reported dropped although a retry succeeded: %q", logs.lines)
	}
}

func TestWriterLogsDroppedBatch(t *testing.T) {
	s, _ := openTest(t)
	fs := &faultyStore{Store: s, failures: 1 << 30}
	var logs logRecorder
	w := NewWriter(fs, WriterOptions{}, logs.logf)
	if err := w.Enqueue(Row{ID: "r"}); err != nil {
		t.Fatal(err)
	}
	err := w.Close()
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("Close after a dropped batch: err = %v, want it reported", err)
	}
	if got := fs.calls.Load(); got != 1+writeRetries {
		t.Errorf("WriteRows called %d times, want %d", got, 1+writeRetries)
	}
	if !logs.contains("dropped batch of 1 rows") {
		t.Errorf("dropped batch not logged: %q", logs.lines)
	}
}

func TestWriterRecoversFromStorePanic(t *testing.T) {
	s, _ := openTest(t)
	fs := &faultyStore{Store: s, failures: 1, panics: true}
	var logs logRecorder
	w := NewWriter(fs, WriterOptions{}, logs.logf)
	defer w.Close()

	if err := w.Enqueue(Row{ID: "victim"}); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if !logs.contains("boom") {
		t.Errorf("panic not logged: %q", logs.lines)
	}
	// The writer keeps working after the panic.
	if err := w.Enqueue(Row{ID: "survivor"}); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if _, err := s.Request(context.Background(), "survivor"); err != nil {
		t.Errorf("row after recovered panic: %v", err)
	}
}

// blockingStore holds every WriteRows until release is closed.
type blockingStore struct {
	Store
	entered chan struct{}
	once    sync.Once
	release chan struct{}
}

func (b *blockingStore) WriteRows(ctx context.Context, rows []Row) error {
	b.once.Do(func() { close(b.entered) })
	<-b.release
	return b.Store.WriteRows(ctx, rows)
}

func TestWriterBlocksInsteadOfDropping(t *testing.T) {
	s, path := openTest(t)
	bs := &blockingStore{Store: s, entered: make(chan struct{}), release: make(chan struct{})}
	w := NewWriter(bs, WriterOptions{BatchSize: 1, Buffer: 1}, t.Logf)

	const rows = 5
	var returned atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range rows {
			if err := w.Enqueue(Row{ID: fmt.Sprint("r", i)}); err != nil {
				t.Errorf("Enqueue: %v", err)
			}
			returned.Add(1)
		}
	}()
	<-bs.entered
	time.Sleep(50 * time.Millisecond)
	// One row is in the stalled write and one fills the buffer; the rest
	// must wait rather than be dropped.
	if n := returned.Load(); n > 2 {
		t.Errorf("%d Enqueue calls returned while the store was stalled with a buffer of 1", n)
	}
	close(bs.release)
	<-done
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s.Close()
	if n := countRows(t, path); n != rows {
		t.Errorf("rows in table = %d, want %d", n, rows)
	}
}

func TestWriterEnqueueConcurrentWithClose(t *testing.T) {
	s, path := openTest(t)
	w := NewWriter(s, WriterOptions{Buffer: 16}, t.Logf)

	var accepted atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				err := w.Enqueue(Row{ID: fmt.Sprintf("g%d-%d", g, i)})
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("Enqueue: %v", err)
					return
				}
				accepted.Add(1)
			}
		})
	}
	time.Sleep(30 * time.Millisecond)
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()
	s.Close()
	if n, want := countRows(t, path), int(accepted.Load()); n != want {
		t.Errorf("rows in table = %d, but %d Enqueue calls succeeded", n, want)
	}
}

// discardStore accepts and forgets rows, isolating the queue's own cost.
type discardStore struct{ Store }

func (discardStore) WriteRows(context.Context, []Row) error { return nil }

// BenchmarkEnqueue measures the sustained rate including the drain: with
// SQLite behind it, ns/op is what the database can absorb; with a
// discarding store, it is the overhead the request path pays per row.
func BenchmarkEnqueue(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		s, _ := openTest(b)
		benchmarkEnqueue(b, s)
	})
	b.Run("queue", func(b *testing.B) {
		benchmarkEnqueue(b, discardStore{})
	})
}

func benchmarkEnqueue(b *testing.B, s Store) {
	w := NewWriter(s, WriterOptions{}, b.Logf)
	row := fullRow("")
	var seq atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := row
		for pb.Next() {
			r.ID = strconv.FormatInt(seq.Add(1), 10)
			if err := w.Enqueue(r); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
