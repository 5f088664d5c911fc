package bolt

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"

	bbolt "go.etcd.io/bbolt"

	"github.com/quayside/quayside/internal/store"
)

// errGoexit answers an Update whose function called runtime.Goexit (for
// example t.FailNow from a test) on the committer goroutine.
var errGoexit = errors.New("bolt: update function called runtime.Goexit")

// request is one Update waiting for the committer.
type request struct {
	ctx  context.Context
	fn   func(store.Tx) error
	rev  int64
	err  error
	done chan struct{}
}

func (r *request) answer(rev int64, err error) {
	r.rev, r.err = rev, err
	close(r.done)
}

// committer folds queued Updates into group commits: one bbolt write
// transaction (and so one round of fsyncs) per batch, one revision per
// Update that wrote. Batches form naturally, without any timer: a batch is
// whatever queued while the previous one was being made durable.
type committer struct {
	db       *bbolt.DB
	hub      *hub
	maxBatch int
	rev      int64    // last durable revision; owned by the loop goroutine
	running  *request // request whose function runs now; owned by the loop

	mu     sync.Mutex
	queue  []*request
	closed bool
	wake   chan struct{} // capacity 1: "the queue may be non-empty"
	exited chan struct{}
}

func newCommitter(db *bbolt.DB, h *hub, rev int64, maxBatch int) *committer {
	c := &committer{
		db: db, hub: h, rev: rev, maxBatch: maxBatch,
		wake: make(chan struct{}, 1), exited: make(chan struct{}),
	}
	go c.loop()
	return c
}

// submit queues r, or fails with ErrClosed once close has begun.
func (c *committer) submit(r *request) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return store.ErrClosed
	}
	c.queue = append(c.queue, r)
	c.mu.Unlock()
	c.signal()
	return nil
}

func (c *committer) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// close stops accepting requests, lets the loop commit what was already
// queued, and waits for it to exit.
func (c *committer) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.signal()
	<-c.exited
}

// take removes up to maxBatch queued requests.
func (c *committer) take() (batch []*request, closed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.queue) <= c.maxBatch {
		batch, c.queue = c.queue, nil
		return batch, c.closed
	}
	batch = slices.Clone(c.queue[:c.maxBatch])
	c.queue = c.queue[c.maxBatch:]
	return batch, c.closed
}

// requeue fails bad alone after its function called runtime.Goexit, which
// abandoned the batch's bbolt transaction, and puts the rest of the batch
// back at the head of the queue to run again (the port allows reruns).
func (c *committer) requeue(batch []*request, bad *request) {
	c.mu.Lock()
	rest := slices.DeleteFunc(slices.Clone(batch), func(r *request) bool { return r == bad })
	c.queue = append(rest, c.queue...)
	c.mu.Unlock()
	if bad != nil {
		bad.answer(0, errGoexit)
	}
}

func (c *committer) loop() {
	normal := false
	defer func() {
		if normal {
			close(c.exited)
			return
		}
		go c.loop() // an Update function called runtime.Goexit: keep serving
	}()
	for {
		batch, closed := c.take()
		switch {
		case len(batch) > 0:
			c.commit(batch)
		case closed:
			normal = true
			return
		default:
			<-c.wake
		}
	}
}

// commit runs batch in one bbolt transaction and answers every request.
func (c *committer) commit(batch []*request) {
	results := make([]result, len(batch))
	answered := false
	defer func() {
		if !answered { // c.running's function called runtime.Goexit
			c.requeue(batch, c.running)
		}
	}()
	revs, err := c.runBatch(batch, results)
	if err == nil && len(revs) > 0 {
		c.hub.publish(revs)
		c.rev = revs[len(revs)-1].rev
	}
	answered = true
	for i, r := range batch {
		if err != nil {
			r.answer(0, err)
			continue
		}
		r.answer(results[i].rev, results[i].err)
	}
}

type result struct {
	rev int64
	err error
}

// runBatch runs each request against its own overlay in one bbolt write
// transaction and commits it durably if anything was written. It returns the
// events of each new revision; err fails the whole batch.
func (c *committer) runBatch(batch []*request, results []result) ([]revEvents, error) {
	tx, err := c.db.Begin(true)
	if err != nil {
		return nil, mapClosed(err)
	}
	defer func() { _ = tx.Rollback() }() // no-op after a successful Commit
	bucket := tx.Bucket(dataBucket)
	rev := c.rev
	var revs []revEvents
	for i, r := range batch {
		c.running = r
		events, fnErr, err := runOne(r, bucket, rev)
		if err != nil {
			return nil, fmt.Errorf("bolt: apply writes: %w", err)
		}
		if fnErr != nil {
			results[i] = result{err: fnErr}
			continue
		}
		if len(events) > 0 {
			rev++
			revs = append(revs, revEvents{rev: rev, events: events})
		}
		results[i] = result{rev: rev}
	}
	c.running = nil
	if len(revs) == 0 {
		return nil, nil
	}
	if err := tx.Bucket(metaBucket).Put(revKey, encodeRev(rev)); err != nil {
		return nil, fmt.Errorf("bolt: write revision: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("bolt: commit: %w", err)
	}
	return revs, nil
}

// runOne runs one Update function over an overlay at rev and, if it
// succeeds, applies its writes to bucket. fnErr belongs to that caller only;
// err means the bucket may be half-written and the batch must be abandoned.
func runOne(r *request, bucket *bbolt.Bucket, rev int64) (events []store.Event, fnErr, err error) {
	if err := r.ctx.Err(); err != nil {
		return nil, err, nil
	}
	t := newWriteTxn(bucket, rev)
	if err := callFn(r.fn, t); err != nil {
		return nil, err, nil
	}
	events, err = t.apply()
	return events, nil, err
}

// callFn runs fn, turning a panic into an error for its caller alone.
func callFn(fn func(store.Tx) error, t *txn) (err error) {
	defer func() {
		t.done = true
		if p := recover(); p != nil {
			err = fmt.Errorf("bolt: update function panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return fn(t)
}

// apply writes the overlay into the bucket as revision t.rev+1 and returns
// its events in key order; no events means nothing changed.
func (t *txn) apply() ([]store.Event, error) {
	keys := make([]string, 0, len(t.writes))
	for k := range t.writes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var events []store.Event
	for _, k := range keys {
		w := t.writes[k]
		switch {
		case w.deleted && !w.existed:
			continue
		case w.deleted:
			if err := t.bucket.Delete([]byte(k)); err != nil {
				return nil, err
			}
			events = append(events, store.Event{Type: store.EventDelete, KV: store.KV{Key: k, ModRev: t.rev + 1}})
		default:
			if err := t.bucket.Put([]byte(k), encodeValue(w.kv.CreateRev, w.kv.ModRev, w.kv.Value)); err != nil {
				return nil, err
			}
			events = append(events, store.Event{Type: store.EventPut, KV: w.kv})
		}
	}
	return events, nil
}

// mapClosed turns bbolt's "not open" into the port's ErrClosed.
func mapClosed(err error) error {
	if errors.Is(err, bbolt.ErrDatabaseNotOpen) {
		return store.ErrClosed
	}
	return err
}
