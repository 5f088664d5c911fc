package storetest

import (
	"errors"
	"testing"

	"github.com/quayside/quayside/internal/store"
)

func testReopen(t *testing.T, f Factory) {
	dir := t.TempDir()
	s := f.Open(t, dir)
	r1 := put(t, s, "/p/a", "1")
	r2 := put(t, s, "/p/b", "2")
	r3 := put(t, s, "/p/a", "3")
	del(t, s, "/p/b")
	last := put(t, s, "/p/c", "4")
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	s = f.Open(t, dir)
	if got := currentRev(t, s); got != last {
		t.Fatalf("reopened at rev %d, want %d", got, last)
	}
	kv, _ := get(t, s, "/p/a")
	checkKV(t, kv, "/p/a", "3", r1, r3)
	if _, ok := get(t, s, "/p/b"); ok {
		t.Fatalf("/p/b (put at %d, deleted) is back", r2)
	}
	kv, _ = get(t, s, "/p/c")
	checkKV(t, kv, "/p/c", "4", last, last)
	if rev := put(t, s, "/p/d", "5"); rev <= last {
		t.Fatalf("first rev after reopen %d, want > %d", rev, last)
	}
}

// testReopenWatch: after a restart, watching from the current revision works;
// older history is either replayed exactly or reported as compacted.
func testReopenWatch(t *testing.T, f Factory) {
	dir := t.TempDir()
	s := f.Open(t, dir)
	r1 := put(t, s, "/rw/a", "1")
	r2 := put(t, s, "/rw/b", "2")
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	s = f.Open(t, dir)
	live := s.Watch(ctxWithTimeout(t), "/rw/", currentRev(t, s))
	past := s.Watch(ctxWithTimeout(t), "/rw/", r1-1)
	r3 := put(t, s, "/rw/c", "3")
	if resp := recvOK(t, live); resp.Rev != r3 {
		t.Fatalf("watch from current after reopen: rev %d, want %d", resp.Rev, r3)
	}
	first := recv(t, past)
	if first.Err != nil {
		if !errors.Is(first.Err, store.ErrCompacted) {
			t.Fatalf("watch from before reopen: %v", first.Err)
		}
		if rest := drainClosed(t, past); len(rest) != 0 {
			t.Fatalf("responses after ErrCompacted: %+v", rest)
		}
		return
	}
	got := []int64{first.Rev, recvOK(t, past).Rev, recvOK(t, past).Rev}
	if got[0] != r1 || got[1] != r2 || got[2] != r3 {
		t.Fatalf("replay across reopen: %v, want [%d %d %d]", got, r1, r2, r3)
	}
}
