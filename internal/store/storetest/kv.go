package storetest

import (
	"errors"
	"slices"
	"testing"

	"github.com/quayside/quayside/internal/store"
)

func testPutGetDelete(t *testing.T, s store.Store) {
	if _, ok := get(t, s, "/a"); ok {
		t.Fatal("fresh store has /a")
	}
	r1 := put(t, s, "/a", "one")
	kv, ok := get(t, s, "/a")
	if !ok {
		t.Fatal("/a missing after put")
	}
	checkKV(t, kv, "/a", "one", r1, r1)
	r2 := put(t, s, "/a", "two")
	kv, _ = get(t, s, "/a")
	checkKV(t, kv, "/a", "two", r1, r2)
	r3 := del(t, s, "/a")
	if r3 <= r2 {
		t.Fatalf("delete rev %d not after %d", r3, r2)
	}
	if _, ok := get(t, s, "/a"); ok {
		t.Fatal("/a present after delete")
	}
	if rev := del(t, s, "/a"); rev != r3 {
		t.Fatalf("deleting an absent key: rev %d, want current %d", rev, r3)
	}
	r4 := put(t, s, "/a", "three")
	kv, _ = get(t, s, "/a")
	checkKV(t, kv, "/a", "three", r4, r4)
}

func testEmptyValue(t *testing.T, s store.Store) {
	rev := put(t, s, "/empty", "")
	kv, ok := get(t, s, "/empty")
	if !ok {
		t.Fatal("key with empty value is missing")
	}
	checkKV(t, kv, "/empty", "", rev, rev)
}

