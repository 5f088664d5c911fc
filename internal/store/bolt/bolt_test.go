package bolt_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quayside/quayside/internal/store"
	"github.com/quayside/quayside/internal/store/bolt"
	"github.com/quayside/quayside/internal/store/storetest"
)

// testHistory keeps the ring small enough for Compact to overflow cheaply.
const testHistory = 4096

func openDir(t *testing.T, dir string, opts bolt.Options) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(filepath.Join(dir, "quayside.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// compact overflows the watch ring with one revision of testHistory+1
// events, so every earlier revision leaves it.
func compact(t *testing.T, s store.Store, _ int64) {
	_, err := s.Update(t.Context(), func(tx store.Tx) error {
		for i := range testHistory + 1 {
			if err := tx.Put(fmt.Sprintf("/compact/%06d", i), nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestConformance(t *testing.T) {
	storetest.RunFactory(t, storetest.Factory{
		Open: func(t *testing.T, dir string) store.Store {
			return openDir(t, dir, bolt.Options{WatchHistory: testHistory})
		},
		Compact: compact,
	})
}

func TestRevisionsContiguous(t *testing.T) {
	s := openDir(t, t.TempDir(), bolt.Options{})
	for want := int64(1); want <= 3; want++ {
		if rev := put(t, s, "/k", "v"); rev != want {
			t.Fatalf("rev %d, want %d", rev, want)
		}
	}
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			rev := put(t, s, fmt.Sprintf("/c/%d", i), "v")
			mu.Lock()
			seen[rev] = true
			mu.Unlock()
		})
	}
	wg.Wait()
	for rev := int64(4); rev < 4+64; rev++ {
		if !seen[rev] {
			t.Fatalf("revision %d was not handed out (%d distinct)", rev, len(seen))
		}
	}
}

// TestPanicAndGoexit: a function that panics or calls runtime.Goexit fails
// its own Update only; the committer keeps serving the others.
func TestPanicAndGoexit(t *testing.T) {
	s := openDir(t, t.TempDir(), bolt.Options{})
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			key := fmt.Sprintf("/ok/%d", i)
			if _, err := s.Update(t.Context(), func(tx store.Tx) error {
				return tx.Put(key, []byte("v"))
			}); err != nil {
				t.Errorf("healthy update %d: %v", i, err)
			}
		})
	}
	_, err := s.Update(t.Context(), func(tx store.Tx) error {
		_ = tx.Put("/panic", []byte("v"))
		panic("boom")
	})
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("panicking update: %v", err)
	}
	_, err = s.Update(t.Context(), func(tx store.Tx) error {
		_ = tx.Put("/goexit", []byte("v"))
		runtime.Goexit()
		return nil
	})
	if err == nil {
		t.Fatal("update that called Goexit succeeded")
	}
	wg.Wait()
	for _, key := range []string{"/panic", "/goexit"} {
		if _, ok := get(t, s, key); ok {
			t.Fatalf("%s written by a failed function", key)
		}
	}
	if rev := put(t, s, "/after", "v"); rev != 33 {
		t.Fatalf("rev after failures %d, want 33", rev)
	}
}

func TestBadKeys(t *testing.T) {
	s := openDir(t, t.TempDir(), bolt.Options{})
	for _, key := range []string{"", strings.Repeat("k", 40000)} {
		_, err := s.Update(t.Context(), func(tx store.Tx) error { return tx.Put(key, []byte("v")) })
		if err == nil {
			t.Fatalf("put of a %d-byte key succeeded", len(key))
		}
	}
	if rev := put(t, s, "/fine", "v"); rev != 1 {
		t.Fatalf("rev %d, want 1", rev)
	}
}

// TestSlowWatcher: a watcher that stops reading never delays commits; once
// the ring drops its next revision it gets ErrCompacted and is closed.
func TestSlowWatcher(t *testing.T) {
	s := openDir(t, t.TempDir(), bolt.Options{WatchHistory: 64, WatchBuffer: 4})
	ch := s.Watch(t.Context(), "/", 0)
	const writes = 300
	for i := range writes {
		put(t, s, fmt.Sprintf("/k/%d", i), "v")
	}
	var next int64 = 1
	deadline := time.After(10 * time.Second)
	for {
		select {
		case r, ok := <-ch:
			if !ok {
				t.Fatal("closed without ErrCompacted")
			}
			if errors.Is(r.Err, store.ErrCompacted) {
				if next > writes-64 {
					t.Fatalf("compacted at %d though the ring still held it", next)
				}
				if _, open := <-ch; open {
					t.Fatal("response after ErrCompacted")
				}
				return
			}
			if r.Err != nil || r.Rev != next {
				t.Fatalf("got %+v, want rev %d", r, next)
			}
			next++
		case <-deadline:
			t.Fatal("slow watcher not compacted in time")
		}
	}
}

// TestReopenForgetsHistory: the ring is in memory, so after a restart only
// watches from the current revision are served.
func TestReopenForgetsHistory(t *testing.T) {
	dir := t.TempDir()
	s := openDir(t, dir, bolt.Options{})
	put(t, s, "/a", "1")
	put(t, s, "/b", "2")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openDir(t, dir, bolt.Options{})
	var got []store.WatchResponse
	for r := range s.Watch(t.Context(), "/", 1) {
		got = append(got, r)
	}
	if len(got) != 1 || !errors.Is(got[0].Err, store.ErrCompacted) {
		t.Fatalf("watch from 1 after reopen: %+v, want one ErrCompacted", got)
	}
	ch := s.Watch(t.Context(), "/", 2)
	put(t, s, "/c", "3")
	if r := <-ch; r.Err != nil || r.Rev != 3 {
		t.Fatalf("watch from current after reopen: %+v", r)
	}
}

func TestFileLocked(t *testing.T) {
	dir := t.TempDir()
	openDir(t, dir, bolt.Options{})
	if s, err := bolt.Open(filepath.Join(dir, "quayside.db"), bolt.Options{OpenTimeout: 50 * time.Millisecond}); err == nil {
		s.Close()
		t.Fatal("second Open of a locked file succeeded")
	}
}

// crashDirEnv makes the test binary a CrashChild writer (the helper
// process pattern); the parent kills it with SIGKILL.
const crashDirEnv = "QUAYSIDE_BOLT_CRASH_DIR"

func TestCrashDurability(t *testing.T) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		s, err := bolt.Open(filepath.Join(dir, "quayside.db"), bolt.Options{})
		if err == nil {
			err = storetest.CrashChild(s, os.Stdout)
		}
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if testing.Short() {
		t.Skip("spawns writer processes")
	}
	dir := t.TempDir()
	newChild := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashDurability$")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
		return cmd
	}
	reopen := func(t *testing.T) store.Store { return openDir(t, dir, bolt.Options{}) }
	storetest.RunCrash(t, 3, 500, newChild, reopen)
}

func put(t *testing.T, s store.Store, key, value string) int64 {
	t.Helper()
	rev, err := s.Update(t.Context(), func(tx store.Tx) error { return tx.Put(key, []byte(value)) })
	if err != nil {
		t.Error(err)
	}
	return rev
}

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
		t.Fatal(err)
	}
	return kv, ok
}
