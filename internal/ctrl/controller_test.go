package ctrl_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"pgregory.net/rapid"

	"github.com/quayside/quayside/internal/ctrl"
)

func ms(n ...int) []time.Duration {
	var out []time.Duration
	for _, v := range n {
		out = append(out, time.Duration(v)*time.Millisecond)
	}
	return out
}

func TestRequeueAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{outcomes: []func() (ctrl.Result, error){requeue(10 * time.Second), requeue(10 * time.Second), ok}}
		src, _ := keys("k")
		t0 := time.Now()
		stop := start(t, &ctrl.Controller{Name: "t", Reconciler: s, Sources: []ctrl.Source{src}})
		time.Sleep(time.Hour)
		stop()
		if got, want := s.times(t0), ms(0, 10_000, 20_000); !slices.Equal(got, want) {
			t.Fatalf("runs at %v, want %v", got, want)
		}
	})
}

func TestBackoffGrowsAndResetsOnSuccess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		boom := fail(errors.New("boom"))
		s := &script{outcomes: []func() (ctrl.Result, error){boom, boom, boom, boom, boom, ok, boom, ok}}
		src, ch := keys("k")
		t0 := time.Now()
		stop := start(t, &ctrl.Controller{
			Name: "t", Reconciler: s, Sources: []ctrl.Source{src},
			Backoff: ctrl.Backoff{Base: 5 * time.Millisecond, Max: 20 * time.Millisecond},
		})
		time.Sleep(time.Second)
		ch <- "k" // after the success: the next failure backs off from Base again
		time.Sleep(time.Second)
		stop()
		// 5, 10, 20, 20 (capped) between the failures; then success at 55ms.
		want := ms(0, 5, 15, 35, 55, 75, 1000, 1005)
		if got := s.times(t0); !slices.Equal(got, want) {
			t.Fatalf("runs at %v, want %v", got, want)
		}
	})
}

func TestTerminalErrorIsNotRetried(t *testing.T) {
	bad := errors.New("bad input")
	if err := ctrl.Terminal(bad); !errors.Is(err, bad) || !ctrl.IsTerminal(fmt.Errorf("x: %w", err)) {
		t.Fatalf("Terminal(%v) = %v: not recognisable", bad, err)
	}
	if ctrl.Terminal(nil) != nil || ctrl.IsTerminal(bad) {
		t.Fatal("Terminal(nil) or IsTerminal of a plain error")
	}
	synctest.Test(t, func(t *testing.T) {
		s := &script{outcomes: []func() (ctrl.Result, error){fail(ctrl.Terminal(bad))}}
		src, _ := keys("k")
		t0 := time.Now()
		stop := start(t, &ctrl.Controller{Name: "t", Reconciler: s, Sources: []ctrl.Source{src}})
		time.Sleep(time.Hour)
		stop()
		if got := s.times(t0); !slices.Equal(got, ms(0)) {
			t.Fatalf("runs at %v, want one at 0", got)
		}
	})
}

func TestPanicIsRecoveredAndRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{outcomes: []func() (ctrl.Result, error){
			func() (ctrl.Result, error) { panic("nil map") }, ok,
		}}
		src, _ := keys("k")
		t0 := time.Now()
		stop := start(t, &ctrl.Controller{Name: "t", Reconciler: s, Sources: []ctrl.Source{src}})
		time.Sleep(time.Hour)
		stop()
		if got := s.times(t0); !slices.Equal(got, ms(0, 5)) {
			t.Fatalf("runs at %v, want 0 and 5ms (default base backoff)", got)
		}
	})
}

