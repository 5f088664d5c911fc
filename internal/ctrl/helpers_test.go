package ctrl_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/quayside/quayside/internal/ctrl"
)

// logger writes the runtime's logs to the test's output.
func logger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// start runs c until the returned stop is called; stop waits for Run.
func start(t *testing.T, c *ctrl.Controller) (stop func()) {
	t.Helper()
	if c.Logger == nil {
		c.Logger = logger(t)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

// script is a Reconciler that records when each key ran and answers with
// the next of its outcomes (the last one repeats).
type script struct {
	mu       sync.Mutex
	outcomes []func() (ctrl.Result, error)
	runs     []run
}

type run struct {
	key string
	at  time.Time
}

func (s *script) Reconcile(_ context.Context, key string) (ctrl.Result, error) {
	s.mu.Lock()
	s.runs = append(s.runs, run{key, time.Now()})
	o := s.outcomes[min(len(s.runs), len(s.outcomes))-1]
	s.mu.Unlock()
	return o()
}

// times returns the offsets from t0 at which the runs started.
func (s *script) times(t0 time.Time) []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []time.Duration
	for _, r := range s.runs {
		out = append(out, r.at.Sub(t0))
	}
	return out
}

func ok() (ctrl.Result, error) { return ctrl.Result{}, nil }

func requeue(d time.Duration) func() (ctrl.Result, error) {
	return func() (ctrl.Result, error) { return ctrl.Result{RequeueAfter: d}, nil }
}

func fail(err error) func() (ctrl.Result, error) {
	return func() (ctrl.Result, error) { return ctrl.Result{}, err }
}

// keys returns a Channel source already holding keys.
func keys(ks ...string) (ctrl.Source, chan<- string) {
	ch := make(chan string, 100)
	for _, k := range ks {
		ch <- k
	}
	return ctrl.Channel(ch), ch
}

// discard drops logs (for tests that run controllers many times).
var discard = slog.New(slog.DiscardHandler)
