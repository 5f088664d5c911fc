package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/quayside/quayside/internal/store"
)

// waitFor bounds every wait on the store: a deadline, never a sleep.
const waitFor = 10 * time.Second

// Factory makes stores whose durable state lives in a directory.
type Factory struct {
	// Open opens the store kept in dir, creating an empty one when dir is
	// empty. The store must be closed when t ends; since the suite also
	// closes stores itself, the cleanup must tolerate store.ErrClosed.
	Open func(t *testing.T, dir string) store.Store
	// Compact, when set, makes s forget the watch history of every revision
	// up to and including rev (writing to s if it must). Without it the
	// compaction tests are skipped.
	Compact func(t *testing.T, s store.Store, rev int64)
}

// Run checks the port's behaviour. open returns a new, empty store for each
// subtest, closed when the subtest ends (tolerating store.ErrClosed).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"PutGetDelete", testPutGetDelete},
		{"EmptyValue", testEmptyValue},
		{"ScanOrder", testScanOrder},
		{"ScanBounds", testScanBounds},
		{"ScanStop", testScanStop},
		{"Revisions", testRevisions},
		{"NoWriteNoRevision", testNoWriteNoRevision},
		{"FailedUpdateLeavesNothing", testFailedUpdate},
		{"ReadYourWrites", testReadYourWrites},
		{"ScanSeesOwnWrites", testScanSeesOwnWrites},
		{"PutIf", testPutIf},
		{"PutIfOwnWrite", testPutIfOwnWrite},
		{"ViewSnapshot", testViewSnapshot},
		{"ConcurrentCounter", testConcurrentCounter},
		{"ConcurrentDistinctRevisions", testConcurrentDistinctRevisions},
		{"CanceledContext", testCanceledContext},
		{"WatchFromCurrent", testWatchFromCurrent},
		{"WatchDelete", testWatchDelete},
		{"WatchReplay", testWatchReplay},
		{"WatchPrefix", testWatchPrefix},
		{"WatchOrderConcurrent", testWatchOrderConcurrent},
		{"WatchReplayRace", testWatchReplayRace},
		{"WatchContextEnds", testWatchContextEnds},
		{"Model", testModel},
		{"Close", testClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// RunFactory runs Run on stores in t.TempDir(), then the compaction tests
// (when f.Compact is set) and the close/reopen tests.
func RunFactory(t *testing.T, f Factory) {
	fresh := func(t *testing.T) store.Store { return f.Open(t, t.TempDir()) }
	Run(t, fresh)
	t.Run("Compaction", func(t *testing.T) {
		if f.Compact == nil {
			t.Skip("backend gave no Compact hook")
		}
		testCompaction(t, fresh(t), f.Compact)
	})
	t.Run("Reopen", func(t *testing.T) { testReopen(t, f) })
	t.Run("ReopenWatch", func(t *testing.T) { testReopenWatch(t, f) })
}

// put commits one Put and returns its revision.
func put(t *testing.T, s store.Store, key, value string) int64 {
	t.Helper()
	rev, err := s.Update(t.Context(), func(tx store.Tx) error {
		return tx.Put(key, []byte(value))
	})
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	return rev
}

// del commits one Delete and returns its revision.
func del(t *testing.T, s store.Store, key string) int64 {
	t.Helper()
	rev, err := s.Update(t.Context(), func(tx store.Tx) error { return tx.Delete(key) })
	if err != nil {
		t.Fatalf("delete %s: %v", key, err)
	}
	return rev
}

// get reads key in its own View.
func get(t *testing.T, s store.Store, key string) (store.KV, bool) {
	t.Helper()
	var kv store.KV
	var ok bool
	err := s.View(t.Context(), func(tx store.ReadTx) error {
		var err error
		kv, ok, err = tx.Get(key)
		return err
	})
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	return kv, ok
}

// currentRev is the revision a fresh View reads at.
func currentRev(t *testing.T, s store.Store) int64 {
	t.Helper()
	var rev int64
	if err := s.View(t.Context(), func(tx store.ReadTx) error {
		rev = tx.Rev()
		return nil
	}); err != nil {
		t.Fatalf("view: %v", err)
	}
	return rev
}

// scanKeys lists the keys Scan yields.
func scanKeys(t *testing.T, s store.Store, prefix, after string) []string {
	t.Helper()
	keys := []string{}
	err := s.View(t.Context(), func(tx store.ReadTx) error {
		return tx.Scan(prefix, after, func(kv store.KV) (bool, error) {
			keys = append(keys, kv.Key)
			return true, nil
		})
	})
	if err != nil {
		t.Fatalf("scan %q after %q: %v", prefix, after, err)
	}
	return keys
}

// recv waits for the next watch response; the channel must stay open.
func recv(t *testing.T, ch <-chan store.WatchResponse) store.WatchResponse {
	t.Helper()
	select {
	case r, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed")
		}
		return r
	case <-time.After(waitFor):
		t.Fatal("no watch response in time")
	}
	return store.WatchResponse{}
}

// recvOK is recv for a response that must not carry an error.
func recvOK(t *testing.T, ch <-chan store.WatchResponse) store.WatchResponse {
	t.Helper()
	r := recv(t, ch)
	if r.Err != nil {
		t.Fatalf("watch error: %v", r.Err)
	}
	return r
}

// drainClosed waits for ch to close and returns the responses before that.
func drainClosed(t *testing.T, ch <-chan store.WatchResponse) []store.WatchResponse {
	t.Helper()
	var got []store.WatchResponse
	deadline := time.After(waitFor)
	for {
		select {
		case r, ok := <-ch:
			if !ok {
				return got
			}
			got = append(got, r)
		case <-deadline:
			t.Fatalf("watch channel not closed in time (%d responses)", len(got))
		}
	}
}

// expectNothing checks that ch has no response ready within a short grace.
// It can only catch extra events; it never decides a test by sleeping.
func expectNothing(t *testing.T, ch <-chan store.WatchResponse) {
	t.Helper()
	select {
	case r, ok := <-ch:
		t.Fatalf("unexpected watch response %+v (open=%v)", r, ok)
	case <-time.After(50 * time.Millisecond):
	}
}

func checkKV(t *testing.T, kv store.KV, key, value string, createRev, modRev int64) {
	t.Helper()
	if kv.Key != key || string(kv.Value) != value || kv.CreateRev != createRev || kv.ModRev != modRev {
		t.Fatalf("got %s=%q create=%d mod=%d, want %s=%q create=%d mod=%d",
			kv.Key, kv.Value, kv.CreateRev, kv.ModRev, key, value, createRev, modRev)
	}
}

var errTest = errors.New("storetest: deliberate failure")

func keyN(prefix string, i int) string { return fmt.Sprintf("%s%06d", prefix, i) }

// ctxWithTimeout is the test context bounded by waitFor.
func ctxWithTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), waitFor)
	t.Cleanup(cancel)
	return ctx
}
