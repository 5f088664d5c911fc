package ctrl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
)

// Controller runs a Reconciler over the keys its Sources feed. The zero
// values of the optional fields are ready to use.
type Controller struct {
	// Name identifies the controller in logs. Required.
	Name string
	// Reconciler is called for every key. Required.
	Reconciler Reconciler
	// Workers is how many keys are reconciled at once (default 1).
	Workers int
	// Sources feed the queue while the controller runs.
	Sources []Source
	// Backoff is the retry delay of failed keys.
	Backoff Backoff
	// Clock defaults to RealClock.
	Clock Clock
	// Logger defaults to slog.Default(); the runtime adds the controller's
	// name and the key.
	Logger *slog.Logger
}

// Run runs the controller until ctx ends, then stops its Sources, drops
// the keys still queued and waits for the runs in flight. It returns an
// error only if the controller is misconfigured.
func (c *Controller) Run(ctx context.Context) error {
	if err := c.validate(); err != nil {
		return err
	}
	r := c.newRun()
	r.log.Info("controller started", "workers", max(c.Workers, 1))
	var wg sync.WaitGroup
	for _, s := range c.Sources {
		wg.Go(func() { r.source(ctx, s) })
	}
	for range max(c.Workers, 1) {
		wg.Go(func() { r.work(ctx) })
	}
	<-ctx.Done()
	r.q.ShutDown()
	wg.Wait()
	r.log.Info("controller stopped")
	return nil
}

func (c *Controller) validate() error {
	switch {
	case c.Name == "":
		return errors.New("ctrl: controller without a Name")
	case c.Reconciler == nil:
		return fmt.Errorf("ctrl: controller %s without a Reconciler", c.Name)
	}
	return nil
}

// run is one Run of a controller.
type run struct {
	rec     Reconciler
	q       *Queue
	clock   Clock
	backoff Backoff
	log     *slog.Logger
}

func (c *Controller) newRun() *run {
	r := &run{rec: c.Reconciler, clock: c.Clock, backoff: c.Backoff.withDefaults(), log: c.Logger}
	if r.clock == nil {
		r.clock = RealClock{}
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	r.log = r.log.With("controller", c.Name)
	r.q = NewQueue(r.backoff, r.clock)
	return r
}

// work reconciles keys until the queue shuts down.
func (r *run) work(ctx context.Context) {
	for {
		key, shutdown := r.q.Get()
		if shutdown {
			return
		}
		r.process(ctx, key)
	}
}

// process reconciles key once and applies the contract to the outcome.
func (r *run) process(ctx context.Context, key string) {
	defer r.q.Done(key)
	res, err := r.reconcile(ctx, key)
	switch {
	case err == nil:
		r.q.Forget(key)
		if res.RequeueAfter > 0 {
			r.q.AddAfter(key, res.RequeueAfter)
		}
	case ctx.Err() != nil:
		// Stopping: whoever runs the controller next lists everything again.
	case IsTerminal(err):
		r.q.Forget(key)
		r.log.Error("reconcile failed; not retrying", "key", key, "err", err)
	default:
		d := r.q.AddRateLimited(key)
		r.log.Error("reconcile failed; retrying", "key", key, "err", err, "retryIn", d)
	}
}

// reconcile calls the Reconciler, turning a panic into an error.
func (r *run) reconcile(ctx context.Context, key string) (res Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("reconcile panicked", "key", key, "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("ctrl: reconcile panicked: %v", p)
		}
	}()
	return r.rec.Reconcile(ctx, key)
}

// source runs s until ctx ends, restarting it after a backoff when it
// fails. The backoff resets once a run has lasted longer than Backoff.Max.
func (r *run) source(ctx context.Context, s Source) {
	for n := 0; ; n++ {
		start := r.clock.Now()
		err := s(ctx, r.q)
		if err == nil || ctx.Err() != nil {
			return
		}
		if r.clock.Now().Sub(start) > r.backoff.Max {
			n = 0
		}
		d := r.backoff.delay(n)
		r.log.Error("source failed; restarting", "err", err, "restartIn", d)
		if !sleep(ctx, r.clock, d) {
			return
		}
	}
}
