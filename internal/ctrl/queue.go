package ctrl

import (
	"sync"
	"time"
)

// Default backoff of failed keys.
const (
	DefaultBackoffBase = 5 * time.Millisecond
	DefaultBackoffMax  = 30 * time.Second
)

// Backoff is the per-key retry delay: Base after the first failure,
// doubling with each consecutive one, never more than Max. Zero fields take
// the defaults.
type Backoff struct {
	Base, Max time.Duration
}

func (b Backoff) withDefaults() Backoff {
	if b.Base <= 0 {
		b.Base = DefaultBackoffBase
	}
	if b.Max <= 0 {
		b.Max = DefaultBackoffMax
	}
	return b
}

// delay is the wait after n earlier consecutive failures.
func (b Backoff) delay(n int) time.Duration {
	d := b.Base
	for ; n > 0; n-- {
		if d > b.Max/2 {
			return b.Max
		}
		d *= 2
	}
	return min(d, b.Max)
}

// Queue is a keyed work queue. A key added while queued is not queued
// twice; a key added while being processed (between Get and Done) is
// queued again when Done is called, so no key is ever handed to two
// callers of Get at once. Keys can be added after a delay (AddAfter) or
// after their backoff (AddRateLimited, reset by Forget).
//
// Controller makes one per run; Sources add keys to it. It is safe for
// concurrent use.
type Queue struct {
	clock   Clock
	backoff Backoff

	mu         sync.Mutex
	cond       sync.Cond
	queue      []string
	dirty      map[string]bool // queued, or to queue again on Done
	processing map[string]bool
	waiting    map[string]*delayed
	failures   map[string]int
	shutdown   bool
}

// delayed is a pending AddAfter.
type delayed struct {
	at    time.Time
	timer Timer
}

// NewQueue returns a queue with backoff b (zero fields take the defaults)
// on clk (nil: RealClock).
func NewQueue(b Backoff, clk Clock) *Queue {
	if clk == nil {
		clk = RealClock{}
	}
	q := &Queue{
		clock: clk, backoff: b.withDefaults(),
		dirty: map[string]bool{}, processing: map[string]bool{},
		waiting: map[string]*delayed{}, failures: map[string]int{},
	}
	q.cond.L = &q.mu
	return q
}

// Add queues key unless it is already queued. After ShutDown it does
// nothing.
func (q *Queue) Add(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.add(key)
}

func (q *Queue) add(key string) {
	if q.shutdown || q.dirty[key] {
		return
	}
	q.dirty[key] = true
	if !q.processing[key] {
		q.queue = append(q.queue, key)
		q.cond.Signal()
	}
}

// Get blocks until a key is ready and marks it processing; the caller must
// call Done with it. shutdown is true once ShutDown has been called.
func (q *Queue) Get() (key string, shutdown bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.queue) == 0 && !q.shutdown {
		q.cond.Wait()
	}
	if q.shutdown {
		return "", true
	}
	key = q.queue[0]
	q.queue[0] = ""
	q.queue = q.queue[1:]
	delete(q.dirty, key)
	q.processing[key] = true
	return key, false
}

// Done ends the processing of key; if it was added meanwhile it is queued
// again.
func (q *Queue) Done(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.processing, key)
	if q.dirty[key] && !q.shutdown {
		q.queue = append(q.queue, key)
		q.cond.Signal()
	}
}

// AddAfter adds key after d (at once if d <= 0). Of several pending delays
// for one key the earliest wins.
func (q *Queue) AddAfter(key string, d time.Duration) {
	if d <= 0 {
		q.Add(key)
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.shutdown {
		return
	}
	at := q.clock.Now().Add(d)
	if w, ok := q.waiting[key]; ok {
		if !at.Before(w.at) {
			return
		}
		w.timer.Stop()
	}
	w := &delayed{at: at}
	w.timer = q.clock.AfterFunc(d, func() { q.fire(key, w) })
	q.waiting[key] = w
}

func (q *Queue) fire(key string, w *delayed) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.waiting[key] != w {
		return
	}
	delete(q.waiting, key)
	q.add(key)
}

// AddRateLimited adds key after its backoff, counts one more failure of it
// and returns the delay.
func (q *Queue) AddRateLimited(key string) time.Duration {
	q.mu.Lock()
	d := q.backoff.delay(q.failures[key])
	q.failures[key]++
	q.mu.Unlock()
	q.AddAfter(key, d)
	return d
}

// Forget resets key's backoff.
func (q *Queue) Forget(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.failures, key)
}

// Len is the number of keys ready for Get.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.queue)
}

// ShutDown drops the queued and delayed keys, makes every later Add a
// no-op and wakes every Get, which from now on reports shutdown. Keys being
// processed are still to be marked Done.
func (q *Queue) ShutDown() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.shutdown = true
	for _, w := range q.waiting {
		w.timer.Stop()
	}
	clear(q.waiting)
	q.queue = nil
	q.cond.Broadcast()
}
