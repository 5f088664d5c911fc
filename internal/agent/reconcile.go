package agent

import (
	"context"
	"errors"
	"time"

	"github.com/quayside/quayside/internal/agent/runtime"
	"github.com/quayside/quayside/internal/agent/task"
	"github.com/quayside/quayside/internal/agentproto"
)

// reapStopTimeout is the grace period given to containers nobody tracks.
const reapStopTimeout = 10 * time.Second

// startRunner starts the goroutine of one task, from its journal record if
// the agent has one, else from the task as the control plane has it.
func (a *Agent) startRunner(ctx context.Context, asg *agentproto.Assignment, rec *taskRecord) {
	t := task.New(asg, a.taskOptions())
	var s *task.State
	var last agentproto.TaskReport
	if rec != nil && rec.Last.TaskArn != "" {
		last = rec.Last
		s = task.Restore(t, &last)
	} else {
		from := task.ReportOf(&asg.Task)
		s = task.Restore(t, &from)
		last = task.Report(t, s)
		last.Seq = asg.ReportedSeq
	}
	rctx, cancel := context.WithCancel(ctx)
	r := newRunner(a, t, s, last, asg, cancel)
	if rec == nil {
		// New here: nothing of it can be on the engine unless an earlier
		// run crashed before recording it, and then creating a container
		// runs into its name and adopts it. The assignment is recorded
		// with the first reports.
		r.dirtyAll, r.asg = asg.ReportedSeq > 0, asg
	}
	a.mu.Lock()
	a.runners[t.Arn] = r
	a.mu.Unlock()
	go r.run(rctx)
}

// finish is called by a runner whose task is STOPPED and cleaned up.
func (a *Agent) finish(r *runner) {
	if err := a.j.finish(r.arn); err != nil {
		a.log.Error("journal: cannot mark task done", "task", r.arn, "err", err)
	}
	a.mu.Lock()
	if a.runners[r.arn] == r {
		delete(a.runners, r.arn)
	}
	a.finished[r.arn] = a.now()
	if len(a.finished) > maxFinished {
		a.pruneFinished()
	}
	a.mu.Unlock()
}

// maxFinished bounds the memory of finished tasks between full sets.
const maxFinished = 4096

// pruneFinished forgets tasks finished over an hour ago: no assignment
// that old can still be on its way. The caller holds a.mu.
func (a *Agent) pruneFinished() {
	for arn, at := range a.finished {
		if a.now().Sub(at) > time.Hour {
			delete(a.finished, arn)
		}
	}
}

// forget stops managing a task the control plane does not know, removes
// its containers and task volumes, and drops its records.
func (a *Agent) forget(ctx context.Context, r *runner) {
	r.cancel()
	<-r.done
	a.mu.Lock()
	if a.runners[r.arn] == r {
		delete(a.runners, r.arn)
	}
	a.mu.Unlock()
	if err := a.j.forget(r.arn); err != nil {
		a.log.Error("journal: cannot forget task", "task", r.arn, "err", err)
	}
	var volumes []string
	for _, v := range r.t.Volumes {
		if v.Kind == task.VolumeTask {
			volumes = append(volumes, v.Source)
		}
	}
	a.bg.Go(func() { a.reapTask(ctx, r.arn, volumes) })
}

func (a *Agent) stopRunners() {
	a.mu.Lock()
	rs := make([]*runner, 0, len(a.runners))
	for _, r := range a.runners {
		rs = append(rs, r)
	}
	a.mu.Unlock()
	for _, r := range rs {
		<-r.done
	}
}

// eventLoop follows the engine's events and hands them to the runners.
// When the stream breaks (the engine restarted), it subscribes again and
// has every runner re-inspect its containers.
func (a *Agent) eventLoop(ctx context.Context) {
	var backoff time.Duration
	for ctx.Err() == nil {
		events, errc := a.rt.Events(ctx)
		a.resync(ctx)
		for ev := range events {
			a.dispatch(ev)
			backoff = 0
		}
		if ctx.Err() != nil {
			return
		}
		var err error
		select {
		case err = <-errc:
		default:
		}
		backoff = nextBackoff(backoff)
		a.log.Warn("engine event stream ended; reconciling", "err", err, "retryIn", backoff)
		sleep(ctx, backoff)
	}
}

func (a *Agent) dispatch(ev runtime.Event) {
	a.mu.Lock()
	r := a.runners[ev.Labels[runtime.LabelTask]]
	a.mu.Unlock()
	if r != nil {
		r.poke(ev.ContainerID)
	}
}

// resync has every runner look at all its containers again, and reaps
// containers nobody tracks once the node has its full assignment set.
func (a *Agent) resync(ctx context.Context) {
	a.mu.Lock()
	for _, r := range a.runners {
		r.poke("")
	}
	synced := a.synced
	a.mu.Unlock()
	if synced {
		a.bg.Go(func() { a.reapOrphans(ctx) })
	}
}

// reapOrphans stops and removes this node's containers whose task has no
// runner: the task finished, or the control plane does not know it.
func (a *Agent) reapOrphans(ctx context.Context) {
	arn := a.instanceArn()
	if arn == "" {
		return
	}
	cs, err := a.rt.List(ctx, map[string]string{runtime.LabelManaged: "true", runtime.LabelCluster: a.cfg.Cluster, runtime.LabelInstance: arn})
	if err != nil {
		a.log.Warn("cannot list containers to reap", "err", err)
		return
	}
	for _, c := range cs {
		a.mu.Lock()
		_, tracked := a.runners[c.Labels[runtime.LabelTask]]
		a.mu.Unlock()
		if !tracked {
			a.log.Info("removing a container no task owns", "container", c.Name, "task", c.Labels[runtime.LabelTask])
			a.reapContainer(ctx, c.ID)
		}
	}
}

// reapTask removes every container of a task, then its task volumes.
func (a *Agent) reapTask(ctx context.Context, arn string, volumes []string) {
	cs, err := a.rt.List(ctx, map[string]string{runtime.LabelManaged: "true", runtime.LabelTask: arn})
	if err != nil {
		a.log.Warn("cannot list a task's containers to remove them", "task", arn, "err", err)
		return
	}
	// Stop the task's containers before its pause container, whose network
	// namespace they share.
	for _, pause := range []bool{false, true} {
		for _, c := range cs {
			if (c.Labels[runtime.LabelContainer] == task.PauseName) == pause {
				a.reapContainer(ctx, c.ID)
			}
		}
	}
	for _, v := range volumes {
		if err := a.rt.RemoveVolume(ctx, v); err != nil {
			a.log.Warn("cannot remove a task volume", "volume", v, "err", err)
		}
	}
}

func (a *Agent) reapContainer(ctx context.Context, id string) {
	if err := a.rt.StopContainer(ctx, id, reapStopTimeout); err != nil && !errors.Is(err, runtime.ErrNotFound) {
		a.log.Warn("cannot stop a container", "id", id, "err", err)
		return
	}
	if err := a.rt.RemoveContainer(ctx, id); err != nil && !errors.Is(err, runtime.ErrNotFound) {
		a.log.Warn("cannot remove a container", "id", id, "err", err)
	}
}
