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

// flushLinger bounds how long a runner about to wait keeps new reports
// back (see linger).
const flushLinger = 5 * time.Millisecond

// runner is the goroutine of one task. It alone touches the task's state:
// it observes the engine, reports what changed, asks task.Decide for the
// one next action and carries it out, and so on until the task is STOPPED
// and cleaned up. Slow engine calls (pulls, stops) run in the background
// and hand their outcome back to the runner.
type runner struct {
	a        *Agent
	arn      string
	t        *task.Task
	s        *task.State
	last     agentproto.TaskReport   // the last report made; its Seq is the counter
	key      []byte                  // last, encoded without Seq, to spot changes
	unsent   []agentproto.TaskReport // made, not yet in the journal
	since    time.Time               // when the oldest unsent report was made
	inflight int                     // background engine calls under way
	cancel   context.CancelFunc
	done     chan struct{}
	bg       sync.WaitGroup

	pullCtx    context.Context
	pullCancel context.CancelFunc
	nameInUse  map[string]time.Time // container name → when its create first met a taken name

	mu       sync.Mutex             // guards the fields below, shared with other goroutines
	asg      *agentproto.Assignment // latest assignment not yet in the journal
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

// update takes a newer assignment.
func (r *runner) update(asg *agentproto.Assignment) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := desiredOf(asg)
	if d == r.desired && asg.ReportedSeq <= r.seqFloor {
		return
	}
	r.desired = d
	r.seqFloor = max(r.seqFloor, asg.ReportedSeq)
	r.asg = asg
	r.signal()
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
		r.report()
		now := r.a.now()
		act := task.Decide(r.t, r.desiredStatus(), r.s, now)
		if act.Kind == task.Wait && r.linger(ctx) {
			continue
		}
		if needsFlush(act.Kind) {
			if err := r.flush(); err != nil {
				retry = nextBackoff(retry)
				r.a.log.Error("journal: cannot record reports", "task", r.arn, "err", err, "retryIn", retry)
				r.wait(ctx, now.Add(retry))
				continue
			}
		}
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

// needsFlush says which actions must find the reports made so far in the
// journal: before waiting (they go out now) and before removing what holds
// information that exists nowhere else (exit codes).
func needsFlush(k task.Kind) bool {
	switch k {
	case task.Wait, task.Done, task.Remove, task.RemoveVolume:
		return true
	}
	return false
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

// report makes a new report if the task's state changed. Reports get
// their sequence numbers here and are kept until flush writes them to the
// journal; a runner that moves through several steps at once writes them
// in one transaction.
func (r *runner) report() {
	rep := task.Report(r.t, r.s)
	key := reportKey(rep)
	if bytes.Equal(key, r.key) {
		return
	}
	r.mu.Lock()
	floor := r.seqFloor
	r.mu.Unlock()
	rep.Seq = max(r.last.Seq, floor) + 1
	if rep.LastStatus != r.last.LastStatus {
		r.a.log.Debug("task status", "task", r.arn, "status", rep.LastStatus, "seq", rep.Seq)
	}
	r.last, r.key = rep, key
	if len(r.unsent) == 0 {
		r.since = r.a.now()
	}
	r.unsent = append(r.unsent, rep)
}

// flush writes the latest assignment and the new reports to the journal,
// then wakes the reporter.
func (r *runner) flush() error {
	r.mu.Lock()
	asg := r.asg
	r.mu.Unlock()
	if len(r.unsent) == 0 && asg == nil {
		return nil
	}
	if err := r.a.j.record(r.arn, asg, r.unsent); err != nil {
		return err
	}
	r.mu.Lock()
	if r.asg == asg {
		r.asg = nil
	}
	r.mu.Unlock()
	if len(r.unsent) > 0 {
		r.unsent = r.unsent[:0]
		r.a.kickReporter()
	}
	return nil
}

// linger holds new reports back for up to flushLinger while background work
// is under way, in case it ends at once (the pull of a present image, say)
// and the runner has more to write with them: a task that starts in one go
// costs one journal write, not two. It reports whether the runner was woken.
func (r *runner) linger(ctx context.Context) bool {
	if len(r.unsent) == 0 || r.inflight == 0 {
		return false
	}
	d := flushLinger - r.a.now().Sub(r.since)
	if d <= 0 {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.wake:
		return true
	case <-ctx.Done():
		return true
	case <-t.C:
		return false
	}
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
