package bolt

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/quayside/quayside/internal/store"
)

// maxReadRevs bounds how many revisions a watcher copies per lock hold.
const maxReadRevs = 256

// revEvents is one committed revision's events.
type revEvents struct {
	rev    int64
	events []store.Event
}

// hub keeps a ring of the most recent revisions' events, bounded by event
// count, and wakes watchers when durable revisions are published.
//
// Watchers pull: each keeps the next revision it wants and copies from the
// ring under the lock, so replay and live delivery are the same loop and
// there is no gap or duplicate between them. Commits never wait for a
// watcher; a watcher that falls so far behind that the ring has dropped its
// next revision (its backlog overflowed) gets ErrCompacted and is closed.
type hub struct {
	limit      int // events kept
	limitBytes int // bytes of keys and values kept
	buffer     int // responses buffered per watcher channel

	mu     sync.Mutex
	ring   []revEvents // ascending, contiguous revisions; ring[head:] is live
	head   int
	count  int   // events in ring[head:]
	bytes  int   // eventBytes of ring[head:]
	cur    int64 // last published revision
	notify chan struct{}
	closed bool
	done   chan struct{}
	wg     sync.WaitGroup
}

func newHub(cur int64, limit, limitBytes, buffer int) *hub {
	return &hub{
		limit: limit, limitBytes: limitBytes, buffer: buffer, cur: cur,
		notify: make(chan struct{}), done: make(chan struct{}),
	}
}

// publish appends durable revisions, evicts the oldest beyond the limit and
// wakes every watcher.
func (h *hub) publish(revs []revEvents) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range revs {
		h.ring = append(h.ring, r)
		h.count += len(r.events)
		h.bytes += eventBytes(r.events)
		h.cur = r.rev
	}
	for (h.count > h.limit || h.bytes > h.limitBytes) && len(h.ring)-h.head > 1 {
		h.count -= len(h.ring[h.head].events)
		h.bytes -= eventBytes(h.ring[h.head].events)
		h.ring[h.head] = revEvents{}
		h.head++
	}
	if h.head > len(h.ring)/2 {
		h.ring = slices.Clone(h.ring[h.head:])
		h.head = 0
	}
	close(h.notify)
	h.notify = make(chan struct{})
}

// eventBytes is the memory the ring is charged for events.
func eventBytes(events []store.Event) int {
	n := 0
	for _, e := range events {
		n += len(e.KV.Key) + len(e.KV.Value) + 64
	}
	return n
}

// firstRev is the oldest revision the ring can replay; cur+1 when empty.
func (h *hub) firstRev() int64 {
	if h.head == len(h.ring) {
		return h.cur + 1
	}
	return h.ring[h.head].rev
}

// close ends every watcher and waits for their goroutines.
func (h *hub) close() {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		close(h.done)
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// watch starts a watcher goroutine for keys under prefix after afterRev.
func (h *hub) watch(ctx context.Context, prefix string, afterRev int64) <-chan store.WatchResponse {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		out := make(chan store.WatchResponse, 1)
		out <- store.WatchResponse{Err: store.ErrClosed}
		close(out)
		return out
	}
	w := &watcher{
		hub: h, ctx: ctx, prefix: prefix, next: max(afterRev, 0) + 1,
		out: make(chan store.WatchResponse, h.buffer),
	}
	h.wg.Add(1)
	go w.run()
	return w.out
}

// watcher delivers one Watch's responses.
type watcher struct {
	hub    *hub
	ctx    context.Context
	prefix string
	next   int64 // first revision not yet examined
	out    chan store.WatchResponse
}

func (w *watcher) run() {
	defer w.hub.wg.Done()
	defer close(w.out)
	for {
		revs, wait, err := w.hub.read(&w.next)
		if err != nil {
			w.send(store.WatchResponse{Err: err})
			return
		}
		for _, r := range responses(revs, w.prefix) {
			if !w.send(r) {
				return
			}
		}
		if wait == nil {
			continue
		}
		select {
		case <-wait:
		case <-w.ctx.Done():
			return
		case <-w.hub.done:
			return
		}
	}
}

func (w *watcher) send(r store.WatchResponse) bool {
	select {
	case w.out <- r:
		return true
	case <-w.ctx.Done():
		return false
	case <-w.hub.done:
		return false
	}
}

// read returns the revisions from *next on (at most maxReadRevs) and
// advances *next. When the watcher is caught up it returns the channel that
// the next publish closes. ErrCompacted means *next has left the ring.
func (h *hub) read(next *int64) ([]revEvents, <-chan struct{}, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if *next > h.cur {
		return nil, h.notify, nil
	}
	first := h.firstRev()
	if *next < first {
		return nil, nil, store.ErrCompacted
	}
	start := h.head + int(*next-first)
	end := min(len(h.ring), start+maxReadRevs)
	// Copy the slots: publish overwrites evicted ones. The events themselves
	// are never modified once published.
	revs := slices.Clone(h.ring[start:end])
	*next = revs[len(revs)-1].rev + 1
	return revs, nil, nil
}

// responses turns revisions into the watcher's responses: only events under
// prefix, with values copied so that no two watchers share memory.
func responses(revs []revEvents, prefix string) []store.WatchResponse {
	var out []store.WatchResponse
	for _, r := range revs {
		var evs []store.Event
		for _, e := range r.events {
			if strings.HasPrefix(e.KV.Key, prefix) {
				e.KV = cloneKV(e.KV)
				evs = append(evs, e)
			}
		}
		if len(evs) > 0 {
			out = append(out, store.WatchResponse{Rev: r.rev, Events: evs})
		}
	}
	return out
}
