package storetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/quayside/quayside/internal/store"
)

func testWatchFromCurrent(t *testing.T, s store.Store) {
	ch := s.Watch(ctxWithTimeout(t), "/w/", currentRev(t, s))
	r1 := put(t, s, "/w/a", "1")
	resp := recvOK(t, ch)
	if resp.Rev != r1 || len(resp.Events) != 1 || resp.Events[0].Type != store.EventPut {
		t.Fatalf("got %+v, want one put at %d", resp, r1)
	}
	checkKV(t, resp.Events[0].KV, "/w/a", "1", r1, r1)
	r2, err := s.Update(t.Context(), func(tx store.Tx) error {
		if err := tx.Put("/w/a", []byte("2")); err != nil {
			return err
		}
		return tx.Put("/w/b", []byte("3"))
	})
	if err != nil {
		t.Fatal(err)
	}
	resp = recvOK(t, ch)
	evs := sortedEvents(resp.Events)
	if resp.Rev != r2 || len(evs) != 2 {
		t.Fatalf("got %+v, want two events at %d in one response", resp, r2)
	}
	checkKV(t, evs[0].KV, "/w/a", "2", r1, r2)
	checkKV(t, evs[1].KV, "/w/b", "3", r2, r2)
}

func testWatchDelete(t *testing.T, s store.Store) {
	put(t, s, "/d/a", "1")
	ch := s.Watch(ctxWithTimeout(t), "/d/", currentRev(t, s))
	rev := del(t, s, "/d/a")
	resp := recvOK(t, ch)
	if resp.Rev != rev || len(resp.Events) != 1 {
		t.Fatalf("got %+v, want one event at %d", resp, rev)
	}
	e := resp.Events[0]
	if e.Type != store.EventDelete || e.KV.Key != "/d/a" || e.KV.ModRev != rev || len(e.KV.Value) != 0 {
		t.Fatalf("delete event %+v, want /d/a at %d without value", e, rev)
	}
}

func testWatchReplay(t *testing.T, s store.Store) {
	var revs []int64
	for i := range 5 {
		revs = append(revs, put(t, s, keyN("/h/", i), "v"))
	}
	ch := s.Watch(ctxWithTimeout(t), "/h/", revs[1])
	for i, want := range revs[2:] {
		resp := recvOK(t, ch)
		if resp.Rev != want || len(resp.Events) != 1 || resp.Events[0].KV.Key != keyN("/h/", i+2) {
			t.Fatalf("replay: got %+v, want %s at %d", resp, keyN("/h/", i+2), want)
		}
	}
	live := put(t, s, "/h/live", "v")
	if resp := recvOK(t, ch); resp.Rev != live {
		t.Fatalf("live after replay: got rev %d, want %d", resp.Rev, live)
	}
}

