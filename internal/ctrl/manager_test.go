package ctrl_test

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/quayside/quayside/internal/ctrl"
)

// grantElector leads when the test sends it a leader context.
type grantElector chan context.Context

func (g grantElector) Campaign(ctx context.Context) (context.Context, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case l := <-g:
		return l, nil
	}
}

func TestManagerRunsControllersOnlyWhileLeading(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tick := func() ctrl.Source {
			return ctrl.Every(time.Second, func(context.Context) ([]string, error) { return []string{"k"}, nil })
		}
		a := &script{outcomes: []func() (ctrl.Result, error){ok}}
		b := &script{outcomes: []func() (ctrl.Result, error){ok}}
		el := make(grantElector)
		m := &ctrl.Manager{Elector: el, Logger: logger(t), Controllers: []*ctrl.Controller{
			{Name: "a", Reconciler: a, Sources: []ctrl.Source{tick()}, Logger: logger(t)},
			{Name: "b", Reconciler: b, Sources: []ctrl.Source{tick()}, Logger: logger(t)},
		}}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- m.Run(ctx) }()
		t0 := time.Now()

		time.Sleep(10 * time.Second) // not leading
		lead, lose := context.WithCancel(context.Background())
		el <- lead
		time.Sleep(2500 * time.Millisecond)
		lose()
		time.Sleep(10 * time.Second) // campaigning again
		el <- context.Background()
		time.Sleep(1500 * time.Millisecond)
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run = %v", err)
		}
		want := ms(11_000, 12_000, 23_500)
		for _, s := range []*script{a, b} {
			if got := s.times(t0); !slices.Equal(got, want) {
				t.Errorf("runs at %v, want %v", got, want)
			}
		}
	})
}

func TestManagerAlwaysLeaderStopsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src, _ := keys("k")
		s := &script{outcomes: []func() (ctrl.Result, error){ok}}
		m := &ctrl.Manager{Logger: logger(t), Controllers: []*ctrl.Controller{{Name: "a", Reconciler: s, Sources: []ctrl.Source{src}, Logger: logger(t)}}}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- m.Run(ctx) }()
		synctest.Wait()
		cancel()
		if err := <-done; err != nil || len(s.times(time.Now())) != 1 {
			t.Fatalf("Run = %v after %d runs, want nil after 1", err, len(s.times(time.Now())))
		}
	})
}

func TestManagerRejectsMisconfiguredController(t *testing.T) {
	m := &ctrl.Manager{Controllers: []*ctrl.Controller{{Name: "no reconciler"}}}
	if err := m.Run(context.Background()); err == nil {
		t.Fatal("Run = nil")
	}
}
