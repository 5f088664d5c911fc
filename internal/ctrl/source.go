package ctrl

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/quayside/quayside/internal/store"
)

// Source feeds keys to q (Add, AddAfter) until ctx ends. Returning nil
// before then means it has nothing more to feed; returning an error makes
// the controller log it and run the Source again after a backoff.
type Source func(ctx context.Context, q *Queue) error

// Channel adds every key received from ch, until ch is closed.
func Channel(ch <-chan string) Source {
	return func(ctx context.Context, q *Queue) error {
		for {
			select {
			case <-ctx.Done():
				return nil
			case key, ok := <-ch:
				if !ok {
					return nil
				}
				q.Add(key)
			}
		}
	}
}

// Every adds the keys returned by keys once every period, the first time
// one period after the controller starts. An error from keys restarts the
// Source (after a backoff). It panics if period is not positive.
func Every(period time.Duration, keys func(context.Context) ([]string, error)) Source {
	if period <= 0 {
		panic("ctrl: Every needs a positive period")
	}
	return func(ctx context.Context, q *Queue) error {
		for sleep(ctx, q.clock, period) {
			ks, err := keys(ctx)
			if err != nil {
				return err
			}
			for _, k := range ks {
				q.Add(k)
			}
		}
		return nil
	}
}

// WatchPrefix feeds the keys of changes to store keys under prefix. It
// lists the prefix and adds the keys of every entry (as EventPut events),
// then watches from the revision of that listing. When the watch reports
// store.ErrCompacted it lists again, and reports each store key that was
// there before and is gone now as an EventDelete, so a deletion lost with
// the history still reaches the controller. For that it remembers the
// store keys under prefix, across runs: give each controller its own
// WatchPrefix.
//
// keyOf maps an event to the controller's keys (none to ignore it); nil
// uses the store key itself. A delete carries only the key. keyOf runs
// inside a store read during listings: it must be quick, must not call the
// store, and must not keep the Value.
func WatchPrefix(st store.Store, prefix string, keyOf func(store.Event) []string) Source {
	if keyOf == nil {
		keyOf = func(ev store.Event) []string { return []string{ev.KV.Key} }
	}
	w := &prefixWatch{st: st, prefix: prefix, keyOf: keyOf, known: map[string]struct{}{}}
	return w.run
}

type prefixWatch struct {
	st     store.Store
	prefix string
	keyOf  func(store.Event) []string

	mu    sync.Mutex // held by a run
	known map[string]struct{}
}

func (w *prefixWatch) run(ctx context.Context, q *Queue) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		rev, err := w.list(ctx, q)
		if err != nil {
			return err
		}
		err = w.watch(ctx, q, rev)
		if !errors.Is(err, store.ErrCompacted) {
			return err
		}
	}
}

// list adds the keys of every entry and of every known entry now gone, and
// returns the listing's revision.
func (w *prefixWatch) list(ctx context.Context, q *Queue) (int64, error) {
	seen := map[string]struct{}{}
	var rev int64
	err := w.st.View(ctx, func(tx store.ReadTx) error {
		rev = tx.Rev()
		return tx.Scan(w.prefix, "", func(kv store.KV) (bool, error) {
			seen[kv.Key] = struct{}{}
			w.add(q, store.Event{Type: store.EventPut, KV: kv})
			return true, nil
		})
	})
	if err != nil {
		return 0, err
	}
	for k := range w.known {
		if _, ok := seen[k]; !ok {
			w.add(q, store.Event{Type: store.EventDelete, KV: store.KV{Key: k, ModRev: rev}})
		}
	}
	w.known = seen
	return rev, nil
}

// watch adds the keys of changes after rev until the watch ends; it
// returns the watch's error, nil if ctx ended.
func (w *prefixWatch) watch(ctx context.Context, q *Queue, rev int64) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for resp := range w.st.Watch(ctx, w.prefix, rev) {
		if resp.Err != nil {
			return resp.Err
		}
		for _, ev := range resp.Events {
			w.note(ev)
			w.add(q, ev)
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	return errors.New("ctrl: watch of " + w.prefix + " ended")
}

func (w *prefixWatch) note(ev store.Event) {
	if ev.Type == store.EventDelete {
		delete(w.known, ev.KV.Key)
	} else {
		w.known[ev.KV.Key] = struct{}{}
	}
}

func (w *prefixWatch) add(q *Queue, ev store.Event) {
	for _, k := range w.keyOf(ev) {
		q.Add(k)
	}
}