func testWatchPrefix(t *testing.T, s store.Store) {
	ch := s.Watch(ctxWithTimeout(t), "/a/", currentRev(t, s))
	put(t, s, "/b/x", "v")
	put(t, s, "/ab", "v")
	ra := put(t, s, "/a/x", "v")
	rm, err := s.Update(t.Context(), func(tx store.Tx) error {
		if err := tx.Put("/b/y", []byte("v")); err != nil {
			return err
		}
		return tx.Put("/a/y", []byte("v"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp := recvOK(t, ch); resp.Rev != ra || len(resp.Events) != 1 || resp.Events[0].KV.Key != "/a/x" {
		t.Fatalf("got %+v, want /a/x at %d", resp, ra)
	}
	if resp := recvOK(t, ch); resp.Rev != rm || len(resp.Events) != 1 || resp.Events[0].KV.Key != "/a/y" {
		t.Fatalf("got %+v, want only /a/y at %d", resp, rm)
	}
	expectNothing(t, ch)
}

// writeConcurrently has writers goroutines each put n keys and returns
// every acknowledged revision; acked receives each as it is acknowledged.
func writeConcurrently(t *testing.T, s store.Store, writers, n int, acked chan<- int64) []int64 {
	var mu sync.Mutex
	var revs []int64
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range n {
				key := keyN("/c/"+keyN("", w)+"/", i)
				rev, err := s.Update(t.Context(), func(tx store.Tx) error { return tx.Put(key, []byte("v")) })
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				revs = append(revs, rev)
				mu.Unlock()
				if acked != nil {
					acked <- rev
				}
			}
		})
	}
	wg.Wait()
	slices.Sort(revs)
	return revs
}

// collectRevs reads ch until it has seen rev last and returns the revisions
// of the responses, checking that they strictly increase.
func collectRevs(t *testing.T, ch <-chan store.WatchResponse, last int64) []int64 {
	t.Helper()
	var got []int64
	for len(got) == 0 || got[len(got)-1] < last {
		resp := recvOK(t, ch)
		if len(got) > 0 && resp.Rev <= got[len(got)-1] {
			t.Fatalf("watch revision %d after %d", resp.Rev, got[len(got)-1])
		}
		for _, e := range resp.Events {
			if e.KV.ModRev != resp.Rev {
				t.Fatalf("event %s ModRev %d in response %d", e.KV.Key, e.KV.ModRev, resp.Rev)
			}
		}
		got = append(got, resp.Rev)
	}
	return got
}

func testWatchOrderConcurrent(t *testing.T, s store.Store) {
	ch := s.Watch(ctxWithTimeout(t), "/c/", currentRev(t, s))
	revs := writeConcurrently(t, s, 16, 20, nil)
	got := collectRevs(t, ch, revs[len(revs)-1])
	if !slices.Equal(got, revs) {
		t.Fatalf("watch saw %d revisions, writers acknowledged %d (starting %v vs %v)",
			len(got), len(revs), head(got), head(revs))
	}
}

// testWatchReplayRace starts a watch from a past revision while writers are
// still committing: replay and live delivery must meet without a gap or a
// duplicate.
func testWatchReplayRace(t *testing.T, s store.Store) {
	const writers, n = 8, 50
	acked := make(chan int64, writers*n)
	done := make(chan []int64)
	go func() { done <- writeConcurrently(t, s, writers, n, acked) }()
	var early []int64
	for len(early) < writers*n/4 {
		early = append(early, <-acked)
	}
	from := slices.Min(early)
	ch := s.Watch(ctxWithTimeout(t), "/c/", from)
	revs := <-done
	want := revs[slices.Index(revs, from)+1:]
	got := collectRevs(t, ch, revs[len(revs)-1])
	if !slices.Equal(got, want) {
		t.Fatalf("watch from %d saw %d revisions, want %d (%v vs %v)", from, len(got), len(want), head(got), head(want))
	}
}

func testWatchContextEnds(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	ch := s.Watch(ctx, "/", currentRev(t, s))
	put(t, s, "/x", "v")
	cancel()
	for _, r := range drainClosed(t, ch) {
		if r.Err != nil {
			t.Fatalf("response after cancel: %v", r.Err)
		}
	}
}

func testClose(t *testing.T, s store.Store) {
	ch := s.Watch(t.Context(), "/", currentRev(t, s))
	stop := make(chan error, 8)
	for range cap(stop) {
		go func() {
			for {
				if _, err := s.Update(t.Context(), func(tx store.Tx) error { return tx.Put("/k", []byte("v")) }); err != nil {
					stop <- err
					return
				}
			}
		}()
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	for range cap(stop) {
		if err := <-stop; !errors.Is(err, store.ErrClosed) {
			t.Fatalf("update racing close: %v, want ErrClosed", err)
		}
	}
	for _, r := range drainClosed(t, ch) {
		if r.Err != nil && !errors.Is(r.Err, store.ErrClosed) {
			t.Fatalf("watch ended by close with %v", r.Err)
		}
	}
	checkClosed(t, s)
}

// checkClosed checks every call on a closed store.
func checkClosed(t *testing.T, s store.Store) {
	if _, err := s.Update(t.Context(), func(store.Tx) error { return nil }); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("update after close: %v, want ErrClosed", err)
	}
	if err := s.View(t.Context(), func(store.ReadTx) error { return nil }); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("view after close: %v, want ErrClosed", err)
	}
	for _, r := range drainClosed(t, s.Watch(t.Context(), "/", 0)) {
		if !errors.Is(r.Err, store.ErrClosed) {
			t.Fatalf("watch after close: %+v, want only ErrClosed", r)
		}
	}
	if err := s.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
		t.Fatalf("second close: %v", err)
	}
}

func testCompaction(t *testing.T, s store.Store, compact func(*testing.T, store.Store, int64)) {
	old := put(t, s, "/old/a", "v")
	put(t, s, "/old/b", "v")
	compact(t, s, currentRev(t, s))
	resps := drainClosed(t, s.Watch(ctxWithTimeout(t), "/", old-1))
	if len(resps) != 1 || !errors.Is(resps[0].Err, store.ErrCompacted) {
		t.Fatalf("watch from compacted %d: %+v, want one ErrCompacted then close", old-1, resps)
	}
	ch := s.Watch(ctxWithTimeout(t), "/new/", currentRev(t, s))
	rev := put(t, s, "/new/a", "v")
	if resp := recvOK(t, ch); resp.Rev != rev {
		t.Fatalf("watch from current after compaction: rev %d, want %d", resp.Rev, rev)
	}
}

func sortedEvents(evs []store.Event) []store.Event {
	return slices.SortedFunc(slices.Values(evs), func(a, b store.Event) int {
		return strings.Compare(a.KV.Key, b.KV.Key)
	})
}

func head(revs []int64) []int64 { return revs[:min(len(revs), 8)] }
