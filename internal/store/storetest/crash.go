package storetest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/quayside/quayside/internal/store"
)

// crashWriters is how many goroutines CrashChild writes from, so that the
// writes it acknowledges come out of shared (group) commits.
const crashWriters = 8

// CrashChild is the body of the writer process that RunCrash kills: it
// commits fresh keys from several goroutines and, after each Update
// returns, prints "ack <key> <rev> ." on w. It returns only on error.
func CrashChild(s store.Store, w io.Writer) error {
	var mu sync.Mutex
	errc := make(chan error, crashWriters)
	for g := range crashWriters {
		go func() {
			for i := 0; ; i++ {
				key := fmt.Sprintf("/crash/%d/%d/%d", os.Getpid(), g, i)
				rev, err := s.Update(context.Background(), func(tx store.Tx) error {
					return tx.Put(key, []byte(key))
				})
				if err == nil {
					mu.Lock()
					_, err = fmt.Fprintf(w, "ack %s %d .\n", key, rev)
					mu.Unlock()
				}
				if err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	return <-errc
}

// RunCrash checks that acknowledged writes survive SIGKILL. For each round
// it starts newChild() — a process running CrashChild on the store kept in
// one directory — kills it once it has acknowledged acks writes, then opens
// that store with reopen and checks every write acknowledged so far is
// there with its revision.
func RunCrash(t *testing.T, rounds, acks int, newChild func() *exec.Cmd, reopen func(t *testing.T) store.Store) {
	acked := map[string]int64{}
	for round := range rounds {
		n := killAfter(t, newChild(), acks, acked)
		t.Logf("round %d: %d writes acknowledged before and during SIGKILL", round, n)
		checkAcked(t, reopen(t), acked)
	}
}

// killAfter runs cmd until it has acknowledged acks writes, kills it, and
// records every acknowledgement it printed before dying.
func killAfter(t *testing.T, cmd *exec.Cmd, acks int, acked map[string]int64) int {
	t.Helper()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n, killed := 0, false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		key, rev, ok := parseAck(sc.Text())
		if !ok {
			continue
		}
		acked[key] = rev
		if n++; n >= acks && !killed {
			killed = true
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("writer exited after %d acks (%v): %s", n, err, stderr.String())
	}
	return n
}

func parseAck(line string) (key string, rev int64, ok bool) {
	f := strings.Fields(line)
	if len(f) != 4 || f[0] != "ack" || f[3] != "." {
		return "", 0, false
	}
	rev, err := strconv.ParseInt(f[2], 10, 64)
	return f[1], rev, err == nil
}

// checkAcked checks that s holds every acknowledged key at its revision,
// then closes s.
func checkAcked(t *testing.T, s store.Store, acked map[string]int64) {
	t.Helper()
	var maxRev int64
	err := s.View(t.Context(), func(tx store.ReadTx) error {
		for key, rev := range acked {
			kv, ok, err := tx.Get(key)
			if err != nil {
				return err
			}
			if !ok || kv.ModRev != rev || string(kv.Value) != key {
				return fmt.Errorf("acknowledged %s at %d, found ok=%v %+v", key, rev, ok, kv)
			}
			maxRev = max(maxRev, rev)
		}
		if tx.Rev() < maxRev {
			return fmt.Errorf("store at rev %d, below acknowledged %d", tx.Rev(), maxRev)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
}
