package store

import (
	"context"
	"errors"
	"fmt"
	"log"
	"runtime/debug"
	"sync"
	"time"
)

// Writer defaults. A batch of a few hundred rows is one short SQLite
// transaction; 200ms keeps usage data near-live without a commit per
// request; the buffer absorbs a burst of several seconds at high request
// rates before Enqueue starts to push back.
const (
	DefaultBatchSize = 256
	DefaultInterval  = 200 * time.Millisecond
	DefaultBuffer    = 8192
)

// Retry policy for a failed batch. The backoff doubles per retry, so a
// batch is given up after about 350ms of waiting: long enough to ride out
// a transient lock or I/O hiccup, short enough not to stall the queue.
const (
	writeRetries = 3
	retryBackoff = 50 * time.Millisecond
	// writeTimeout bounds one WriteRows call, so a hung remote backend
	// cannot stall the writer (and Close) forever.
	writeTimeout = 30 * time.Second
)

// WriterOptions tune a Writer. Zero fields take the defaults.
type WriterOptions struct {
	// BatchSize is the most rows written in one transaction.
	BatchSize int
	// Interval is the longest a row waits in a partial batch.
	Interval time.Duration
	// Buffer is the queue capacity; Enqueue blocks when it is full.
	Buffer int
}

func (o WriterOptions) withDefaults() WriterOptions {
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Buffer <= 0 {
		o.Buffer = DefaultBuffer
	}
	return o
}

// item is a queued row, or a Flush marker when flushed is non-nil. Markers
// travel through the same queue as rows so that FIFO order alone
// guarantees everything enqueued before Flush is written before it
// returns.
type item struct {
	row     Row
	flushed chan struct{}
}

// Writer moves usage rows off the request path: handlers Enqueue, and one
// goroutine writes them in batches, one transaction per batch. It never
// drops a row because the queue is full; it blocks instead, since usage
// rows are billing data. It drops a batch only after the store has failed
// it repeatedly, and always logs that.
type Writer struct {
	store Store
	opts  WriterOptions
	logf  func(format string, args ...any)

	items chan item
	done  chan struct{}

	// mu guards closed and every send on items: senders hold it for
	// reading, Close takes it for writing before closing items, so no
	// send can race the close.
	mu     sync.RWMutex
	closed bool

	// Owned by the run goroutine; Close reads dropped and lastErr only
	// after done is closed.
	batch   []Row
	dropped int
	lastErr error
}

// NewWriter starts a writer over s. logf receives every dropped batch and
// recovered panic; nil means the standard logger. The caller must Close
// the writer to flush it and stop its goroutine; closing the writer does
// not close s.
func NewWriter(s Store, opts WriterOptions, logf func(format string, args ...any)) *Writer {
	if logf == nil {
		logf = log.Printf
	}
	opts = opts.withDefaults()
	w := &Writer{
		store: s,
		opts:  opts,
		logf:  logf,
		items: make(chan item, opts.Buffer),
		done:  make(chan struct{}),
		batch: make([]Row, 0, opts.BatchSize),
	}
	go w.run()
	return w
}

// Enqueue queues r for writing. It blocks while the queue is full and
// returns ErrClosed once Close has begun; a nil return means r will be
// written (or, if the store keeps failing, logged as dropped).
func (w *Writer) Enqueue(r Row) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return ErrClosed
	}
	w.items <- item{row: r}
	return nil
}

// Flush blocks until every row enqueued before the call has been handed
// to the store. After Close it waits for the drain to finish instead.
func (w *Writer) Flush() {
	flushed := make(chan struct{})
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		<-w.done
		return
	}
	w.items <- item{flushed: flushed}
	w.mu.RUnlock()
	<-flushed
}

// Close stops accepting rows, writes everything already queued and stops
// the goroutine. It is idempotent. The error reports rows dropped over the
// writer's lifetime, each of which was also logged when it happened.
func (w *Writer) Close() error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.items)
	}
	w.mu.Unlock()
	<-w.done
	if w.dropped > 0 {
		return fmt.Errorf("store writer: %d rows dropped, last error: %w", w.dropped, w.lastErr)
	}
	return nil
}

// run is the writer goroutine. loop recovers from panics and reports
// whether the queue was drained, so a panic restarts the loop instead of
// leaving Enqueue blocked on a queue nobody reads.
func (w *Writer) run() {
	defer close(w.done)
	for !w.loop() {
	}
}

func (w *Writer) loop() (drained bool) {
	defer func() {
		if p := recover(); p != nil {
			w.logf("store writer: recovered from panic: %v\n%s", p, debug.Stack())
			drained = false
		}
	}()

	// The timer runs only while a partial batch is waiting, so an idle
	// gateway does not wake up every Interval.
	timer := time.NewTimer(w.opts.Interval)
	defer timer.Stop()
	if len(w.batch) == 0 {
		timer.Stop()
	}
	for {
		select {
		case it, ok := <-w.items:
			switch {
			case !ok:
				w.flush()
				return true
			case it.flushed != nil:
				timer.Stop()
				w.flushMarker(it.flushed)
			default:
				w.batch = append(w.batch, it.row)
				if len(w.batch) >= w.opts.BatchSize {
					timer.Stop()
					w.flush()
				} else if len(w.batch) == 1 {
					timer.Reset(w.opts.Interval)
				}
			}
		case <-timer.C:
			w.flush()
		}
	}
}

// flushMarker writes the pending batch and releases the Flush caller even
// if writing panics.
func (w *Writer) flushMarker(flushed chan struct{}) {
	defer close(flushed)
	w.flush()
}

// flush writes the pending batch and resets it for reuse, clearing the
// old rows so their strings can be collected.
func (w *Writer) flush() {
	if len(w.batch) == 0 {
		return
	}
	w.write(w.batch)
	clear(w.batch)
	w.batch = w.batch[:0]
}

// write hands rows to the store, retrying failures with backoff. A closed
// store or a panicking one is not retried: neither gets better by waiting.
func (w *Writer) write(rows []Row) {
	backoff := retryBackoff
	var err error
	attempts := 0
	for {
		attempts++
		err = w.tryWrite(rows)
		if err == nil {
			return
		}
		var pe *panicError
		if attempts > writeRetries || errors.Is(err, ErrClosed) || errors.As(err, &pe) {
			break
		}
		time.Sleep(backoff)
		backoff *= 2
	}
	w.dropped += len(rows)
	w.lastErr = err
	w.logf("store writer: dropped batch of %d rows (ids %s..%s) after %d attempts: %v",
		len(rows), rows[0].ID, rows[len(rows)-1].ID, attempts, err)
}

func (w *Writer) tryWrite(rows []Row) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &panicError{value: p, stack: debug.Stack()}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	return w.store.WriteRows(ctx, rows)
}

// panicError carries a panic recovered from Store.WriteRows, with its
// stack, into the drop log.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string {
	return fmt.Sprintf("store panicked: %v\n%s", e.value, e.stack)
}
