package storetest

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/quayside/quayside/internal/store"
)

// increment adds one to the counter at key with compare-and-swap, retrying
// on conflict, and returns the revision of the successful commit.
func increment(ctx context.Context, s store.Store, key string) (int64, error) {
	for {
		rev, err := s.Update(ctx, func(tx store.Tx) error {
			kv, ok, err := tx.Get(key)
			if err != nil {
				return err
			}
			n, modRev := 0, int64(0)
			if ok {
				if n, err = strconv.Atoi(string(kv.Value)); err != nil {
					return err
				}
				modRev = kv.ModRev
			}
			return tx.PutIf(key, []byte(strconv.Itoa(n+1)), modRev)
		})
		if !errors.Is(err, store.ErrConflict) {
			return rev, err
		}
	}
}

func testConcurrentCounter(t *testing.T, s store.Store) {
	const writers, each = 64, 20
	ctx := ctxWithTimeout(t)
	revs := make(chan int64, writers*each)
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range each {
				rev, err := increment(ctx, s, "/counter")
				if err != nil {
					t.Error(err)
					return
				}
				revs <- rev
			}
		})
	}
	wg.Wait()
	close(revs)
	seen := map[int64]bool{}
	for rev := range revs {
		if seen[rev] {
			t.Fatalf("two increments committed at revision %d", rev)
		}
		seen[rev] = true
	}
	kv, _ := get(t, s, "/counter")
	if got := string(kv.Value); got != strconv.Itoa(writers*each) {
		t.Fatalf("counter = %s, want %d", got, writers*each)
	}
}

func testConcurrentDistinctRevisions(t *testing.T, s store.Store) {
	const writers, each = 32, 10
	ctx := ctxWithTimeout(t)
	var mu sync.Mutex
	byRev := map[int64]string{}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				key := keyN("/w"+strconv.Itoa(w)+"/", i)
				rev, err := s.Update(ctx, func(tx store.Tx) error { return tx.Put(key, []byte(key)) })
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if other, dup := byRev[rev]; dup {
					t.Errorf("%s and %s share revision %d", key, other, rev)
				}
				byRev[rev] = key
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for rev, key := range byRev {
		kv, ok := get(t, s, key)
		if !ok || kv.ModRev != rev || kv.CreateRev != rev {
			t.Fatalf("%s: ok=%v %+v, want ModRev=CreateRev=%d", key, ok, kv, rev)
		}
	}
}

func testCanceledContext(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.Update(ctx, func(tx store.Tx) error { return tx.Put("/c", []byte("v")) })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("update with canceled ctx: %v, want context.Canceled", err)
	}
	if _, ok := get(t, s, "/c"); ok {
		t.Fatal("update with canceled ctx wrote")
	}
	if err := s.View(ctx, func(store.ReadTx) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("view with canceled ctx: %v, want context.Canceled", err)
	}
}