func TestShutdownWaitsForRunsInFlightAndDropsTheRest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var ran []string
		var finished bool
		rec := ctrl.Func(func(ctx context.Context, key string) (ctrl.Result, error) {
			mu.Lock()
			ran = append(ran, key)
			mu.Unlock()
			if key == "slow" {
				<-ctx.Done()
				time.Sleep(time.Second) // cleanup after cancellation
				mu.Lock()
				finished = true
				mu.Unlock()
				return ctrl.Result{}, ctx.Err()
			}
			return ctrl.Result{RequeueAfter: time.Minute}, nil
		})
		src, ch := keys("r")
		stop := start(t, &ctrl.Controller{Name: "t", Reconciler: rec, Sources: []ctrl.Source{src}})
		synctest.Wait() // r ran and waits a minute to run again
		ch <- "slow"
		ch <- "a"
		ch <- "b"
		synctest.Wait()
		t0 := time.Now()
		stop()
		if d := time.Since(t0); d != time.Second || !finished {
			t.Fatalf("Run returned after %v, slow finished: %v", d, finished)
		}
		time.Sleep(time.Hour)
		if !slices.Equal(ran, []string{"r", "slow"}) {
			t.Fatalf("ran %v, want r and slow only", ran)
		}
	})
}

func TestRunRejectsMisconfiguration(t *testing.T) {
	for _, c := range []*ctrl.Controller{{Reconciler: &script{}}, {Name: "x"}} {
		if err := c.Run(context.Background()); err == nil {
			t.Errorf("Run(%+v) = nil", c)
		}
	}
}

// TestOneKeyNeverRunsTwiceAtOnce adds keys from many goroutines while
// several workers reconcile, and checks that no key runs twice at once and
// that every add is followed by a run that started after it.
func TestOneKeyNeverRunsTwiceAtOnce(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		workers := rapid.IntRange(1, 8).Draw(rt, "workers")
		nkeys := rapid.IntRange(1, 5).Draw(rt, "keys")
		work := rapid.SampledFrom(ms(0, 1)).Draw(rt, "work")
		plans := rapid.SliceOfN(rapid.SliceOfN(rapid.IntRange(0, nkeys-1), 1, 40), 1, 8).Draw(rt, "adds")
		p := newProbe(work)
		synctest.Test(t, func(t *testing.T) {
			stop := start(t, &ctrl.Controller{
				Name: "t", Reconciler: p, Workers: workers, Sources: []ctrl.Source{p.source(plans)},
				Logger: discard,
			})
			time.Sleep(time.Hour) // until every run has ended
			stop()
		})
		if err := p.check(); err != nil {
			rt.Fatal(err)
		}
	})
}

// probe is the reconciler and the source of TestOneKeyNeverRunsTwiceAtOnce.
type probe struct {
	work    time.Duration
	mu      sync.Mutex
	running map[string]bool
	added   map[string]int // adds so far
	seen    map[string]int // adds seen by the key's latest run when it started
	overlap []string
}

func newProbe(work time.Duration) *probe {
	return &probe{work: work, running: map[string]bool{}, added: map[string]int{}, seen: map[string]int{}}
}

func (p *probe) Reconcile(_ context.Context, key string) (ctrl.Result, error) {
	p.mu.Lock()
	if p.running[key] {
		p.overlap = append(p.overlap, key)
	}
	p.running[key] = true
	p.seen[key] = p.added[key]
	p.mu.Unlock()
	time.Sleep(p.work)
	p.mu.Lock()
	p.running[key] = false
	p.mu.Unlock()
	return ctrl.Result{}, nil
}

func (p *probe) source(plans [][]int) ctrl.Source {
	return func(_ context.Context, q *ctrl.Queue) error {
		var wg sync.WaitGroup
		for _, plan := range plans {
			wg.Go(func() {
				for _, k := range plan {
					key := fmt.Sprint("k", k)
					p.mu.Lock()
					p.added[key]++
					p.mu.Unlock()
					q.Add(key)
				}
			})
		}
		wg.Wait()
		return nil
	}
}

func (p *probe) check() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.overlap) > 0 {
		return fmt.Errorf("keys run twice at once: %v", p.overlap)
	}
	for k, n := range p.added {
		if p.seen[k] != n {
			return fmt.Errorf("key %s: added %d times, latest run started after %d", k, n, p.seen[k])
		}
	}
	return nil
}
