package ctrl_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/quayside/quayside/internal/ctrl"
	"github.com/quayside/quayside/internal/store"
	"github.com/quayside/quayside/internal/store/bolt"
)

func openStore(t *testing.T, opts bolt.Options) store.Store {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "s.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func put(t *testing.T, st store.Store, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, err := st.Update(context.Background(), func(tx store.Tx) error { return tx.Put(k, []byte("v")) }); err != nil {
			t.Fatal(err)
		}
	}
}

func del(t *testing.T, st store.Store, key string) {
	t.Helper()
	if _, err := st.Update(context.Background(), func(tx store.Tx) error { return tx.Delete(key) }); err != nil {
		t.Fatal(err)
	}
}

// byType maps an event to "put:<key>" or "delete:<key>".
func byType(ev store.Event) []string {
	if ev.Type == store.EventDelete {
		return []string{"delete:" + ev.KV.Key}
	}
	return []string{"put:" + ev.KV.Key}
}

// collector is a Reconciler that sends the keys it runs.
func collector() (ctrl.Reconciler, <-chan string) {
	ch := make(chan string, 1000)
	return ctrl.Func(func(_ context.Context, key string) (ctrl.Result, error) {
		ch <- key
		return ctrl.Result{}, nil
	}), ch
}

// expect waits (10s at most) until every want key has been reconciled;
// it fails on any key outside want.
func expect(t *testing.T, ch <-chan string, want ...string) {
	t.Helper()
	expectAlso(t, ch, nil, want...)
}

// expectAlso is expect that also lets the keys of also (which may or may
// not be reconciled again) pass.
func expectAlso(t *testing.T, ch <-chan string, also []string, want ...string) {
	t.Helper()
	missing := map[string]bool{}
	for _, k := range want {
		missing[k] = true
	}
	deadline := time.After(10 * time.Second)
	for len(missing) > 0 {
		select {
		case k := <-ch:
			if !slices.Contains(want, k) && !slices.Contains(also, k) {
				t.Fatalf("reconciled %q, want only %v", k, want)
			}
			delete(missing, k)
		case <-deadline:
			t.Fatalf("not reconciled within 10s: %v", missing)
		}
	}
}

func TestWatchPrefixListsThenFollowsPutsAndDeletes(t *testing.T) {
	st := openStore(t, bolt.Options{})
	put(t, st, "/t/a", "/t/b", "/u/other")
	rec, got := collector()
	stop := start(t, &ctrl.Controller{Name: "w", Reconciler: rec, Sources: []ctrl.Source{ctrl.WatchPrefix(st, "/t/", byType)}})
	defer stop()
	expect(t, got, "put:/t/a", "put:/t/b")
	put(t, st, "/t/c")
	expect(t, got, "put:/t/c")
	del(t, st, "/t/a")
	expect(t, got, "delete:/t/a")
	put(t, st, "/u/x", "/t/d") // one worker, FIFO: /u/x would come first
	expect(t, got, "put:/t/d")
}

func TestWatchPrefixDefaultKeyIsTheStoreKey(t *testing.T) {
	st := openStore(t, bolt.Options{})
	put(t, st, "/t/a")
	rec, got := collector()
	stop := start(t, &ctrl.Controller{Name: "w", Reconciler: rec, Sources: []ctrl.Source{ctrl.WatchPrefix(st, "/t/", nil)}})
	defer stop()
	expect(t, got, "/t/a")
	del(t, st, "/t/a")
	expect(t, got, "/t/a")
}

// TestWatchPrefixRelistsAfterCompaction holds the first listing open while
// the store moves past its watch history, so that the watch from the
// listing's revision is compacted: the keys written and deleted meanwhile
// must come from the second listing.
func TestWatchPrefixRelistsAfterCompaction(t *testing.T) {
	st := openStore(t, bolt.Options{WatchHistory: 2})
	put(t, st, "/t/a", "/t/old")
	stalled, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	keyOf := func(ev store.Event) []string {
		if ev.KV.Key == "/t/a" {
			once.Do(func() { close(stalled); <-release })
		}
		return byType(ev)
	}
	rec, got := collector()
	stop := start(t, &ctrl.Controller{Name: "w", Reconciler: rec, Sources: []ctrl.Source{ctrl.WatchPrefix(st, "/t/", keyOf)}})
	defer stop()
	<-stalled
	del(t, st, "/t/old")
	put(t, st, "/t/k0", "/t/k1", "/t/k2", "/t/k3", "/t/k4")
	close(release)
	expect(t, got, "put:/t/a", "put:/t/old", // first listing
		"put:/t/k0", "put:/t/k1", "put:/t/k2", "put:/t/k3", "put:/t/k4", "delete:/t/old") // second
	put(t, st, "/t/z")                                   // and the watch goes on
	expectAlso(t, got, []string{"put:/t/a"}, "put:/t/z") // a may run twice: both listings have it
}

func TestWatchPrefixRestartsWhenTheStoreFails(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "s.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	put(t, st, "/t/a")
	rec, got := collector()
	failures := make(chan string, 100)
	stop := start(t, &ctrl.Controller{
		Name: "w", Reconciler: rec, Sources: []ctrl.Source{ctrl.WatchPrefix(st, "/t/", nil)},
		Backoff: ctrl.Backoff{Base: time.Millisecond, Max: 4 * time.Millisecond},
		Logger:  slog.New(messages{failures}),
	})
	expect(t, got, "/t/a")
	st.Close() // the watch ends; relisting fails with ErrClosed
	deadline := time.After(10 * time.Second)
	for n := 0; n < 3; {
		select {
		case m := <-failures:
			if m == "source failed; restarting" {
				n++
			}
		case <-deadline:
			t.Fatal("source not restarted 3 times within 10s")
		}
	}
	stop()
}

// messages is a slog.Handler that sends each record's message.
type messages struct{ ch chan<- string }

func (m messages) Enabled(context.Context, slog.Level) bool { return true }
func (m messages) WithAttrs([]slog.Attr) slog.Handler       { return m }
func (m messages) WithGroup(string) slog.Handler            { return m }
func (m messages) Handle(_ context.Context, r slog.Record) error {
	select {
	case m.ch <- r.Message:
	default:
	}
	return nil
}

func TestEvery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		every := ctrl.Every(time.Second, func(context.Context) ([]string, error) {
			calls++
			if calls == 2 {
				return nil, errors.New("list failed")
			}
			return []string{"a", "b"}, nil
		})
		s := &script{outcomes: []func() (ctrl.Result, error){ok}}
		t0 := time.Now()
		stop := start(t, &ctrl.Controller{Name: "e", Reconciler: s, Sources: []ctrl.Source{every}})
		time.Sleep(3500 * time.Millisecond)
		stop()
		// 1s: a, b; 2s: failure, source restarted after 5ms; 3.005s: a, b.
		if got, want := s.times(t0), ms(1000, 1000, 3005, 3005); !slices.Equal(got, want) {
			t.Fatalf("runs at %v, want %v", got, want)
		}
	})
}
