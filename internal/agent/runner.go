package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/quayside/quayside/internal/agent/runtime"
	"github.com/quayside/quayside/internal/agent/task"
	"github.com/quayside/quayside/internal/agentproto"
	"github.com/quayside/quayside/internal/model"
)

// runner is the goroutine of one task. It alone touches the task's state:
// it observes the engine, reports what changed, asks task.Decide for the
// one next action and carries it out, and so on until the task is STOPPED
// and cleaned up. Slow engine calls (pulls, stops) run in the background
// and hand their outcome back to the runner.
type runner struct {
	a      *Agent
	arn    string
	t      *task.Task
	s      *task.State
	last   agentproto.TaskReport // the last report made; its Seq is the counter
	key    []byte                // last, encoded without Seq, to spot changes
	cancel context.CancelFunc
	done   chan struct{}
	bg     sync.WaitGroup

	pullCtx    context.Context
	pullCancel context.CancelFunc

	mu       sync.Mutex // guards the fields below, shared with other goroutines
	desired  string
	seqFloor uint64 // the control plane's ReportedSeq
	results  []func()
	dirty    map[string]bool // runtime IDs to inspect
	dirtyAll bool
	wake     chan struct{}
}

func newRunner(a *Agent, t *task.Task, s *task.State, last agentproto.TaskReport, asg *agentproto.Assignment, cancel context.CancelFunc) *runner {
	r := &runner{
		a: a, arn: t.Arn, t: t, s: s, last: last, cancel: cancel,
		done:     make(chan struct{}),
		desired:  desiredOf(asg),
		seqFloor: asg.ReportedSeq,
		dirty:    map[string]bool{},
		dirtyAll: true,
		wake:     make(chan struct{}, 1),
	}
	r.key = reportKey(last)
	return r
}

func desiredOf(asg *agentproto.Assignment) string {
	if asg.Task.DesiredStatus == model.StatusStopped {
		return model.StatusStopped
	}
	return model.StatusRunning
}

// update takes a newer assignment; it reports whether anything changed.
func (r *runner) update(asg *agentproto.Assignment) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := desiredOf(asg)
	changed := d != r.desired || asg.ReportedSeq > r.seqFloor
	r.desired = d
	r.seqFloor = max(r.seqFloor, asg.ReportedSeq)
	r.signal()
	return changed
}

// poke asks the runner to inspect a container ("" for all of them).
func (r *runner) poke(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if id == "" {
		r.dirtyAll = true
	} else {
		r.dirty[id] = true
	}
	r.signal()
}

// post hands the outcome of background work to the runner.
func (r *runner) post(fn func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.results = append(r.results, fn)
	r.signal()
}

// signal wakes the runner; the caller holds r.mu.
func (r *runner) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *runner) run(ctx context.Context) {
	defer close(r.done)
	defer r.bg.Wait()
	r.pullCtx, r.pullCancel = context.WithCancel(ctx)
	defer func() { r.pullCancel() }()
	var retry time.Duration
	for ctx.Err() == nil {
		r.observe(ctx)
		if err := r.report(); err != nil {
			r.a.log.Error("journal: cannot record a report", "task", r.arn, "err", err)
			retry = nextBackoff(retry)
			r.wait(ctx, r.a.now().Add(retry))
			continue
		}
		now := r.a.now()
		act := task.Decide(r.t, r.desiredStatus(), r.s, now)
		switch act.Kind {
		case task.Done:
			r.a.finish(r)
			return
		case task.Wait:
			r.wait(ctx, act.Until)
			continue
		}
		r.s.Apply(act, now)
		if err := r.exec(ctx, act); err != nil {
			if ctx.Err() != nil {
				return
			}
			retry = nextBackoff(retry)
			r.a.log.Warn("task action failed; will retry", "task", r.arn, "action", act.Kind.String(), "container", act.Container, "err", err, "retryIn", retry)
			r.wait(ctx, now.Add(retry))
			continue
		}
		retry = 0
	}
}

func (r *runner) desiredStatus() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.desired
}

// wait blocks until something happens, until (if set), or the resync period.
func (r *runner) wait(ctx context.Context, until time.Time) {
	d := r.a.cfg.Resync
	if !until.IsZero() {
		d = min(d, until.Sub(r.a.now()))
	}
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-r.wake:
	case <-t.C:
		r.poke("")
	}
}

// report records the task's state as a new report if it changed: first in
// the journal, then the reporter sends it.
func (r *runner) report() error {
	rep := task.Report(r.t, r.s)
	key := reportKey(rep)
	if bytes.Equal(key, r.key) {
		return nil
	}
	r.mu.Lock()
	floor := r.seqFloor
	r.mu.Unlock()
	rep.Seq = max(r.last.Seq, floor) + 1
	if err := r.a.j.record(&rep); err != nil {
		return err
	}
	if rep.LastStatus != r.last.LastStatus {
		r.a.log.Debug("task status", "task", r.arn, "status", rep.LastStatus, "seq", rep.Seq)
	}
	r.last, r.key = rep, key
	r.a.kickReporter()
	return nil
}

func reportKey(rep agentproto.TaskReport) []byte {
	rep.Seq = 0
	b, _ := json.Marshal(rep)
	return b
}

// observe applies background outcomes and inspects the containers the
// engine said something about (all of them after a resync).
func (r *runner) observe(ctx context.Context) {
	r.mu.Lock()
	results := r.results
	r.results = nil
	r.mu.Unlock()
	for _, fn := range results {
		fn()
	}
	r.mu.Lock()
	dirty, all := r.dirty, r.dirtyAll
	r.dirty, r.dirtyAll = map[string]bool{}, false
	r.mu.Unlock()
	if all {
		r.adopt(ctx)
		return
	}
	for name, cs := range r.s.Containers {
		if cs.RuntimeID != "" && dirty[cs.RuntimeID] {
			r.inspect(ctx, name)
		}
	}
}

// adopt lists the task's containers on the engine and takes them as the
// task's: after a restart it finds what the previous run created, and it
// notices containers that are gone.
func (r *runner) adopt(ctx context.Context) {
	list, err := r.a.rt.List(ctx, map[string]string{runtime.LabelManaged: "true", runtime.LabelTask: r.arn})
	if err != nil {
		if ctx.Err() == nil {
			r.a.log.Warn("cannot list the task's containers", "task", r.arn, "err", err)
		}
		r.mu.Lock()
		r.dirtyAll = true
		r.mu.Unlock()
		return
	}
	seen := map[string]bool{}
	for _, st := range list {
		name := st.Labels[runtime.LabelContainer]
		cs, ok := r.s.Containers[name]
		if !ok || (cs.RuntimeID != "" && cs.RuntimeID != st.ID && !st.Running) {
			continue
		}
		cs.Observe(st)
		seen[name] = true
	}
	for name, cs := range r.s.Containers {
		if !seen[name] && cs.RuntimeID != "" && !cs.Removed {
			cs.ObserveGone()
		}
	}
}

// inspect refreshes one container from the engine.
func (r *runner) inspect(ctx context.Context, name string) {
	cs := r.s.C(name)
	st, err := r.a.rt.Inspect(ctx, cs.RuntimeID)
	switch {
	case err == nil:
		cs.Observe(st)
	case errors.Is(err, runtime.ErrNotFound):
		cs.ObserveGone()
	case ctx.Err() == nil:
		r.a.log.Warn("cannot inspect a container", "task", r.arn, "container", name, "err", err)
	}
}