func testScanOrder(t *testing.T, s store.Store) {
	keys := []string{"/a/b", "/a/10", "/a/2", "/a/1", "/a/1/x", "/a", "/ab", "/b/1", "/a/"}
	for _, k := range keys {
		put(t, s, k, "v"+k)
	}
	want := []string{"/a/", "/a/1", "/a/1/x", "/a/10", "/a/2", "/a/b"}
	if got := scanKeys(t, s, "/a/", ""); !slices.Equal(got, want) {
		t.Fatalf("scan /a/: got %q, want %q", got, want)
	}
	all := slices.Sorted(slices.Values(keys))
	if got := scanKeys(t, s, "", ""); !slices.Equal(got, all) {
		t.Fatalf("scan all: got %q, want %q", got, all)
	}
	err := s.View(t.Context(), func(tx store.ReadTx) error {
		return tx.Scan("/a/1", "", func(kv store.KV) (bool, error) {
			if string(kv.Value) != "v"+kv.Key {
				t.Errorf("scan value of %s = %q", kv.Key, kv.Value)
			}
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testScanBounds(t *testing.T, s store.Store) {
	for _, k := range []string{"/p/a", "/p/b", "/p/c", "/p/d", "/q/a", "/o/z"} {
		put(t, s, k, "v")
	}
	cases := []struct {
		prefix, after string
		want          []string
	}{
		{"/p/", "", []string{"/p/a", "/p/b", "/p/c", "/p/d"}},
		{"/p/", "/p/b", []string{"/p/c", "/p/d"}},
		{"/p/", "/p/bb", []string{"/p/c", "/p/d"}},
		{"/p/", "/p/d", []string{}},
		{"/p/", "/o/z", []string{"/p/a", "/p/b", "/p/c", "/p/d"}},
		{"/p/", "/q", []string{}},
		{"/p/", "/p/", []string{"/p/a", "/p/b", "/p/c", "/p/d"}},
		{"/nothing/", "", []string{}},
		{"", "/p/c", []string{"/p/d", "/q/a"}},
	}
	for _, c := range cases {
		if got := scanKeys(t, s, c.prefix, c.after); !slices.Equal(got, c.want) {
			t.Errorf("scan %q after %q: got %q, want %q", c.prefix, c.after, got, c.want)
		}
	}
}

func testScanStop(t *testing.T, s store.Store) {
	for i := range 10 {
		put(t, s, keyN("/s/", i), "v")
	}
	var seen int
	err := s.View(t.Context(), func(tx store.ReadTx) error {
		return tx.Scan("/s/", "", func(store.KV) (bool, error) {
			seen++
			return seen < 3, nil
		})
	})
	if err != nil || seen != 3 {
		t.Fatalf("scan stopped after %d keys with %v, want 3 and nil", seen, err)
	}
	err = s.View(t.Context(), func(tx store.ReadTx) error {
		return tx.Scan("/s/", "", func(store.KV) (bool, error) { return true, errTest })
	})
	if !errors.Is(err, errTest) {
		t.Fatalf("scan callback error: got %v, want %v", err, errTest)
	}
}

func testRevisions(t *testing.T, s store.Store) {
	prev := currentRev(t, s)
	for i := range 5 {
		rev := put(t, s, keyN("/r/", i), "v")
		if rev <= prev {
			t.Fatalf("revision %d not after %d", rev, prev)
		}
		prev = rev
	}
	rev, err := s.Update(t.Context(), func(tx store.Tx) error {
		for i := range 3 {
			if err := tx.Put(keyN("/multi/", i), []byte("v")); err != nil {
				return err
			}
		}
		return tx.Delete(keyN("/r/", 0))
	})
	if err != nil {
		t.Fatal(err)
	}
	if rev <= prev {
		t.Fatalf("multi-key revision %d not after %d", rev, prev)
	}
	for i := range 3 {
		kv, _ := get(t, s, keyN("/multi/", i))
		checkKV(t, kv, keyN("/multi/", i), "v", rev, rev)
	}
	if got := currentRev(t, s); got != rev {
		t.Fatalf("view rev %d, want last commit %d", got, rev)
	}
}

func testNoWriteNoRevision(t *testing.T, s store.Store) {
	last := put(t, s, "/x", "v")
	rev, err := s.Update(t.Context(), func(tx store.Tx) error {
		_, _, err := tx.Get("/x")
		return err
	})
	if err != nil || rev != last {
		t.Fatalf("read-only update: rev %d err %v, want %d nil", rev, err, last)
	}
	if got := put(t, s, "/y", "v"); got <= last {
		t.Fatalf("rev %d after a no-op update, want > %d", got, last)
	}
}

func testFailedUpdate(t *testing.T, s store.Store) {
	before := put(t, s, "/keep", "old")
	rev, err := s.Update(t.Context(), func(tx store.Tx) error {
		if err := tx.Put("/keep", []byte("new")); err != nil {
			return err
		}
		if err := tx.Put("/new", []byte("v")); err != nil {
			return err
		}
		if err := tx.Delete("/keep"); err != nil {
			return err
		}
		return errTest
	})
	if !errors.Is(err, errTest) {
		t.Fatalf("failed update: rev %d err %v, want %v", rev, err, errTest)
	}
	kv, ok := get(t, s, "/keep")
	if !ok {
		t.Fatal("/keep removed by a failed update")
	}
	checkKV(t, kv, "/keep", "old", before, before)
	if _, ok := get(t, s, "/new"); ok {
		t.Fatal("/new written by a failed update")
	}
	if got := currentRev(t, s); got != before {
		t.Fatalf("rev %d after a failed update, want %d", got, before)
	}
}

func testReadYourWrites(t *testing.T, s store.Store) {
	base := put(t, s, "/old", "v")
	_, err := s.Update(t.Context(), func(tx store.Tx) error {
		if tx.Rev() < base {
			t.Errorf("tx rev %d before last commit %d", tx.Rev(), base)
		}
		if err := tx.Put("/fresh", []byte("1")); err != nil {
			return err
		}
		kv, ok, err := tx.Get("/fresh")
		if err != nil || !ok || string(kv.Value) != "1" {
			t.Errorf("own put: %+v ok=%v err=%v", kv, ok, err)
		}
		if err := tx.Put("/old", []byte("2")); err != nil {
			return err
		}
		kv, _, _ = tx.Get("/old")
		if string(kv.Value) != "2" || kv.CreateRev != base {
			t.Errorf("own overwrite: %+v, want value 2 and CreateRev %d", kv, base)
		}
		if err := tx.Delete("/old"); err != nil {
			return err
		}
		if _, ok, _ := tx.Get("/old"); ok {
			t.Error("own delete still visible")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := get(t, s, "/old"); ok {
		t.Fatal("/old survived its delete")
	}
}

func testScanSeesOwnWrites(t *testing.T, s store.Store) {
	for _, k := range []string{"/s/b", "/s/d", "/s/f"} {
		put(t, s, k, "base")
	}
	_, err := s.Update(t.Context(), func(tx store.Tx) error {
		for _, k := range []string{"/s/a", "/s/d", "/s/e", "/s/g", "/t/x"} {
			if err := tx.Put(k, []byte("tx")); err != nil {
				return err
			}
		}
		if err := tx.Delete("/s/f"); err != nil {
			return err
		}
		var got []string
		err := tx.Scan("/s/", "/s/a", func(kv store.KV) (bool, error) {
			got = append(got, kv.Key+"="+string(kv.Value))
			return true, nil
		})
		want := []string{"/s/b=base", "/s/d=tx", "/s/e=tx", "/s/g=tx"}
		if !slices.Equal(got, want) {
			t.Errorf("scan in tx: got %q, want %q", got, want)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testPutIf(t *testing.T, s store.Store) {
	ctx := t.Context()
	create := func(tx store.Tx) error { return tx.PutIf("/cas", []byte("1"), 0) }
	r1, err := s.Update(ctx, create)
	if err != nil {
		t.Fatalf("PutIf absent with 0: %v", err)
	}
	if _, err := s.Update(ctx, create); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("PutIf present with 0: %v, want ErrConflict", err)
	}
	r2, err := s.Update(ctx, func(tx store.Tx) error { return tx.PutIf("/cas", []byte("2"), r1) })
	if err != nil {
		t.Fatalf("PutIf with current modRev: %v", err)
	}
	_, err = s.Update(ctx, func(tx store.Tx) error { return tx.PutIf("/cas", []byte("3"), r1) })
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("PutIf with stale modRev: %v, want ErrConflict", err)
	}
	_, err = s.Update(ctx, func(tx store.Tx) error { return tx.PutIf("/absent", []byte("x"), r1) })
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("PutIf absent key with modRev: %v, want ErrConflict", err)
	}
	kv, _ := get(t, s, "/cas")
	checkKV(t, kv, "/cas", "2", r1, r2)
	if _, ok := get(t, s, "/absent"); ok {
		t.Fatal("conflicting PutIf created /absent")
	}
	del(t, s, "/cas")
	if _, err := s.Update(ctx, create); err != nil {
		t.Fatalf("PutIf with 0 after delete: %v", err)
	}
}

func testPutIfOwnWrite(t *testing.T, s store.Store) {
	_, err := s.Update(t.Context(), func(tx store.Tx) error {
		if err := tx.Put("/own", []byte("1")); err != nil {
			return err
		}
		if err := tx.PutIf("/own", []byte("x"), 0); !errors.Is(err, store.ErrConflict) {
			t.Errorf("PutIf 0 on own write: %v, want ErrConflict", err)
		}
		kv, _, err := tx.Get("/own")
		if err != nil {
			return err
		}
		return tx.PutIf("/own", []byte("2"), kv.ModRev)
	})
	if err != nil {
		t.Fatalf("PutIf with own write's ModRev: %v", err)
	}
	if kv, _ := get(t, s, "/own"); string(kv.Value) != "2" {
		t.Fatalf("/own = %q, want 2", kv.Value)
	}
}

func testViewSnapshot(t *testing.T, s store.Store) {
	base := put(t, s, "/snap", "before")
	err := s.View(t.Context(), func(tx store.ReadTx) error {
		put(t, s, "/snap", "after")
		put(t, s, "/snap2", "new")
		del(t, s, "/gone")
		kv, ok, err := tx.Get("/snap")
		if err != nil || !ok {
			return err
		}
		checkKV(t, kv, "/snap", "before", base, base)
		if _, ok, _ := tx.Get("/snap2"); ok {
			t.Error("snapshot sees a later put")
		}
		if got := tx.Rev(); got != base {
			t.Errorf("snapshot rev %d, want %d", got, base)
		}
		var n int
		err = tx.Scan("/snap", "", func(store.KV) (bool, error) { n++; return true, nil })
		if n != 1 {
			t.Errorf("snapshot scan saw %d keys, want 1", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if kv, _ := get(t, s, "/snap"); string(kv.Value) != "after" {
		t.Fatalf("after view: %q", kv.Value)
	}
}
